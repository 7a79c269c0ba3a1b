// The CUDA emulator (see cuda_emu.h): fibers for the threads of a block, tracked host memory
// for device memory, a plain column-major GEMM for cublasGemmEx.
#include "cuda_emu.h"

#include <ucontext.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "core/dtype.h"

uint3 threadIdx;
uint3 blockIdx;
dim3 blockDim;
dim3 gridDim;

namespace {

[[noreturn]] void fatal(const char* what) {
    std::fprintf(stderr, "CUDA emulator: %s\n", what);
    std::fflush(stderr);
    std::abort();
}

// ---- fibers ---------------------------------------------------------------------------------

struct Group {
    int size = 0, arrived = 0;
    unsigned generation = 0;
};

// Switching between fibers. On x86-64 a few instructions save the callee-saved registers and
// swap stacks (ucontext's swapcontext makes two system calls per switch, which made the emulated
// tests ~50x slower); elsewhere ucontext.
#if defined(__x86_64__) && defined(__linux__)
#define ATTN_EMU_FAST_SWITCH 1
extern "C" void attnscope_emu_switch(void** saveSp, void* loadSp);
asm(R"(
    .text
    .globl attnscope_emu_switch
    .type attnscope_emu_switch, @function
attnscope_emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size attnscope_emu_switch, .-attnscope_emu_switch
    .section .note.GNU-stack,"",@progbits
    .text
)");
#endif

struct Fiber {
    ucontext_t ctx{};
    void* sp = nullptr;
    uint3 idx{};
    int linear = 0;
    bool done = false;
    Group* waitOn = nullptr;
    unsigned waitGeneration = 0;
    unsigned reduceCalls = 0;
};

constexpr std::size_t kStackBytes = 128 * 1024;
constexpr std::size_t kMaxSharedBytes = 227 * 1024;

struct BlockRun {
    std::vector<Fiber> fibers;
    std::vector<std::unique_ptr<char[]>> stacks;
    Group block;
    std::vector<Group> warps;
    std::vector<std::uint32_t> warpScratch;  // [warps][emu::kWarpScratchWords]
    int reduceSlots[3] = {0, 0, 0};
    std::vector<unsigned char> shared;
    ucontext_t scheduler{};
    void* schedulerSp = nullptr;
    Fiber* current = nullptr;
    const std::function<void()>* body = nullptr;
};

BlockRun* g_run = nullptr;
cudaError_t g_lastError = cudaSuccess;
std::uint64_t g_launches = 0;
std::uint64_t g_blockBarriers = 0;
std::map<const void*, int> g_smemAttribute;

void fiberEntry() {
    BlockRun* run = g_run;
    (*run->body)();
    run->current->done = true;
#ifdef ATTN_EMU_FAST_SWITCH
    attnscope_emu_switch(&run->current->sp, run->schedulerSp);  // never resumed
    fatal("finished fiber resumed");
#endif
    // ucontext: returning resumes the scheduler through uc_link
}

#ifdef ATTN_EMU_FAST_SWITCH
[[noreturn]] void fiberTrampoline() {
    fiberEntry();
    fatal("fiber trampoline returned");
}
#endif

// Fiber -> scheduler, and scheduler -> fiber.
void toScheduler(BlockRun& run, Fiber& f) {
#ifdef ATTN_EMU_FAST_SWITCH
    attnscope_emu_switch(&f.sp, run.schedulerSp);
#else
    swapcontext(&f.ctx, &run.scheduler);
#endif
}
void toFiber(BlockRun& run, Fiber& f) {
#ifdef ATTN_EMU_FAST_SWITCH
    attnscope_emu_switch(&run.schedulerSp, f.sp);
#else
    swapcontext(&run.scheduler, &f.ctx);
#endif
}

void arrive(Group& g) {
    BlockRun* run = g_run;
    Fiber* self = run->current;
    const unsigned gen = g.generation;
    if (++g.arrived == g.size) {
        g.arrived = 0;
        ++g.generation;
        if (&g == &run->block) ++g_blockBarriers;
        return;
    }
    self->waitOn = &g;
    self->waitGeneration = gen;
    toScheduler(*run, *self);
    threadIdx = self->idx;
}

// __syncthreads_or/and: every thread adds its predicate to a counter, then waits at the block
// barrier. Three counters rotate so that resetting the one for the call after next never races
// with a thread still reading the current one.
int blockReduce(int value, bool isAnd) {
    BlockRun* run = g_run;
    if (!run) fatal("__syncthreads_or/and outside a kernel");
    Fiber* self = run->current;
    const unsigned c = self->reduceCalls++;
    int* slot = &run->reduceSlots[c % 3];
    run->reduceSlots[(c + 1) % 3] = 0;
    *slot += value ? 1 : 0;
    arrive(run->block);
    return isAnd ? (*slot == run->block.size) : (*slot > 0);
}

void runBlock(BlockRun& run, const dim3 block) {
    const int n = static_cast<int>(block.x * block.y * block.z);
    run.fibers.assign(static_cast<std::size_t>(n), Fiber{});
    while (run.stacks.size() < static_cast<std::size_t>(n)) run.stacks.emplace_back(new char[kStackBytes]);
    run.block = Group{n, 0, 0};
    run.warps.assign(static_cast<std::size_t>(n / 32), Group{32, 0, 0});
    run.warpScratch.assign(static_cast<std::size_t>(n / 32) * emu::kWarpScratchWords, 0xFFFFFFFFu);
    run.reduceSlots[0] = 0;
    run.reduceSlots[1] = 0;
    run.reduceSlots[2] = 0;
    std::fill(run.shared.begin(), run.shared.end(), static_cast<unsigned char>(0xFF));
    for (int t = 0; t < n; ++t) {
        Fiber& f = run.fibers[static_cast<std::size_t>(t)];
        f.linear = t;
        f.idx.x = static_cast<unsigned>(t) % block.x;
        f.idx.y = (static_cast<unsigned>(t) / block.x) % block.y;
        f.idx.z = static_cast<unsigned>(t) / (block.x * block.y);
#ifdef ATTN_EMU_FAST_SWITCH
        // A stack whose first switch "returns" into fiberTrampoline with the alignment of a call.
        auto top = reinterpret_cast<std::uintptr_t>(run.stacks[static_cast<std::size_t>(t)].get() + kStackBytes) & ~std::uintptr_t{15};
        auto* slot = reinterpret_cast<std::uint64_t*>(top);
        slot[-1] = 0;                                                        // fake return address
        slot[-2] = reinterpret_cast<std::uint64_t>(&fiberTrampoline);        // where `ret` goes
        for (int r = 3; r <= 8; ++r) slot[-r] = 0;                           // rbp rbx r12-r15
        std::uint32_t mxcsr = 0;
        std::uint16_t fpcw = 0;
        asm volatile("stmxcsr %0" : "=m"(mxcsr));
        asm volatile("fnstcw %0" : "=m"(fpcw));
        slot[-9] = 0;
        std::memcpy(&slot[-9], &mxcsr, 4);                                   // read back by ldmxcsr
        std::memcpy(reinterpret_cast<char*>(&slot[-9]) + 4, &fpcw, 2);       // and by fldcw
        f.sp = &slot[-9];
#else
        getcontext(&f.ctx);
        f.ctx.uc_stack.ss_sp = run.stacks[static_cast<std::size_t>(t)].get();
        f.ctx.uc_stack.ss_size = kStackBytes;
        f.ctx.uc_link = &run.scheduler;
        makecontext(&f.ctx, fiberEntry, 0);
#endif
    }
    int remaining = n;
    while (remaining > 0) {
        bool progressed = false;
        for (auto& f : run.fibers) {
            if (f.done) continue;
            if (f.waitOn && f.waitOn->generation == f.waitGeneration) continue;
            f.waitOn = nullptr;
            run.current = &f;
            threadIdx = f.idx;
            toFiber(run, f);
            progressed = true;
            if (f.done) --remaining;
        }
        if (!progressed) fatal("deadlock: a barrier is not reached by every thread of its block or warp");
    }
    run.current = nullptr;
}

// ---- memory ---------------------------------------------------------------------------------

struct Allocation {
    std::size_t bytes;
};
std::map<const unsigned char*, Allocation>& allocations() {
    static std::map<const unsigned char*, Allocation> m;
    return m;
}
std::size_t g_limit = std::size_t{8} << 30;
std::size_t g_inUse = 0;
int g_deviceCount = 1;

// Is [p, p + bytes) inside one device allocation?
bool inDevice(const void* p, std::size_t bytes) {
    const auto* c = static_cast<const unsigned char*>(p);
    auto& m = allocations();
    auto it = m.upper_bound(c);
    if (it == m.begin()) return false;
    --it;
    return c >= it->first && c + bytes <= it->first + it->second.bytes;
}

cudaError_t setError(cudaError_t e) {
    if (e != cudaSuccess) g_lastError = e;
    return e;
}

}  // namespace

