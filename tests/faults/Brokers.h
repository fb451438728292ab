// The real servers of a fault test, each in its own namespace of a Topology: a NATS JetStream
// cluster (one server, or three with routes) and Redis (a primary, optionally replicas and
// Sentinels). kill -9, restart and SIGSTOP/SIGCONT act on the server process itself.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "Topology.h"
#include "ordersystem/testing/TestSupport.h"

namespace ordersystem::faults {

/// One server process of a host; restartable with the same arguments and data folder.
class Server {
public:
    Server(std::string host, std::string netns, std::string dir, std::string executable, std::vector<std::string> args,
           int port, std::string address);
    bool start();  ///< starts and waits until its port accepts (bounded)
    void kill9();
    void pause();   ///< SIGSTOP
    void resume();  ///< SIGCONT
    void stop();
    bool running() const { return _process && _process->running(); }
    const std::string& host() const { return _host; }
    const std::string& address() const { return _address; }
    int port() const { return _port; }
    std::string output() const;

private:
    std::string _host, _netns, _dir, _executable;
    std::vector<std::string> _args;
    int _port;
    std::string _address;
    int _starts = 0;
    std::unique_ptr<testing::ChildProcess> _process;
};

/// nats-server -js; size 3 makes a JetStream cluster with routes between every pair.
class NatsServers {
public:
    NatsServers(Topology& net, const std::string& dir, int size);
    bool start();
    /// nats://a:4222,nats://b:4222,... (every server)
    std::string urls() const;
    std::vector<std::string> hosts() const;
    Server& server(const std::string& host);
    /// The server name leading a JetStream stream ($JS.API.STREAM.INFO); empty when none answers.
    std::string streamLeader(const std::string& stream) const;
    /// A running server that does not lead the stream (empty when there is no leader).
    std::string streamFollower(const std::string& stream) const;
    std::string outputs() const;

private:
    std::vector<std::unique_ptr<Server>> _servers;
};

/// redis-server primary plus replicas, and Sentinels watching them under one master name.
class RedisServers {
public:
    RedisServers(Topology& net, const std::string& dir, int replicas, int sentinels);
    bool start();
    std::string primaryUrl() const;  ///< redis://<first primary>:6379
    /// host:port,host:port of the Sentinels.
    std::string sentinels() const;
    static std::string masterName() { return "ordersystem"; }
    /// The host the Sentinels name as primary now (empty when they disagree or none answers).
    std::string currentPrimary() const;
    /// Every Sentinel names one primary, and it is not that host.
    bool failedOverFrom(const std::string& host) const {
        const std::string now = currentPrimary();
        return !now.empty() && now != host;
    }
    /// "master" or "slave" as the server itself says (ROLE); empty when it does not answer.
    std::string role(const std::string& host);
    std::vector<std::string> dataHosts() const;      ///< redis-1, redis-2, ...
    std::vector<std::string> sentinelHosts() const;  ///< sentinel-1, ...
    Server& server(const std::string& host);
    std::string outputs() const;

private:
    std::vector<std::unique_ptr<Server>> _data;
    std::vector<std::unique_ptr<Server>> _sentinels;
};

}  // namespace ordersystem::faults
