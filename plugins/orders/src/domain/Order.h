// Contract: the Order aggregate and its state machine, free of the host and of Poco.
// decide*() functions never change the order: they return the event to append or a Conflict
// Status with the familiar text. applyEvent() is the one way state changes (projection, command
// handlers re-reading history). Plain values; not shared between threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ordersystem/sdk/events.h"
#include "ordersystem/sdk/json.h"
#include "ordersystem/sdk/status.h"

namespace ordersystem::plugins::orders::domain {

enum class OrderStatus : int { Pending = 0, Processing = 1, Completed = 2, Cancelled = 3 };

const char* statusName(OrderStatus status) noexcept;
/// Case-insensitive "pending", "Processing", ...; false when unknown.
bool parseStatus(std::string_view text, OrderStatus* out) noexcept;

namespace eventtype {
inline constexpr std::string_view kCreated = "OrderCreated";
inline constexpr std::string_view kProcessing = "OrderProcessing";
inline constexpr std::string_view kCompleted = "OrderCompleted";
inline constexpr std::string_view kCancelled = "OrderCancelled";
}  // namespace eventtype

struct OrderItem {
    std::string productName;
    int64_t quantity = 0;
    int64_t priceCents = 0;
};

/// A validated create request.
struct NewOrder {
    std::string customerName;
    std::vector<OrderItem> items;
    int64_t totalCents() const noexcept;
};

struct Order {
    int64_t id = 0;
    std::string orderNumber;
    std::string customerName;
    int64_t totalCents = 0;
    OrderStatus status = OrderStatus::Pending;
    int64_t version = 0;  ///< 0 = does not exist
    std::vector<OrderItem> items;
    int64_t createdAtMs = 0;
    /// 0 = not set (shown as null).
    int64_t processedAtMs = 0;
    int64_t completedAtMs = 0;
    int64_t cancelledAtMs = 0;
    bool hasCancelReason = false;
    std::string cancelReason;
};

/// Who and when, stamped on every new event.
struct EventContext {
    std::string nodeId;
    int64_t nowMs = 0;
    std::string metadataJson;  ///< the event's "metadata" object (trace context, actor); "" = none
};

/// "ORD-<yyyyMMddHHmmss>-<id zero-padded to at least 4 digits>".
std::string makeOrderNumber(int64_t nowMs, int64_t orderId);

/// The OrderCreated event (version 1) for a validated request.
sdk::EventRecord makeCreated(const NewOrder& order, int64_t orderId, const std::string& orderNumber,
                             const EventContext& ctx);

/// Each returns the next event, or Conflict with the familiar text and no event.
sdk::Result<sdk::EventRecord> decideProcess(const Order& order, const EventContext& ctx);
sdk::Result<sdk::EventRecord> decideComplete(const Order& order, const EventContext& ctx);
sdk::Result<sdk::EventRecord> decideCancel(const Order& order, const std::string& reason, const EventContext& ctx);

/// Applies one event to order (order.version must be event.version - 1). InvalidArgument when the
/// event is malformed, out of sequence or of an unknown type; the order is unchanged then.
sdk::Status applyEvent(Order& order, const sdk::EventRecord& event);

/// Rebuilds an order from its history (oldest first). NotFound when history is empty.
sdk::Result<Order> replay(const std::vector<sdk::EventRecord>& history);

/// Items as the JSON array used in the order document and the OrderCreated data.
void writeItems(sdk::JsonWriter& w, const std::vector<OrderItem>& items);
/// Parses writeItems()' output back (prices exact). InvalidArgument when malformed.
sdk::Status parseItems(const sdk::JsonValue& array, std::vector<OrderItem>* out);

/// The order document of CONTRACT.md §3, appended to out.
void writeOrderDocument(sdk::JsonWriter& w, const Order& order, std::string_view itemsJson = {});
/// The "version" of an order document writeOrderDocument() wrote; 0 when there is none. Every quote
/// inside a JSON string is escaped, so the first `"version":` is the top-level member.
int64_t documentVersion(std::string_view document) noexcept;

}  // namespace ordersystem::plugins::orders::domain
