// The CUDA backend (see cuda_backend.h). One run, per layer, over the active rows (all tokens,
// or only the query rows when the context is reused):
//   x += Wo · attention(rope(Wq·n(x)), rope(Wk·n(x)), Wv·n(x));  x += Wd · act(Wg·n(x)) ⊙ (Wu·n(x))
// with projections and the FFN in blocks of rows (bounded scratch), attention in one fused
// kernel over all rows, then, for query rows, the selective-attention steps and the query
// statistics. Final norm and logits only for query rows. Every result is copied into an
// AnalysisResult with the same layout and meaning as the CPU backend's.
//
// What a run keeps (RunState): post-RoPE Q and K and V per layer in the storage type, and each
// row's log-sum-exp, split into a context part (shared by query-only reruns) and a query part.
// It stays in GPU memory when it fits, else in host memory and is copied back when needed.
#include "backend/cuda/cuda_backend.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "analysis/selective_attention.h"
#include "backend/cuda/attention_mma.h"
#include "backend/cuda/cuda_compat.h"
#include "backend/cuda/cuda_status.h"
#include "backend/cuda/kernels.h"
#include "backend/cuda/plan_view.h"
#include "backend/run_steps.h"
#include "core/dtype.h"
#include "model/rope.h"

namespace attnscope::cuda {

namespace {

std::string gib(std::uint64_t bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0));
    return buf;
}

// ---- device memory ------------------------------------------------------------------------------

// Owns one cudaMalloc'd block on one device. Move-only; freed on destruction from any thread.
class DeviceBuffer {
public:
    DeviceBuffer() = default;
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;
    DeviceBuffer(DeviceBuffer&& o) noexcept : p_(o.p_), bytes_(o.bytes_), device_(o.device_) {
        o.p_ = nullptr;
        o.bytes_ = 0;
    }
    DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
        if (this != &o) {
            release();
            p_ = o.p_;
            bytes_ = o.bytes_;
            device_ = o.device_;
            o.p_ = nullptr;
            o.bytes_ = 0;
        }
        return *this;
    }
    ~DeviceBuffer() { release(); }

    Result<void> allocate(int device, std::size_t bytes, const std::string& what) {
        release();
        if (bytes == 0) return {};
        void* p = nullptr;
        const cudaError_t e = cudaMalloc(&p, bytes);
        if (e != cudaSuccess) {
            (void)cudaGetLastError();
            std::size_t freeB = 0, totalB = 0;
            (void)cudaMemGetInfo(&freeB, &totalB);
            if (e == cudaErrorMemoryAllocation)
                return makeError(ErrorKind::Backend, "CUDA out of memory: " + what + " needs " + gib(bytes) + ", " +
                                                         gib(freeB) + " of " + gib(totalB) + " free");
            return cudaFailure(e, ("cudaMalloc for " + what).c_str(), __FILE__, __LINE__);
        }
        p_ = p;
        bytes_ = bytes;
        device_ = device;
        return {};
    }
    void release() {
        if (!p_) return;
        int current = -1;
        (void)cudaGetDevice(&current);
        if (current != device_) (void)cudaSetDevice(device_);
        (void)cudaFree(p_);
        if (current != device_ && current >= 0) (void)cudaSetDevice(current);
        p_ = nullptr;
        bytes_ = 0;
    }
    void* get() const { return p_; }
    template <typename T>
    T* as() const {
        return static_cast<T*>(p_);
    }
    std::size_t bytes() const { return bytes_; }

private:
    void* p_ = nullptr;
    std::size_t bytes_ = 0;
    int device_ = 0;
};

// One tensor of kept state: in GPU memory, or in host memory when the GPU was full.
struct KeptBuffer {
    DeviceBuffer device;
    std::vector<std::uint8_t> host;
    std::size_t bytes = 0;

    // A device pointer to the data; host data is first copied into `scratch` (grown as needed).
    Result<const void*> view(int dev, DeviceBuffer& scratch, cudaStream_t stream) const {
        if (bytes == 0) return static_cast<const void*>(nullptr);
        if (device.get()) return static_cast<const void*>(device.get());
        if (scratch.bytes() < bytes) ATTN_TRY(scratch.allocate(dev, bytes, "kept state copied back to the GPU"));
        CU_TRY(cudaMemcpyAsync(scratch.get(), host.data(), bytes, cudaMemcpyHostToDevice, stream));
        return static_cast<const void*>(scratch.get());
    }
};

struct KeptLayer {
    KeptBuffer q, k, v;  // [rows][H·hd] / [rows][Hkv·hd], storage type
};

// The encoded context of a run: what a query-only rerun needs and may share.
struct ContextState {
    int device = 0;
    std::uint64_t modelUid = 0;
    ElemType type = ElemType::BF16;
    std::string contextHash;  // EncodingPlan::contextHash of the run
    int queryBegin = 0;
    std::vector<KeptLayer> layers;  // rows [0, queryBegin)
    std::vector<float> lse;         // [layer][head][queryBegin]
    std::vector<float> entropy;     // [layer][head][queryBegin]
    std::uint64_t bytes() const {
        std::uint64_t b = (lse.size() + entropy.size()) * 4;
        for (const auto& l : layers) b += l.q.bytes + l.k.bytes + l.v.bytes;
        return b;
    }
};

class CudaRunState final : public RunState {
public:
    std::shared_ptr<const ContextState> context;
    int tokens = 0, queries = 0, layers = 0, heads = 0;
    PlanView view;                       // the plan as the kernels read it
    std::vector<KeptLayer> query;        // rows [queryBegin, N)
    std::vector<float> queryLse;         // [layer][head][Q]
    std::vector<std::uint8_t> selected;  // [layer][head][Q][P]; empty when selection was off
    std::uint64_t bytes() const override {
        std::uint64_t b = context ? context->bytes() : 0;
        for (const auto& l : query) b += l.q.bytes + l.k.bytes + l.v.bytes;
        return b + queryLse.size() * 4 + selected.size();
    }
};

// A generation's own query rows on the GPU: post-RoPE Q and K, and V, of every query and
// generated token per layer, with room for the tokens still to come; each decode call writes
// its row in place (row t = query token t). The context stays in the prompt run's state.
struct DecodeBuffers {
    std::vector<DeviceBuffer> q, k, v;  // [layer] → [capacity][H·hd] / [capacity][Hkv·hd], storage type
    int capacity = 0;                   // query rows
};

std::atomic<std::uint64_t> g_nextModelUid{1};  // identifies uploaded weights in run states

// ---- weights ------------------------------------------------------------------------------------

struct DeviceLayer {
    DeviceBuffer attnNorm, ffnNorm, postAttnNorm, postFfnNorm, qNorm, kNorm;  // float
    DeviceBuffer bq, bk, bv;                                                  // float, optional
    DeviceBuffer wq, wk, wv, wo, wGate, wUp, wDown;                           // storage type
};

struct DeviceWeights {
    DeviceBuffer embedding, output, outputNorm;
    bool tiedOutput = false;
    std::vector<DeviceLayer> layers;
};

cudaDataType_t blasType(ElemType t) {
    return t == ElemType::F32 ? CUDA_R_32F : t == ElemType::F16 ? CUDA_R_16F : CUDA_R_16BF;
}

bool sameType(DType src, ElemType dst) {
    return (src == DType::F32 && dst == ElemType::F32) || (src == DType::F16 && dst == ElemType::F16) ||
           (src == DType::BF16 && dst == ElemType::BF16);
}

std::uint16_t toBits16(ElemType t, float v) { return t == ElemType::F16 ? f32ToF16(v) : f32ToBf16(v); }

// Runs f(begin, end) over [0, n) on up to `threads` threads.
template <typename F>
void parallelRows(std::int64_t n, int threads, F&& f) {
    const int t = static_cast<int>(std::max<std::int64_t>(1, std::min<std::int64_t>(threads, n / 16)));
    if (t <= 1) {
        f(std::int64_t{0}, n);
        return;
    }
    std::vector<std::thread> pool;
    for (int i = 0; i < t; ++i) pool.emplace_back([&, i] { f(n * i / t, n * (i + 1) / t); });
    for (auto& th : pool) th.join();
}

// ---- the backend ----------------------------------------------------------------------------------

class CudaRun;

class CudaBackend final : public Backend {
public:
    explicit CudaBackend(const CudaBackendOptions& o) : opt_(o) {}
    ~CudaBackend() override {
        (void)cudaSetDevice(device_);
        weights_ = DeviceWeights{};
        if (blas_) (void)cublasDestroy(blas_);
        if (stream_) (void)cudaStreamDestroy(stream_);
    }

