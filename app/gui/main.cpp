// attnscope: the desktop app. See startup_options.h for the command line.
#include <QApplication>
#include <QCommandLineParser>
#include <QMessageBox>
#include <QTimer>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "app_runner.h"
#include "main_window.h"
#include "resources.h"
#include "startup_options.h"

#ifndef ATTNSCOPE_VERSION
#define ATTNSCOPE_VERSION "0.0.0"
#endif

int main(int argc, char** argv) {
    // Headless export and the benchmark never need a display: without one, render offscreen
    // instead of failing to connect.
    bool noWindowNeeded = false;
    for (int i = 1; i < argc; ++i) {
        const char* a = argv[i];
        if (std::strcmp(a, "--export-figures") == 0 || std::strncmp(a, "--export-figures=", 17) == 0 ||
            std::strcmp(a, "--export-lesson") == 0 || std::strncmp(a, "--export-lesson=", 16) == 0 ||
            std::strcmp(a, "--help") == 0 || std::strcmp(a, "-h") == 0 || std::strcmp(a, "--version") == 0 ||
            std::strcmp(a, "-v") == 0)
            noWindowNeeded = true;
    }
    if (noWindowNeeded && !std::getenv("QT_QPA_PLATFORM") && !std::getenv("DISPLAY") && !std::getenv("WAYLAND_DISPLAY"))
        setenv("QT_QPA_PLATFORM", "offscreen", 1);

    bool sessionWithoutFile = false;
    const QString session = attnscope::gui::takeSessionArgument(argc, argv, &sessionWithoutFile);
    if (sessionWithoutFile) {
        std::fprintf(stderr, "attnscope: --session: missing the session file\n");
        return 2;
    }

    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("attnscope"));
    QApplication::setOrganizationName(QStringLiteral("attnscope"));
    QApplication::setApplicationVersion(QStringLiteral(ATTNSCOPE_VERSION));
    attnscope::gui::ensureResources();
    QApplication::setDesktopFileName(QStringLiteral("attnscope"));
    QApplication::setWindowIcon(QIcon(QStringLiteral(":/icons/attnscope.svg")));

    QCommandLineParser parser;
    attnscope::gui::addStartupOptions(parser);
    if (!parser.parse(attnscope::gui::normalizeArguments(QApplication::arguments()))) {
        std::fprintf(stderr, "attnscope: %s\n", qUtf8Printable(parser.errorText()));
        return 2;
    }
    if (parser.isSet(QStringLiteral("help"))) parser.showHelp(0);
    if (parser.isSet(QStringLiteral("version"))) parser.showVersion();
    QString error;
    auto options = attnscope::gui::readStartupOptions(parser, &error);
    if (!options) {
        std::fprintf(stderr, "attnscope: %s\n", qUtf8Printable(error));
        return 2;
    }
    if (!session.isEmpty()) options->session = session;
    if (!options->exportLesson.isEmpty()) return attnscope::gui::runLessonExport(*options);
    if (options->headless()) return attnscope::gui::runHeadlessExport(*options);
    if (options->benchToggles > 0) return attnscope::gui::runToggleBench(*options);

    attnscope::gui::MainWindow window;
    window.show();  // first: the offer to restore autosaved work appears over the window
    const bool ok = window.start(*options, &error);
    if (!ok) {
        // After the window is up: the message names the file and the reason; the app stays usable.
        QTimer::singleShot(0, &window,
                           [&window, error] { QMessageBox::warning(&window, QObject::tr("Cannot Open File"), error); });
    }
    return app.exec();
}
