// The ordersystem executable: a thin Poco ServerApplication over host::Runtime.
// Runs in the foreground until SIGTERM/SIGINT, then drains and exits 0. Start-up,
// --check-config and --describe-config failures print one line on stderr and exit 1.
// The operator commands --export, --import and --backup print progress on stderr, one summary
// line on stdout, and exit 0, or 1 with the reason on stderr.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include <Poco/Util/HelpFormatter.h>
#include <Poco/Util/Option.h>
#include <Poco/Util/OptionSet.h>
#include <Poco/Util/ServerApplication.h>

#include "Allocator.h"
#include "Backup.h"
#include "ConfigReference.h"
#include "OperatorCommands.h"
#include "Runtime.h"
#include "SystemdNotify.h"

namespace {

using Poco::Util::Option;
using Poco::Util::OptionSet;

class OrderSystemApp final : public Poco::Util::ServerApplication {
protected:
    void defineOptions(OptionSet& options) override {
        // ServerApplication's own --daemon/--pidfile/--umask are deliberately not offered: run in the foreground.
        options.addOption(Option("help", "h", "print this help and exit").required(false).repeatable(false));
        options.addOption(Option("config", "c", "the ini file (required but for --describe-config)")
                              .required(false)
                              .repeatable(false)
                              .argument("FILE"));
        options.addOption(Option("define", "D", "override one setting, e.g. --define=http.port=5001 (repeatable)")
                              .required(false)
                              .repeatable(true)
                              .argument("section.key=value"));
        options.addOption(
            Option("check-config", "", "validate the configuration and plugins, print the result and exit")
                .required(false)
                .repeatable(false));
        options.addOption(Option("export", "", "write the whole event log to FILE as JSON lines and exit")
                              .required(false)
                              .repeatable(false)
                              .argument("FILE"));
        options.addOption(Option("import", "", "load an --export FILE into the empty event log and exit")
                              .required(false)
                              .repeatable(false)
                              .argument("FILE"));
        options.addOption(
            Option("backup", "", "copy a standalone node's data folder, while it serves, into the new folder DIR")
                .required(false)
                .repeatable(false)
                .argument("DIR"));
        options.addOption(Option("describe-config", "",
                                 "print every section and key the host and the plugins in the plugin folder accept, "
                                 "as Markdown, and exit (--config optional: only its [plugins] dir is read)")
                              .required(false)
                              .repeatable(false));
    }

    void handleOption(const std::string& name, const std::string& value) override {
        if (name == "help") _help = true;
        else if (name == "config") _configPath = value;
        else if (name == "define") _defines.push_back(value);
        else if (name == "check-config") _checkOnly = true;
        else if (name == "describe-config") _describeOnly = true;
        else if (name == "export") _exportFile = value;
        else if (name == "import") _importFile = value;
        else if (name == "backup") _backupDir = value;
    }

    int main(const std::vector<std::string>& args) override {
        if (_help) {
            Poco::Util::HelpFormatter help(options());
            help.setCommand(commandName());
            help.setUsage(
                "--config=FILE [--define=section.key=value ...] [--check-config | --export=FILE | --import=FILE | "
                "--backup=DIR] | --describe-config [--config=FILE]");
            help.setHeader(
                "The order service host: loads the plugins named in the ini file and serves HTTP.\n"
                "Settings can also come from ORDERSYSTEM_<SECTION>_<KEY> environment variables.\n"
                "Precedence: --define > environment > ini > defaults.");
            help.setUnixStyle(true);
            help.format(std::cout);
            return EXIT_OK;
        }
        if (!args.empty()) return fail("unexpected argument '" + args.front() + "' (see --help)");
        const int commands = int(_describeOnly) + int(_checkOnly) + int(!_exportFile.empty()) +
                             int(!_importFile.empty()) + int(!_backupDir.empty());
        if (commands > 1)
            return fail("--describe-config, --check-config, --export, --import and --backup exclude each other");
        if (_configPath.empty() && !_describeOnly) return fail("--config=FILE is required (see --help)");

        ordersystem::host::RuntimeOptions options;
        options.configPath = _configPath;
        options.defines = _defines;
        options.allocator = ordersystem::host::allocatorName();
        options.operatorCommand = !_exportFile.empty() || !_importFile.empty() || !_backupDir.empty();
        ordersystem::host::Runtime runtime(std::move(options));
        if (!_backupDir.empty()) return backup(runtime);
        if (!_exportFile.empty() || !_importFile.empty()) return moveEvents(runtime);
        if (_describeOnly) return describeConfig(runtime);
        if (_checkOnly) {
            const auto status = runtime.check();
            if (!status) return fail(status.message);
            std::cout << "configuration OK" << std::endl;
            return EXIT_OK;
        }
        const auto status = runtime.start();
        if (!status) return fail(status.message);
        // Type=notify: systemd reports the unit started only now, with the port open and serving.
        const auto ready = ordersystem::host::notifySystemdFromEnvironment(
            ordersystem::host::readyMessage(runtime.port(), static_cast<int>(::getpid())));
        if (!ready && ready.code != ordersystem::sdk::StatusCode::NotFound)
            std::cerr << "ordersystem: systemd readiness notification failed: " << ready.message << std::endl;
        waitForTerminationRequest();
        (void)ordersystem::host::notifySystemdFromEnvironment("STOPPING=1\nSTATUS=draining\n");
        runtime.stop();
        return EXIT_OK;
    }

private:
    static int fail(const std::string& message) {
        std::cerr << "ordersystem: " << message << std::endl;
        return 1;
    }

