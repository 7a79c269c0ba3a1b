#pragma once
// Reads the "options" object of a golden reference case (../shared/reference/*/*.json) into
// EncodingOptions. A non-empty prefix in the case is the shared sink.
#include "core/json.h"
#include "plan/encoding_options.h"

namespace attnscope::test {

EncodingOptions referenceOptions(const Json& options, bool hasPrefix);

}  // namespace attnscope::test
