// Command and query handlers (see OrderService.h).
#include "app/OrderService.h"

#include "ordersystem/sdk/json.h"
#include "ordersystem/sdk/util.h"

namespace ordersystem::plugins::orders::app {

using sdk::Result;
using sdk::Status;
using sdk::StatusCode;

OrderService::OrderService(sdk::EventLog& log, store::ReadModel& readModel, sdk::Host& host, ServiceSettings settings)
    : _log(log), _readModel(readModel), _logger(host.logger()), _settings(std::move(settings)) {
    _readModel.setReadWaitMs(_settings.commandTimeoutMs);
    auto metrics = std::make_shared<MetricsBehavior>(host.metrics());
    metrics->track<CreateOrder>();
    metrics->track<ProcessOrder>();
    metrics->track<CompleteOrder>();
    metrics->track<CancelOrder>();
    metrics->track<GetOrder>();
    metrics->track<ListOrders>();
    metrics->track<GetOrderEvents>();
    _mediator.addBehavior(std::make_shared<LoggingBehavior>(_logger));
    _mediator.addBehavior(metrics);
    _mediator.addBehavior(std::make_shared<ErrorBehavior>(_logger));

    _mediator.handle<CreateOrder>([this](const CreateOrder& c) { return create(c); });
    _mediator.handle<ProcessOrder>([this](const ProcessOrder& c) {
        return transition(c.orderId, [](const domain::Order& o, const domain::EventContext& ctx) {
            return domain::decideProcess(o, ctx);
        });
    });
    _mediator.handle<CompleteOrder>([this](const CompleteOrder& c) {
        return transition(c.orderId, [](const domain::Order& o, const domain::EventContext& ctx) {
            return domain::decideComplete(o, ctx);
        });
    });
    _mediator.handle<CancelOrder>([this](const CancelOrder& c) {
        return transition(c.orderId, [&c](const domain::Order& o, const domain::EventContext& ctx) {
            return domain::decideCancel(o, c.reason, ctx);
        });
    });
    _mediator.handle<GetOrder>([this](const GetOrder& q) -> Result<std::string> {
        std::string body;
        body.reserve(512);
        if (Status s = _readModel.appendDocument(q.orderId, &body); !s) return s;
        return body;
    });
    _mediator.handle<ListOrders>([this](const ListOrders& q) { return list(q); });
    _mediator.handle<GetOrderEvents>([this](const GetOrderEvents& q) { return events(q); });
}

domain::EventContext OrderService::context() const { return domain::EventContext{_settings.nodeId, sdk::nowMs()}; }

template <class Decide>
Result<std::string> OrderService::transition(int64_t orderId, const Decide& decide) {
    auto loaded = _readModel.loadOrder(orderId);
    domain::Order order;
    if (loaded) {
        order = std::move(*loaded);
    } else if (loaded.status().code == StatusCode::NotFound) {
        // Another node's create may not have reached this read model yet: ask the log.
        auto history = _log.readOrder(orderId);
        if (!history) return history.status();
        auto replayed = domain::replay(*history);
        if (!replayed) return replayed.status();
        order = std::move(*replayed);
    } else {
        return loaded.status();
    }
    for (int attempt = 0; attempt <= _settings.maxConflictRetries; ++attempt) {
        auto event = decide(order, context());
        if (!event) return event.status();
        sdk::AppendRequest request;
        request.orderId = orderId;
        request.expectedVersion = order.version;
        request.events.push_back(std::move(*event));
        sdk::AppendResult appended = _log.append(request);
        if (appended.status.isOk()) {
            if (Status s = domain::applyEvent(order, request.events.front()); !s) return s;
            _readModel.acknowledge(order, appended.lastPosition);
            std::string body;
            body.reserve(512);
            sdk::JsonWriter w(body);
            domain::writeOrderDocument(w, order);
            return body;
        }
        if (appended.status.code != StatusCode::VersionConflict) return appended.status;
        _logger.debug("order " + std::to_string(orderId) + ": version " + std::to_string(order.version) +
                      " is stale, re-reading its history");
        auto history = _log.readOrder(orderId);
        if (!history) return history.status();
        auto replayed = domain::replay(*history);
        if (!replayed) return replayed.status();
        order = std::move(*replayed);
    }
    return Status(StatusCode::Conflict, "Order was changed concurrently, please retry");
}

Result<CreatedOrder> OrderService::create(const CreateOrder& c) {
    if (c.idempotencyKey.empty()) return createClaimed(c);
    auto claim = _log.idempotency().claim(c.idempotencyKey, c.fingerprint, _settings.idempotencyLeaseMs);
    if (!claim) return claim.status();
    switch (claim->state) {
    case sdk::IdempotencyClaim::State::InFlight:
        return Status(StatusCode::Conflict, "A request with this Idempotency-Key is still in progress");
    case sdk::IdempotencyClaim::State::Completed: {
        if (claim->fingerprint != c.fingerprint)
            return Status(StatusCode::Unprocessable, "This Idempotency-Key was already used with a different request body");
        auto doc = sdk::parseJson(claim->response);
        const sdk::JsonValue* id = doc ? doc->find("orderId") : nullptr;
        CreatedOrder replay;
        if (!id || !id->asInt64(&replay.orderId))
            return Status(StatusCode::Internal, "stored idempotent response is unreadable");
        replay.body = std::move(claim->response);
        replay.replayed = true;
        return replay;
    }
    case sdk::IdempotencyClaim::State::Claimed: break;
    }
    auto created = createClaimed(c);
    if (!created) {
        // Nothing was stored (or the append's outcome is unknown and the key completes with it).
        if (Status s = _log.idempotency().release(c.idempotencyKey); !s)
            _logger.warn("releasing Idempotency-Key failed: " + s.message);
    }
    return created;
}

Result<CreatedOrder> OrderService::createClaimed(const CreateOrder& c) {
    auto id = _log.allocateOrderId();
    if (!id) return id.status();
    const domain::EventContext ctx = context();
    CreatedOrder out;
    out.orderId = *id;
    std::string number = domain::makeOrderNumber(ctx.nowMs, out.orderId);
    sdk::JsonWriter w(out.body);
    w.beginObject().key("orderId").value(out.orderId).key("orderNumber").value(number).endObject();

    sdk::AppendRequest request;
    request.orderId = out.orderId;
    request.expectedVersion = 0;
    request.events.push_back(domain::makeCreated(c.order, out.orderId, number, ctx));
    sdk::IdempotencyCompletion completion;
    if (!c.idempotencyKey.empty()) {
        completion = sdk::IdempotencyCompletion{c.idempotencyKey, c.fingerprint, out.body};
        request.idempotency = &completion;
    }
    sdk::AppendResult appended = _log.append(request);
    if (!appended.status.isOk()) {
        if (appended.status.code == StatusCode::VersionConflict)
            return Status(StatusCode::Internal, "order id " + std::to_string(out.orderId) + " was already in use");
        return appended.status;
    }
    // The order as the projection will build it from the event, without parsing the event back.
    domain::Order order;
    order.id = out.orderId;
    order.orderNumber = std::move(number);
    order.customerName = c.order.customerName;
    order.totalCents = c.order.totalCents();
    order.status = domain::OrderStatus::Pending;
    order.version = 1;
    order.items = c.order.items;
    order.createdAtMs = ctx.nowMs;
    _readModel.acknowledge(order, appended.lastPosition);
    return out;
}

Result<std::string> OrderService::list(const ListOrders& q) {
    store::ListFilter filter = q.filter;
    if (q.paged) filter.limit += 1;  // one extra row tells whether there is a next page
    auto rows = _readModel.list(filter);
    if (!rows) return rows.status();
    const size_t shown = q.paged ? std::min<size_t>(rows->size(), static_cast<size_t>(q.filter.limit)) : rows->size();
    std::string body;
    body.reserve(64 + shown * 400);
    sdk::JsonWriter w(body);
    if (q.paged) w.beginObject().key("items");
    w.beginArray();
    for (size_t i = 0; i < shown; ++i) domain::writeOrderDocument(w, (*rows)[i].order, (*rows)[i].itemsJson);
    w.endArray();
    if (q.paged) {
        w.key("nextCursor");
        if (rows->size() > shown) {
            const domain::Order& lastShown = (*rows)[shown - 1].order;
            w.value(std::to_string(lastShown.createdAtMs) + "-" + std::to_string(lastShown.id));
        }
        else w.null();
        w.endObject();
    }
    return body;
}

Result<std::string> OrderService::events(const GetOrderEvents& q) {
    auto history = _log.readOrder(q.orderId);
    if (!history) return history.status();
    if (history->empty()) return Status(StatusCode::NotFound, "Order not found");
    std::string body;
    sdk::JsonWriter w(body);
    w.beginArray();
    for (const auto& e : *history) w.raw(sdk::toJson(e));
    w.endArray();
    return body;
}

}  // namespace ordersystem::plugins::orders::app
