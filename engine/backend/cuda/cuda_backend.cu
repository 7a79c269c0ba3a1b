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
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "backend/cuda/cuda_compat.h"
#include "backend/cuda/cuda_status.h"
#include "backend/cuda/kernels.h"
#include "analysis/selective_attention.h"
#include "backend/cuda/plan_view.h"
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
    T* as() const { return static_cast<T*>(p_); }
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
    EncodingMode mode = EncodingMode::Parallel;
    int queryBegin = 0, prefixLength = 0, chunks = 0;
    std::vector<std::int32_t> ids, positions;  // [queryBegin]
    std::vector<int> rowKeys;                  // [queryBegin][2]
    std::vector<int> keyChunk;                 // [queryBegin]
    std::vector<KeptLayer> layers;             // rows [0, queryBegin)
    std::vector<float> lse;                    // [layer][head][queryBegin]
    std::vector<float> entropy;                // [layer][head][queryBegin]
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
    PlanView view;                             // the plan as the kernels read it
    std::vector<KeptLayer> query;              // rows [queryBegin, N)
    std::vector<float> queryLse;               // [layer][head][Q]
    std::vector<std::uint8_t> selected;        // [layer][head][Q][P]; empty when selection was off
    std::uint64_t bytes() const override {
        std::uint64_t b = context ? context->bytes() : 0;
        for (const auto& l : query) b += l.q.bytes + l.k.bytes + l.v.bytes;
        return b + queryLse.size() * 4 + selected.size();
    }
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
    std::uint64_t freeMemoryBytes() const override {
        std::size_t f = 0, t = 0;
        if (cudaSetDevice(device_) != cudaSuccess || cudaMemGetInfo(&f, &t) != cudaSuccess) {
            (void)cudaGetLastError();
            return 0;
        }
        return f;
    }

