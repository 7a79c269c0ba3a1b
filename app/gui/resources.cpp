#include "resources.h"

#include <QtGlobal>

static void initAttnscopeResources() { Q_INIT_RESOURCE(attnscope); }

namespace attnscope::gui {

void ensureResources() {
    static const bool done = [] {
        initAttnscopeResources();
        return true;
    }();
    (void)done;
}

}  // namespace attnscope::gui