    Result<void> init();
    std::string name() const override;
    Result<void> loadWeights(std::shared_ptr<const LoadedModel> model) override;
    Result<RunOutput> run(const RunRequest& request, std::stop_token stop, Progress* progress) override;
    Result<AttentionTile> attentionTile(const RunState& kept, const AttentionTileRequest& request,
                                        std::stop_token stop) override;
    Result<std::unique_ptr<Decoder>> startDecoding(const EncodingPlan& plan, std::shared_ptr<const RunState> prompt,
                                                   int maxNewTokens) override;
    // One decode call: `token` appended to `plan`, its row computed against the prompt's context
    // and the decoder's query rows.
    Result<DecodeRow> decodeStep(EncodingPlan& plan, const CudaRunState& prompt, DecodeBuffers& rows,
                                 std::int32_t token, std::stop_token stop);
    // The fused attention kernel chosen by the `attention` option for the loaded model.
    cudaError_t attentionForward(const AttentionForwardArgs& a, cudaStream_t stream) const {
        return mmaAttention_ ? launchAttentionForwardMma(a, stream) : launchAttentionForward(a, stream);
    }
    std::uint64_t freeMemoryBytes() const override {
        std::size_t f = 0, t = 0;
        if (cudaSetDevice(device_) != cudaSuccess || cudaMemGetInfo(&f, &t) != cudaSuccess) {
            (void)cudaGetLastError();
            return 0;
        }
        return f;
    }

private:
    friend class CudaRun;
    Result<RunOutput> runImpl(const RunRequest& request, std::stop_token stop, Progress* progress);
    // Embed, then every layer's attention and FFN blocks over the run's rows.
    Result<void> runLayers(CudaRun& run, RunRows rows, std::stop_token stop, Progress* progress);
    Result<void> uploadMatrix(const TensorView& t, std::int64_t rows, std::int64_t cols, const std::string& what,
                              DeviceBuffer& out);
    Result<void> uploadVector(const TensorView& t, std::int64_t n, const std::string& what, bool required,
                              DeviceBuffer& out);
    // Y[M][Nout] (+)= X[M][K] · W[Nout][K]^T, X and W in the storage type, Y float.
    Result<void> gemm(const void* x, int m, int k, const void* w, int nOut, float* y, bool accumulate);
    template <typename T>
    Result<void> upload(DeviceBuffer& buf, const std::vector<T>& v, const std::string& what) {
        ATTN_TRY(buf.allocate(device_, std::max<std::size_t>(v.size(), 1) * sizeof(T), what));
        if (!v.empty())
            CU_TRY(cudaMemcpyAsync(buf.get(), v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice, stream_));
        return {};
    }
    const CudaRunState* reusable(const std::shared_ptr<const RunState>& s, const std::string& contextHash) const;
    int hostThreads() const {
        return opt_.hostThreads > 0 ? opt_.hostThreads
                                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    }

    CudaBackendOptions opt_;
    int device_ = 0;
    ElemType type_ = ElemType::BF16;
    cudaDeviceProp prop_{};
    cudaStream_t stream_ = nullptr;
    cublasHandle_t blas_ = nullptr;
    std::shared_ptr<const LoadedModel> model_;
    ModelConfig cfg_;
    std::uint64_t modelUid_ = 0;
    bool mmaAttention_ = false;  // tensor-core attention for this model (opt_.attention == "mma" and it fits)
    DeviceWeights weights_;
};

