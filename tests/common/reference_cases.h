#pragma once
// The golden reference cases (../shared/reference/stories260K/*.json): where they are and how
// their "options" object reads as EncodingOptions. A non-empty prefix in a case is the sink.
#include <string>
#include <vector>

#include "core/json.h"
#include "plan/encoding_options.h"

namespace attnscope::test {

// $ATTNSCOPE_REFERENCE/stories260K, else ../shared/reference/stories260K.
std::string referenceDir();
// The case files there, sorted; empty when the folder is missing.
std::vector<std::string> referenceCases();
EncodingOptions referenceOptions(const Json& options, bool hasPrefix);

}  // namespace attnscope::test
