// A primary, replicas and Sentinels for failover tests.
#include "ordersystem/testing/RedisSentinelGroup.h"

#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <sstream>

namespace ordersystem::testing {

namespace fs = std::filesystem;

RedisSentinelGroup::RedisSentinelGroup(std::string dir) : RedisSentinelGroup(std::move(dir), Options{}) {}

RedisSentinelGroup::RedisSentinelGroup(std::string dir, Options options)
    : _dir(std::move(dir)), _options(std::move(options)) {
    for (int i = 0; i <= _options.replicas; ++i) {
        Server s;
        s.port = freePort();
        s.dir = _dir + "/redis-" + std::to_string(i);
        _servers.push_back(std::move(s));
    }
    for (int i = 0; i < _options.sentinels; ++i) {
        Server s;
        s.port = freePort();
        s.dir = _dir + "/sentinel-" + std::to_string(i);
        _sentinels.push_back(std::move(s));
    }
}

RedisSentinelGroup::~RedisSentinelGroup() {
    // Sentinels first, so none reconfigures the servers while they stop.
    for (auto* group : {&_sentinels, &_servers})
        for (auto& s : *group) {
            if (s.frozen) thaw(static_cast<size_t>(&s - group->data()));
            if (s.process) s.process->terminate(std::chrono::seconds(10));
        }
}

std::string RedisSentinelGroup::cli(int port, const std::vector<std::string>& args) {
    std::string cmd = "timeout 5 redis-cli -h 127.0.0.1 -p " + std::to_string(port);
    for (const auto& a : args) cmd += " '" + a + "'";
    cmd += " 2>/dev/null";
    FILE* pipe = ::popen(cmd.c_str(), "r");
    if (!pipe) return {};
    std::string out;
    char buf[4096];
    size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
    ::pclose(pipe);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
}

bool RedisSentinelGroup::startServer(Server& s, const std::vector<std::string>& extra) {
    fs::create_directories(s.dir);
    std::vector<std::string> args = {"--port",
                                     std::to_string(s.port),
                                     "--bind",
                                     "127.0.0.1",
                                     "--dir",
                                     s.dir,
                                     "--appendonly",
                                     "yes",
                                     "--appendfsync",
                                     "everysec",
                                     "--save",
                                     "",
                                     "--protected-mode",
                                     "no",
                                     "--daemonize",
                                     "no"};
    args.insert(args.end(), _options.serverArgs.begin(), _options.serverArgs.end());
    args.insert(args.end(), extra.begin(), extra.end());
    s.process = std::make_unique<ChildProcess>("redis-server", args, s.dir + "/redis.log");
    return waitUntil([&] { return !s.process->running() || cli(s.port, {"PING"}) == "PONG"; },
                     std::chrono::seconds(10)) &&
           s.process->running();
}

bool RedisSentinelGroup::startSentinel(Server& s) {
    fs::create_directories(s.dir);
    const std::string name = _options.masterName;
    std::ostringstream conf;
    conf << "port " << s.port << "\nbind 127.0.0.1\nprotected-mode no\ndaemonize no\ndir " << s.dir << "\n"
         << "sentinel monitor " << name << " 127.0.0.1 " << _servers[0].port << " " << _options.quorum << "\n"
         << "sentinel down-after-milliseconds " << name << " " << _options.downAfterMs << "\n"
         << "sentinel failover-timeout " << name << " " << _options.failoverTimeoutMs << "\n"
         << "sentinel parallel-syncs " << name << " 1\n";
    // Sentinel rewrites its config file: it lives in the Sentinel's own folder.
    const std::string file = s.dir + "/sentinel.conf";
    writeFile(file, conf.str());
    s.process = std::make_unique<ChildProcess>("redis-server", std::vector<std::string>{file, "--sentinel"},
                                               s.dir + "/sentinel.log");
    return waitUntil([&] { return !s.process->running() || cli(s.port, {"PING"}) == "PONG"; },
                     std::chrono::seconds(10)) &&
           s.process->running();
}

bool RedisSentinelGroup::settled() {
    for (size_t i = 1; i < _servers.size(); ++i)
        if (cli(_servers[i].port, {"INFO", "replication"}).find("master_link_status:up") == std::string::npos)
            return false;
    const size_t replicas = _servers.size() - 1, others = _sentinels.size() - 1;
    for (const auto& s : _sentinels) {
        const std::string master = cli(s.port, {"SENTINEL", "master", _options.masterName});
        // The reply is field/value lines: num-slaves and num-other-sentinels are followed by their counts.
        auto count = [&](const std::string& field) {
            const auto at = master.find(field + "\n");
            return at == std::string::npos ? -1 : std::atoi(master.c_str() + at + field.size() + 1);
        };
        if (count("num-slaves") != static_cast<int>(replicas) ||
            count("num-other-sentinels") != static_cast<int>(others))
            return false;
    }
    return true;
}

bool RedisSentinelGroup::start(std::chrono::milliseconds timeout) {
    if (!startServer(_servers[0], {})) return false;
    for (size_t i = 1; i < _servers.size(); ++i)
        if (!startServer(_servers[i], {"--replicaof", "127.0.0.1", std::to_string(_servers[0].port)})) return false;
    for (auto& s : _sentinels)
        if (!startSentinel(s)) return false;
    return waitUntil([&] { return settled(); }, timeout, std::chrono::milliseconds(200));
}

std::string RedisSentinelGroup::sentinelList() const {
    std::string out;
    for (const auto& s : _sentinels)
        out += (out.empty() ? "" : ",") + std::string("127.0.0.1:") + std::to_string(s.port);
    return out;
}

int RedisSentinelGroup::primaryIndex() {
    for (const auto& s : _sentinels) {
        if (s.frozen || !s.process || !s.process->running()) continue;
        const std::string addr = cli(s.port, {"SENTINEL", "get-master-addr-by-name", _options.masterName});
        const auto nl = addr.find('\n');
        if (nl == std::string::npos) continue;
        const int port = std::atoi(addr.c_str() + nl + 1);
        for (size_t i = 0; i < _servers.size(); ++i)
            if (_servers[i].port == port) return static_cast<int>(i);
    }
    return -1;
}

bool RedisSentinelGroup::waitForRole(size_t i, const std::string& role, std::chrono::milliseconds timeout) {
    return waitUntil([&] { return cli(_servers.at(i).port, {"ROLE"}).rfind(role + "\n", 0) == 0; }, timeout,
                     std::chrono::milliseconds(100));
}

int RedisSentinelGroup::waitForNewPrimary(int old, std::chrono::milliseconds timeout) {
    int found = -1;
    waitUntil(
        [&] {
            found = primaryIndex();
            return found >= 0 && found != old &&
                   cli(_servers[static_cast<size_t>(found)].port, {"ROLE"}).rfind("master\n", 0) == 0;
        },
        timeout, std::chrono::milliseconds(100));
    return found != old && found >= 0 ? found : -1;
}

void RedisSentinelGroup::kill9(size_t i) {
    if (_servers.at(i).process) _servers[i].process->kill9();
}

bool RedisSentinelGroup::freeze(size_t i) {
    Server& s = _servers.at(i);
    if (!s.process || ::kill(s.process->pid(), SIGSTOP) != 0) return false;
    s.frozen = true;
    return true;
}

void RedisSentinelGroup::thaw(size_t i) {
    Server& s = _servers.at(i);
    if (s.process && s.frozen) ::kill(s.process->pid(), SIGCONT);
    s.frozen = false;
}

bool RedisSentinelGroup::failover() {
    for (const auto& s : _sentinels)
        if (cli(s.port, {"SENTINEL", "failover", _options.masterName}) == "OK") return true;
    return false;
}

bool RedisSentinelGroup::promoteQuietly(size_t i) {
    const std::string name = _options.masterName, port = std::to_string(_servers.at(i).port);
    for (const auto& s : _sentinels)
        if (cli(s.port, {"SENTINEL", "REMOVE", name}) != "OK") return false;
    if (cli(_servers[i].port, {"REPLICAOF", "NO", "ONE"}) != "OK") return false;
    for (size_t k = 0; k < _servers.size(); ++k)
        if (k != i && cli(_servers[k].port, {"REPLICAOF", "127.0.0.1", port}) != "OK") return false;
    for (const auto& s : _sentinels) {
        if (cli(s.port, {"SENTINEL", "MONITOR", name, "127.0.0.1", port, std::to_string(_options.quorum)}) != "OK")
            return false;
        cli(s.port, {"SENTINEL", "SET", name, "down-after-milliseconds", std::to_string(_options.downAfterMs),
                     "failover-timeout", std::to_string(_options.failoverTimeoutMs)});
    }
    return true;
}

}  // namespace ordersystem::testing