    static int summary(const ordersystem::sdk::Result<std::string>& done) {
        if (!done) return fail(done.status().message);
        std::cout << done.value() << std::endl;
        return EXIT_OK;
    }

    int moveEvents(ordersystem::host::Runtime& runtime) {
        auto log = runtime.openEventLog();
        if (!log) return fail(log.status().message);
        const auto done = !_exportFile.empty() ? ordersystem::host::exportLog(*log.value(), _exportFile, std::cerr)
                                               : ordersystem::host::importLog(*log.value(), _importFile, std::cerr);
        runtime.stop();
        return summary(done);
    }

    int backup(ordersystem::host::Runtime& runtime) {
        if (auto s = runtime.prepareOnly(); !s) return fail(s.message);
        if (runtime.transportName() != "transport-inmemory")
            return fail("--backup copies a standalone node's data folder, but this configuration loads " +
                        runtime.transportName() + ": its events live in the broker; use --export instead");
        const auto done =
            ordersystem::host::backupDataFolder(runtime.settings().dataDir, runtime.transportDatabase(), _backupDir);
        runtime.stop();
        return summary(done);
    }

    /// Plugin files that do not load are named on stderr and left out; stdout holds only the document.
    static int describeConfig(ordersystem::host::Runtime& runtime) {
        const auto dir = runtime.locatePlugins();
        if (!dir) return fail(dir.status().message);
        const auto reference = ordersystem::host::collectConfigReference(dir.value());
        if (!reference) return fail(reference.status().message);
        for (const auto& skipped : reference.value().skipped)
            std::cerr << "ordersystem: left out " << skipped << std::endl;
        const auto& sections = reference.value().sections;
        if (std::none_of(sections.begin(), sections.end(), [](const auto& s) { return !s.plugin.empty(); }))
            std::cerr << "ordersystem: no plugins in " << dir.value() << "; only the host's sections are described"
                      << std::endl;
        std::cout << ordersystem::host::formatConfigReference(reference.value().sections) << std::flush;
        return EXIT_OK;
    }

    bool _help = false;
    bool _checkOnly = false;
    bool _describeOnly = false;
    std::string _configPath;
    std::string _exportFile;
    std::string _importFile;
    std::string _backupDir;
    std::vector<std::string> _defines;
};

}  // namespace

int main(int argc, char** argv) {
    // Before any thread exists: every thread inherits the block, so only sigwait() sees these.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGQUIT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    signal(SIGPIPE, SIG_IGN);

    OrderSystemApp app;
    try {
        const int rc = app.run(argc, argv);
        // Poco reports a bad command line (unknown option, missing argument) as EXIT_USAGE/EXIT_CONFIG;
        // the contract promises exit code 1 for every refusal.
        return rc == Poco::Util::Application::EXIT_USAGE || rc == Poco::Util::Application::EXIT_CONFIG ? 1 : rc;
    } catch (const std::exception& e) {
        std::cerr << "ordersystem: " << e.what() << std::endl;
        return 1;
    }
}