void __syncthreads() {
    if (!g_run) fatal("__syncthreads outside a kernel");
    arrive(g_run->block);
}
int __syncthreads_or(int predicate) { return blockReduce(predicate != 0, false); }
int __syncthreads_and(int predicate) { return blockReduce(predicate != 0, true); }
void __syncwarp(unsigned mask) {
    if (mask != 0xffffffffu) fatal("__syncwarp with a partial mask is not emulated");
    if (!g_run) fatal("__syncwarp outside a kernel");
    arrive(g_run->warps[static_cast<std::size_t>(g_run->current->linear / 32)]);
}

namespace {
template <typename V>
V shuffleXor(unsigned mask, V v, int laneMask, int width) {
    if (mask != 0xffffffffu || width != 32) fatal("__shfl_xor_sync with a partial mask or width is not emulated");
    if (laneMask < 0 || laneMask > 31) fatal("__shfl_xor_sync lane mask out of range");
    static_assert(sizeof(V) == sizeof(std::uint32_t));
    std::uint32_t* scratch = emu::warpScratch();
    const int lane = g_run->current->linear % 32;
    std::memcpy(&scratch[lane], &v, sizeof v);
    __syncwarp();
    V got;
    std::memcpy(&got, &scratch[lane ^ laneMask], sizeof got);
    __syncwarp();
    return got;
}
}  // namespace
float __shfl_xor_sync(unsigned mask, float v, int laneMask, int width) { return shuffleXor(mask, v, laneMask, width); }
int __shfl_xor_sync(unsigned mask, int v, int laneMask, int width) { return shuffleXor(mask, v, laneMask, width); }