Result<void> CudaBackend::init() {
    device_ = opt_.device;
    if (opt_.dtype == "bf16") type_ = ElemType::BF16;
    else if (opt_.dtype == "f16") type_ = ElemType::F16;
    else if (opt_.dtype == "f32") type_ = ElemType::F32;
    else return makeError(ErrorKind::InvalidInput, "unknown CUDA dtype '" + opt_.dtype + "' (use bf16, f16 or f32)");
    CU_TRY(cudaSetDevice(device_));
    CU_TRY(cudaGetDeviceProperties(&prop_, device_));
    if (prop_.major < 8)
        return makeError(ErrorKind::Unsupported, std::string("GPU ") + prop_.name + " has compute capability " +
                                                     std::to_string(prop_.major) + "." + std::to_string(prop_.minor) +
                                                     "; the CUDA backend needs 8.0 or newer");
    CU_TRY(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    CUBLAS_TRY(cublasCreate(&blas_));
    CUBLAS_TRY(cublasSetStream(blas_, stream_));
    // F32 is the parity mode: no TF32. 16-bit inputs use tensor cores with float32 accumulation.
    CUBLAS_TRY(cublasSetMathMode(blas_, type_ == ElemType::F32 ? CUBLAS_PEDANTIC_MATH : CUBLAS_DEFAULT_MATH));
    return {};
}

std::string CudaBackend::name() const {
    // The attention kernel is named when the option asked for tensor cores (the default name is unchanged).
    std::string attention;
    if (mmaAttention_) attention = ", attention mma";
    else if (opt_.attention == "mma" && model_)
        attention = ", attention fp32: mma needs a head size that is a multiple of 16";
    return "cuda:" + std::to_string(device_) + " (" + prop_.name + ", " + elemName(type_) + attention + ")";
}

Result<void> CudaBackend::gemm(const void* x, int m, int k, const void* w, int nOut, float* y, bool accumulate) {
    if (m <= 0 || nOut <= 0) return {};
    const float one = 1.0f, zero = 0.0f;
    const cudaDataType_t t = blasType(type_);
    const cublasComputeType_t compute = type_ == ElemType::F32 ? CUBLAS_COMPUTE_32F_PEDANTIC : CUBLAS_COMPUTE_32F;
    CUBLAS_TRY(cublasGemmEx(blas_, CUBLAS_OP_T, CUBLAS_OP_N, nOut, m, k, &one, w, t, k, x, t, k,
                            accumulate ? &one : &zero, y, CUDA_R_32F, nOut, compute, CUBLAS_GEMM_DEFAULT));
    return {};
}

Result<void> CudaBackend::uploadMatrix(const TensorView& t, std::int64_t rows, std::int64_t cols,
                                       const std::string& what, DeviceBuffer& out) {
    const std::string tname = t.name.empty() ? what : t.name;
    if (!t.present()) return makeError(ErrorKind::Format, "weight tensor " + tname + " is missing", model_->path);
    if (t.rows != rows || t.cols != cols)
        return makeError(ErrorKind::Format,
                         "weight tensor " + tname + " has shape [" + std::to_string(t.rows) + "][" +
                             std::to_string(t.cols) + "], expected [" + std::to_string(rows) + "][" +
                             std::to_string(cols) + "]",
                         model_->path);
    const std::uint64_t elems = static_cast<std::uint64_t>(rows) * static_cast<std::uint64_t>(cols);
    const auto need = dtypeBytes(t.dtype, elems);
    if (!need || t.bytes < *need || cols % dtypeInfo(t.dtype).blockSize != 0)
        return makeError(ErrorKind::Format, "weight tensor " + tname + " holds too few bytes for its shape",
                         model_->path);
    const std::size_t es = elemSize(type_);
    ATTN_TRY(out.allocate(device_, elems * es, tname + " (" + elemName(type_) + ")"));

    if (sameType(t.dtype, type_)) {
        CU_TRY(cudaMemcpyAsync(out.get(), t.data, elems * es, cudaMemcpyHostToDevice, stream_));
        CU_TRY(cudaStreamSynchronize(stream_));  // the source may be a mapping that goes away
        return {};
    }
    const std::int64_t slabBytes = 64ll << 20;
    const std::uint64_t srcRowBytes = *need / static_cast<std::uint64_t>(rows);
    if (t.dtype == DType::Q8_0) {  // raw blocks to the GPU, dequantised there
        const std::int64_t slabRows = std::max<std::int64_t>(1, slabBytes / static_cast<std::int64_t>(srcRowBytes));
        DeviceBuffer staging;
        ATTN_TRY(staging.allocate(device_, static_cast<std::size_t>(std::min(slabRows, rows)) * srcRowBytes,
                                  "Q8_0 upload staging"));
        for (std::int64_t r0 = 0; r0 < rows; r0 += slabRows) {
            const std::int64_t nr = std::min(slabRows, rows - r0);
            CU_TRY(cudaMemcpyAsync(staging.get(), t.data + static_cast<std::uint64_t>(r0) * srcRowBytes,
                                   static_cast<std::size_t>(nr) * srcRowBytes, cudaMemcpyHostToDevice, stream_));
            CU_TRY(launchDequantQ8_0(type_, staging.as<std::uint8_t>(), static_cast<std::size_t>(nr * cols),
                                     out.as<std::uint8_t>() + static_cast<std::uint64_t>(r0) * cols * es, stream_));
            CU_TRY(cudaStreamSynchronize(stream_));  // staging is reused
        }
        return {};
    }
    // Anything else: dequantise rows to float on the host, convert, copy.
    const std::int64_t slabRows = std::max<std::int64_t>(1, slabBytes / (cols * 4));
    std::vector<std::uint8_t> host(static_cast<std::size_t>(std::min(slabRows, rows) * cols) * es);
    for (std::int64_t r0 = 0; r0 < rows; r0 += slabRows) {
        const std::int64_t nr = std::min(slabRows, rows - r0);
        parallelRows(nr, hostThreads(), [&](std::int64_t a, std::int64_t b) {
            std::vector<float> row(static_cast<std::size_t>(cols));
            for (std::int64_t r = a; r < b; ++r) {
                dequantizeRow(t.dtype, t.data + static_cast<std::uint64_t>(r0 + r) * srcRowBytes, row.data(),
                              static_cast<std::size_t>(cols));
                std::uint8_t* dst = host.data() + static_cast<std::size_t>(r * cols) * es;
                if (type_ == ElemType::F32) std::memcpy(dst, row.data(), static_cast<std::size_t>(cols) * 4);
                else
                    for (std::int64_t c = 0; c < cols; ++c) {
                        const std::uint16_t bits = toBits16(type_, row[static_cast<std::size_t>(c)]);
                        std::memcpy(dst + c * 2, &bits, 2);
                    }
            }
        });
        CU_TRY(cudaMemcpyAsync(out.as<std::uint8_t>() + static_cast<std::uint64_t>(r0) * cols * es, host.data(),
                               static_cast<std::size_t>(nr * cols) * es, cudaMemcpyHostToDevice, stream_));
        CU_TRY(cudaStreamSynchronize(stream_));  // `host` is reused
    }
    return {};
}

Result<void> CudaBackend::uploadVector(const TensorView& t, std::int64_t n, const std::string& what, bool required,
                                       DeviceBuffer& out) {
    if (!t.present()) {
        if (required) return makeError(ErrorKind::Format, "weight tensor " + what + " is missing", model_->path);
        return {};
    }
    if (t.rows * t.cols != n)
        return makeError(ErrorKind::Format,
                         "weight tensor " + (t.name.empty() ? what : t.name) + " has " +
                             std::to_string(t.rows * t.cols) + " values, expected " + std::to_string(n),
                         model_->path);
    const auto need = dtypeBytes(t.dtype, static_cast<std::uint64_t>(n));
    if (!need || t.bytes < *need)
        return makeError(ErrorKind::Format, "weight tensor " + what + " holds too few bytes", model_->path);
    std::vector<float> v(static_cast<std::size_t>(n));
    dequantizeRow(t.dtype, t.data, v.data(), v.size());
    ATTN_TRY(upload(out, v, what));
    CU_TRY(cudaStreamSynchronize(stream_));
    return {};
}

Result<void> CudaBackend::loadWeights(std::shared_ptr<const LoadedModel> model) {
    if (!model) return makeError(ErrorKind::Internal, "no model given to the CUDA backend");
    CU_TRY(cudaSetDevice(device_));
    weights_ = DeviceWeights{};  // free the previous model first
    model_.reset();
    modelUid_ = 0;
    const ModelConfig& c = model->config;
    if (c.headDim > kMaxHeadDim)
        return makeError(ErrorKind::Unsupported, "the CUDA backend supports head sizes up to " +
                                                     std::to_string(kMaxHeadDim) + ", this model has " +
                                                     std::to_string(c.headDim));
    if (c.nKvHeads <= 0 || c.nHeads % c.nKvHeads != 0 || c.ropeDim % 2 != 0 || c.ropeDim > c.headDim)
        return makeError(ErrorKind::Format, "inconsistent head counts or rotary size", model->path);
    const auto& W = model->weights;
    if (static_cast<int>(W.layers.size()) != c.nLayers)
        return makeError(ErrorKind::Format,
                         "the model has " + std::to_string(W.layers.size()) + " layers of weights for " +
                             std::to_string(c.nLayers) + " layers",
                         model->path);

    // Fail early, with numbers, when the weights cannot fit.
    const std::uint64_t es = elemSize(type_);
    const std::uint64_t d = static_cast<std::uint64_t>(c.dim), qd = static_cast<std::uint64_t>(c.nHeads) * c.headDim,
                        kvd = static_cast<std::uint64_t>(c.nKvHeads) * c.headDim,
                        f = static_cast<std::uint64_t>(c.ffnDim);
    const bool tied = !W.output.present() || W.output.data == W.tokenEmbedding.data;
    const std::uint64_t perLayer = (qd * d * 2 + kvd * d * 2 + f * d * 3) * es;
    const std::uint64_t total = perLayer * static_cast<std::uint64_t>(c.nLayers) +
                                static_cast<std::uint64_t>(c.vocabSize) * d * es * (tied ? 1 : 2);
    std::size_t freeB = 0, totalB = 0;
    CU_TRY(cudaMemGetInfo(&freeB, &totalB));
    if (total > freeB)
        return makeError(ErrorKind::Backend, "CUDA out of memory: the weights need " + gib(total) + " in " +
                                                 elemName(type_) + ", " + gib(freeB) + " of " + gib(totalB) +
                                                 " are free on " + prop_.name +
                                                 " (try ATTNSCOPE_CUDA_DTYPE=bf16 or the CPU)");

    model_ = model;
    DeviceWeights w;
    ATTN_TRY(uploadMatrix(W.tokenEmbedding, c.vocabSize, c.dim, "token embedding", w.embedding));
    w.tiedOutput = tied;
    if (!tied) ATTN_TRY(uploadMatrix(W.output, c.vocabSize, c.dim, "output", w.output));
    ATTN_TRY(uploadVector(W.outputNorm, c.dim, "output norm", true, w.outputNorm));
    for (int l = 0; l < c.nLayers; ++l) {
        const LayerWeights& L = W.layers[static_cast<std::size_t>(l)];
        DeviceLayer dl;
        const std::string p = "layer " + std::to_string(l) + " ";
        ATTN_TRY(uploadVector(L.attnNorm, c.dim, p + "attention norm", true, dl.attnNorm));
        ATTN_TRY(uploadVector(L.ffnNorm, c.dim, p + "FFN norm", true, dl.ffnNorm));
        ATTN_TRY(uploadVector(L.postAttnNorm, c.dim, p + "post-attention norm", c.postAttnNorm, dl.postAttnNorm));
        ATTN_TRY(uploadVector(L.postFfnNorm, c.dim, p + "post-FFN norm", c.postFfnNorm, dl.postFfnNorm));
        ATTN_TRY(uploadVector(L.qNorm, c.headDim, p + "Q norm", c.qkNorm, dl.qNorm));
        ATTN_TRY(uploadVector(L.kNorm, c.headDim, p + "K norm", c.qkNorm, dl.kNorm));
        ATTN_TRY(uploadVector(L.bq, static_cast<std::int64_t>(qd), p + "Q bias", false, dl.bq));
        ATTN_TRY(uploadVector(L.bk, static_cast<std::int64_t>(kvd), p + "K bias", false, dl.bk));
        ATTN_TRY(uploadVector(L.bv, static_cast<std::int64_t>(kvd), p + "V bias", false, dl.bv));
        ATTN_TRY(uploadMatrix(L.wq, static_cast<std::int64_t>(qd), c.dim, p + "Q", dl.wq));
        ATTN_TRY(uploadMatrix(L.wk, static_cast<std::int64_t>(kvd), c.dim, p + "K", dl.wk));
        ATTN_TRY(uploadMatrix(L.wv, static_cast<std::int64_t>(kvd), c.dim, p + "V", dl.wv));
        ATTN_TRY(uploadMatrix(L.wo, c.dim, static_cast<std::int64_t>(qd), p + "attention output", dl.wo));
        ATTN_TRY(uploadMatrix(L.wGate, c.ffnDim, c.dim, p + "FFN gate", dl.wGate));
        ATTN_TRY(uploadMatrix(L.wUp, c.ffnDim, c.dim, p + "FFN up", dl.wUp));
        ATTN_TRY(uploadMatrix(L.wDown, c.dim, c.ffnDim, p + "FFN down", dl.wDown));
        w.layers.push_back(std::move(dl));
    }
    CU_TRY(cudaStreamSynchronize(stream_));
    weights_ = std::move(w);
    cfg_ = c;
    modelUid_ = g_nextModelUid.fetch_add(1);
    mmaAttention_ = opt_.attention == "mma" && attentionMmaSupports(c.headDim);
    return {};
}

// A previous run whose encoded context this plan may share: same EncodingPlan::contextHash
// (the rule every backend follows), same device, weights and storage type.
const CudaRunState* CudaBackend::reusable(const std::shared_ptr<const RunState>& s,
                                          const std::string& contextHash) const {
    const auto* st = dynamic_cast<const CudaRunState*>(s.get());
    if (!st || !st->context) return nullptr;
    const ContextState& c = *st->context;
    const bool same = c.device == device_ && c.modelUid == modelUid_ && c.type == type_ && st->layers == cfg_.nLayers &&
                      static_cast<int>(c.layers.size()) == cfg_.nLayers && c.contextHash == contextHash;
    return same ? st : nullptr;
}

Result<RunOutput> CudaBackend::run(const RunRequest& request, std::stop_token stop, Progress* progress) {
    if (!model_ || modelUid_ == 0) return makeError(ErrorKind::Internal, "no model loaded in the CUDA backend");
    if (!request.plan) return makeError(ErrorKind::Internal, "run request without a plan");
    try {
        return runImpl(request, stop, progress);
    } catch (const std::bad_alloc&) {
        return makeError(ErrorKind::Backend, "out of host memory during the CUDA run");
    }
}

// ---- one run ------------------------------------------------------------------------------------
// A run goes through the stages every backend shares (backend/run_steps.h): embed → for each
// layer: attention block, FFN block → logits and NLL of the query rows. The active rows [R] are
// all tokens, or only the query rows when a previous run's context is reused; projections and
// the FFN go in blocks of B rows (bounded scratch), attention in one fused kernel over all
// active rows, then for query rows the selective-attention steps and the query statistics.

// The run's device buffers, allocated once per run.
struct RunBuffers {
    DeviceBuffer x, xn, qf, kf, vf, proj, gate, up, act, attnOut;                             // activations
    DeviceBuffer entropy, lse, lseBefore, score, selected, chunkMass, prefixMass, queryMass;  // statistics
    DeviceBuffer rowKeys, keyChunk, chunkBegin, ids, ropeGlobal, ropeLocal, targets;          // the plan
    DeviceBuffer windowPositions;      // the position rule's window coordinates (plan_view.h)
    DeviceBuffer nll, argmax, logits;  // the query rows' logits
    // Q/K/V when the state is not kept on the GPU: context rows, query rows, a reused context's K/V.
    DeviceBuffer workQc, workKc, workVc, workQq, workKq, workVq, reusedK, reusedV;
};

// Where one layer's post-RoPE Q/K/V go: context rows [0, qb) to *c, query rows to *q; Kctx and
// Vctx are the context keys and values attention reads (this run's, or the reused run's).
struct LayerQkv {
    void *Qc = nullptr, *Kc = nullptr, *Vc = nullptr, *Qq = nullptr, *Kq = nullptr, *Vq = nullptr;
    const void *Kctx = nullptr, *Vctx = nullptr;
};

class CudaRun {
public:
    // `decode`: a decode call, whose one row (the plan's last token) is written into the
    // decoder's query rows; `prev` is then the prompt run, whose context it reads.
    CudaRun(CudaBackend& b, const RunRequest& request, PlanView view, std::string contextHash, const CudaRunState* prev,
            DecodeBuffers* decode = nullptr);
    Result<void> prepare();
    Result<void> embed();
    Result<void> attentionBlock(int layer);
    Result<void> ffnBlock(int layer);
    Result<void> logitsAndNll();
    RunOutput finish(std::chrono::steady_clock::time_point start);
    DecodeRow decodeRow();  // a decode call's row (after logitsAndNll with log-probabilities)
    const AnalysisResult& stats() const { return res_; }

private:
    Result<void> chooseScoreMode();
    Result<void> allocateBuffers();
    Result<void> uploadPlan();
    Result<void> placeKeptState();
    Result<LayerQkv> layerQkv(int layer);
    Result<void> projectQkv(int layer, const LayerQkv& dst);
    Result<void> storeRotated(const float* src, int b0, int nb, int heads, int ropeDim, const float* cs, void* ctxDst,
                              void* qryDst);
    Result<void> attention(int layer, const LayerQkv& qkv);
    Result<void> statsToHost(int layer);
    Result<void> keepLayer(int layer, const LayerQkv& qkv);
    Result<void> logProbsToHost(int r0, int nq);
    std::size_t rowBytes(int rows, int width) const { return static_cast<std::size_t>(rows) * width * es_; }

    CudaBackend& b_;
    const RunRequest& req_;
    const EncodingPlan& plan_;
    const ModelConfig& c_;
    PlanView v_;
    std::string contextHash_;  // EncodingPlan::contextHash, kept with this run's context state
    const CudaRunState* prev_;
    DecodeBuffers* decode_;
    const RunRows rows_;
    const int N_, H_, Q_, P_, qb_, qDim_, kvDim_, B_;
    const int firstQuery_;  // the first query row this run computes, as a query index
    const std::size_t es_, hq_, hqp_;
    const bool selecting_;
    ChunkScore scoreMode_ = ChunkScore::TopN;
    int logitRows_ = 1;
    bool keepOnDevice_ = false;
    RunBuffers buf_;
    AnalysisResult res_;
    std::shared_ptr<ContextState> ctxState_;  // this run's context state (null when reused or not kept)
    std::vector<KeptLayer> queryKept_;        // [layer]
    std::vector<float> queryLse_;             // [layer][head][Q]
    std::vector<float> queryLogProbs_;        // [Q][vocab] when asked for
    std::vector<float> hostHN_, hostHQP_;
};

CudaRun::CudaRun(CudaBackend& b, const RunRequest& request, PlanView view, std::string contextHash,
                 const CudaRunState* prev, DecodeBuffers* decode)
    : b_(b),
      req_(request),
      plan_(*request.plan),
      c_(b.cfg_),
      v_(std::move(view)),
      contextHash_(std::move(contextHash)),
      prev_(prev),
      decode_(decode),
      rows_(decode ? RunRows{plan_.tokenCount() - 1, 1} : runRows(plan_, prev != nullptr)),
      N_(v_.tokens),
      H_(c_.nHeads),
      Q_(v_.queries),
      P_(v_.chunks),
      qb_(v_.queryBegin),
      qDim_(c_.nHeads * c_.headDim),
      kvDim_(c_.nKvHeads * c_.headDim),
      B_(std::max(1, std::min(rows_.count, b.opt_.rowBlock))),
      firstQuery_(std::max(0, rows_.first - qb_)),
      es_(elemSize(b.type_)),
      hq_(static_cast<std::size_t>(H_) * Q_),
      hqp_(std::max<std::size_t>(1, hq_ * P_)),
      selecting_(selectionActive(plan_.options.selective, P_, Q_)),
      res_(AnalysisResult::shaped(plan_, c_.nLayers, c_.nHeads)) {
    res_.reusedContext = prev_ != nullptr;
    if (prev_)  // the context rows' entropy is unchanged
        copyLeadingTokens(prev_->context->entropy, static_cast<std::size_t>(qb_), res_.entropy,
                          static_cast<std::size_t>(N_), static_cast<std::size_t>(c_.nLayers) * H_, qb_);
}

// The device scores chunks by the top n ≤ kMaxScoreTopN probabilities, the mean (n <= 0), or
// the whole mass when n covers every chunk.
Result<void> CudaRun::chooseScoreMode() {
    const SelectiveAttention& sel = plan_.options.selective;
    if (!selecting_) return {};
    if (sel.scoreTopN <= 0) scoreMode_ = ChunkScore::Mean;
    else if (sel.scoreTopN > kMaxScoreTopN) {
        if (sel.scoreTopN < v_.maxChunkLength)
            return makeError(ErrorKind::Unsupported, "the CUDA backend scores chunks by at most the top " +
                                                         std::to_string(kMaxScoreTopN) + " probabilities (asked for " +
                                                         std::to_string(sel.scoreTopN) + "); use the CPU");
        scoreMode_ = ChunkScore::Sum;
    }
    return {};
}

Result<void> CudaRun::prepare() {
    ATTN_TRY(chooseScoreMode());
    CU_TRY(cudaSetDevice(b_.device_));
    ATTN_TRY(allocateBuffers());
    ATTN_TRY(uploadPlan());
    ATTN_TRY(placeKeptState());
    hostHN_.resize(static_cast<std::size_t>(H_) * N_);
    hostHQP_.resize(hqp_);
    return {};
}

Result<void> CudaRun::allocateBuffers() {
    const int dev = b_.device_, R = rows_.count, d = c_.dim, ffn = c_.ffnDim;
    const std::size_t f4 = 4, hn = static_cast<std::size_t>(H_) * N_ * 4;
    RunBuffers& u = buf_;
    ATTN_TRY(u.x.allocate(dev, static_cast<std::size_t>(R) * d * f4, "residual stream"));
    ATTN_TRY(u.xn.allocate(dev, rowBytes(B_, d), "normalised rows"));
    ATTN_TRY(u.qf.allocate(dev, static_cast<std::size_t>(B_) * qDim_ * f4, "Q projection"));
    ATTN_TRY(u.kf.allocate(dev, static_cast<std::size_t>(B_) * kvDim_ * f4, "K projection"));
    ATTN_TRY(u.vf.allocate(dev, static_cast<std::size_t>(B_) * kvDim_ * f4, "V projection"));
    if (c_.postAttnNorm || c_.postFfnNorm)
        ATTN_TRY(u.proj.allocate(dev, static_cast<std::size_t>(B_) * d * f4, "projection"));
    ATTN_TRY(u.gate.allocate(dev, static_cast<std::size_t>(B_) * ffn * f4, "FFN gate"));
    ATTN_TRY(u.up.allocate(dev, static_cast<std::size_t>(B_) * ffn * f4, "FFN up"));
    ATTN_TRY(u.act.allocate(dev, rowBytes(B_, ffn), "FFN activation"));
    ATTN_TRY(u.attnOut.allocate(dev, rowBytes(R, qDim_), "attention output"));
    ATTN_TRY(u.entropy.allocate(dev, hn, "entropy"));
    ATTN_TRY(u.lse.allocate(dev, hn, "log-sum-exp"));
    if (selecting_) {
        ATTN_TRY(u.lseBefore.allocate(dev, hn, "log-sum-exp before selection"));
        ATTN_TRY(u.score.allocate(dev, hqp_ * 4, "chunk scores"));
        ATTN_TRY(u.selected.allocate(dev, hqp_, "selected chunks"));
    }
    ATTN_TRY(u.chunkMass.allocate(dev, hqp_ * 4, "chunk mass"));
    ATTN_TRY(u.prefixMass.allocate(dev, hq_ * 4, "prefix mass"));
    ATTN_TRY(u.queryMass.allocate(dev, hq_ * 4, "query mass"));
    const int V = c_.vocabSize;
    logitRows_ = std::max(1, std::min({Q_, B_, static_cast<int>((256ll << 20) / (static_cast<long long>(V) * 4))}));
    ATTN_TRY(u.nll.allocate(dev, static_cast<std::size_t>(Q_) * 4, "NLL"));
    ATTN_TRY(u.argmax.allocate(dev, static_cast<std::size_t>(Q_) * 4, "arg-max"));
    ATTN_TRY(u.logits.allocate(dev, static_cast<std::size_t>(logitRows_) * V * 4, "logits"));
    return {};
}

Result<void> CudaRun::uploadPlan() {
    RunBuffers& u = buf_;
    ATTN_TRY(b_.upload(u.rowKeys, v_.rowKeys, "visibility"));
    ATTN_TRY(b_.upload(u.keyChunk, v_.keyChunk, "chunk ids"));
    ATTN_TRY(b_.upload(u.windowPositions, v_.windowPositions, "window positions"));
    ATTN_TRY(b_.upload(u.chunkBegin, v_.chunkBegin, "chunk ranges"));
    ATTN_TRY(b_.upload(u.ids, std::vector<int>(plan_.ids.begin() + rows_.first, plan_.ids.end()), "token ids"));
    const RopeTables rope(c_, plan_.positions.data() + rows_.first, rows_.count);
    ATTN_TRY(b_.upload(u.ropeGlobal, rope.global(), "rotary table"));
    if (rope.hasLocal()) ATTN_TRY(b_.upload(u.ropeLocal, rope.local(), "rotary table (local layers)"));
    ATTN_TRY(b_.upload(u.targets, nextTokenTargets(plan_), "next tokens"));
    return {};
}

// Kept state on the GPU when it fits (with a reserve), else working buffers on the GPU and a
// copy in host memory; no kept state at all when the request does not keep it.
Result<void> CudaRun::placeKeptState() {
    const int dev = b_.device_, L = c_.nLayers;
    const bool keep = req_.keepState;
    if (keep) {
        std::size_t freeB = 0, totalB = 0;
        CU_TRY(cudaMemGetInfo(&freeB, &totalB));
        const std::size_t keptBytes = static_cast<std::size_t>(L) * rowBytes(rows_.count, qDim_ + 2 * kvDim_);
        const std::size_t reserve = std::max<std::size_t>(std::size_t{512} << 20, totalB / 20);
        keepOnDevice_ = b_.opt_.keep == "device" || (b_.opt_.keep == "auto" && keptBytes + reserve < freeB);
    }
    RunBuffers& u = buf_;
    if (!keepOnDevice_) {
        if (!prev_ && qb_ > 0) {
            ATTN_TRY(u.workQc.allocate(dev, rowBytes(qb_, qDim_), "context Q"));
            ATTN_TRY(u.workKc.allocate(dev, rowBytes(qb_, kvDim_), "context K"));
            ATTN_TRY(u.workVc.allocate(dev, rowBytes(qb_, kvDim_), "context V"));
        }
        if (!decode_) {  // a decode call writes into the decoder's query rows
            ATTN_TRY(u.workQq.allocate(dev, rowBytes(Q_, qDim_), "query Q"));
            ATTN_TRY(u.workKq.allocate(dev, rowBytes(Q_, kvDim_), "query K"));
            ATTN_TRY(u.workVq.allocate(dev, rowBytes(Q_, kvDim_), "query V"));
        }
    }
    if (!keep) return {};
    if (!prev_) {
        ctxState_ = std::make_shared<ContextState>();
        ctxState_->device = dev;
        ctxState_->modelUid = b_.modelUid_;
        ctxState_->type = b_.type_;
        ctxState_->contextHash = contextHash_;
        ctxState_->queryBegin = qb_;
        ctxState_->layers.resize(static_cast<std::size_t>(L));
        ctxState_->lse.resize(static_cast<std::size_t>(L) * H_ * qb_);
    }
    queryKept_.resize(static_cast<std::size_t>(L));
    queryLse_.resize(static_cast<std::size_t>(L) * hq_);
    return {};
}

Result<void> CudaRun::embed() {
    CU_TRY(launchEmbed(b_.type_, b_.weights_.embedding.get(), c_.dim, buf_.ids.as<int>(), rows_.count, c_.embedScale,
                       buf_.x.as<float>(), b_.stream_));
    return {};
}

// Destinations of this layer's Q/K/V rows: kept buffers on the GPU, or the working buffers.
Result<LayerQkv> CudaRun::layerQkv(int layer) {
    const auto l = static_cast<std::size_t>(layer);
    const int dev = b_.device_;
    KeptLayer* ctxKept = ctxState_ ? &ctxState_->layers[l] : nullptr;
    KeptLayer* qryKept = req_.keepState ? &queryKept_[l] : nullptr;
    RunBuffers& u = buf_;
    LayerQkv d{u.workQc.get(), u.workKc.get(), u.workVc.get(), u.workQq.get(), u.workKq.get(), u.workVq.get()};
    // Kept buffers of `rows` rows on the GPU; Q/K/V are written straight into them.
    auto allocateKept = [&](KeptLayer& k, int rows, const std::string& what, void*& q, void*& kk,
                            void*& v) -> Result<void> {
        ATTN_TRY(k.q.device.allocate(dev, rowBytes(rows, qDim_), "kept " + what + " Q"));
        ATTN_TRY(k.k.device.allocate(dev, rowBytes(rows, kvDim_), "kept " + what + " K"));
        ATTN_TRY(k.v.device.allocate(dev, rowBytes(rows, kvDim_), "kept " + what + " V"));
        q = k.q.device.get();
        kk = k.k.device.get();
        v = k.v.device.get();
        return {};
    };
    if (keepOnDevice_ && ctxKept && qb_ > 0) ATTN_TRY(allocateKept(*ctxKept, qb_, "context", d.Qc, d.Kc, d.Vc));
    if (keepOnDevice_ && qryKept) ATTN_TRY(allocateKept(*qryKept, Q_, "query", d.Qq, d.Kq, d.Vq));
    for (auto [k, rows] : {std::pair{ctxKept, qb_}, std::pair{qryKept, Q_}})
        if (k) {
            k->q.bytes = rowBytes(rows, qDim_);
            k->k.bytes = k->v.bytes = rowBytes(rows, kvDim_);
        }
    d.Kctx = d.Kc;
    d.Vctx = d.Vc;
    if (decode_) {
        d.Qq = decode_->q[l].get();
        d.Kq = decode_->k[l].get();
        d.Vq = decode_->v[l].get();
    }
    if (prev_) {  // the reused context's K and V
        const KeptLayer& pl = prev_->context->layers[l];
        auto k = pl.k.view(dev, u.reusedK, b_.stream_);
        if (!k) return k.takeError();
        auto vv = pl.v.view(dev, u.reusedV, b_.stream_);
        if (!vv) return vv.takeError();
        d.Kctx = *k;
        d.Vctx = *vv;
    }
    return d;
}

// Rows [b0, b0 + nb) of the active rows, rotated and stored: the context part to ctxDst, the
// query part to qryDst (ropeDim 0: values, only converted).
Result<void> CudaRun::storeRotated(const float* src, int b0, int nb, int heads, int ropeDim, const float* cs,
                                   void* ctxDst, void* qryDst) {
    const int hd = c_.headDim, half = c_.ropeDim / 2, stride = heads * hd, t0 = rows_.first + b0, t1 = t0 + nb;
    const bool adjacent = c_.ropeLayout == RopeLayout::AdjacentPairs;
    const int ca = t0, cb = std::min(t1, qb_);
    if (cb > ca)
        CU_TRY(launchRope(
            b_.type_, src, cb - ca, heads, hd, ropeDim, adjacent, cs + static_cast<std::size_t>(b0) * half * 2,
            static_cast<std::uint8_t*>(ctxDst) + static_cast<std::size_t>(ca) * stride * es_, b_.stream_));
    const int qa = std::max(t0, qb_);
    if (t1 > qa)
        CU_TRY(launchRope(b_.type_, src + static_cast<std::size_t>(qa - t0) * stride, t1 - qa, heads, hd, ropeDim,
                          adjacent, cs + static_cast<std::size_t>(qa - rows_.first) * half * 2,
                          static_cast<std::uint8_t*>(qryDst) + static_cast<std::size_t>(qa - qb_) * stride * es_,
                          b_.stream_));
    return {};
}

// Norm, projections, biases, QK-norm and rotary embedding of the active rows, in blocks.
Result<void> CudaRun::projectQkv(int layer, const LayerQkv& dst) {
    const DeviceLayer& lw = b_.weights_.layers[static_cast<std::size_t>(layer)];
    RunBuffers& u = buf_;
    const int d = c_.dim, hd = c_.headDim, Hkv = c_.nKvHeads;
    const float* cs = c_.isLocalLayer(layer) && u.ropeLocal.get() ? u.ropeLocal.as<float>() : u.ropeGlobal.as<float>();
    for (int b0 = 0; b0 < rows_.count; b0 += B_) {
        const int nb = std::min(B_, rows_.count - b0);
        CU_TRY(launchRmsNorm(b_.type_, u.x.as<float>() + static_cast<std::size_t>(b0) * d, nb, d,
                             lw.attnNorm.as<float>(), c_.normAddOne, c_.normEps, u.xn.get(), false, b_.stream_));
        ATTN_TRY(b_.gemm(u.xn.get(), nb, d, lw.wq.get(), qDim_, u.qf.as<float>(), false));
        ATTN_TRY(b_.gemm(u.xn.get(), nb, d, lw.wk.get(), kvDim_, u.kf.as<float>(), false));
        ATTN_TRY(b_.gemm(u.xn.get(), nb, d, lw.wv.get(), kvDim_, u.vf.as<float>(), false));
        if (lw.bq.get()) CU_TRY(launchAddBias(u.qf.as<float>(), nb, qDim_, lw.bq.as<float>(), b_.stream_));
        if (lw.bk.get()) CU_TRY(launchAddBias(u.kf.as<float>(), nb, kvDim_, lw.bk.as<float>(), b_.stream_));
        if (lw.bv.get()) CU_TRY(launchAddBias(u.vf.as<float>(), nb, kvDim_, lw.bv.as<float>(), b_.stream_));
        if (c_.qkNorm) {
            CU_TRY(launchRmsNorm(ElemType::F32, u.qf.as<float>(), nb * H_, hd, lw.qNorm.as<float>(), c_.normAddOne,
                                 c_.normEps, u.qf.get(), false, b_.stream_));
            CU_TRY(launchRmsNorm(ElemType::F32, u.kf.as<float>(), nb * Hkv, hd, lw.kNorm.as<float>(), c_.normAddOne,
                                 c_.normEps, u.kf.get(), false, b_.stream_));
        }
        ATTN_TRY(storeRotated(u.qf.as<float>(), b0, nb, H_, c_.ropeDim, cs, dst.Qc, dst.Qq));
        ATTN_TRY(storeRotated(u.kf.as<float>(), b0, nb, Hkv, c_.ropeDim, cs, dst.Kc, dst.Kq));
        ATTN_TRY(storeRotated(u.vf.as<float>(), b0, nb, Hkv, 0, cs, dst.Vc, dst.Vq));
    }
    return {};
}

// Fused attention over the active rows; for query rows with selective attention: (A) chunk
// scores from the unselected probabilities, (B) the choice on the host (selective_attention.h),
// (C) the query rows again with the other chunks masked; then the query statistics.
Result<void> CudaRun::attention(int layer, const LayerQkv& qkv) {
    RunBuffers& u = buf_;
    const cudaStream_t stream = b_.stream_;
    AttentionForwardArgs a;
    a.type = b_.type_;
    a.g = AttentionGeometry{N_, H_, c_.nKvHeads, c_.headDim, c_.attentionScale(), c_.slidingWindowFor(layer)};
    a.vis = VisibilityArgs{u.rowKeys.as<int>(),
                           u.keyChunk.as<int>(),
                           nullptr,
                           qb_,
                           P_,
                           v_.windowPositions.empty() ? nullptr : u.windowPositions.as<int>()};
    a.q = TokenRows{qkv.Qc, qkv.Qq, qb_, qDim_};
    a.k = TokenRows{qkv.Kctx, qkv.Kq, qb_, kvDim_};
    a.v = TokenRows{qkv.Vctx, qkv.Vq, qb_, kvDim_};
    a.rowBegin = rows_.first;
    a.rowEnd = N_;
    a.out = u.attnOut.get();
    a.outRowOffset = rows_.first;
    a.entropy = u.entropy.as<float>();
    a.lse = u.lse.as<float>();
    CU_TRY(b_.attentionForward(a, stream));

    QueryStatsArgs s{.type = b_.type_,
                     .g = a.g,
                     .vis = a.vis,
                     .q = a.q,
                     .k = a.k,
                     .prefixLength = v_.prefixLength,
                     .chunkBegin = u.chunkBegin.as<int>(),
                     .lse = u.lse.as<float>()};
    if (selecting_) {
        std::uint8_t* keep = res_.selected.data() + static_cast<std::size_t>(layer) * hq_ * P_;
        QueryStatsArgs sa = s;  // (A)
        sa.scoreMode = scoreMode_;
        sa.scoreTopN = plan_.options.selective.scoreTopN;
        sa.score = u.score.as<float>();
        CU_TRY(launchQueryStats(sa, stream));
        CU_TRY(cudaMemcpyAsync(hostHQP_.data(), u.score.get(), hq_ * P_ * 4, cudaMemcpyDeviceToHost, stream));
        CU_TRY(cudaStreamSynchronize(stream));
        selectChunksOfCall(hostHQP_.data(), H_, Q_, firstQuery_, P_, plan_.options.selective, keep);  // (B)
        CU_TRY(cudaMemcpyAsync(u.selected.get(), keep, hq_ * P_, cudaMemcpyHostToDevice, stream));
        CU_TRY(cudaMemcpyAsync(u.lseBefore.get(), u.lse.get(), static_cast<std::size_t>(H_) * N_ * 4,
                               cudaMemcpyDeviceToDevice, stream));
        AttentionForwardArgs aq = a;  // (C)
        aq.vis.selected = u.selected.as<std::uint8_t>();
        aq.rowBegin = qb_ + firstQuery_;
        aq.lseBefore = u.lseBefore.as<float>();
        CU_TRY(b_.attentionForward(aq, stream));
        s.vis.selected = u.selected.as<std::uint8_t>();
        CU_TRY(cudaStreamSynchronize(stream));  // `keep` is read by the copy above
    }
    s.chunkMass = u.chunkMass.as<float>();
    s.prefixMass = u.prefixMass.as<float>();
    s.queryMass = u.queryMass.as<float>();
    CU_TRY(launchQueryStats(s, stream));
    return {};
}

// This layer's entropy, chunk/prefix/query masses into the result.
Result<void> CudaRun::statsToHost(int layer) {
    const auto l = static_cast<std::size_t>(layer);
    const cudaStream_t stream = b_.stream_;
    RunBuffers& u = buf_;
    CU_TRY(cudaMemcpyAsync(hostHN_.data(), u.entropy.get(), hostHN_.size() * 4, cudaMemcpyDeviceToHost, stream));
    CU_TRY(cudaStreamSynchronize(stream));
    for (int h = 0; h < H_; ++h)
        std::copy_n(hostHN_.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(h) * N_ + rows_.first),
                    rows_.count, res_.entropy.begin() + static_cast<std::ptrdiff_t>((l * H_ + h) * N_ + rows_.first));
    auto toResult = [&](const DeviceBuffer& from, std::size_t n, std::vector<float>& to) -> Result<void> {
        CU_TRY(cudaMemcpyAsync(to.data() + l * n, from.get(), n * 4, cudaMemcpyDeviceToHost, stream));
        return {};
    };
    if (P_ > 0) ATTN_TRY(toResult(u.chunkMass, hq_ * P_, res_.chunkMass));
    ATTN_TRY(toResult(u.prefixMass, hq_, res_.prefixMass));
    ATTN_TRY(toResult(u.queryMass, hq_, res_.queryMass));
    CU_TRY(cudaStreamSynchronize(stream));
    return {};
}

