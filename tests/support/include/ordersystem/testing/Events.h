// A domain-shaped event for transport tests: what the orders plugin would append at a version.
#pragma once

#include <cstdint>
#include <string>

#include "ordersystem/sdk/events.h"
#include "ordersystem/sdk/util.h"

namespace ordersystem::testing {

/// An event for order id at version v (type chosen by version, like the domain would).
inline sdk::EventRecord makeEvent(int64_t orderId, int64_t version, const std::string& nodeId = "node-a") {
    static const char* types[] = {"OrderCreated", "OrderProcessing", "OrderCompleted", "OrderCancelled"};
    sdk::EventRecord e;
    e.eventId = sdk::newUuid();
    e.type = types[(version - 1) % 4];
    e.orderId = orderId;
    e.orderNumber = "ORD-20251011192145-" + std::to_string(orderId);
    e.version = version;
    e.occurredAtMs = sdk::nowMs();
    e.nodeId = nodeId;
    e.dataJson = R"({"customerName":"John Doe","totalAmount":10.5})";
    return e;
}

}  // namespace ordersystem::testing
