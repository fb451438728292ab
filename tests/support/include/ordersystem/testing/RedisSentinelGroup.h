// Test support: a Redis primary, its replicas and Sentinels monitoring it, all on free loopback
// ports with appendonly, each in its own folder under the given one, with short failover timings.
// Commands go through redis-cli (bounded by 5 s). Every process started here is stopped by the
// destructor (frozen ones are thawed first).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "ordersystem/testing/TestSupport.h"

namespace ordersystem::testing {

class RedisSentinelGroup {
public:
    struct Options {
        int replicas = 2;
        int sentinels = 3;
        int quorum = 2;
        int downAfterMs = 1000;
        int failoverTimeoutMs = 3000;
        std::string masterName = "ordersystem";
        std::vector<std::string> serverArgs;  ///< extra redis-server arguments for every server
    };
    explicit RedisSentinelGroup(std::string dir);
    RedisSentinelGroup(std::string dir, Options options);
    ~RedisSentinelGroup();
    RedisSentinelGroup(const RedisSentinelGroup&) = delete;
    RedisSentinelGroup& operator=(const RedisSentinelGroup&) = delete;

    /// Starts server 0 as the primary, the replicas and the Sentinels; true once the replicas are
    /// in sync and every Sentinel sees all replicas and the other Sentinels.
    bool start(std::chrono::milliseconds timeout = std::chrono::seconds(40));
    size_t servers() const { return _servers.size(); }
    int serverPort(size_t i) const { return _servers.at(i).port; }
    std::string serverUrl(size_t i) const { return "redis://127.0.0.1:" + std::to_string(serverPort(i)); }
    /// "127.0.0.1:p1,127.0.0.1:p2,..." as [transport.redis] sentinels takes it.
    std::string sentinelList() const;
    const std::string& masterName() const { return _options.masterName; }

    /// The server the first answering Sentinel names the primary; -1 when none does.
    int primaryIndex();
    /// Waits until a Sentinel names a primary other than server old and that server says ROLE
    /// master; its index, or -1 on timeout.
    int waitForNewPrimary(int old, std::chrono::milliseconds timeout);
    /// Waits until server i says ROLE role ("master" or "slave").
    bool waitForRole(size_t i, const std::string& role, std::chrono::milliseconds timeout);
    void kill9(size_t i);
    bool freeze(size_t i);  ///< SIGSTOP: accepts connections, answers nothing
    void thaw(size_t i);
    /// SENTINEL FAILOVER <master> on the first Sentinel that accepts it.
    bool failover();
    /// Makes server i the primary behind the Sentinels' back: they forget the master, every other
    /// server becomes i's replica with REPLICAOF (which, unlike a Sentinel failover, keeps the
    /// clients connected) and then they monitor i. A client still on the old primary meets READONLY.
    bool promoteQuietly(size_t i);
    /// redis-cli -p port args...: its output without the trailing newline ("" when it failed).
    static std::string cli(int port, const std::vector<std::string>& args);

private:
    struct Server {
        int port = 0;
        std::string dir;
        std::unique_ptr<ChildProcess> process;
        bool frozen = false;
    };
    bool startServer(Server& s, const std::vector<std::string>& extra);
    bool startSentinel(Server& s);
    bool settled();

    std::string _dir;
    Options _options;
    std::vector<Server> _servers;
    std::vector<Server> _sentinels;
};

}  // namespace ordersystem::testing
