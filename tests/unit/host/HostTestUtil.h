// Helpers for the host's unit tests: fixture plugin folder, ini writing, a Runtime on port 0.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "Runtime.h"
#include "ordersystem/testing/TestSupport.h"

namespace ordersystem::host::test {

inline std::string fixturePluginDir() { return ORDERSYSTEM_TEST_FIXTURE_DIR; }
inline std::string hostExe() { return ORDERSYSTEM_TEST_HOST_EXE; }

/// An environment with nothing in it (tests must not see the real ORDERSYSTEM_* variables).
inline EnvLookup emptyEnv() {
    return [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
}
inline EnvLookup envOf(std::map<std::string, std::string> vars) {
    return [vars](const std::string& name) -> std::optional<std::string> {
        auto it = vars.find(name);
        if (it == vars.end()) return std::nullopt;
        return it->second;
    };
}

/// A minimal valid ini using the fixture plugins; `extra` is appended verbatim.
inline std::string fixtureIni(const std::string& load = "fixture-transport, fixture-routes",
                              const std::string& extra = "") {
    return "[node]\nid = test-node ; inline comment\ndata_dir = data\ndurability = normal\n"
           "[http]\nhost = 127.0.0.1\nport = 0\nthreads = 8\nmax_body_bytes = 100\nkeep_alive_timeout_ms = 500\n"
           "docs_dir = docs\n"
           "[plugins]\ndir = " +
           fixturePluginDir() + "\nload = " + load + "\n[log]\nlevel = warn\n" + extra;
}

inline RuntimeOptions optionsFor(const std::string& iniPath, std::vector<std::string> defines = {}) {
    RuntimeOptions o;
    o.configPath = iniPath;
    o.defines = std::move(defines);
    o.env = emptyEnv();
    return o;
}

/// A Runtime on the fixture plugins (fixtureIni in dir/os.ini) on a free port, started with the
/// given --define overrides; stopped without draining when destroyed. ok() tells whether it
/// started; status() why not.
class FixtureServer {
public:
    explicit FixtureServer(const ordersystem::testing::TempDir& dir, std::vector<std::string> defines = {}) {
        ordersystem::testing::writeFile(dir.file("os.ini"), fixtureIni());
        _runtime = std::make_unique<Runtime>(optionsFor(dir.file("os.ini"), std::move(defines)));
        _status = _runtime->start();
    }
    ~FixtureServer() {
        if (_status) _runtime->stop(std::chrono::milliseconds(0));
    }
    FixtureServer(const FixtureServer&) = delete;
    FixtureServer& operator=(const FixtureServer&) = delete;
    bool ok() const { return _status.isOk(); }
    const sdk::Status& status() const { return _status; }
    int port() const { return ok() ? _runtime->port() : 0; }

private:
    std::unique_ptr<Runtime> _runtime;
    sdk::Status _status;
};

}  // namespace ordersystem::host::test
