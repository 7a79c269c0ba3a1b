// The session reader's translation units also hold the save paths, which write through the
// widgets library (QtGui, QtSvg, QCustomPlot). Reading never saves, so this target links these
// stand-ins instead: reaching one is a finding and aborts.
#include "figure_export.h"
#include "fuzz_support.h"

namespace attnscope::widgets {

bool writeTextFileAtomic(const QString&, const QByteArray&, QString*) {
    fuzz::violated("reading a session tried to save a file");
}

bool writeTextFileAtomic(const QString&, const QString&, QString*) {
    fuzz::violated("reading a session tried to save a file");
}

}  // namespace attnscope::widgets
