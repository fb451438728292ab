// GET /api/events/stream (see StreamRoute.h).
#include "stream/StreamRoute.h"

#include <string>
#include <vector>

#include "ordersystem/sdk/util.h"
#include "stream/StreamQuery.h"

namespace ordersystem::plugins::orders::stream {

void registerStreamRoute(sdk::Router& router, std::shared_ptr<EventHub> hub) {
    sdk::RouteOptions options;
    options.operationId = "streamEvents";
    router.addStream(
        "GET", "/api/events/stream",
        [hub](const sdk::HttpRequest& req, sdk::HttpResponse& res, const std::shared_ptr<sdk::StreamSink>& sink) {
            StreamQuery query;
            std::vector<sdk::FieldError> errors;
            if (!parseStreamQuery(req, &query, &errors))
                return sdk::writeProblem(res, 400, "One or more validation errors occurred", errors,
                                         "Validation failed");
            res.status = 200;
            res.contentType = "text/event-stream";
            if (req.method == "HEAD") return;
            uint64_t oldest = 0;
            switch (hub->subscribe(query, sink, &oldest)) {
            case EventHub::Outcome::Subscribed: return;
            case EventHub::Outcome::TooOld:
                return sdk::writeProblem(res, 410,
                                         "Events after position " + std::to_string(*query.after) +
                                             " can no longer be replayed: this node replays events after position " +
                                             std::to_string(oldest) +
                                             " only. Reload the state (GET /api/orders) and open the stream "
                                             "without Last-Event-ID or after");
            case EventHub::Outcome::Stopped:
                return sdk::writeProblem(res, 503, "The node is stopping; please retry on another node");
            }
        },
        options);
}

}  // namespace ordersystem::plugins::orders::stream
