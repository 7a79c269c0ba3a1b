#pragma once
// The CPU backend: the reference implementation of the forward pass and of every statistic.
// Prefill with GEMMs over the whole plan at once (OpenBLAS when available), attention row by
// row over the plan's visible key ranges with online statistics, threads over (head, row).
#include <memory>

#include "backend/backend.h"

namespace attnscope {

// threads <= 0: all hardware threads.
std::unique_ptr<Backend> makeCpuBackend(int threads = 0);

}  // namespace attnscope
