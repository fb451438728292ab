// A standalone node with the real plugins, run in-process (so tests can see the route table) on
// a free loopback port, with the build's docs (share/ordersystem) and plugin folder.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "Runtime.h"
#include "ordersystem/testing/TestSupport.h"

namespace ordersystem::service::test {

inline std::string standaloneIni() {
    return "[node]\nid = service-test\ndata_dir = data\ndurability = normal\n"
           "[http]\nhost = 127.0.0.1\nport = 0\nthreads = 16\n"
           "[plugins]\nload = orders, transport-inmemory, notifications, analytics\n"
           "[log]\nlevel = warn\n";
}

class ServiceNode {
public:
    explicit ServiceNode(std::vector<std::string> defines = {}) {
        testing::writeFile(_dir.file("ordersystem.ini"), standaloneIni());
        host::RuntimeOptions o;
        o.configPath = _dir.file("ordersystem.ini");
        o.defines = std::move(defines);
        o.env = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
        o.exeDir = testing::buildDir() + "/bin";  // default plugin and docs folders of the build
        _runtime = std::make_unique<host::Runtime>(std::move(o));
        _status = _runtime->start();
    }
    ~ServiceNode() { _runtime->stop(std::chrono::milliseconds(0)); }
    const sdk::Status& status() const { return _status; }
    int port() const { return _runtime->port(); }
    host::Runtime& runtime() { return *_runtime; }

private:
    testing::TempDir _dir;
    std::unique_ptr<host::Runtime> _runtime;
    sdk::Status _status;
};

}  // namespace ordersystem::service::test
