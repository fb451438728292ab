// Contract: the commands and queries of the orders plugin, sent through sdk::Mediator
// (see ordersystem/sdk/mediator.h). Plain values built by the HTTP routes; the handlers live in
// OrderService. Results are ready-to-send JSON bodies so no DOM is built on the way out. A query
// sent with WaitPolicy::MustNotWait answers StatusCode::WouldBlock where it would have waited.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "app/ReadModelPort.h"
#include "domain/Order.h"

namespace ordersystem::plugins::orders::app {

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
};

struct ProcessOrder {
    using Result = std::string;  ///< the order document
    static constexpr const char* kName = "ProcessOrder";
    static constexpr bool kIsCommand = true;
    int64_t orderId = 0;
};

struct CompleteOrder {
    using Result = std::string;
    static constexpr const char* kName = "CompleteOrder";
    static constexpr bool kIsCommand = true;
    int64_t orderId = 0;
};

struct CancelOrder {
    using Result = std::string;
    static constexpr const char* kName = "CancelOrder";
    static constexpr bool kIsCommand = true;
    int64_t orderId = 0;
    std::string reason;
};

struct GetOrder {
    using Result = std::string;
    static constexpr const char* kName = "GetOrder";
    static constexpr bool kIsCommand = false;
    int64_t orderId = 0;
    WaitPolicy wait = WaitPolicy::MayWait;
};

/// Lists orders. paged: {"items":[...],"nextCursor":"<createdAtMs>-<id>"|null} (opaque to
/// clients); otherwise a plain array.
struct ListOrders {
    using Result = std::string;
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
