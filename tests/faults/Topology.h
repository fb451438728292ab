// The network of a fault test: every server and node in its own network namespace, joined to one
// bridge in the root namespace (where the test's clients and webhook receiver live), addresses in
// 10.213.0.0/24. Partitions are blackhole routes on both sides, so they need nothing but iproute2
// (this kernel has neither netfilter tables nor tc drop actions). Everything is removed by the
// destructor; what a killed run left behind (same name prefix) is removed by the constructor.
#pragma once

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace ordersystem::faults {

class Topology {
public:
    /// Why namespaces cannot be used here (not root, no iproute2, not allowed); empty when they can.
    static std::string unavailableReason();

    Topology();
    ~Topology();
    Topology(const Topology&) = delete;
    Topology& operator=(const Topology&) = delete;

    /// A new namespace named after a host ("nats-1", "node-a"); returns its address.
    std::string add(const std::string& host);
    std::string address(const std::string& host) const { return _hosts.at(host).address; }
    /// The namespace to run a process of that host in (ip netns exec).
    std::string netns(const std::string& host) const { return _hosts.at(host).netns; }
    /// The root namespace's address on the bridge: where the test's own servers listen.
    static std::string gateway() { return "10.213.0.1"; }

    /// No packet between the two hosts, either way, until heal().
    void cut(const std::string& a, const std::string& b);
    /// cut(host, each of others).
    void isolate(const std::string& host, const std::vector<std::string>& others);
    /// Every cut undone.
    void heal();

private:
    struct Host {
        std::string netns;
        std::string address;
    };
    void route(const std::string& verb, const std::string& from, const std::string& to);
    std::map<std::string, Host> _hosts;
    std::set<std::pair<std::string, std::string>> _cuts;
    int _lockFd = -1;
};

/// Runs a shell command; true on exit 0 (its output goes to the test log on failure).
bool shell(const std::string& command);
/// The standard output of a shell command.
std::string shellOutput(const std::string& command);

}  // namespace ordersystem::faults