private:
    Result<RunOutput> runImpl(const RunRequest& request, std::stop_token stop, Progress* progress);
    Result<void> uploadMatrix(const TensorView& t, std::int64_t rows, std::int64_t cols, const std::string& what,
                              DeviceBuffer& out);
    Result<void> uploadVector(const TensorView& t, std::int64_t n, const std::string& what, bool required,
                              DeviceBuffer& out);
    // Y[M][Nout] (+)= X[M][K] · W[Nout][K]^T, X and W in the storage type, Y float.
    Result<void> gemm(const void* x, int m, int k, const void* w, int nOut, float* y, bool accumulate);
    template <typename T>
    Result<void> upload(DeviceBuffer& buf, const std::vector<T>& v, const std::string& what) {
        ATTN_TRY(buf.allocate(device_, std::max<std::size_t>(v.size(), 1) * sizeof(T), what));
        if (!v.empty()) CU_TRY(cudaMemcpyAsync(buf.get(), v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice, stream_));
        return {};
    }
    const CudaRunState* reusable(const std::shared_ptr<const RunState>& s, const EncodingPlan& plan,
                                 const PlanView& v) const;
    int hostThreads() const {
        return opt_.hostThreads > 0 ? opt_.hostThreads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
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
    return "cuda:" + std::to_string(device_) + " (" + prop_.name + ", " + elemName(type_) + ")";
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
                         "weight tensor " + tname + " has shape [" + std::to_string(t.rows) + "][" + std::to_string(t.cols) +
                             "], expected [" + std::to_string(rows) + "][" + std::to_string(cols) + "]",
                         model_->path);
    const std::uint64_t elems = static_cast<std::uint64_t>(rows) * static_cast<std::uint64_t>(cols);
    const auto need = dtypeBytes(t.dtype, elems);
    if (!need || t.bytes < *need || cols % dtypeInfo(t.dtype).blockSize != 0)
        return makeError(ErrorKind::Format, "weight tensor " + tname + " holds too few bytes for its shape", model_->path);
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
        ATTN_TRY(staging.allocate(device_, static_cast<std::size_t>(std::min(slabRows, rows)) * srcRowBytes, "Q8_0 upload staging"));
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
        return makeError(ErrorKind::Format, "weight tensor " + (t.name.empty() ? what : t.name) + " has " +
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
        return makeError(ErrorKind::Unsupported, "the CUDA backend supports head sizes up to " + std::to_string(kMaxHeadDim) +
                                                     ", this model has " + std::to_string(c.headDim));
    if (c.nKvHeads <= 0 || c.nHeads % c.nKvHeads != 0 || c.ropeDim % 2 != 0 || c.ropeDim > c.headDim)
        return makeError(ErrorKind::Format, "inconsistent head counts or rotary size", model->path);
    const auto& W = model->weights;
    if (static_cast<int>(W.layers.size()) != c.nLayers)
        return makeError(ErrorKind::Format, "the model has " + std::to_string(W.layers.size()) + " layers of weights for " +
                                                std::to_string(c.nLayers) + " layers",
                         model->path);

    // Fail early, with numbers, when the weights cannot fit.
    const std::uint64_t es = elemSize(type_);
    const std::uint64_t d = static_cast<std::uint64_t>(c.dim), qd = static_cast<std::uint64_t>(c.nHeads) * c.headDim,
                        kvd = static_cast<std::uint64_t>(c.nKvHeads) * c.headDim, f = static_cast<std::uint64_t>(c.ffnDim);
    const bool tied = !W.output.present() || W.output.data == W.tokenEmbedding.data;
    const std::uint64_t perLayer = (qd * d * 2 + kvd * d * 2 + f * d * 3) * es;
    const std::uint64_t total = perLayer * static_cast<std::uint64_t>(c.nLayers) +
                                static_cast<std::uint64_t>(c.vocabSize) * d * es * (tied ? 1 : 2);
    std::size_t freeB = 0, totalB = 0;
    CU_TRY(cudaMemGetInfo(&freeB, &totalB));
    if (total > freeB)
        return makeError(ErrorKind::Backend, "CUDA out of memory: the weights need " + gib(total) + " in " + elemName(type_) +
                                                 ", " + gib(freeB) + " of " + gib(totalB) + " are free on " + prop_.name +
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
    return {};
}

const CudaRunState* CudaBackend::reusable(const std::shared_ptr<const RunState>& s, const EncodingPlan& plan,
                                          const PlanView& v) const {
    const auto* st = dynamic_cast<const CudaRunState*>(s.get());
    if (!st || !st->context) return nullptr;
    const ContextState& c = *st->context;
    const int qb = v.queryBegin;
    if (c.device != device_ || c.modelUid != modelUid_ || c.type != type_ || st->layers != cfg_.nLayers ||
        c.mode != plan.options.mode || c.queryBegin != qb || c.prefixLength != v.prefixLength || c.chunks != v.chunks ||
        static_cast<int>(c.layers.size()) != cfg_.nLayers)
        return nullptr;
    if (!std::equal(c.ids.begin(), c.ids.end(), plan.ids.begin()) ||
        !std::equal(c.positions.begin(), c.positions.end(), plan.positions.begin()) ||
        !std::equal(c.keyChunk.begin(), c.keyChunk.end(), v.keyChunk.begin()) ||
        !std::equal(c.rowKeys.begin(), c.rowKeys.end(), v.rowKeys.begin()))
        return nullptr;
    return st;
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

Result<RunOutput> CudaBackend::runImpl(const RunRequest& request, std::stop_token stop, Progress* progress) {
    const auto t0 = std::chrono::steady_clock::now();
    const EncodingPlan& plan = *request.plan;
    const ModelConfig& c = cfg_;
    const DeviceWeights& W = weights_;
    ATTN_TRY(plan.validate(c.vocabSize));
    auto viewR = makePlanView(plan);
    if (!viewR) return viewR.takeError();
    PlanView v = std::move(*viewR);

    const int N = v.tokens, d = c.dim, hd = c.headDim, H = c.nHeads, Hkv = c.nKvHeads, L = c.nLayers;
    const int Q = v.queries, P = v.chunks, qb = v.queryBegin, ffn = c.ffnDim, V = c.vocabSize;
    const int qDim = H * hd, kvDim = Hkv * hd, half = c.ropeDim / 2;
    const std::size_t es = elemSize(type_);
    const SelectiveAttention& sel = plan.options.selective;
    const bool selecting = selectionActive(sel, P, Q);
    ChunkScore scoreMode = ChunkScore::TopN;
    if (selecting) {
        if (sel.scoreTopN <= 0) scoreMode = ChunkScore::Mean;
        else if (sel.scoreTopN > kMaxScoreTopN) {
            if (sel.scoreTopN < v.maxChunkLength)
                return makeError(ErrorKind::Unsupported,
                                 "the CUDA backend scores chunks by at most the top " + std::to_string(kMaxScoreTopN) +
                                     " probabilities (asked for " + std::to_string(sel.scoreTopN) + "); use the CPU");
            scoreMode = ChunkScore::Sum;  // n covers every chunk: the score is the chunk's mass
        }
    }

    const CudaRunState* prev = request.reuse ? reusable(request.reuse, plan, v) : nullptr;
    const int r0 = prev ? qb : 0;  // first active row
    const int R = N - r0;          // active rows
    const int B = std::max(1, std::min(R, opt_.rowBlock));
    CU_TRY(cudaSetDevice(device_));

    AnalysisResult res = AnalysisResult::shaped(plan, L, H);
    res.reusedContext = prev != nullptr;
    if (prev)
        for (int l = 0; l < L; ++l)
            for (int h = 0; h < H; ++h)
                std::copy_n(prev->context->entropy.begin() + static_cast<std::ptrdiff_t>((static_cast<std::size_t>(l) * H + h) * qb), qb,
                            res.entropy.begin() + static_cast<std::ptrdiff_t>((static_cast<std::size_t>(l) * H + h) * N));

    // ---- per-run device buffers
    DeviceBuffer x, xn, qf, kf, vf, proj, gate, up, act, attnOut, entropy, lse, lseBefore, score, chunkMass, prefixMass,
        queryMass, selDev, rowKeys, keyChunk, chunkBegin, ids, ropeGlobal, ropeLocal, targets, nll, argmax, logits;
    ATTN_TRY(x.allocate(device_, static_cast<std::size_t>(R) * d * 4, "residual stream"));
    ATTN_TRY(xn.allocate(device_, static_cast<std::size_t>(B) * d * es, "normalised rows"));
    ATTN_TRY(qf.allocate(device_, static_cast<std::size_t>(B) * qDim * 4, "Q projection"));
    ATTN_TRY(kf.allocate(device_, static_cast<std::size_t>(B) * kvDim * 4, "K projection"));
    ATTN_TRY(vf.allocate(device_, static_cast<std::size_t>(B) * kvDim * 4, "V projection"));
    if (c.postAttnNorm || c.postFfnNorm) ATTN_TRY(proj.allocate(device_, static_cast<std::size_t>(B) * d * 4, "projection"));
    ATTN_TRY(gate.allocate(device_, static_cast<std::size_t>(B) * ffn * 4, "FFN gate"));
    ATTN_TRY(up.allocate(device_, static_cast<std::size_t>(B) * ffn * 4, "FFN up"));
    ATTN_TRY(act.allocate(device_, static_cast<std::size_t>(B) * ffn * es, "FFN activation"));
    ATTN_TRY(attnOut.allocate(device_, static_cast<std::size_t>(R) * qDim * es, "attention output"));
    ATTN_TRY(entropy.allocate(device_, static_cast<std::size_t>(H) * N * 4, "entropy"));
    ATTN_TRY(lse.allocate(device_, static_cast<std::size_t>(H) * N * 4, "log-sum-exp"));
    const std::size_t hqp = std::max<std::size_t>(1, static_cast<std::size_t>(H) * Q * P), hq = static_cast<std::size_t>(H) * Q;
    if (selecting) {
        ATTN_TRY(lseBefore.allocate(device_, static_cast<std::size_t>(H) * N * 4, "log-sum-exp before selection"));
        ATTN_TRY(score.allocate(device_, hqp * 4, "chunk scores"));
        ATTN_TRY(selDev.allocate(device_, hqp, "selected chunks"));
    }
    ATTN_TRY(chunkMass.allocate(device_, hqp * 4, "chunk mass"));
    ATTN_TRY(prefixMass.allocate(device_, hq * 4, "prefix mass"));
    ATTN_TRY(queryMass.allocate(device_, hq * 4, "query mass"));
    ATTN_TRY(upload(rowKeys, v.rowKeys, "visibility"));
    ATTN_TRY(upload(keyChunk, v.keyChunk, "chunk ids"));
    ATTN_TRY(upload(chunkBegin, v.chunkBegin, "chunk ranges"));
    ATTN_TRY(upload(ids, std::vector<int>(plan.ids.begin() + r0, plan.ids.end()), "token ids"));
    {
        const RopeTables rope(c, plan.positions.data() + r0, R);
        ATTN_TRY(upload(ropeGlobal, rope.global(), "rotary table"));
        if (rope.hasLocal()) ATTN_TRY(upload(ropeLocal, rope.local(), "rotary table (local layers)"));
        std::vector<int> tg(static_cast<std::size_t>(Q), -1);
        for (int q = 0; q + 1 < Q; ++q) tg[static_cast<std::size_t>(q)] = plan.ids[static_cast<std::size_t>(qb + q + 1)];
        ATTN_TRY(upload(targets, tg, "next tokens"));
    }
    const int logitRows = std::max(1, std::min({Q, B, static_cast<int>((256ll << 20) / (static_cast<long long>(V) * 4))}));
    ATTN_TRY(nll.allocate(device_, static_cast<std::size_t>(Q) * 4, "NLL"));
    ATTN_TRY(argmax.allocate(device_, static_cast<std::size_t>(Q) * 4, "arg-max"));
    ATTN_TRY(logits.allocate(device_, static_cast<std::size_t>(logitRows) * V * 4, "logits"));

    // ---- where Q/K/V of each layer go: kept state on the GPU if it fits, else scratch (+ host copy)
    const bool keep = request.keepState;
    const std::size_t rowBytesQKV = static_cast<std::size_t>(qDim + 2 * kvDim) * es;
    bool keepOnDevice = false;
    if (keep) {
        std::size_t freeB = 0, totalB = 0;
        CU_TRY(cudaMemGetInfo(&freeB, &totalB));
        const std::size_t keptBytes = static_cast<std::size_t>(L) * R * rowBytesQKV;
        const std::size_t reserve = std::max<std::size_t>(std::size_t{512} << 20, totalB / 20);
        keepOnDevice = opt_.keep == "device" || (opt_.keep == "auto" && keptBytes + reserve < freeB);
    }
    const bool scratchQKV = !keep || !keepOnDevice;
    DeviceBuffer wQc, wKc, wVc, wQq, wKq, wVq, uKc, uVc;  // working buffers when not kept on the GPU
    if (scratchQKV) {
        if (!prev && qb > 0) {
            ATTN_TRY(wQc.allocate(device_, static_cast<std::size_t>(qb) * qDim * es, "context Q"));
            ATTN_TRY(wKc.allocate(device_, static_cast<std::size_t>(qb) * kvDim * es, "context K"));
            ATTN_TRY(wVc.allocate(device_, static_cast<std::size_t>(qb) * kvDim * es, "context V"));
        }
        ATTN_TRY(wQq.allocate(device_, static_cast<std::size_t>(Q) * qDim * es, "query Q"));
        ATTN_TRY(wKq.allocate(device_, static_cast<std::size_t>(Q) * kvDim * es, "query K"));
        ATTN_TRY(wVq.allocate(device_, static_cast<std::size_t>(Q) * kvDim * es, "query V"));
    }

    std::shared_ptr<ContextState> ctxState;
    std::vector<KeptLayer> queryKept;
    std::vector<float> queryLse;
    if (keep) {
        if (!prev) {
            ctxState = std::make_shared<ContextState>();
            ctxState->device = device_;
            ctxState->modelUid = modelUid_;
            ctxState->type = type_;
            ctxState->mode = plan.options.mode;
            ctxState->queryBegin = qb;
            ctxState->prefixLength = v.prefixLength;
            ctxState->chunks = P;
            ctxState->ids.assign(plan.ids.begin(), plan.ids.begin() + qb);
            ctxState->positions.assign(plan.positions.begin(), plan.positions.begin() + qb);
            ctxState->rowKeys.assign(v.rowKeys.begin(), v.rowKeys.begin() + 2 * qb);
            ctxState->keyChunk.assign(v.keyChunk.begin(), v.keyChunk.begin() + qb);
            ctxState->layers.resize(static_cast<std::size_t>(L));
            ctxState->lse.resize(static_cast<std::size_t>(L) * H * qb);
        }
        queryKept.resize(static_cast<std::size_t>(L));
        queryLse.resize(static_cast<std::size_t>(L) * H * Q);
    }

    // ---- embeddings
    CU_TRY(launchEmbed(type_, W.embedding.get(), d, ids.as<int>(), R, c.embedScale, x.as<float>(), stream_));

    std::vector<float> hostHN(static_cast<std::size_t>(H) * N), hostScore, hostMass(hqp), hostPre(hq), hostQry(hq);
    std::vector<std::uint8_t> hostKeep;
    const AttentionGeometry geom{N, H, Hkv, hd, c.attentionScale(), 0};
    const bool adjacent = c.ropeLayout == RopeLayout::AdjacentPairs;

    for (int l = 0; l < L; ++l) {
        if (stop.stop_requested()) return makeError(ErrorKind::Cancelled, "cancelled");
        const DeviceLayer& lw = W.layers[static_cast<std::size_t>(l)];

        // Destinations of this layer's Q/K/V rows.
        KeptLayer* ctxKept = ctxState ? &ctxState->layers[static_cast<std::size_t>(l)] : nullptr;
        KeptLayer* qryKept = keep ? &queryKept[static_cast<std::size_t>(l)] : nullptr;
        void *Qc = wQc.get(), *Kc = wKc.get(), *Vc = wVc.get(), *Qq = wQq.get(), *Kq = wKq.get(), *Vq = wVq.get();
        if (keep && keepOnDevice) {
            if (ctxKept && qb > 0) {
                ATTN_TRY(ctxKept->q.device.allocate(device_, static_cast<std::size_t>(qb) * qDim * es, "kept context Q"));
                ATTN_TRY(ctxKept->k.device.allocate(device_, static_cast<std::size_t>(qb) * kvDim * es, "kept context K"));
                ATTN_TRY(ctxKept->v.device.allocate(device_, static_cast<std::size_t>(qb) * kvDim * es, "kept context V"));
                Qc = ctxKept->q.device.get();
                Kc = ctxKept->k.device.get();
                Vc = ctxKept->v.device.get();
            }
            ATTN_TRY(qryKept->q.device.allocate(device_, static_cast<std::size_t>(Q) * qDim * es, "kept query Q"));
            ATTN_TRY(qryKept->k.device.allocate(device_, static_cast<std::size_t>(Q) * kvDim * es, "kept query K"));
            ATTN_TRY(qryKept->v.device.allocate(device_, static_cast<std::size_t>(Q) * kvDim * es, "kept query V"));
            Qq = qryKept->q.device.get();
            Kq = qryKept->k.device.get();
            Vq = qryKept->v.device.get();
        }
        if (ctxKept) {
            ctxKept->q.bytes = static_cast<std::size_t>(qb) * qDim * es;
            ctxKept->k.bytes = ctxKept->v.bytes = static_cast<std::size_t>(qb) * kvDim * es;
        }
        if (qryKept) {
            qryKept->q.bytes = static_cast<std::size_t>(Q) * qDim * es;
            qryKept->k.bytes = qryKept->v.bytes = static_cast<std::size_t>(Q) * kvDim * es;
        }
        const void *Kctx = Kc, *Vctx = Vc;
        if (prev) {  // the reused context's K and V
            const KeptLayer& pl = prev->context->layers[static_cast<std::size_t>(l)];
            auto k = pl.k.view(device_, uKc, stream_);
            if (!k) return k.takeError();
            auto vv = pl.v.view(device_, uVc, stream_);
            if (!vv) return vv.takeError();
            Kctx = *k;
            Vctx = *vv;
        }

        // 1. Norm, projections, biases, QK-norm, rotary: active rows in blocks.
        const float* cs = c.isLocalLayer(l) && ropeLocal.get() ? ropeLocal.as<float>() : ropeGlobal.as<float>();
        for (int b0 = 0; b0 < R; b0 += B) {
            const int nb = std::min(B, R - b0);
            CU_TRY(launchRmsNorm(type_, x.as<float>() + static_cast<std::size_t>(b0) * d, nb, d, lw.attnNorm.as<float>(),
                                 c.normAddOne, c.normEps, xn.get(), false, stream_));
            ATTN_TRY(gemm(xn.get(), nb, d, lw.wq.get(), qDim, qf.as<float>(), false));
            ATTN_TRY(gemm(xn.get(), nb, d, lw.wk.get(), kvDim, kf.as<float>(), false));
            ATTN_TRY(gemm(xn.get(), nb, d, lw.wv.get(), kvDim, vf.as<float>(), false));
            if (lw.bq.get()) CU_TRY(launchAddBias(qf.as<float>(), nb, qDim, lw.bq.as<float>(), stream_));
            if (lw.bk.get()) CU_TRY(launchAddBias(kf.as<float>(), nb, kvDim, lw.bk.as<float>(), stream_));
            if (lw.bv.get()) CU_TRY(launchAddBias(vf.as<float>(), nb, kvDim, lw.bv.as<float>(), stream_));
            if (c.qkNorm) {
                CU_TRY(launchRmsNorm(ElemType::F32, qf.as<float>(), nb * H, hd, lw.qNorm.as<float>(), c.normAddOne, c.normEps,
                                     qf.get(), false, stream_));
                CU_TRY(launchRmsNorm(ElemType::F32, kf.as<float>(), nb * Hkv, hd, lw.kNorm.as<float>(), c.normAddOne,
                                     c.normEps, kf.get(), false, stream_));
            }
            // Rows [t0, t1) of the plan: the context part goes to *c, the query part to *q.
            const int t0 = r0 + b0, t1 = t0 + nb;
            auto store = [&](const float* src, int heads, int ropeDim, void* ctxDst, void* qryDst) -> Result<void> {
                const int stride = heads * hd;
                const int ca = t0, cb = std::min(t1, qb);
                if (cb > ca)
                    CU_TRY(launchRope(type_, src, cb - ca, heads, hd, ropeDim, adjacent, cs + static_cast<std::size_t>(b0) * half * 2,
                                      static_cast<std::uint8_t*>(ctxDst) + static_cast<std::size_t>(ca) * stride * es, stream_));
                const int qa = std::max(t0, qb);
                if (t1 > qa)
                    CU_TRY(launchRope(type_, src + static_cast<std::size_t>(qa - t0) * stride, t1 - qa, heads, hd, ropeDim, adjacent,
                                      cs + static_cast<std::size_t>(qa - r0) * half * 2,
                                      static_cast<std::uint8_t*>(qryDst) + static_cast<std::size_t>(qa - qb) * stride * es, stream_));
                return {};
            };
            ATTN_TRY(store(qf.as<float>(), H, c.ropeDim, Qc, Qq));
            ATTN_TRY(store(kf.as<float>(), Hkv, c.ropeDim, Kc, Kq));
            ATTN_TRY(store(vf.as<float>(), Hkv, 0, Vc, Vq));
        }

        // 2. Attention over the active rows, then the query rows' selection and statistics.
        AttentionForwardArgs a;
        a.type = type_;
        a.g = geom;
        a.g.window = c.slidingWindowFor(l);
        a.vis = VisibilityArgs{rowKeys.as<int>(), keyChunk.as<int>(), nullptr, qb, P};
        a.q = TokenRows{Qc, Qq, qb, qDim};
        a.k = TokenRows{Kctx, Kq, qb, kvDim};
        a.v = TokenRows{Vctx, Vq, qb, kvDim};
        a.rowBegin = r0;
        a.rowEnd = N;
        a.out = attnOut.get();
        a.outRowOffset = r0;
        a.entropy = entropy.as<float>();
        a.lse = lse.as<float>();
        CU_TRY(launchAttentionForward(a, stream_));

        QueryStatsArgs s;
        s.type = type_;
        s.g = a.g;
        s.vis = a.vis;
        s.q = a.q;
        s.k = a.k;
        s.prefixLength = v.prefixLength;
        s.chunkBegin = chunkBegin.as<int>();
        s.lse = lse.as<float>();
        std::uint8_t* selLayer = res.selected.data() + static_cast<std::size_t>(l) * H * Q * P;
        if (selecting) {
            QueryStatsArgs sa = s;  // (A) chunk scores from the unselected probabilities
            sa.scoreMode = scoreMode;
            sa.scoreTopN = sel.scoreTopN;
            sa.score = score.as<float>();
            CU_TRY(launchQueryStats(sa, stream_));
            hostScore.resize(static_cast<std::size_t>(H) * Q * P);
            CU_TRY(cudaMemcpyAsync(hostScore.data(), score.get(), hostScore.size() * 4, cudaMemcpyDeviceToHost, stream_));
            CU_TRY(cudaStreamSynchronize(stream_));
            selectChunks(hostScore.data(), H, Q, P, sel, selLayer);  // (B) on the host
            CU_TRY(cudaMemcpyAsync(selDev.get(), selLayer, static_cast<std::size_t>(H) * Q * P, cudaMemcpyHostToDevice, stream_));
            CU_TRY(cudaMemcpyAsync(lseBefore.get(), lse.get(), static_cast<std::size_t>(H) * N * 4, cudaMemcpyDeviceToDevice, stream_));
            AttentionForwardArgs aq = a;  // (C) the query rows again, other chunks masked
            aq.vis.selected = selDev.as<std::uint8_t>();
            aq.rowBegin = qb;
            aq.lseBefore = lseBefore.as<float>();
            CU_TRY(launchAttentionForward(aq, stream_));
            s.vis.selected = selDev.as<std::uint8_t>();
            CU_TRY(cudaStreamSynchronize(stream_));  // selLayer is read by the copy above
        }
        s.chunkMass = chunkMass.as<float>();
        s.prefixMass = prefixMass.as<float>();
        s.queryMass = queryMass.as<float>();
        CU_TRY(launchQueryStats(s, stream_));

        // Results of this layer to the host.
        CU_TRY(cudaMemcpyAsync(hostHN.data(), entropy.get(), hostHN.size() * 4, cudaMemcpyDeviceToHost, stream_));
        CU_TRY(cudaStreamSynchronize(stream_));
        for (int h = 0; h < H; ++h)
            std::copy_n(hostHN.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(h) * N + r0), R,
                        res.entropy.begin() + static_cast<std::ptrdiff_t>((static_cast<std::size_t>(l) * H + h) * N + r0));
        if (P > 0) {
            CU_TRY(cudaMemcpyAsync(hostMass.data(), chunkMass.get(), hostMass.size() * 4, cudaMemcpyDeviceToHost, stream_));
            CU_TRY(cudaStreamSynchronize(stream_));
            std::copy_n(hostMass.begin(), static_cast<std::size_t>(H) * Q * P,
                        res.chunkMass.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(l) * H * Q * P));
        }
        CU_TRY(cudaMemcpyAsync(hostPre.data(), prefixMass.get(), hq * 4, cudaMemcpyDeviceToHost, stream_));
        CU_TRY(cudaMemcpyAsync(hostQry.data(), queryMass.get(), hq * 4, cudaMemcpyDeviceToHost, stream_));
        CU_TRY(cudaStreamSynchronize(stream_));
        std::copy(hostPre.begin(), hostPre.end(), res.prefixMass.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(l) * hq));
        std::copy(hostQry.begin(), hostQry.end(), res.queryMass.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(l) * hq));
        if (keep) {
            CU_TRY(cudaMemcpyAsync(hostHN.data(), lse.get(), hostHN.size() * 4, cudaMemcpyDeviceToHost, stream_));
            CU_TRY(cudaStreamSynchronize(stream_));
            for (int h = 0; h < H; ++h) {
                const auto row = hostHN.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(h) * N);
                std::copy_n(row + qb, Q, queryLse.begin() + static_cast<std::ptrdiff_t>((static_cast<std::size_t>(l) * H + h) * Q));
                if (ctxState)
                    std::copy_n(row, qb, ctxState->lse.begin() + static_cast<std::ptrdiff_t>((static_cast<std::size_t>(l) * H + h) * qb));
            }
            if (!keepOnDevice) {  // kept state in host memory
                auto toHost = [&](KeptBuffer& kb, const void* src) -> Result<void> {
                    kb.host.resize(kb.bytes);
                    if (kb.bytes) CU_TRY(cudaMemcpyAsync(kb.host.data(), src, kb.bytes, cudaMemcpyDeviceToHost, stream_));
                    return {};
                };
                if (ctxKept) {
                    ATTN_TRY(toHost(ctxKept->q, Qc));
                    ATTN_TRY(toHost(ctxKept->k, Kc));
                    ATTN_TRY(toHost(ctxKept->v, Vc));
                }
                ATTN_TRY(toHost(qryKept->q, Qq));
                ATTN_TRY(toHost(qryKept->k, Kq));
                ATTN_TRY(toHost(qryKept->v, Vq));
                CU_TRY(cudaStreamSynchronize(stream_));
            }
        }

        // 3. Output projection and FFN, in blocks of active rows (post-norms for gemma).
        for (int b0 = 0; b0 < R; b0 += B) {
            const int nb = std::min(B, R - b0);
            float* xb = x.as<float>() + static_cast<std::size_t>(b0) * d;
            const void* ob = static_cast<const std::uint8_t*>(attnOut.get()) + static_cast<std::size_t>(b0) * qDim * es;
            if (c.postAttnNorm) {
                ATTN_TRY(gemm(ob, nb, qDim, lw.wo.get(), d, proj.as<float>(), false));
                CU_TRY(launchRmsNorm(ElemType::F32, proj.as<float>(), nb, d, lw.postAttnNorm.as<float>(), c.normAddOne,
                                     c.normEps, xb, true, stream_));
            } else {
                ATTN_TRY(gemm(ob, nb, qDim, lw.wo.get(), d, xb, true));
            }
            CU_TRY(launchRmsNorm(type_, xb, nb, d, lw.ffnNorm.as<float>(), c.normAddOne, c.normEps, xn.get(), false, stream_));
            ATTN_TRY(gemm(xn.get(), nb, d, lw.wGate.get(), ffn, gate.as<float>(), false));
            ATTN_TRY(gemm(xn.get(), nb, d, lw.wUp.get(), ffn, up.as<float>(), false));
            CU_TRY(launchGatedActivation(type_, gate.as<float>(), up.as<float>(), static_cast<std::size_t>(nb) * ffn,
                                         c.gegluTanh, act.get(), stream_));
            if (c.postFfnNorm) {
                ATTN_TRY(gemm(act.get(), nb, ffn, lw.wDown.get(), d, proj.as<float>(), false));
                CU_TRY(launchRmsNorm(ElemType::F32, proj.as<float>(), nb, d, lw.postFfnNorm.as<float>(), c.normAddOne,
                                     c.normEps, xb, true, stream_));
            } else {
                ATTN_TRY(gemm(act.get(), nb, ffn, lw.wDown.get(), d, xb, true));
            }
        }
        CU_TRY(cudaStreamSynchronize(stream_));  // surfaces kernel failures layer by layer
        if (progress) progress->step(l + 1, L);
    }
    if (stop.stop_requested()) return makeError(ErrorKind::Cancelled, "cancelled");

    // ---- final norm and logits of the query rows: NLL of the next query token, arg-max
    const void* outW = W.tiedOutput ? W.embedding.get() : W.output.get();
    std::vector<float> queryLogProbs;
    if (request.keepQueryLogProbs) queryLogProbs.resize(static_cast<std::size_t>(Q) * V);
    for (int q0 = 0; q0 < Q; q0 += logitRows) {
        const int nq = std::min(logitRows, Q - q0);
        CU_TRY(launchRmsNorm(type_, x.as<float>() + static_cast<std::size_t>(qb - r0 + q0) * d, nq, d, W.outputNorm.as<float>(),
                             c.normAddOne, c.normEps, xn.get(), false, stream_));
        ATTN_TRY(gemm(xn.get(), nq, d, outW, V, logits.as<float>(), false));
        CU_TRY(launchNllArgmax(logits.as<float>(), nq, V, targets.as<int>() + q0, nll.as<float>() + q0, argmax.as<int>() + q0,
                               stream_));
        if (request.keepQueryLogProbs) {  // ln softmax of each row, finished on the host (parity tests only)
            float* dst = queryLogProbs.data() + static_cast<std::size_t>(q0) * V;
            CU_TRY(cudaMemcpyAsync(dst, logits.get(), static_cast<std::size_t>(nq) * V * 4, cudaMemcpyDeviceToHost, stream_));
            CU_TRY(cudaStreamSynchronize(stream_));
            for (int r = 0; r < nq; ++r) {
                float* lg = dst + static_cast<std::size_t>(r) * V;
                const float mx = *std::max_element(lg, lg + V);
                double z = 0;
                for (int t = 0; t < V; ++t) z += std::exp(static_cast<double>(lg[t]) - mx);
                const auto lse = static_cast<float>(mx + std::log(z));
                for (int t = 0; t < V; ++t) lg[t] -= lse;
            }
        }
    }
    res.nllNext.assign(static_cast<std::size_t>(Q), 0.0f);
    res.argmaxNext.assign(static_cast<std::size_t>(Q), -1);
    CU_TRY(cudaMemcpyAsync(res.nllNext.data(), nll.get(), static_cast<std::size_t>(Q) * 4, cudaMemcpyDeviceToHost, stream_));
    CU_TRY(cudaMemcpyAsync(res.argmaxNext.data(), argmax.get(), static_cast<std::size_t>(Q) * 4, cudaMemcpyDeviceToHost, stream_));
    CU_TRY(cudaStreamSynchronize(stream_));
    res.nllNext[static_cast<std::size_t>(Q) - 1] = std::numeric_limits<float>::quiet_NaN();

    res.backend = name();
    res.elapsedMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    RunOutput out;
    if (keep) {
        auto st = std::make_shared<CudaRunState>();
        if (ctxState) {
            ctxState->entropy.resize(static_cast<std::size_t>(L) * H * qb);
            for (int l = 0; l < L; ++l)
                for (int h = 0; h < H; ++h)
                    std::copy_n(res.entropy.begin() + static_cast<std::ptrdiff_t>((static_cast<std::size_t>(l) * H + h) * N), qb,
                                ctxState->entropy.begin() + static_cast<std::ptrdiff_t>((static_cast<std::size_t>(l) * H + h) * qb));
            st->context = std::move(ctxState);
        } else {
            st->context = prev->context;
        }
        st->tokens = N;
        st->queries = Q;
        st->layers = L;
        st->heads = H;
        st->view = std::move(v);
        st->query = std::move(queryKept);
        st->queryLse = std::move(queryLse);
        if (selecting) st->selected = res.selected;
        out.kept = std::move(st);
    }
    out.stats = std::move(res);
    out.stats.queryLogProbs = std::move(queryLogProbs);  // returned, never kept in the run state
    return out;
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
    DeviceBuffer sQc, sKc, sQq, sKq, dRowKeys, dKeyChunk, dSel, dLse, dOut;
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
    std::vector<float> lseHN(static_cast<std::size_t>(H) * N);
    for (int h = 0; h < H; ++h) {
        std::copy_n(ctx.lse.begin() + static_cast<std::ptrdiff_t>((static_cast<std::size_t>(l) * H + h) * qb), qb,
                    lseHN.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(h) * N));
        std::copy_n(s->queryLse.begin() + static_cast<std::ptrdiff_t>((static_cast<std::size_t>(l) * H + h) * Q), Q,
                    lseHN.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(h) * N + qb));
    }
    ATTN_TRY(upload(dLse, lseHN, "log-sum-exp"));
    if (!s->selected.empty())
        ATTN_TRY(upload(dSel, std::vector<std::uint8_t>(s->selected.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(l) * H * Q * P),
                                                        s->selected.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(l + 1) * H * Q * P)),
                        "selected chunks"));
    ATTN_TRY(dOut.allocate(device_, tile.values.size() * 4, "tile"));
    CU_TRY(cudaMemsetAsync(dOut.get(), 0, tile.values.size() * 4, stream_));

    TileArgs t;
    t.type = type_;
    t.g = AttentionGeometry{N, H, c.nKvHeads, hd, c.attentionScale(), c.slidingWindowFor(l)};
    t.vis = VisibilityArgs{dRowKeys.as<int>(), dKeyChunk.as<int>(), s->selected.empty() ? nullptr : dSel.as<std::uint8_t>(), qb, P};
    t.q = TokenRows{*qc, *qq, qb, H * hd};
    t.k = TokenRows{*kc, *kq, qb, c.nKvHeads * hd};
    t.lse = dLse.as<float>();
    t.head = req.head;
    t.rowBegin = req.rowBegin;
    t.rowEnd = req.rowEnd;
    t.colBegin = req.colBegin;
    t.colEnd = req.colEnd;
    t.outRows = tile.rows;
    t.outCols = tile.cols;
    t.maxPool = req.pooling == TilePooling::Max;
    t.out = dOut.as<float>();
    CU_TRY(launchAttentionTile(t, prop_.multiProcessorCount, stream_));
    CU_TRY(cudaMemcpyAsync(tile.values.data(), dOut.get(), tile.values.size() * 4, cudaMemcpyDeviceToHost, stream_));
    CU_TRY(cudaStreamSynchronize(stream_));
    if (req.pooling == TilePooling::Mean)
        for (int r = 0; r < tile.rows; ++r)
            for (int col = 0; col < tile.cols; ++col) {
                const long long cells = static_cast<long long>(tile.rowEdges[static_cast<std::size_t>(r) + 1] - tile.rowEdges[static_cast<std::size_t>(r)]) *
                                        (tile.colEdges[static_cast<std::size_t>(col) + 1] - tile.colEdges[static_cast<std::size_t>(col)]);
                if (cells > 0) tile.values[static_cast<std::size_t>(r) * tile.cols + col] /= static_cast<float>(cells);
            }
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
        } else {
            return makeError(ErrorKind::InvalidInput, "unknown CUDA backend option '" + key + "' (known: dtype, rowblock, keep)");
        }
    }
    for (auto& ch : o.dtype) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (o.dtype == "bfloat16") o.dtype = "bf16";
    if (o.dtype == "float16" || o.dtype == "half") o.dtype = "f16";
    if (o.dtype == "float32" || o.dtype == "float") o.dtype = "f32";
    if (o.dtype != "bf16" && o.dtype != "f16" && o.dtype != "f32")
        return makeError(ErrorKind::InvalidInput, "unknown CUDA dtype '" + o.dtype + "' (use bf16, f16 or f32)");
    return o;
}

int probeCudaDevices(std::string& reason) {
    int n = 0;
    const cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        if (e == cudaErrorInsufficientDriver) reason = "no NVIDIA driver, or one too old for CUDA " + std::to_string(CUDART_VERSION / 1000);
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
