#include "DeadLetterRoutes.h"

#include "ordersystem/sdk/json.h"
#include "ordersystem/sdk/util.h"

namespace ordersystem::plugins::notifications {

namespace {
constexpr int64_t kDefaultLimit = 100;
constexpr int64_t kMaxLimit = 1000;

void list(sdk::EventLog& log, const std::string& reaction, const sdk::HttpRequest& req, sdk::HttpResponse& res) {
    int64_t limit = 0;
    if (!sdk::parseLimitParam(req, kDefaultLimit, kMaxLimit, &limit)) {
        sdk::writeProblem(res, 400, "Invalid query", {{"limit", "limit must be an integer from 1 to 1000"}});
        return;
    }
    auto letters = log.deadLetters(reaction, static_cast<size_t>(limit));
    if (!letters) {
        sdk::writeProblem(res, letters.status());
        return;
    }
    res.status = 200;
    res.contentType = "application/json";
    sdk::JsonWriter w(res.body);
    w.beginArray();
    for (const auto& d : letters.value()) {
        w.beginObject();
        w.key("eventId").value(d.event.eventId);
        w.key("orderId").value(d.event.orderId);
        w.key("type").value(d.event.type);
        w.key("attempts").value(d.attempts);
        w.key("lastError").value(d.lastError);
        w.key("failedAt").value(sdk::formatTimestamp(d.failedAtMs));
        w.endObject();
    }
    w.endArray();
}

void retry(sdk::EventLog& log, const std::string& reaction, const sdk::HttpRequest& req, sdk::HttpResponse& res) {
    const std::string* eventId = req.param("eventId");
    if (!eventId || !isEventIdText(*eventId)) {
        sdk::writeProblem(res, 400, "Invalid path",
                          {{"eventId", "an eventId is 1 to 128 characters of letters, digits and . _ : -"}});
        return;
    }
    const sdk::Status queued = log.retryDeadLetter(reaction, *eventId);
    if (!queued) {
        sdk::writeProblem(res, queued);
        return;
    }
    res.status = 202;
    res.contentType = "application/json";
    sdk::JsonWriter w(res.body);
    w.beginObject().key("eventId").value(*eventId).key("status").value("retrying").endObject();
}
}  // namespace

bool isEventIdText(std::string_view text) noexcept {
    if (text.empty() || text.size() > 128) return false;
    for (const char c : text) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                        c == '_' || c == ':' || c == '-';
        if (!ok) return false;
    }
    return true;
}

void addDeadLetterRoutes(sdk::Router& router, sdk::EventLog& log, std::string_view reaction) {
    const std::string name(reaction);
    sdk::RouteOptions listOptions;
    listOptions.operationId = "listDeadLetters";
    router.add(
        "GET", "/api/dead-letters",
        [&log, name](const sdk::HttpRequest& req, sdk::HttpResponse& res) { list(log, name, req, res); }, listOptions);
    sdk::RouteOptions retryOptions;
    retryOptions.operationId = "retryDeadLetter";
    router.add(
        "POST", "/api/dead-letters/{eventId}/retry",
        [&log, name](const sdk::HttpRequest& req, sdk::HttpResponse& res) { retry(log, name, req, res); },
        retryOptions);
}

}  // namespace ordersystem::plugins::notifications
