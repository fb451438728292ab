// The verdict on a run: the clients' history against what every node shows after the heal, and
// what the webhook receiver got. Pure data in, counts and one line per problem out, so it is
// tested on hand-made histories (CheckerTest) as well as used on real runs.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "History.h"

namespace ordersystem::faults {

struct EventSeen {
    std::string eventId;
    std::string type;  ///< OrderCreated, OrderProcessing, OrderCompleted, OrderCancelled
    int64_t version = 0;
};

struct OrderSeen {
    int64_t id = 0;
    std::string customer;
    std::string status;
    int64_t version = 0;
    std::vector<EventSeen> events;  ///< GET /api/orders/{id}/events, oldest first
};

/// Everything one node answers once the run is over.
struct NodeView {
    std::string node;
    std::map<int64_t, OrderSeen> orders;
    std::string analytics;  ///< GET /api/analytics body
    bool readable = true;   ///< false: the node did not answer the reads (its orders are unknown)
};

struct Observed {
    std::vector<NodeView> nodes;
    std::map<std::string, int> deliveries;  ///< webhook Idempotency-Key (eventId) -> accepted POSTs
    std::set<int64_t> quietOrders;          ///< orders made after the heal: their events exactly once
};

struct Verdict {
    int attempted = 0;
    int acknowledged = 0;
    int lost = 0;                       ///< acknowledged writes missing on some node
    int duplicated = 0;                 ///< an event or a create stored twice
    int twoWinners = 0;                 ///< complete and cancel both won on one order
    int versionGaps = 0;                ///< an order whose event versions are not 1..n
    int reusedIds = 0;                  ///< two acknowledged creates with one id
    int diverged = 0;                   ///< nodes disagreeing on an order or on analytics
    int undelivered = 0;                ///< events no webhook received
    int redelivered = 0;                ///< quiet-phase events received more than once
    std::vector<std::string> problems;  ///< one line each, for the test's failure message
    bool ok() const {
        return lost + duplicated + twoWinners + versionGaps + reusedIds + diverged + undelivered + redelivered == 0;
    }
};

Verdict check(const std::vector<Op>& history, const Observed& observed);

}  // namespace ordersystem::faults
