// Session files, read as the app reads them (Qt's JSON parser, then sessionFromJson validating
// every field and the context through the engine). Built against Qt Core only.
#include <QJsonDocument>
#include <QJsonObject>

#include "fuzz_support.h"
#include "session_file.h"

using namespace attnscope;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    QJsonParseError error;
    const QJsonDocument doc =
        QJsonDocument::fromJson(QByteArray(reinterpret_cast<const char*>(data), static_cast<qsizetype>(size)), &error);
    if (error.error != QJsonParseError::NoError || !doc.isObject()) return 0;
    QString reason;
    auto session = gui::sessionFromJson(doc.object(), QStringLiteral("fuzz.attnscope.json"), &reason);
    if (!session) {
        if (reason.isEmpty()) fuzz::violated("a rejected session without a reason");
        return 0;
    }
    // What was read must be written back and read again unchanged in meaning.
    auto again = gui::sessionFromJson(gui::sessionToJson(*session), {}, &reason);
    if (!again) fuzz::violated("a saved session does not read back: " + reason.toStdString());
    return 0;
}
