// Contract: the commands and queries of the orders plugin, sent through sdk::Mediator
// (see ordersystem/sdk/mediator.h). Plain values built by the HTTP routes; the handlers live in
// OrderService. Results are ready-to-send JSON bodies so no DOM is built on the way out. A query
// sent with WaitPolicy::MustNotWait answers StatusCode::WouldBlock where it would have waited.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "app/ReadModelPort.h"
#include "domain/Order.h"

namespace ordersystem::plugins::orders::app {

/// What every command carries beside its arguments, from the request that sent it.
struct CommandContext {
    std::string metadataJson;  ///< the new event's "metadata" object; "" = none
    /// If-Match: the version the order must be at (0 = any). The append expects exactly this
    /// version, so a change that wins the race makes the command PreconditionFailed too.
    int64_t ifMatch = 0;
};

struct CreatedOrder {
    int64_t orderId = 0;
    std::string body;       ///< {"orderId":..,"orderNumber":..}
    bool replayed = false;  ///< answered from an earlier request with the same Idempotency-Key
};

struct CreateOrder {
    using Result = CreatedOrder;
    static constexpr const char* kName = "CreateOrder";
    static constexpr bool kIsCommand = true;
    domain::NewOrder order;
    std::string idempotencyKey;  ///< empty: none
    std::string fingerprint;     ///< bodyFingerprint() of the request body, with a key
    /// The request body, to match a fingerprint an older build stored (Fingerprint.h). Valid
    /// while the handler runs, which is when the key is claimed.
    std::string_view body;
    CommandContext context;  ///< ifMatch is not used
};

struct ProcessOrder {
    using Result = std::string;  ///< the order document
    static constexpr const char* kName = "ProcessOrder";
    static constexpr bool kIsCommand = true;
    int64_t orderId = 0;
    CommandContext context;
};

struct CompleteOrder {
    using Result = std::string;
    static constexpr const char* kName = "CompleteOrder";
    static constexpr bool kIsCommand = true;
    int64_t orderId = 0;
    CommandContext context;
};

struct CancelOrder {
    using Result = std::string;
    static constexpr const char* kName = "CancelOrder";
    static constexpr bool kIsCommand = true;
    int64_t orderId = 0;
    std::string reason;
    CommandContext context;
};

/// The current order from the read model, or, with atVersion or asOfMs, the order as it was
/// then, replayed from its events (a read of the log: MayWait only). NotFound when it did not
/// exist then or never had that version.
struct GetOrder {
    using Result = std::string;
    static constexpr const char* kName = "GetOrder";
    static constexpr bool kIsCommand = false;
    int64_t orderId = 0;
    WaitPolicy wait = WaitPolicy::MayWait;
    int64_t atVersion = 0;          ///< > 0: after its atVersion-th event
    std::optional<int64_t> asOfMs;  ///< after its events that occurred at or before this time
};

/// One page of a list: the body and the cursor of the next page ("" on the last page).
struct OrderList {
    std::string body;
    std::string nextCursor;  ///< "<createdAtMs>-<id>" (opaque to clients)
};

/// Lists orders. paged: {"items":[...],"nextCursor":"<createdAtMs>-<id>"|null}; otherwise a
/// plain array. Either way the result names the next page's cursor.
struct ListOrders {
    using Result = OrderList;
    static constexpr const char* kName = "ListOrders";
    static constexpr bool kIsCommand = false;
    ListFilter filter;
    bool paged = true;
    WaitPolicy wait = WaitPolicy::MayWait;
};

struct GetOrderEvents {
    using Result = std::string;  ///< JSON array of event documents, oldest first
    static constexpr const char* kName = "GetOrderEvents";
    static constexpr bool kIsCommand = false;
    int64_t orderId = 0;
};

}  // namespace ordersystem::plugins::orders::app