float __half2float(__half h) { return attnscope::f16ToF32(h.bits); }
__half __float2half_rn(float f) { return __half{attnscope::f32ToF16(f)}; }
float __bfloat162float(__nv_bfloat16 h) { return attnscope::bf16ToF32(h.bits); }
__nv_bfloat16 __float2bfloat16_rn(float f) { return __nv_bfloat16{attnscope::f32ToBf16(f)}; }

namespace emu {

float halfBitsToFloat(std::uint16_t bits) { return attnscope::f16ToF32(bits); }

void* dynamicShared() {
    if (!g_run) fatal("dynamic shared memory outside a kernel");
    return g_run->shared.data();
}

std::uint32_t* warpScratch() {
    if (!g_run) fatal("warp scratch outside a kernel");
    return g_run->warpScratch.data() + static_cast<std::size_t>(g_run->current->linear / 32) * kWarpScratchWords;
}

void launch(const void* kernel, dim3 grid, dim3 block, std::size_t sharedBytes, const std::function<void()>& body) {
    if (g_run) fatal("kernel launched from inside a kernel");
    const unsigned long long threads = 1ull * block.x * block.y * block.z;
    if (threads == 0 || threads > 1024 || threads % 32 != 0 || grid.x == 0 || grid.y == 0 || grid.z == 0 ||
        grid.y > 65535 || grid.z > 65535 || sharedBytes > kMaxSharedBytes) {
        setError(cudaErrorInvalidConfiguration);
        return;
    }
    if (sharedBytes > 48 * 1024) {
        auto it = g_smemAttribute.find(kernel);
        if (!kernel || it == g_smemAttribute.end() || static_cast<std::size_t>(it->second) < sharedBytes) {
            setError(cudaErrorInvalidValue);  // as CUDA: more than 48 KiB needs the attribute first
            return;
        }
    }
    ++g_launches;
    BlockRun run;
    run.shared.assign(std::max<std::size_t>(sharedBytes, 16), 0);
    run.body = &body;
    gridDim = grid;
    blockDim = block;
    g_run = &run;
    for (unsigned z = 0; z < grid.z; ++z)
        for (unsigned y = 0; y < grid.y; ++y)
            for (unsigned x = 0; x < grid.x; ++x) {
                blockIdx.x = x;
                blockIdx.y = y;
                blockIdx.z = z;
                runBlock(run, block);
            }
    g_run = nullptr;
}

void setDeviceMemoryLimit(std::size_t bytes) { g_limit = bytes; }
std::size_t deviceMemoryInUse() { return g_inUse; }
void setDeviceCount(int n) { g_deviceCount = n; }
std::uint64_t launchCount() { return g_launches; }
std::uint64_t blockBarrierCount() { return g_blockBarriers; }

}  // namespace emu

