// K-quant block formats (Q4_K, Q5_K, Q6_K) → float32.
// TODO(issue 5): implemented together with the K-quant tests; until then they are reported as
// unsupported at load time (see model loaders), so this is never reached with real data.
#include "core/dtype.h"

#include <cstring>

namespace attnscope {

void dequantizeKQuantRow(DType, const std::uint8_t*, float* dst, std::size_t n) {
    std::memset(dst, 0, n * sizeof(float));
}

}  // namespace attnscope
