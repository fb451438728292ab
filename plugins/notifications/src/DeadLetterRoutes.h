// Contract: the dead-letter routes of a reaction, registered by its plugin's start():
//   GET  /api/dead-letters?limit=N           200 [{"eventId","orderId","type","attempts","lastError","failedAt"}]
//                                            oldest failure first, limit 1..1000 (default 100), else 400
//   POST /api/dead-letters/{eventId}/retry   202 {"eventId","status":"retrying"}: delivered again on this
//                                            node in the background; 404 no such dead letter, 409 being
//                                            retried already, 400 not an eventId, 503 the log cannot answer
// Both run on worker threads (the event log blocks) and read the dead letters every node shares.
#pragma once

#include <string>
#include <string_view>

#include "ordersystem/sdk/eventlog.h"
#include "ordersystem/sdk/http.h"

namespace ordersystem::plugins::notifications {

void addDeadLetterRoutes(sdk::Router& router, sdk::EventLog& log, std::string_view reaction);

/// An eventId a client may name: 1..128 characters of [A-Za-z0-9._:-] (what every transport writes).
bool isEventIdText(std::string_view text) noexcept;

}  // namespace ordersystem::plugins::notifications
