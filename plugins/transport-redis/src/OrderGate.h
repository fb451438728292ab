// Contract: whether a reaction may handle an event now, keeping the events of one order in version
// order cluster-wide. P:reaction:<name>:progress:<orderId> holds the order's highest version
// acknowledged or dead-lettered (raised inside the ack and dead-letter scripts; it expires with the
// delivered markers, idempotency_ttl_seconds after the order's last delivery). Event v of order X:
//  - v <= progress: Done (handled already; acknowledge it without handle());
//  - progress == v - 1, or no progress and v == 1: Go;
//  - otherwise the previous event decides (an order whose progress expired, or whose earlier events
//    were handled by a version that kept none): Go when it is marked delivered,
//    no longer pending in the group (acknowledged or dead-lettered: the group read it before this
//    one), or older than the delivered marker's lifetime; else Wait.
// Stateless besides its keys; one per worker (it uses the worker's connection).
#pragma once

#include <string>

#include "TransportCore.h"

namespace ordersystem::plugins::redis {

class OrderGate {
public:
    enum class Verdict { Done, Go, Wait };
    OrderGate(TransportCore& core, std::string reaction);
    /// An error when the connection failed.
    sdk::Result<Verdict> check(RedisConnection& c, const sdk::EventRecord& event);

private:
    sdk::Result<Verdict> byPreviousEvent(RedisConnection& c, const sdk::EventRecord& event);

    TransportCore& _core;
    std::string _name;
};

}  // namespace ordersystem::plugins::redis