// What the run state keeps of this layer: each row's log-sum-exp, and Q/K/V in host memory
// when they are not kept on the GPU.
Result<void> CudaRun::keepLayer(int layer, const LayerQkv& qkv) {
    if (!req_.keepState) return {};
    const auto l = static_cast<std::size_t>(layer);
    const cudaStream_t stream = b_.stream_;
    CU_TRY(cudaMemcpyAsync(hostHN_.data(), buf_.lse.get(), hostHN_.size() * 4, cudaMemcpyDeviceToHost, stream));
    CU_TRY(cudaStreamSynchronize(stream));
    for (int h = 0; h < H_; ++h) {
        const auto row = hostHN_.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(h) * N_);
        std::copy_n(row + qb_, Q_, queryLse_.begin() + static_cast<std::ptrdiff_t>((l * H_ + h) * Q_));
        if (ctxState_) std::copy_n(row, qb_, ctxState_->lse.begin() + static_cast<std::ptrdiff_t>((l * H_ + h) * qb_));
    }
    if (keepOnDevice_) return {};
    auto toHost = [&](KeptBuffer& kb, const void* src) -> Result<void> {
        kb.host.resize(kb.bytes);
        if (kb.bytes) CU_TRY(cudaMemcpyAsync(kb.host.data(), src, kb.bytes, cudaMemcpyDeviceToHost, stream));
        return {};
    };
    if (ctxState_) {
        KeptLayer& k = ctxState_->layers[l];
        ATTN_TRY(toHost(k.q, qkv.Qc));
        ATTN_TRY(toHost(k.k, qkv.Kc));
        ATTN_TRY(toHost(k.v, qkv.Vc));
    }
    ATTN_TRY(toHost(queryKept_[l].q, qkv.Qq));
    ATTN_TRY(toHost(queryKept_[l].k, qkv.Kq));
    ATTN_TRY(toHost(queryKept_[l].v, qkv.Vq));
    CU_TRY(cudaStreamSynchronize(stream));
    return {};
}

