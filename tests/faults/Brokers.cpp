// Starting the NATS and Redis servers of a fault test in their namespaces (see Brokers.h).
#include "Brokers.h"

#include <nats/nats.h>
#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <map>

#include "ordersystem/sdk/json.h"

namespace ordersystem::faults {

using testing::waitUntil;
using testing::writeFile;

namespace {

using ServerList = std::vector<std::unique_ptr<Server>>;

std::vector<std::string> hostsOf(const ServerList& list) {
    std::vector<std::string> out;
    for (const auto& s : list) out.push_back(s->host());
    return out;
}

Server* findHost(const ServerList& list, const std::string& host) {
    for (const auto& s : list)
        if (s->host() == host) return s.get();
    return nullptr;
}

bool portOpen(const std::string& address, int port) {
    const std::string probe =
        "timeout 1 bash -c 'echo > /dev/tcp/" + address + "/" + std::to_string(port) + "' 2>/dev/null";
    return std::system(probe.c_str()) == 0;
}

/// The reply to one JetStream API request sent to that server; empty when none came.
std::string jsRequest(const Server& server, const std::string& subject) {
    natsConnection* conn = nullptr;
    natsOptions* opts = nullptr;
    natsMsg* reply = nullptr;
    std::string out;
    const std::string url = "nats://" + server.address() + ":4222";
    if (natsOptions_Create(&opts) == NATS_OK && natsOptions_SetURL(opts, url.c_str()) == NATS_OK &&
        natsOptions_SetTimeout(opts, 1000) == NATS_OK && natsOptions_SetAllowReconnect(opts, false) == NATS_OK &&
        natsConnection_Connect(&conn, opts) == NATS_OK &&
        natsConnection_RequestString(&reply, conn, subject.c_str(), "", 1000) == NATS_OK)
        out.assign(natsMsg_GetData(reply), static_cast<size_t>(natsMsg_GetDataLength(reply)));
    natsMsg_Destroy(reply);
    natsConnection_Destroy(conn);
    natsOptions_Destroy(opts);
    return out;
}

}  // namespace

Server::Server(std::string host, std::string netns, std::string dir, std::string executable,
               std::vector<std::string> args, int port, std::string address)
    : _host(std::move(host)),
      _netns(std::move(netns)),
      _dir(std::move(dir)),
      _executable(std::move(executable)),
      _args(std::move(args)),
      _port(port),
      _address(std::move(address)) {
    std::filesystem::create_directories(_dir);
}

bool Server::start() {
    std::vector<std::string> args{"netns", "exec", _netns, _executable};
    args.insert(args.end(), _args.begin(), _args.end());
    _process = std::make_unique<testing::ChildProcess>("ip", args, _dir + "/run-" + std::to_string(++_starts) + ".log");
    return waitUntil([this] { return !_process->running() || portOpen(_address, _port); }, std::chrono::seconds(10),
                     std::chrono::milliseconds(100)) &&
           _process->running();
}

void Server::kill9() {
    if (_process) _process->kill9();
}
void Server::pause() {
    if (_process) _process->signal(SIGSTOP);
}
void Server::resume() {
    if (_process) _process->signal(SIGCONT);
}
void Server::stop() {
    if (_process) _process->terminate(std::chrono::seconds(10));
}
std::string Server::output() const { return _process ? _process->output() : std::string(); }

// ---------------------------------------------------------------- NATS

NatsServers::NatsServers(Topology& net, const std::string& dir, int size) {
    std::vector<std::string> addresses;
    for (int i = 1; i <= size; ++i) addresses.push_back(net.add("nats-" + std::to_string(i)));
    for (int i = 1; i <= size; ++i) {
        const std::string host = "nats-" + std::to_string(i), folder = dir + "/" + host, me = addresses[i - 1];
        std::filesystem::create_directories(folder);
        // Short pings so a silent peer or client is noticed within seconds, not minutes.
        std::string conf = "server_name: " + host + "\nlisten: \"" + me + ":4222\"\nping_interval: \"1s\"\n" +
                           "ping_max: 2\nwrite_deadline: \"2s\"\njetstream { store_dir: \"" + folder + "/store\" }\n";
        if (size > 1) {
            conf += "cluster {\n  name: faults\n  listen: \"" + me + ":6222\"\n  routes: [\n";
            for (const auto& other : addresses)
                if (other != me) conf += "    \"nats-route://" + other + ":6222\"\n";
            conf += "  ]\n}\n";
        }
        writeFile(folder + "/nats.conf", conf);
        _servers.push_back(std::make_unique<Server>(host, net.netns(host), folder, "nats-server",
                                                    std::vector<std::string>{"-c", folder + "/nats.conf"}, 4222, me));
    }
}

bool NatsServers::start() {
    for (auto& s : _servers)
        if (!s->start()) return false;
    // A JetStream cluster answers API requests only once it has elected its meta leader.
    return waitUntil(
        [this] {
            for (const auto& s : _servers) {
                const std::string info = jsRequest(*s, "$JS.API.INFO");
                if (info.empty() || info.find("\"error\"") != std::string::npos) return false;
            }
            return true;
        },
        std::chrono::seconds(30), std::chrono::milliseconds(250));
}

std::string NatsServers::urls() const {
    std::string out;
    for (const auto& s : _servers) out += (out.empty() ? "" : ",") + ("nats://" + s->address() + ":4222");
    return out;
}

std::vector<std::string> NatsServers::hosts() const { return hostsOf(_servers); }

Server& NatsServers::server(const std::string& host) {
    if (Server* s = findHost(_servers, host)) return *s;
    throw std::out_of_range("no NATS server " + host);
}

std::string NatsServers::streamLeader(const std::string& stream) const {
    for (const auto& s : _servers) {
        if (!s->running()) continue;
        auto doc = sdk::parseJson(jsRequest(*s, "$JS.API.STREAM.INFO." + stream));
        const sdk::JsonValue* cluster = doc.isOk() ? doc.value().find("cluster") : nullptr;
        const sdk::JsonValue* name = cluster ? cluster->find("leader") : nullptr;
        if (name && name->isString() && !name->asString().empty()) return name->asString();
    }
    return {};
}

std::string NatsServers::streamFollower(const std::string& stream) const {
    const std::string leader = streamLeader(stream);
    if (leader.empty()) return {};
    for (const auto& s : _servers)
        if (s->running() && s->host() != leader) return s->host();
    return {};
}

std::string NatsServers::outputs() const {
    std::string out;
    for (const auto& s : _servers) out += "---- " + s->host() + "\n" + s->output() + "\n";
    return out;
}

// ---------------------------------------------------------------- Redis

RedisServers::RedisServers(Topology& net, const std::string& dir, int replicas, int sentinels) {
    std::string primary;
    for (int i = 1; i <= 1 + replicas; ++i) {
        const std::string host = "redis-" + std::to_string(i), folder = dir + "/" + host;
        const std::string me = net.add(host);
        if (primary.empty()) primary = me;
        std::filesystem::create_directories(folder);
        // A config file, so Sentinel can rewrite it when it turns this server into a replica.
        std::string conf = "bind " + me + "\nport 6379\ndir " + folder +
                           "\nappendonly yes\nappendfsync everysec\nsave \"\"\nprotected-mode no\n";
        if (me != primary) conf += "replicaof " + primary + " 6379\n";
        writeFile(folder + "/redis.conf", conf);
        _data.push_back(std::make_unique<Server>(host, net.netns(host), folder, "redis-server",
                                                 std::vector<std::string>{folder + "/redis.conf"}, 6379, me));
    }
    for (int i = 1; i <= sentinels; ++i) {
        const std::string host = "sentinel-" + std::to_string(i), folder = dir + "/" + host;
        const std::string me = net.add(host);
        std::filesystem::create_directories(folder);
        const std::string quorum = std::to_string(sentinels / 2 + 1);
        const std::string conf = "bind " + me + "\nport 26379\ndir " + folder + "\nprotected-mode no\n" +
                                 "sentinel monitor " + masterName() + " " + primary + " 6379 " + quorum + "\n" +
                                 "sentinel down-after-milliseconds " + masterName() + " 1000\n" +
                                 "sentinel failover-timeout " + masterName() + " 4000\n" + "sentinel parallel-syncs " +
                                 masterName() + " 2\n";
        writeFile(folder + "/sentinel.conf", conf);
        _sentinels.push_back(std::make_unique<Server>(host, net.netns(host), folder, "redis-server",
                                                      std::vector<std::string>{folder + "/sentinel.conf", "--sentinel"},
                                                      26379, me));
    }
}

bool RedisServers::start() {
    for (auto& s : _data)
        if (!s->start()) return false;
    for (auto& s : _sentinels)
        if (!s->start()) return false;
    return true;
}

std::string RedisServers::primaryUrl() const { return "redis://" + _data.front()->address() + ":6379"; }

std::string RedisServers::sentinels() const {
    std::string out;
    for (const auto& s : _sentinels) out += (out.empty() ? "" : ",") + (s->address() + ":26379");
    return out;
}

std::string RedisServers::currentPrimary() const {
    std::string agreed;
    for (const auto& s : _sentinels) {
        const std::string out =
            shellOutput("timeout 2 redis-cli -h " + s->address() + " -p 26379 SENTINEL get-master-addr-by-name " +
                        masterName() + " 2>/dev/null");
        const std::string address = out.substr(0, out.find('\n'));
        std::string host;
        for (const auto& d : _data)
            if (d->address() == address) host = d->host();
        if (host.empty() || (!agreed.empty() && agreed != host)) return {};
        agreed = host;
    }
    return agreed;
}

std::string RedisServers::role(const std::string& host) {
    const std::string out =
        shellOutput("timeout 2 redis-cli -h " + server(host).address() + " -p 6379 ROLE 2>/dev/null");
    return out.substr(0, out.find('\n'));
}

std::vector<std::string> RedisServers::dataHosts() const { return hostsOf(_data); }

std::vector<std::string> RedisServers::sentinelHosts() const { return hostsOf(_sentinels); }

Server& RedisServers::server(const std::string& host) {
    if (Server* s = findHost(_data, host)) return *s;
    if (Server* s = findHost(_sentinels, host)) return *s;
    throw std::out_of_range("no Redis server " + host);
}

std::string RedisServers::outputs() const {
    std::string out;
    for (const auto& s : _data) out += "---- " + s->host() + "\n" + s->output() + "\n";
    for (const auto& s : _sentinels) out += "---- " + s->host() + "\n" + s->output() + "\n";
    return out;
}

}  // namespace ordersystem::faults
