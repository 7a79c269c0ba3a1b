#include "model/loaded_model.h"

#include <sstream>

namespace attnscope {

std::string metadataNumber(double x) {
    std::ostringstream os;
    os << x;
    return os.str();
}

}  // namespace attnscope
