// A throwaway JetStream cluster; see NatsServerCluster.h.
#include "ordersystem/testing/NatsServerCluster.h"

#include <filesystem>

#include "ordersystem/sdk/json.h"

namespace ordersystem::testing {

namespace fs = std::filesystem;

NatsServerCluster::NatsServerCluster(std::string dir, int size) : _dir(std::move(dir)), _servers(size) {
    fs::create_directories(_dir);
    for (auto& s : _servers) {
        s.clientPort = freePort();
        s.routePort = freePort();
        s.monitorPort = freePort();
    }
    for (int i = 0; i < size; ++i) writeFile(_dir + "/" + name(i) + ".conf", config(i));
}

NatsServerCluster::~NatsServerCluster() {
    for (int i = 0; i < size(); ++i) stopServer(i);
}

std::string NatsServerCluster::config(int i) const {
    std::string routes;
    for (const auto& s : _servers) routes += "    nats-route://127.0.0.1:" + std::to_string(s.routePort) + "\n";
    const Server& s = _servers[i];
    return "server_name: " + name(i) + "\nlisten: 127.0.0.1:" + std::to_string(s.clientPort) +
           "\nhttp: 127.0.0.1:" + std::to_string(s.monitorPort) + "\njetstream {\n  store_dir: \"" + _dir + "/" +
           name(i) +
           "-store\"\n}\ncluster {\n  name: test-cluster\n  listen: 127.0.0.1:" + std::to_string(s.routePort) +
           "\n  routes: [\n" + routes + "  ]\n}\n";
}

bool NatsServerCluster::start(std::chrono::milliseconds timeout) {
    for (int i = 0; i < size(); ++i)
        if (!startServer(i)) return false;
    return waitForMetaLeader(timeout);
}

bool NatsServerCluster::startServer(int i, std::chrono::milliseconds timeout) {
    Server& s = _servers[i];
    s.process = std::make_unique<ChildProcess>(
        "nats-server", std::vector<std::string>{"-c", _dir + "/" + name(i) + ".conf"}, _dir + "/" + name(i) + ".log");
    return waitUntil([&] { return !s.process->running() || (portOpen(s.clientPort) && portOpen(s.monitorPort)); },
                     timeout) &&
           s.process->running();
}

void NatsServerCluster::stopServer(int i) {
    if (_servers[i].process) _servers[i].process->terminate(std::chrono::seconds(10));
}

void NatsServerCluster::killServer(int i) {
    if (_servers[i].process) _servers[i].process->kill9();
}

bool NatsServerCluster::running(int i) const { return _servers[i].process && _servers[i].process->running(); }

std::string NatsServerCluster::metaLeader(int i) const {
    if (!running(i)) return {};
    const sdk::JsonValue jsz =
        httpRequest(_servers[i].monitorPort, "GET", "/jsz", {}, {}, std::chrono::seconds(2)).json();
    const sdk::JsonValue* meta = jsz.find("meta_cluster");
    const sdk::JsonValue* leader = meta != nullptr ? meta->find("leader") : nullptr;
    return leader != nullptr && leader->isString() ? leader->asString() : std::string();
}

bool NatsServerCluster::hasClient(int i, const std::string& clientName) const {
    if (!running(i)) return false;
    const sdk::JsonValue connz =
        httpRequest(_servers[i].monitorPort, "GET", "/connz", {}, {}, std::chrono::seconds(2)).json();
    const sdk::JsonValue* connections = connz.find("connections");
    if (connections == nullptr) return false;
    for (const auto& c : connections->items()) {
        const sdk::JsonValue* name = c.find("name");
        if (name != nullptr && name->isString() && name->asString() == clientName) return true;
    }
    return false;
}

bool NatsServerCluster::waitForMetaLeader(std::chrono::milliseconds timeout) const {
    return waitUntil(
        [&] {
            for (int i = 0; i < size(); ++i)
                if (!metaLeader(i).empty()) return true;
            return false;
        },
        timeout, std::chrono::milliseconds(100));
}

int NatsServerCluster::indexOf(const std::string& serverName) const {
    for (int i = 0; i < size(); ++i)
        if (name(i) == serverName) return i;
    return -1;
}

std::string NatsServerCluster::urls() const {
    std::string out;
    for (int i = 0; i < size(); ++i) out += (i == 0 ? "" : ",") + url(i);
    return out;
}

}  // namespace ordersystem::testing
