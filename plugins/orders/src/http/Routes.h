// Contract: the REST routes of CONTRACT.md §3 owned by the orders plugin. registerRoutes() is
// called once from the plugin's start() (main thread); the handlers then run concurrently on the
// host's HTTP threads, parse and validate (400), send one mediator message and write the answer
// (errors as RFC 9457 problem documents). Ids in paths that are not integers in 1..2^53-1 are
// answered 404 "Order not found", like an id that does not exist.
// With asyncCreate, POST /api/orders is an asynchronous route (Router::addAsync): it validates on
// the event-loop thread (a 400 is replied at once) and replies from the mediator's completion,
// i.e. once the append is durable or failed; one with an Idempotency-Key answers WouldBlock on the
// loop (claiming the key is a round trip to the log). Routes that read only the hot cache or the
// local SQLite read model (GET by id, the lists) are non-blocking routes (Router::addNonBlocking):
// on the loop their query is sent with WaitPolicy::MustNotWait and a WouldBlock from it becomes the
// route's HandlerOutcome::WouldBlock, so the host runs them again on a worker. The event history
// reads the log (a network call for Redis/NATS) and the transitions append: plain routes.
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

struct RouteModes {
    /// CreateOrder has an asynchronous handler (OrderService::createsAsynchronously()).
    bool asyncCreate = false;
};

/// The mediator must outlive the routes (the plugin stops before the host drops routes).
void registerRoutes(sdk::Router& router, const sdk::Mediator& mediator, RouteModes modes = {});

}  // namespace ordersystem::plugins::orders::http