// ---- runtime API ------------------------------------------------------------------------------

const char* cudaGetErrorString(cudaError_t e) {
    switch (e) {
        case cudaSuccess: return "no error";
        case cudaErrorInvalidValue: return "invalid argument";
        case cudaErrorMemoryAllocation: return "out of memory";
        case cudaErrorInvalidConfiguration: return "invalid configuration argument";
        case cudaErrorInsufficientDriver: return "CUDA driver version is insufficient for CUDA runtime version";
        case cudaErrorNoDevice: return "no CUDA-capable device is detected";
        case cudaErrorInvalidDevice: return "invalid device ordinal";
        case cudaErrorLaunchFailure: return "unspecified launch failure";
    }
    return "unknown error";
}
const char* cudaGetErrorName(cudaError_t e) {
    switch (e) {
        case cudaSuccess: return "cudaSuccess";
        case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
        case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
        case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
        case cudaErrorInsufficientDriver: return "cudaErrorInsufficientDriver";
        case cudaErrorNoDevice: return "cudaErrorNoDevice";
        case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
        case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
    }
    return "cudaErrorUnknown";
}
cudaError_t cudaGetLastError() {
    cudaError_t e = g_lastError;
    g_lastError = cudaSuccess;
    return e;
}
cudaError_t cudaPeekAtLastError() { return g_lastError; }
cudaError_t cudaGetDeviceCount(int* count) {
    *count = 0;
    if (g_deviceCount <= 0) return setError(cudaErrorNoDevice);
    *count = g_deviceCount;
    return cudaSuccess;
}
cudaError_t cudaSetDevice(int device) {
    return device >= 0 && device < g_deviceCount ? cudaSuccess : setError(cudaErrorInvalidDevice);
}
cudaError_t cudaGetDevice(int* device) {
    *device = 0;
    return cudaSuccess;
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
    if (device < 0 || device >= g_deviceCount) return setError(cudaErrorInvalidDevice);
    *prop = cudaDeviceProp{};
    std::snprintf(prop->name, sizeof prop->name, "CUDA emulator");
    prop->totalGlobalMem = g_limit;
    prop->sharedMemPerBlock = 48 * 1024;
    prop->sharedMemPerBlockOptin = kMaxSharedBytes;
    prop->multiProcessorCount = 4;
    prop->maxThreadsPerBlock = 1024;
    prop->major = 9;
    prop->minor = 0;
    return cudaSuccess;
}
cudaError_t cudaDriverGetVersion(int* v) {
    *v = 13000;
    return cudaSuccess;
}
cudaError_t cudaRuntimeGetVersion(int* v) {
    *v = 13000;
    return cudaSuccess;
}
cudaError_t cudaMemGetInfo(std::size_t* freeBytes, std::size_t* totalBytes) {
    *totalBytes = g_limit;
    *freeBytes = g_limit > g_inUse ? g_limit - g_inUse : 0;
    return cudaSuccess;
}
cudaError_t cudaMalloc(void** ptr, std::size_t bytes) {
    *ptr = nullptr;
    const std::size_t rounded = (std::max<std::size_t>(bytes, 1) + 255) / 256 * 256;
    if (g_inUse + rounded > g_limit) return setError(cudaErrorMemoryAllocation);
    void* p = std::aligned_alloc(256, rounded);
    if (!p) return setError(cudaErrorMemoryAllocation);
    std::memset(p, 0xA5, rounded);  // garbage, like fresh device memory
    allocations()[static_cast<const unsigned char*>(p)] = Allocation{bytes};
    g_inUse += rounded;
    *ptr = p;
    return cudaSuccess;
}
cudaError_t cudaFree(void* ptr) {
    if (!ptr) return cudaSuccess;
    auto& m = allocations();
    auto it = m.find(static_cast<const unsigned char*>(ptr));
    if (it == m.end()) fatal("cudaFree of a pointer that cudaMalloc did not return");
    g_inUse -= (std::max<std::size_t>(it->second.bytes, 1) + 255) / 256 * 256;
    m.erase(it);
    std::free(ptr);
    return cudaSuccess;
}
cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind) {
    if (bytes == 0) return cudaSuccess;
    const bool dstDev = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
    const bool srcDev = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
    if (kind == cudaMemcpyDefault || kind == cudaMemcpyHostToHost) fatal("unsupported cudaMemcpy kind");
    if (dstDev && !inDevice(dst, bytes)) fatal("cudaMemcpy destination is not inside a device allocation");
    if (srcDev && !inDevice(src, bytes)) fatal("cudaMemcpy source is not inside a device allocation");
    if (!dstDev && inDevice(dst, 1)) fatal("cudaMemcpy to the host into device memory (wrong kind)");
    if (!srcDev && inDevice(src, 1)) fatal("cudaMemcpy from the host out of device memory (wrong kind)");
    std::memmove(dst, src, bytes);
    return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind, cudaStream_t) {
    return cudaMemcpy(dst, src, bytes, kind);
}
cudaError_t cudaMemset(void* dst, int value, std::size_t bytes) {
    if (bytes == 0) return cudaSuccess;
    if (!inDevice(dst, bytes)) fatal("cudaMemset outside a device allocation");
    std::memset(dst, value, bytes);
    return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void* dst, int value, std::size_t bytes, cudaStream_t) { return cudaMemset(dst, value, bytes); }