Result<void> CudaRun::attentionBlock(int layer) {
    auto qkv = layerQkv(layer);
    if (!qkv) return qkv.takeError();
    ATTN_TRY(projectQkv(layer, *qkv));
    ATTN_TRY(attention(layer, *qkv));
    ATTN_TRY(statsToHost(layer));
    return keepLayer(layer, *qkv);
}

// Output projection and FFN, in blocks of active rows (post-norms for gemma).
Result<void> CudaRun::ffnBlock(int layer) {
    const DeviceLayer& lw = b_.weights_.layers[static_cast<std::size_t>(layer)];
    RunBuffers& u = buf_;
    const int d = c_.dim, ffn = c_.ffnDim;
    // y = W·in added to xb, through the post-norm when the model has one.
    auto addProjected = [&](const void* in, int nb, int inDim, const DeviceBuffer& w, const DeviceBuffer& postNorm,
                            bool hasPostNorm, float* xb) -> Result<void> {
        if (!hasPostNorm) return b_.gemm(in, nb, inDim, w.get(), d, xb, true);
        ATTN_TRY(b_.gemm(in, nb, inDim, w.get(), d, u.proj.as<float>(), false));
        CU_TRY(launchRmsNorm(ElemType::F32, u.proj.as<float>(), nb, d, postNorm.as<float>(), c_.normAddOne, c_.normEps,
                             xb, true, b_.stream_));
        return {};
    };
    for (int b0 = 0; b0 < rows_.count; b0 += B_) {
        const int nb = std::min(B_, rows_.count - b0);
        float* xb = u.x.as<float>() + static_cast<std::size_t>(b0) * d;
        const void* ob = static_cast<const std::uint8_t*>(u.attnOut.get()) + rowBytes(b0, qDim_);
        ATTN_TRY(addProjected(ob, nb, qDim_, lw.wo, lw.postAttnNorm, c_.postAttnNorm, xb));
        CU_TRY(launchRmsNorm(b_.type_, xb, nb, d, lw.ffnNorm.as<float>(), c_.normAddOne, c_.normEps, u.xn.get(), false,
                             b_.stream_));
        ATTN_TRY(b_.gemm(u.xn.get(), nb, d, lw.wGate.get(), ffn, u.gate.as<float>(), false));
        ATTN_TRY(b_.gemm(u.xn.get(), nb, d, lw.wUp.get(), ffn, u.up.as<float>(), false));
        CU_TRY(launchGatedActivation(b_.type_, u.gate.as<float>(), u.up.as<float>(), static_cast<std::size_t>(nb) * ffn,
                                     c_.gegluTanh, u.act.get(), b_.stream_));
        ATTN_TRY(addProjected(u.act.get(), nb, ffn, lw.wDown, lw.postFfnNorm, c_.postFfnNorm, xb));
    }
    CU_TRY(cudaStreamSynchronize(b_.stream_));  // surfaces kernel failures layer by layer
    return {};
}

