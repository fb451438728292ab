// Contract: GET /api/events/stream (CONTRACT.md §5 "Live events"), a streaming route
// (sdk::Router::addStream) run on an event loop: bad parameters are 400 and a position older
// than the hub can replay is 410, both before any streaming; otherwise 200 text/event-stream fed
// by the EventHub. HEAD answers the head only.
#pragma once

#include <memory>

#include "ordersystem/sdk/http.h"
#include "stream/EventHub.h"

namespace ordersystem::plugins::orders::stream {

/// The hub must outlive the route's streams (the host closes them before plugins stop).
void registerStreamRoute(sdk::Router& router, std::shared_ptr<EventHub> hub);

}  // namespace ordersystem::plugins::orders::stream