struct CUstream_st {
    int unused = 0;
};
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) {
    *s = new CUstream_st();
    return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t s) {
    delete s;
    return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t) { return g_lastError; }
cudaError_t cudaDeviceSynchronize() { return g_lastError; }
cudaError_t emuFuncSetAttribute(const void* fn, cudaFuncAttribute attr, int value) {
    if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize) return setError(cudaErrorInvalidValue);
    if (value < 0 || static_cast<std::size_t>(value) > kMaxSharedBytes) return setError(cudaErrorInvalidValue);
    g_smemAttribute[fn] = value;
    return cudaSuccess;
}

// ---- cuBLAS -----------------------------------------------------------------------------------

struct cublasContext {
    cudaStream_t stream = nullptr;
    cublasMath_t math = CUBLAS_DEFAULT_MATH;
};

cublasStatus_t cublasCreate(cublasHandle_t* handle) {
    *handle = new cublasContext();
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasDestroy(cublasHandle_t handle) {
    delete handle;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetStream(cublasHandle_t handle, cudaStream_t s) {
    if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
    handle->stream = s;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) {
    if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
    handle->math = mode;
    return CUBLAS_STATUS_SUCCESS;
}
const char* cublasGetStatusString(cublasStatus_t s) {
    switch (s) {
        case CUBLAS_STATUS_SUCCESS: return "the operation completed successfully";
        case CUBLAS_STATUS_NOT_INITIALIZED: return "the library was not initialized";
        case CUBLAS_STATUS_ALLOC_FAILED: return "the resource allocation failed";
        case CUBLAS_STATUS_INVALID_VALUE: return "an invalid numeric value was used as an argument";
        case CUBLAS_STATUS_EXECUTION_FAILED: return "the GPU program failed to execute";
        case CUBLAS_STATUS_NOT_SUPPORTED: return "the functionality requested is not supported";
    }
    return "unknown cuBLAS status";
}

namespace {
std::size_t typeBytes(cudaDataType t) { return t == CUDA_R_32F ? 4 : 2; }
float loadAs(const void* base, std::size_t idx, cudaDataType t) {
    if (t == CUDA_R_32F) return static_cast<const float*>(base)[idx];
    std::uint16_t b;
    std::memcpy(&b, static_cast<const unsigned char*>(base) + idx * 2, 2);
    return t == CUDA_R_16F ? attnscope::f16ToF32(b) : attnscope::bf16ToF32(b);
}
}  // namespace

cublasStatus_t cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n,
                            int k, const void* alpha, const void* A, cudaDataType Atype, int lda, const void* B,
                            cudaDataType Btype, int ldb, const void* beta, void* C, cudaDataType Ctype, int ldc,
                            cublasComputeType_t computeType, cublasGemmAlgo_t) {
    if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (m < 0 || n < 0 || k < 0) return CUBLAS_STATUS_INVALID_VALUE;
    if (Ctype != CUDA_R_32F || Atype != Btype ||
        (computeType != CUBLAS_COMPUTE_32F && computeType != CUBLAS_COMPUTE_32F_PEDANTIC))
        return CUBLAS_STATUS_NOT_SUPPORTED;
    const int aRows = transa == CUBLAS_OP_N ? m : k, aCols = transa == CUBLAS_OP_N ? k : m;
    const int bRows = transb == CUBLAS_OP_N ? k : n, bCols = transb == CUBLAS_OP_N ? n : k;
    if (lda < std::max(1, aRows) || ldb < std::max(1, bRows) || ldc < std::max(1, m)) return CUBLAS_STATUS_INVALID_VALUE;
    if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;
    auto extent = [](int rows, int cols, int ld) { return (static_cast<std::size_t>(cols) - 1) * ld + rows; };
    if (k > 0 && !inDevice(A, extent(aRows, aCols, lda) * typeBytes(Atype))) fatal("cublasGemmEx: A outside device memory");
    if (k > 0 && !inDevice(B, extent(bRows, bCols, ldb) * typeBytes(Btype))) fatal("cublasGemmEx: B outside device memory");
    if (!inDevice(C, extent(m, n, ldc) * 4)) fatal("cublasGemmEx: C outside device memory");
    const float al = *static_cast<const float*>(alpha), be = *static_cast<const float*>(beta);
    // op(A) as rows of length k and op(B) as columns of length k, in float.
    std::vector<float> a(static_cast<std::size_t>(m) * k), b(static_cast<std::size_t>(n) * k);
    for (int i = 0; i < m; ++i)
        for (int l = 0; l < k; ++l)
            a[static_cast<std::size_t>(i) * k + l] =
                loadAs(A, transa == CUBLAS_OP_N ? i + static_cast<std::size_t>(l) * lda : l + static_cast<std::size_t>(i) * lda, Atype);
    for (int j = 0; j < n; ++j)
        for (int l = 0; l < k; ++l)
            b[static_cast<std::size_t>(j) * k + l] =
                loadAs(B, transb == CUBLAS_OP_N ? l + static_cast<std::size_t>(j) * ldb : j + static_cast<std::size_t>(l) * ldb, Btype);
    float* c = static_cast<float*>(C);
    for (int j = 0; j < n; ++j)
        for (int i = 0; i < m; ++i) {
            float acc = 0;
            const float* ai = &a[static_cast<std::size_t>(i) * k];
            const float* bj = &b[static_cast<std::size_t>(j) * k];
            for (int l = 0; l < k; ++l) acc += ai[l] * bj[l];
            float& dst = c[i + static_cast<std::size_t>(j) * ldc];
            dst = al * acc + (be != 0 ? be * dst : 0.0f);
        }
    return CUBLAS_STATUS_SUCCESS;
}