// ln softmax of the logits rows [r0, r0 + nq) of the computed query rows, finished on the host
// (parity tests and generation).
Result<void> CudaRun::logProbsToHost(int r0, int nq) {
    const int V = c_.vocabSize;
    float* dst = queryLogProbs_.data() + static_cast<std::size_t>(r0) * V;
    CU_TRY(cudaMemcpyAsync(dst, buf_.logits.get(), static_cast<std::size_t>(nq) * V * 4, cudaMemcpyDeviceToHost,
                           b_.stream_));
    CU_TRY(cudaStreamSynchronize(b_.stream_));
    for (int r = 0; r < nq; ++r) {
        float* lg = dst + static_cast<std::size_t>(r) * V;
        writeLogProbs(lg, V, summarizeLogits(lg, V).logSumExp, lg);
    }
    return {};
}

// Final norm and logits of the query rows this run computes: NLL of the next query token and
// the arg-max (both [Q]; rows it does not compute stay NaN and -1).
Result<void> CudaRun::logitsAndNll() {
    const DeviceWeights& W = b_.weights_;
    RunBuffers& u = buf_;
    const int d = c_.dim, V = c_.vocabSize, q0 = firstQuery_, nRows = Q_ - q0;
    const void* outW = W.tiedOutput ? W.embedding.get() : W.output.get();
    if (req_.keepQueryLogProbs) queryLogProbs_.resize(static_cast<std::size_t>(nRows) * V);
    for (int r0 = 0; r0 < nRows; r0 += logitRows_) {
        const int nq = std::min(logitRows_, nRows - r0), q = q0 + r0;
        CU_TRY(launchRmsNorm(b_.type_, u.x.as<float>() + static_cast<std::size_t>(qb_ + q - rows_.first) * d, nq, d,
                             W.outputNorm.as<float>(), c_.normAddOne, c_.normEps, u.xn.get(), false, b_.stream_));
        ATTN_TRY(b_.gemm(u.xn.get(), nq, d, outW, V, u.logits.as<float>(), false));
        CU_TRY(launchNllArgmax(u.logits.as<float>(), nq, V, u.targets.as<int>() + q, u.nll.as<float>() + q,
                               u.argmax.as<int>() + q, b_.stream_));
        if (req_.keepQueryLogProbs) ATTN_TRY(logProbsToHost(r0, nq));
    }
    res_.nllNext.assign(static_cast<std::size_t>(Q_), std::numeric_limits<float>::quiet_NaN());
    res_.argmaxNext.assign(static_cast<std::size_t>(Q_), -1);
    const auto from = static_cast<std::size_t>(q0), bytes = static_cast<std::size_t>(nRows) * 4;
    CU_TRY(cudaMemcpyAsync(res_.nllNext.data() + from, u.nll.as<float>() + from, bytes, cudaMemcpyDeviceToHost,
                           b_.stream_));
    CU_TRY(cudaMemcpyAsync(res_.argmaxNext.data() + from, u.argmax.as<int>() + from, bytes, cudaMemcpyDeviceToHost,
                           b_.stream_));
    CU_TRY(cudaStreamSynchronize(b_.stream_));
    res_.nllNext[static_cast<std::size_t>(Q_) - 1] = std::numeric_limits<float>::quiet_NaN();
    return {};
}

