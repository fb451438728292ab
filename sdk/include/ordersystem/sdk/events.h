// Contract: the domain event as it is stored, delivered and shown, identical in every mode and on
// the wire (CONTRACT.md §4). Serialization lives in one place: sdk/src/EventJson.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ordersystem/sdk/status.h"

namespace ordersystem::sdk {

struct EventRecord {
    std::string eventId;  ///< UUID, unique forever; notifications' Idempotency-Key
    std::string type;     ///< OrderCreated | OrderProcessing | OrderCompleted | OrderCancelled
    int64_t orderId = 0;
    std::string orderNumber;
    int64_t version = 0;       ///< the order's version after this event (1 for OrderCreated)
    int64_t occurredAtMs = 0;  ///< Unix epoch milliseconds, UTC
    std::string nodeId;        ///< node that accepted the command
    std::string dataJson;      ///< JSON object text: the event's "data" member
    /// JSON object text: the optional "metadata" member ({"traceparent", "actor"}); empty = absent,
    /// so events stored without it parse and print as before.
    std::string metadataJson;
    uint64_t position = 0;  ///< global log position (> 0, strictly increasing); 0 until appended
};

/// The wire document: {"eventId","type","orderId","orderNumber","version","occurredAt","nodeId","data"}
/// plus "metadata" when it has one. The position is not part of it.
std::string toJson(const EventRecord& event);
/// Parses a wire document back (position stays 0). InvalidArgument on anything malformed.
Result<EventRecord> eventFromJson(std::string_view json);

}  // namespace ordersystem::sdk
