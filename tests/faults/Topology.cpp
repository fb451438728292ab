// Namespaces, veth pairs, the bridge and blackhole-route partitions (see Topology.h).
#include "Topology.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <sstream>
#include <stdexcept>

namespace ordersystem::faults {

namespace {

const std::string kPrefix = "osf-";  // every namespace and link this harness makes
const std::string kBridge = "osf-br";
const char* kLockFile = "/run/lock/ordersystem-faults.lock";  // one run per machine: fixed names

void removeStale() {
    std::istringstream list(shellOutput("ip netns list 2>/dev/null"));
    for (std::string line; std::getline(list, line);) {
        const std::string name = line.substr(0, line.find(' '));
        if (name.rfind(kPrefix, 0) != 0) continue;
        // Processes keep a deleted namespace alive, so a killed run's servers go first.
        shell("for p in $(ip netns pids " + name + "); do kill -9 $p; done");
        shell("ip netns del " + name);
    }
    shell("ip link del " + kBridge + " 2>/dev/null || true");
}

}  // namespace

bool shell(const std::string& command) {
    const std::string quiet = command + " 2>&1";
    FILE* pipe = ::popen(quiet.c_str(), "r");
    if (!pipe) return false;
    std::string out;
    char buf[512];
    while (size_t n = std::fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
    const int rc = ::pclose(pipe);
    if (rc != 0) std::cerr << "faults: `" << command << "` failed: " << out;
    return rc == 0;
}

std::string shellOutput(const std::string& command) {
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe) return {};
    std::string out;
    char buf[512];
    while (size_t n = std::fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
    ::pclose(pipe);
    return out;
}

std::string Topology::unavailableReason() {
    if (::geteuid() != 0) return "fault tests need root (network namespaces); run them as root";
    if (std::system("command -v ip >/dev/null 2>&1") != 0) return "fault tests need iproute2 (ip)";
    if (std::system("ip netns add osf-probe >/dev/null 2>&1") != 0)
        return "network namespaces are not allowed here (ip netns add failed)";
    std::system("ip netns del osf-probe >/dev/null 2>&1");
    return {};
}

Topology::Topology() {
    _lockFd = ::open(kLockFile, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (_lockFd >= 0) ::flock(_lockFd, LOCK_EX);  // bounded by the test's own timeout
    removeStale();
    if (!shell("ip link add " + kBridge + " type bridge") ||
        !shell("ip addr add " + gateway() + "/24 dev " + kBridge) || !shell("ip link set " + kBridge + " up"))
        throw std::runtime_error("cannot create the bridge " + kBridge);
}

Topology::~Topology() {
    for (const auto& [name, host] : _hosts) {
        shell("for p in $(ip netns pids " + host.netns + "); do kill -9 $p; done");
        shell("ip netns del " + host.netns);
    }
    shell("ip link del " + kBridge);
    if (_lockFd >= 0) ::close(_lockFd);
}

std::string Topology::add(const std::string& host) {
    const int index = static_cast<int>(_hosts.size()) + 10;
    Host h{kPrefix + host, "10.213.0." + std::to_string(index)};
    const std::string outside = "osfv" + std::to_string(index), inside = "osfp" + std::to_string(index);
    const bool ok =
        shell("ip netns add " + h.netns) && shell("ip link add " + outside + " type veth peer name " + inside) &&
        shell("ip link set " + inside + " netns " + h.netns) &&
        shell("ip link set " + outside + " master " + kBridge) && shell("ip link set " + outside + " up") &&
        shell("ip -n " + h.netns + " addr add " + h.address + "/24 dev " + inside) &&
        shell("ip -n " + h.netns + " link set " + inside + " up") && shell("ip -n " + h.netns + " link set lo up");
    _hosts[host] = h;  // recorded even when half made, so the destructor removes it
    if (!ok) throw std::runtime_error("cannot create the namespace of " + host);
    return h.address;
}

void Topology::route(const std::string& verb, const std::string& from, const std::string& to) {
    shell("ip -n " + netns(from) + " route " + verb + " blackhole " + address(to) + "/32");
}

void Topology::cut(const std::string& a, const std::string& b) {
    if (!_cuts.insert({a, b}).second) return;
    route("add", a, b);
    route("add", b, a);
}

void Topology::isolate(const std::string& host, const std::vector<std::string>& others) {
    for (const auto& other : others) cut(host, other);
}

void Topology::heal() {
    for (const auto& [a, b] : _cuts) {
        route("del", a, b);
        route("del", b, a);
    }
    _cuts.clear();
}

}  // namespace ordersystem::faults
