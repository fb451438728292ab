// Client threads in the root namespace, client i on node i mod n, sending creates, process,
// complete and cancel (of orders any client created) for as long as the workload runs, each
// operation recorded in the History.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "History.h"

namespace ordersystem::faults {

/// Where a client reaches one node.
struct Target {
    std::string node;
    std::string host;
    int port = 0;
};

/// One operation against a node, recorded in the history; the create's id (or -1).
int64_t perform(History& history, const Target& target, OpKind kind, int64_t orderId, const std::string& customer);

class Workload {
public:
    Workload(History& history, std::vector<Target> targets, int clients);
    ~Workload();  ///< stops the clients
    void start();
    void stop();

private:
    void client(int index);
    History& _history;
    std::vector<Target> _targets;
    int _clients;
    std::atomic<bool> _running{false};
    std::vector<std::thread> _threads;
    std::mutex _mutex;
    std::vector<int64_t> _known;  ///< acknowledged creates: what transitions pick from
};

}  // namespace ordersystem::faults
