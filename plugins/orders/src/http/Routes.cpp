// The orders REST routes (see Routes.h).
#include "http/Routes.h"

#include "app/Fingerprint.h"
#include "app/Messages.h"
#include "domain/Validation.h"
#include "http/Links.h"
#include "http/Preconditions.h"
#include "ordersystem/sdk/json.h"
#include "ordersystem/sdk/util.h"

namespace ordersystem::plugins::orders::http {

using app::WaitPolicy;
using sdk::HandlerOutcome;
using sdk::HttpRequest;
using sdk::HttpResponse;
using sdk::Status;
using sdk::StatusCode;

int64_t parseOrderId(std::string_view text) noexcept {
    if (text.empty() || text.size() > 16 || text[0] == '0') return 0;
    int64_t id = 0;
    for (const char c : text) {
        if (c < '0' || c > '9') return 0;
        id = id * 10 + (c - '0');
    }
    return id < kIdLimit ? id : 0;
}

namespace {

/// The text a client sees for a failed command or query; internals are never shown to clients.
std::string_view clientDetail(const Status& s) {
    switch (s.code) {
    case StatusCode::Internal:
    case StatusCode::InvalidConfig: return "An unexpected error occurred; it has been logged";
    case StatusCode::Unavailable: return "The order store is unavailable; nothing was changed, please retry";
    case StatusCode::Timeout:
        // The log did not answer in time: the write may still have been stored (an
        // acknowledgement lost on the way back), so the client must not be told nothing changed.
        return "The order store did not confirm the change in time; it may have been made. A create retried with "
               "the same Idempotency-Key returns the first order; read the order before repeating a command";
    default: return s.message;
    }
}

/// The status comes from the SDK's one map (sdk::httpStatusFor).
void writeError(HttpResponse& res, const Status& s) {
    sdk::writeProblem(res, sdk::httpStatusFor(s.code), clientDetail(s));
}

void writeValidation(HttpResponse& res, const std::vector<sdk::FieldError>& errors) {
    sdk::writeProblem(res, 400, "One or more validation errors occurred", errors, "Validation failed");
}

void notFound(HttpResponse& res) { sdk::writeProblem(res, 404, "Order not found"); }

/// The 200 of a body: an order document also gets its ETag.
void writeBody(HttpResponse& res, std::string&& body, bool isOrder) {
    res.status = 200;
    if (isOrder) res.setHeader("ETag", etagOf(domain::documentVersion(body)));
    res.body = std::move(body);
}

/// The 200 of a list, with the Link to its next page while there is one.
void writeBody(HttpResponse& res, app::OrderList&& list, const HttpRequest& req) {
    res.status = 200;
    if (!list.nextCursor.empty()) res.setHeader("Link", nextPageLink(req, list.nextCursor));
    res.body = std::move(list.body);
}

/// Sends the message and writes its answer (see writeBody). WouldBlock (a query on an event loop
/// that would have waited): nothing is written, the host runs the route again on a worker.
template <class M, class... Extra>
HandlerOutcome answer(const sdk::Mediator& mediator, const M& message, HttpResponse& res, Extra&&... extra) {
    auto result = mediator.send(message);
    if (result) {
        writeBody(res, std::move(*result), std::forward<Extra>(extra)...);
    } else if (result.status().code == StatusCode::WouldBlock) {
        return HandlerOutcome::WouldBlock;
    } else {
        writeError(res, result.status());
    }
    return HandlerOutcome::Handled;
}

/// The new event's metadata: the request's trace context and, with API keys, who acted.
std::string eventMetadata(const HttpRequest& req) {
    std::string out;
    sdk::JsonWriter w(out);
    w.beginObject();
    if (!req.traceparent.empty()) w.key("traceparent").value(req.traceparent);
    if (req.keyed) {
        w.key("actor");
        if (req.actor.empty()) w.null();
        else w.value(req.actor);
    }
    w.endObject();
    return out == "{}" ? std::string() : out;
}

/// The command's context; false when *res already holds the 400 of a malformed If-Match.
bool commandContext(const HttpRequest& req, app::CommandContext* context, HttpResponse* res) {
    const IfMatch ifMatch = parseIfMatch(req.header("If-Match"));
    if (!ifMatch.valid) {
        writeValidation(*res, {{"If-Match", "If-Match must be * or one ETag of the order, e.g. \"3\""}});
        return false;
    }
    context->ifMatch = ifMatch.version;
    context->metadataJson = eventMetadata(req);
    return true;
}

/// A query waits for nothing on an event loop; on a worker it waits for what it needs.
WaitPolicy waitPolicy(const HttpRequest& req) {
    return req.onEventLoop ? WaitPolicy::MustNotWait : WaitPolicy::MayWait;
}

int64_t idParam(const HttpRequest& req) {
    const std::string* raw = req.param("id");
    return raw ? parseOrderId(*raw) : 0;
}

/// Accepts the Structured Field string form ("key") and the common bare form (key).
bool idempotencyKey(const HttpRequest& req, std::string* key) {
    const std::string* raw = req.header("Idempotency-Key");
    if (!raw) return true;
    std::string_view v(*raw);
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    if (v.empty() || v.size() > 255) return false;
    for (const char c : v)
        if (c < 0x21 || c > 0x7E) return false;
    key->assign(v);
    return true;
}

/// Parses and validates a create; false when *res already holds the 400.
bool parseCreate(const HttpRequest& req, app::CreateOrder* command, HttpResponse* res) {
    auto doc = sdk::parseJson(req.body);
    if (!doc) {
        writeValidation(*res, {{"body", "Malformed JSON: " + doc.status().message}});
        return false;
    }
    std::vector<sdk::FieldError> errors;
    if (!domain::validateNewOrder(*doc, &command->order, &errors)) {
        writeValidation(*res, errors);
        return false;
    }
    if (!idempotencyKey(req, &command->idempotencyKey)) {
        writeValidation(*res, {{"Idempotency-Key", "Idempotency-Key must be 1-255 visible ASCII characters"}});
        return false;
    }
    if (!command->idempotencyKey.empty()) {
        command->fingerprint = app::bodyFingerprint(req.body);
        command->body = req.body;
    }
    command->context.metadataJson = eventMetadata(req);
    return true;
}

/// 201 with Location (and Idempotent-Replayed on a replay), or the error.
void writeCreated(HttpResponse& res, sdk::Result<app::CreatedOrder>&& result) {
    if (!result) return writeError(res, result.status());
    res.status = 201;
    res.setHeader("Location", "/api/orders/" + std::to_string(result->orderId));
    res.setHeader("ETag", etagOf(1));
    if (result->replayed) res.setHeader("Idempotent-Replayed", "true");
    res.body = std::move(result->body);
}

void createOrder(const sdk::Mediator& mediator, const HttpRequest& req, HttpResponse& res) {
    app::CreateOrder command;
    if (parseCreate(req, &command, &res)) writeCreated(res, mediator.send(command));
}

/// The same on an event-loop thread: the reply is sent when the append has completed.
HandlerOutcome createOrderAsync(const sdk::Mediator& mediator, const HttpRequest& req, sdk::HttpReply reply) {
    app::CreateOrder command;
    HttpResponse invalid;
    if (!parseCreate(req, &command, &invalid)) {
        reply(std::move(invalid));
        return HandlerOutcome::Handled;
    }
    // Claiming the key is a blocking round trip to the log (a group commit with its fsync
    // standalone, Redis or NATS otherwise): it must not hold up the event loop's other
    // connections, so this create runs on a worker thread.
    if (req.onEventLoop && !command.idempotencyKey.empty()) return HandlerOutcome::WouldBlock;
    mediator.sendAsync(command, [reply = std::move(reply)](sdk::Result<app::CreatedOrder>&& result) {
        HttpResponse res;
        writeCreated(res, std::move(result));
        reply(std::move(res));
    });
    return HandlerOutcome::Handled;
}

/// cursor: "<createdAtMs>-<id>" as written by OrderService::list.
void parseCursor(const HttpRequest& req, app::ListFilter* filter, std::vector<sdk::FieldError>* errors) {
    const std::string* cursor = req.query("cursor");
    if (!cursor || cursor->empty()) return;
    const size_t dash = cursor->find('-');
    const int64_t created = dash == std::string::npos ? 0 : parseOrderId(std::string_view(*cursor).substr(0, dash));
    filter->afterId = dash == std::string::npos ? 0 : parseOrderId(std::string_view(*cursor).substr(dash + 1));
    filter->afterCreatedAtMs = created;
    if (filter->afterId == 0 || created == 0) errors->push_back({"cursor", "cursor is not one this service returned"});
}

HandlerOutcome listOrders(const sdk::Mediator& mediator, const HttpRequest& req, HttpResponse& res) {
    app::ListOrders query;
    std::vector<sdk::FieldError> errors;
    if (const std::string* status = req.query("status"); status && !status->empty()) {
        domain::OrderStatus s;
        if (!domain::parseStatus(*status, &s))
            errors.push_back({"status", "status must be one of Pending, Processing, Completed, Cancelled"});
        else query.filter.status = s;
    }
    if (const std::string* customer = req.query("customer"); customer && !customer->empty())
        query.filter.customer = *customer;
    if (!sdk::parseLimitParam(req, kDefaultLimit, kMaxLimit, &query.filter.limit))
        errors.push_back({"limit", "limit must be an integer from 1 to 1000"});
    parseCursor(req, &query.filter, &errors);
    if (!errors.empty()) {
        writeValidation(res, errors);
        return HandlerOutcome::Handled;
    }
    query.wait = waitPolicy(req);
    return answer(mediator, query, res, req);
}

/// Customer and pending lists: plain arrays of at most limit orders (default and max 1000); the
/// next page is the Link's cursor.
HandlerOutcome fixedList(const sdk::Mediator& mediator, const HttpRequest& req, HttpResponse& res,
                         app::ListOrders query) {
    std::vector<sdk::FieldError> errors;
    if (!sdk::parseLimitParam(req, kMaxLimit, kMaxLimit, &query.filter.limit))
        errors.push_back({"limit", "limit must be an integer from 1 to 1000"});
    parseCursor(req, &query.filter, &errors);
    if (!errors.empty()) {
        writeValidation(res, errors);
        return HandlerOutcome::Handled;
    }
    query.paged = false;
    query.wait = waitPolicy(req);
    return answer(mediator, query, res, req);
}

void cancelOrder(const sdk::Mediator& mediator, const HttpRequest& req, HttpResponse& res) {
    const int64_t id = idParam(req);
    std::vector<sdk::FieldError> errors;
    const std::string* reason = req.query("reason");
    // Also accepted, for clients that send it as a body: {"reason": "..."}.
    std::string bodyReason;
    if (!reason && !req.body.empty()) {
        auto doc = sdk::parseJson(req.body);
        const sdk::JsonValue* v = doc ? doc->find("reason") : nullptr;
        if (v && v->isString()) {
            bodyReason = v->asString();
            reason = &bodyReason;
        }
    }
    if (!domain::validateCancelReason(reason, &errors)) return writeValidation(res, errors);
    if (id == 0) return notFound(res);
    app::CancelOrder command{id, *reason, {}};
    if (commandContext(req, &command.context, &res)) answer(mediator, command, res, true);
}

/// The event history: a plain route on workers, where nothing answers WouldBlock.
void orderEvents(const sdk::Mediator& mediator, const HttpRequest& req, HttpResponse& res) {
    app::GetOrderEvents query;
    query.orderId = idParam(req);
    if (query.orderId == 0) return notFound(res);
    answer(mediator, query, res, false);
}

/// A transition without arguments: a plain route on workers; answers the order with its ETag.
template <class M>
sdk::RouteHandler command(const sdk::Mediator& mediator) {
    return [&mediator](const HttpRequest& req, HttpResponse& res) {
        M message;
        message.orderId = idParam(req);
        if (message.orderId == 0) return notFound(res);
        if (commandContext(req, &message.context, &res)) answer(mediator, message, res, true);
    };
}

/// ?version=N or ?asOf=<RFC 3339>, not both; false when errors got why.
bool parseTimeTravel(const HttpRequest& req, app::GetOrder* query, std::vector<sdk::FieldError>* errors) {
    const std::string* version = req.query("version");
    const std::string* asOf = req.query("asOf");
    if (version && asOf) errors->push_back({"version", "version and asOf cannot be combined"});
    if (version && (query->atVersion = parseOrderId(*version)) == 0)
        errors->push_back({"version", "version must be an integer of at least 1"});
    int64_t asOfMs = 0;
    if (asOf && !sdk::parseRfc3339(*asOf, &asOfMs))
        errors->push_back({"asOf", "asOf must be an RFC 3339 time, e.g. 2025-10-11T19:21:45Z"});
    if (asOf) query->asOfMs = asOfMs;
    return errors->empty();
}

HandlerOutcome getOrder(const sdk::Mediator& mediator, const HttpRequest& req, HttpResponse& res) {
    app::GetOrder query;
    std::vector<sdk::FieldError> errors;
    if (!parseTimeTravel(req, &query, &errors)) {
        writeValidation(res, errors);
        return HandlerOutcome::Handled;
    }
    query.orderId = idParam(req);
    if (query.orderId == 0) {
        notFound(res);
        return HandlerOutcome::Handled;
    }
    query.wait = waitPolicy(req);
    const HandlerOutcome outcome = answer(mediator, query, res, true);
    const std::string* ifNoneMatch = req.header("If-None-Match");
    if (outcome == HandlerOutcome::Handled && res.status == 200 && ifNoneMatch &&
        ifNoneMatchHolds(*ifNoneMatch, domain::documentVersion(res.body))) {
        res.status = 304;
        res.contentType.clear();
        res.body.clear();
    }
    return outcome;
}

/// The largest valid order (100 items, names of 200 characters written as escaped surrogate
/// pairs) is about 250 KB of JSON; a create body past this can only be refused.
constexpr int64_t kMaxCreateBodyBytes = 256 * 1024;
/// A cancel's optional {"reason": ...} body: 500 characters, escaped.
constexpr int64_t kMaxCancelBodyBytes = 16 * 1024;

sdk::RouteOptions op(const char* name, bool jsonBody = false, int64_t maxBodyBytes = -1) {
    sdk::RouteOptions o;
    o.jsonBody = jsonBody;
    o.operationId = name;
    o.maxBodyBytes = maxBodyBytes;
    return o;
}

}  // namespace

void registerRoutes(sdk::Router& router, const sdk::Mediator& mediator, RouteModes modes) {
    const sdk::Mediator* m = &mediator;
    if (modes.asyncCreate)
        router.addAsync(
            "POST", "/api/orders",
            [m](const HttpRequest& q, sdk::HttpReply r) { return createOrderAsync(*m, q, std::move(r)); },
            op("createOrder", true, kMaxCreateBodyBytes));
    else
        router.add(
            "POST", "/api/orders", [m](const HttpRequest& q, HttpResponse& r) { createOrder(*m, q, r); },
            op("createOrder", true, kMaxCreateBodyBytes));
    router.addNonBlocking(
        "GET", "/api/orders", [m](const HttpRequest& q, HttpResponse& r) { return listOrders(*m, q, r); },
        op("listOrders"));
    router.addNonBlocking(
        "GET", "/api/orders/pending",
        [m](const HttpRequest& q, HttpResponse& r) {
            app::ListOrders query;
            query.filter.status = domain::OrderStatus::Pending;
            return fixedList(*m, q, r, std::move(query));
        },
        op("listPendingOrders"));
    router.addNonBlocking(
        "GET", "/api/orders/customer/{customerName}",
        [m](const HttpRequest& q, HttpResponse& r) {
            app::ListOrders query;
            const std::string* name = q.param("customerName");
            query.filter.customer = name ? *name : std::string();
            query.filter.newestFirst = true;
            return fixedList(*m, q, r, std::move(query));
        },
        op("listCustomerOrders"));
    router.addNonBlocking(
        "GET", "/api/orders/{id}", [m](const HttpRequest& q, HttpResponse& r) { return getOrder(*m, q, r); },
        op("getOrder"));
    router.add(
        "GET", "/api/orders/{id}/events", [m](const HttpRequest& q, HttpResponse& r) { orderEvents(*m, q, r); },
        op("getOrderEvents"));
    router.add("POST", "/api/orders/{id}/process", command<app::ProcessOrder>(mediator), op("processOrder"));
    router.add("POST", "/api/orders/{id}/complete", command<app::CompleteOrder>(mediator), op("completeOrder"));
    router.add(
        "POST", "/api/orders/{id}/cancel", [m](const HttpRequest& q, HttpResponse& r) { cancelOrder(*m, q, r); },
        op("cancelOrder", false, kMaxCancelBodyBytes));
}

}  // namespace ordersystem::plugins::orders::http