DecodeRow CudaRun::decodeRow() {
    const auto V = static_cast<std::ptrdiff_t>(c_.vocabSize);
    return lastQueryRow(res_, std::vector<float>(queryLogProbs_.end() - V, queryLogProbs_.end()));
}

RunOutput CudaRun::finish(std::chrono::steady_clock::time_point start) {
    stampRun(res_, b_.name(), start);
    RunOutput out;
    if (req_.keepState) {
        auto st = std::make_shared<CudaRunState>();
        if (ctxState_) {
            const auto L = static_cast<std::size_t>(c_.nLayers);
            ctxState_->entropy.resize(L * H_ * qb_);
            copyLeadingTokens(res_.entropy, static_cast<std::size_t>(N_), ctxState_->entropy,
                              static_cast<std::size_t>(qb_), L * H_, qb_);
            st->context = std::move(ctxState_);
        } else {
            st->context = prev_->context;
        }
        st->tokens = N_;
        st->queries = Q_;
        st->layers = c_.nLayers;
        st->heads = H_;
        st->view = std::move(v_);
        st->query = std::move(queryKept_);
        st->queryLse = std::move(queryLse_);
        if (selecting_) st->selected = res_.selected;
        out.kept = std::move(st);
    }
    out.stats = std::move(res_);
    out.stats.queryLogProbs = std::move(queryLogProbs_);  // returned, never kept in the run state
    return out;
}

Result<void> CudaBackend::runLayers(CudaRun& run, RunRows rows, std::stop_token stop, Progress* progress) {
    ATTN_TRY(run.prepare());
    ATTN_TRY(run.embed());
    for (int l = 0; l < cfg_.nLayers; ++l) {
        if (stop.stop_requested()) return makeError(ErrorKind::Cancelled, "cancelled");
        ATTN_TRY(run.attentionBlock(l));
        ATTN_TRY(checkLayerFinite(run.stats(), l, rows, model_->path));
        ATTN_TRY(run.ffnBlock(l));
        if (progress) progress->step(l + 1, cfg_.nLayers);
    }
    if (stop.stop_requested()) return makeError(ErrorKind::Cancelled, "cancelled");
    ATTN_TRY(run.logitsAndNll());
    return checkLogitsFinite(run.stats(), rows, model_->path);
}

Result<RunOutput> CudaBackend::runImpl(const RunRequest& request, std::stop_token stop, Progress* progress) {
    const auto start = std::chrono::steady_clock::now();
    const EncodingPlan& plan = *request.plan;
    ATTN_TRY(plan.validate(cfg_.vocabSize));
    auto view = makePlanView(plan);
    if (!view) return view.takeError();
    std::string contextHash = plan.contextHash();
    const CudaRunState* prev = reusable(request.reuse, contextHash);
    CudaRun run(*this, request, std::move(*view), std::move(contextHash), prev);
    ATTN_TRY(runLayers(run, runRows(plan, prev != nullptr), stop, progress));
    return run.finish(start);
}

// A generation on the GPU: the prompt run's state (its context K/V) and the decoder's own query
// rows. Valid while the backend keeps the weights it had when the decoder started.
class CudaDecoder final : public Decoder {
public:
    CudaDecoder(CudaBackend& backend, const EncodingPlan& plan, std::shared_ptr<const RunState> prompt,
                DecodeBuffers rows)
        : backend_(backend), plan_(plan), prompt_(std::move(prompt)), rows_(std::move(rows)) {}
    Result<DecodeRow> append(std::int32_t token, std::stop_token stop) override {
        if (failed_) return makeError(ErrorKind::Internal, "decoding continued after a failed step");
        Result<DecodeRow> row = makeError(ErrorKind::Backend, "out of host memory during the CUDA decode call");
        try {
            row = backend_.decodeStep(plan_, static_cast<const CudaRunState&>(*prompt_), rows_, token, stop);
        } catch (const std::bad_alloc&) {}
        failed_ = !row;  // a step that stopped half-way leaves the state unusable
        return row;
    }
    const EncodingPlan& plan() const override { return plan_; }

private:
    CudaBackend& backend_;
    EncodingPlan plan_;
    std::shared_ptr<const RunState> prompt_;
    DecodeBuffers rows_;
    bool failed_ = false;
};

Result<std::unique_ptr<Decoder>> CudaBackend::startDecoding(const EncodingPlan& plan,
                                                            std::shared_ptr<const RunState> prompt, int maxNewTokens) {
    const CudaRunState* st = reusable(prompt, plan.contextHash());
    if (!st || st->tokens != plan.tokenCount() || st->queries != plan.queryCount())
        return makeError(ErrorKind::Internal, "decoding asked to continue a run of another plan or backend");
    CU_TRY(cudaSetDevice(device_));
    DecodeBuffers rows;
    rows.capacity = plan.queryCount() + std::max(0, maxNewTokens);
    const std::size_t es = elemSize(type_), cap = static_cast<std::size_t>(rows.capacity);
    const std::size_t qBytes = cap * cfg_.nHeads * cfg_.headDim * es, kvBytes = cap * cfg_.nKvHeads * cfg_.headDim * es;
    auto place = [&](std::vector<DeviceBuffer>& to, std::size_t bytes, const KeptBuffer& from) -> Result<void> {
        to.emplace_back();
        ATTN_TRY(to.back().allocate(device_, bytes, "generated tokens' Q/K/V"));
        if (from.bytes == 0) return {};
        const bool onDevice = from.device.get() != nullptr;
        CU_TRY(cudaMemcpyAsync(to.back().get(), onDevice ? from.device.get() : from.host.data(), from.bytes,
                               onDevice ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice, stream_));
        return {};
    };
    for (const KeptLayer& l : st->query) {
        ATTN_TRY(place(rows.q, qBytes, l.q));
        ATTN_TRY(place(rows.k, kvBytes, l.k));
        ATTN_TRY(place(rows.v, kvBytes, l.v));
    }
    CU_TRY(cudaStreamSynchronize(stream_));
    return std::unique_ptr<Decoder>(std::make_unique<CudaDecoder>(*this, plan, std::move(prompt), std::move(rows)));
}

