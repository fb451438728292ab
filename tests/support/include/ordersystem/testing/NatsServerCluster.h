// Test support: a JetStream cluster of nats-server processes on free loopback ports, routed to
// each other, each with its config file, store and log under one folder. Servers can be stopped,
// killed and started again on the same ports and store (a restart catches up from the others).
// Every server started here is stopped by the destructor.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "ordersystem/testing/TestSupport.h"

namespace ordersystem::testing {

class NatsServerCluster {
public:
    /// size servers named n1..n<size>; nothing runs before start().
    explicit NatsServerCluster(std::string dir, int size = 3);
    ~NatsServerCluster();
    NatsServerCluster(const NatsServerCluster&) = delete;
    NatsServerCluster& operator=(const NatsServerCluster&) = delete;

    /// Starts every server and waits until the JetStream meta group has elected a leader.
    bool start(std::chrono::milliseconds timeout = std::chrono::seconds(30));
    /// Starts server i (0-based) again, on its ports and store; waits for its client port.
    bool startServer(int i, std::chrono::milliseconds timeout = std::chrono::seconds(10));
    void stopServer(int i);  ///< SIGTERM
    void killServer(int i);  ///< SIGKILL
    bool running(int i) const;

    /// The meta leader's name as server i's monitoring endpoint reports it ("" while none).
    std::string metaLeader(int i) const;
    /// Server i has a client connection called clientName (its monitoring endpoint says so).
    bool hasClient(int i, const std::string& clientName) const;
    /// Until a running server reports a meta leader (false on timeout).
    bool waitForMetaLeader(std::chrono::milliseconds timeout) const;

    int size() const { return static_cast<int>(_servers.size()); }
    std::string name(int i) const { return "n" + std::to_string(i + 1); }
    /// The index of the server called name, or -1.
    int indexOf(const std::string& serverName) const;
    std::string url(int i) const { return "nats://127.0.0.1:" + std::to_string(_servers[i].clientPort); }
    /// Every server's url, comma-separated, as [transport.nats] url takes them.
    std::string urls() const;
    std::string log(int i) const { return readFile(_dir + "/" + name(i) + ".log"); }

private:
    struct Server {
        int clientPort = 0;
        int routePort = 0;
        int monitorPort = 0;
        std::unique_ptr<ChildProcess> process;
    };
    std::string config(int i) const;

    std::string _dir;
    std::vector<Server> _servers;
};

}  // namespace ordersystem::testing
