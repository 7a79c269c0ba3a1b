#pragma once
// The app's compiled-in resources (icons, demo context) live in a static library; call this
// before using ":/..." paths (idempotent).

namespace attnscope::gui {
void ensureResources();
}
