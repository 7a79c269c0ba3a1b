#include "input_file.h"

#include <QFile>
#include <QFileInfo>

namespace attnscope::gui {

std::optional<QByteArray> readInputFile(const QString& path, const QString& what, QString* error) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) {
        if (error) *error = QStringLiteral("%1: cannot open (%2)").arg(path, f.errorString());
        return std::nullopt;
    }
    if (f.size() > kMaxInputFileBytes) {
        if (error) *error = QStringLiteral("%1: too large for a %2 (%3 bytes)").arg(QFileInfo(path).fileName(), what).arg(f.size());
        return std::nullopt;
    }
    return f.readAll();
}

}  // namespace attnscope::gui
