// Contract: the REST routes of CONTRACT.md §3 owned by the orders plugin. registerRoutes() is
// called once from the plugin's start() (main thread); the handlers then run concurrently on the
// host's HTTP threads, parse and validate (400), send one mediator message and write the answer
// (errors as RFC 9457 problem documents). Ids in paths that are not integers in 1..2^53-1 are
// answered 404 "Order not found", like an id that does not exist.
#pragma once

#include <cstdint>
#include <string_view>

#include "ordersystem/sdk/http.h"
#include "ordersystem/sdk/mediator.h"

namespace ordersystem::plugins::orders::http {

/// Largest id + 1 (2^53): ids must stay exact in JSON doubles.
inline constexpr int64_t kIdLimit = int64_t{1} << 53;
/// Default and maximum page size of the list routes.
inline constexpr int64_t kDefaultLimit = 100;
inline constexpr int64_t kMaxLimit = 1000;

/// Parses a decimal id in 1..2^53-1 (digits only); 0 when it is anything else.
int64_t parseOrderId(std::string_view text) noexcept;

/// The mediator must outlive the routes (the plugin stops before the host drops routes).
void registerRoutes(sdk::Router& router, const sdk::Mediator& mediator);

}  // namespace ordersystem::plugins::orders::http
