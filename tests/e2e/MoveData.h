// Shared pieces of the tests of the operator commands --export, --import and --backup: running
// the built executable with one of them (stdout and stderr apart) and reading orders over HTTP.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "ordersystem/testing/TestSupport.h"

namespace e2e {

using namespace ordersystem::testing;

/// What an operator command did: its exit code and its two streams.
struct CommandRun {
    int exitCode = -1;
    std::string out;
    std::string err;
    /// Non-empty lines of stdout.
    std::vector<std::string> outLines() const;
};

/// Runs `ordersystem --config=<config> <option>` and waits at most timeout (then kills it: -1000).
CommandRun runCommand(const std::string& config, const std::string& option,
                      std::chrono::seconds timeout = std::chrono::seconds(120));

/// What a user sees of one order: its status and version, and its events as /events lists them.
struct OrderView {
    std::string status;
    int64_t version = 0;
    std::string events;  ///< the body of GET /api/orders/{id}/events
};
/// Every order with id in ids, as the node on port serves it (fails the test on a non-200).
std::map<int64_t, OrderView> viewOrders(int port, const std::vector<int64_t>& ids);
/// Ids of every order the node's read model lists (all pages).
std::vector<int64_t> listedOrderIds(int port);
/// Creates an order on the node; its id (-1 on a non-201).
int64_t createOrder(int port, const std::string& customer = "Alice");
/// Lines of a file (without '\n').
std::vector<std::string> fileLines(const std::string& path);

}  // namespace e2e
