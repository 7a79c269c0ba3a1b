#include "backend/cpu/blas_loader.h"

#include <dlfcn.h>

#include <cstdlib>
#include <cstring>

namespace attnscope::cpu {

namespace {

bool cpuHasAvx2Fma() {
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return false;
#endif
}

Blas* load() {
    const char* mode = std::getenv("ATTNSCOPE_GEMM");
    if (mode && std::strcmp(mode, "builtin") == 0) return nullptr;
    if (!std::getenv("OPENBLAS_CORETYPE") && cpuHasAvx2Fma()) setenv("OPENBLAS_CORETYPE", "Haswell", 0);
    for (const char* name : {"libopenblas.so.0", "libopenblas.so", "libopenblasp.so.0"}) {
        void* h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
        if (!h) continue;
        auto* b = new Blas();
        b->sgemm = reinterpret_cast<decltype(b->sgemm)>(dlsym(h, "cblas_sgemm"));
        b->setThreads = reinterpret_cast<decltype(b->setThreads)>(dlsym(h, "openblas_set_num_threads"));
        b->coreName = reinterpret_cast<decltype(b->coreName)>(dlsym(h, "openblas_get_corename"));
        if (!b->sgemm) {
            delete b;
            dlclose(h);
            continue;
        }
        b->library = name;
        if (b->coreName) b->core = b->coreName();
        return b;  // kept for the life of the process
    }
    return nullptr;
}

}  // namespace

const Blas* blas() {
    static const Blas* b = load();
    return b;
}

}  // namespace attnscope::cpu