Result<DecodeRow> CudaBackend::decodeStep(EncodingPlan& plan, const CudaRunState& prompt, DecodeBuffers& rows,
                                          std::int32_t token, std::stop_token stop) {
    if (token < 0 || token >= cfg_.vocabSize)
        return makeError(ErrorKind::InvalidInput, "token id " + std::to_string(token) + " is outside the vocabulary");
    if (plan.queryCount() >= rows.capacity)
        return makeError(ErrorKind::Internal, "decoding past the tokens it was started for");
    appendQueryToken(plan, token);
    auto view = makePlanView(plan);
    if (!view) return view.takeError();
    RunRequest req;
    req.plan = &plan;
    req.keepState = false;
    req.keepQueryLogProbs = true;
    CudaRun run(*this, req, std::move(*view), prompt.context->contextHash, &prompt, &rows);
    ATTN_TRY(runLayers(run, RunRows{plan.tokenCount() - 1, 1}, stop, nullptr));
    DecodeRow row = run.decodeRow();
    ATTN_TRY(checkLogProbsFinite(row.logProbs, row.token, model_->path));
    return row;
}

Result<AttentionTile> CudaBackend::attentionTile(const RunState& keptBase, const AttentionTileRequest& reqIn,
                                                 std::stop_token stop) {
    const auto* s = dynamic_cast<const CudaRunState*>(&keptBase);
    if (!s || !model_) return makeError(ErrorKind::Internal, "attention tile asked of a run from another backend");
    if (!s->context || s->context->modelUid != modelUid_ || s->context->device != device_)
        return makeError(ErrorKind::InvalidInput, "this run was made with other weights; run the analysis again");
    const ModelConfig& c = cfg_;
    const int N = s->tokens, H = c.nHeads, hd = c.headDim, Q = s->queries, P = s->view.chunks, qb = s->view.queryBegin;
    auto prepared = prepareAttentionTile(reqIn, N, c.nLayers, H);
    if (!prepared) return prepared.takeError();
    AttentionTile tile = std::move(*prepared);
    const AttentionTileRequest& req = tile.request;
    if (tile.rows == 0 || tile.cols == 0) return tile;
    if (stop.stop_requested()) return makeError(ErrorKind::Cancelled, "cancelled");

    CU_TRY(cudaSetDevice(device_));
    const int l = req.layer;
    const ContextState& ctx = *s->context;
    DeviceBuffer sQc, sKc, sQq, sKq, dRowKeys, dKeyChunk, dWindowPositions, dSel, dLse, dOut;
    auto qc = ctx.layers[static_cast<std::size_t>(l)].q.view(device_, sQc, stream_);
    if (!qc) return qc.takeError();
    auto kc = ctx.layers[static_cast<std::size_t>(l)].k.view(device_, sKc, stream_);
    if (!kc) return kc.takeError();
    auto qq = s->query[static_cast<std::size_t>(l)].q.view(device_, sQq, stream_);
    if (!qq) return qq.takeError();
    auto kq = s->query[static_cast<std::size_t>(l)].k.view(device_, sKq, stream_);
    if (!kq) return kq.takeError();
    ATTN_TRY(upload(dRowKeys, s->view.rowKeys, "visibility"));
    ATTN_TRY(upload(dKeyChunk, s->view.keyChunk, "chunk ids"));
    ATTN_TRY(upload(dWindowPositions, s->view.windowPositions, "window positions"));
    std::vector<float> lseHN(static_cast<std::size_t>(H) * N);
    for (int h = 0; h < H; ++h) {
        std::copy_n(ctx.lse.begin() + static_cast<std::ptrdiff_t>((static_cast<std::size_t>(l) * H + h) * qb), qb,
                    lseHN.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(h) * N));
        std::copy_n(s->queryLse.begin() + static_cast<std::ptrdiff_t>((static_cast<std::size_t>(l) * H + h) * Q), Q,
                    lseHN.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(h) * N + qb));
    }
    ATTN_TRY(upload(dLse, lseHN, "log-sum-exp"));
    if (!s->selected.empty())
        ATTN_TRY(
            upload(dSel,
                   std::vector<std::uint8_t>(
                       s->selected.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(l) * H * Q * P),
                       s->selected.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(l + 1) * H * Q * P)),
                   "selected chunks"));
    ATTN_TRY(dOut.allocate(device_, tile.values.size() * 4, "tile"));
    CU_TRY(cudaMemsetAsync(dOut.get(), 0, tile.values.size() * 4, stream_));

    const TileArgs t{.type = type_,
                     .g = AttentionGeometry{N, H, c.nKvHeads, hd, c.attentionScale(), c.slidingWindowFor(l)},
                     .vis = VisibilityArgs{dRowKeys.as<int>(), dKeyChunk.as<int>(),
                                           s->selected.empty() ? nullptr : dSel.as<std::uint8_t>(), qb, P,
                                           s->view.windowPositions.empty() ? nullptr : dWindowPositions.as<int>()},
                     .q = TokenRows{*qc, *qq, qb, H * hd},
                     .k = TokenRows{*kc, *kq, qb, c.nKvHeads * hd},
                     .lse = dLse.as<float>(),
                     .head = req.head,
                     .rowBegin = req.rowBegin,
                     .rowEnd = req.rowEnd,
                     .colBegin = req.colBegin,
                     .colEnd = req.colEnd,
                     .outRows = tile.rows,
                     .outCols = tile.cols,
                     .maxPool = req.pooling == TilePooling::Max,
                     .out = dOut.as<float>()};
    CU_TRY(launchAttentionTile(t, prop_.multiProcessorCount, stream_));
    CU_TRY(cudaMemcpyAsync(tile.values.data(), dOut.get(), tile.values.size() * 4, cudaMemcpyDeviceToHost, stream_));
    CU_TRY(cudaStreamSynchronize(stream_));
    if (req.pooling == TilePooling::Mean) divideBinsByCellCount(tile);
    if (stop.stop_requested()) return makeError(ErrorKind::Cancelled, "cancelled");
    return tile;
}

}  // namespace

// ---- entry points ---------------------------------------------------------------------------------

Result<CudaBackendOptions> parseCudaBackendOptions(const std::string& text, int device, int hostThreads) {
    CudaBackendOptions o;
    o.device = device;
    o.hostThreads = hostThreads;
    if (const char* env = std::getenv("ATTNSCOPE_CUDA_DTYPE"); env && *env) o.dtype = env;
    if (const char* env = std::getenv("ATTNSCOPE_CUDA_ATTENTION"); env && *env) o.attention = env;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        std::size_t end = text.find_first_of(",;", pos);
        if (end == std::string::npos) end = text.size();
        const std::string item = text.substr(pos, end - pos);
        pos = end + 1;
        if (item.empty()) continue;
        const auto eq = item.find('=');
        const std::string key = item.substr(0, eq), value = eq == std::string::npos ? "" : item.substr(eq + 1);
        if (key == "dtype") o.dtype = value;
        else if (key == "rowblock") {
            char* e = nullptr;
            const long n = std::strtol(value.c_str(), &e, 10);
            if (!e || *e || n < 1 || n > (1 << 20))
                return makeError(ErrorKind::InvalidInput, "CUDA option rowblock needs a number from 1 to 1048576");
            o.rowBlock = static_cast<int>(n);
        } else if (key == "keep") {
            if (value != "auto" && value != "device" && value != "host")
                return makeError(ErrorKind::InvalidInput, "CUDA option keep must be auto, device or host");
            o.keep = value;
        } else if (key == "attention") {
            o.attention = value;
        } else {
            return makeError(ErrorKind::InvalidInput,
                             "unknown CUDA backend option '" + key + "' (known: dtype, rowblock, keep, attention)");
        }
    }
    for (auto& ch : o.dtype) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (o.dtype == "bfloat16") o.dtype = "bf16";
    if (o.dtype == "float16" || o.dtype == "half") o.dtype = "f16";
    if (o.dtype == "float32" || o.dtype == "float") o.dtype = "f32";
    if (o.dtype != "bf16" && o.dtype != "f16" && o.dtype != "f32")
        return makeError(ErrorKind::InvalidInput, "unknown CUDA dtype '" + o.dtype + "' (use bf16, f16 or f32)");
    for (auto& ch : o.attention) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (o.attention != "fp32" && o.attention != "mma")
        return makeError(ErrorKind::InvalidInput,
                         "unknown CUDA attention kernel '" + o.attention + "' (use fp32 or mma)");
    return o;
}

int probeCudaDevices(std::string& reason) {
    int n = 0;
    const cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        if (e == cudaErrorInsufficientDriver)
            reason = "no NVIDIA driver, or one too old for CUDA " + std::to_string(CUDART_VERSION / 1000);
        else if (e == cudaErrorNoDevice) reason = "no CUDA-capable GPU found";
        else reason = std::string("cudaGetDeviceCount failed: ") + cudaGetErrorString(e);
        reason += std::string(" (") + cudaGetErrorName(e) + ")";
        return 0;
    }
    if (n <= 0) {
        reason = "no CUDA-capable GPU found";
        return 0;
    }
    return n;
}

Result<std::unique_ptr<Backend>> makeCudaBackend(const CudaBackendOptions& options) {
    auto b = std::make_unique<CudaBackend>(options);
    ATTN_TRY(b->init());
    return std::unique_ptr<Backend>(std::move(b));
}

}  // namespace attnscope::cuda
