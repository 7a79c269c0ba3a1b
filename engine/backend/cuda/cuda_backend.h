#pragma once
// The CUDA backend: the Backend interface on cuBLAS GEMMs (float32 accumulation) and the fused
// kernels of kernels.h. Weights live on the GPU in BF16 (default), F16 or F32; F32 turns TF32
// off and is the parity mode that matches the CPU backend to ~1e-5. Quantised GGUF weights are
// dequantised on upload (Q8_0 on the GPU, other types on the host). Handles, stream and device
// memory belong to the backend object; failures come back as Error{Backend}.
//
// This header has no CUDA types: it is included by the plugin entry and by tests.
#include <memory>
#include <string>

#include "backend/backend.h"
#include "core/error.h"

namespace attnscope::cuda {

struct CudaBackendOptions {
    int device = 0;
    std::string dtype = "bf16";  // weights and activations fed to GEMMs: "bf16" | "f16" | "f32"
    int hostThreads = 0;         // threads converting weights on upload; 0 = all cores
    int rowBlock = 4096;         // token rows per block of projections, FFN and logits (bounds scratch)
    std::string keep = "auto";   // where a run's kept state lives: "auto" (GPU if it fits), "device", "host"
    // Fused attention kernel: "fp32" (CUDA cores) or "mma" (tensor cores, attention_mma.h); models
    // whose head size is not a multiple of 16 keep fp32.
    std::string attention = "fp32";
};

// Options from "key=value" pairs separated by ',' or ';' (keys: dtype, rowblock, keep, attention), on
// top of the environment variables ATTNSCOPE_CUDA_DTYPE and ATTNSCOPE_CUDA_ATTENTION (an explicit
// option wins over the environment).
Result<CudaBackendOptions> parseCudaBackendOptions(const std::string& text, int device, int hostThreads);

// Number of usable CUDA devices. 0 when CUDA cannot be used here (no driver, no device, driver
// too old), with the reason in `reason`. Never aborts.
int probeCudaDevices(std::string& reason);

Result<std::unique_ptr<Backend>> makeCudaBackend(const CudaBackendOptions& options);

}  // namespace attnscope::cuda
