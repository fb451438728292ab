// Command and query handlers (see OrderService.h).
#include "app/OrderService.h"

#include <chrono>

#include "app/Fingerprint.h"
#include "ordersystem/sdk/json.h"
#include "ordersystem/sdk/util.h"

namespace ordersystem::plugins::orders::app {

using sdk::Result;
using sdk::Status;
using sdk::StatusCode;

OrderService::OrderService(sdk::EventLog& log, ReadModelPort& readModel, sdk::Host& host, ServiceSettings settings)
    : _log(log),
      _readModel(readModel),
      _logger(host.logger()),
      _settings(std::move(settings)),
      _asyncCreates(log.appendsAsynchronously()) {
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

    if (_asyncCreates)
        _mediator.handleAsync<CreateOrder>(
            [this](const CreateOrder& c, CreateCompletion done) { createAsync(c, std::move(done)); });
    else _mediator.handle<CreateOrder>([this](const CreateOrder& c) { return create(c); });
    _mediator.handle<ProcessOrder>([this](const ProcessOrder& c) {
        return transition(c.orderId, c.context, [](const domain::Order& o, const domain::EventContext& ctx) {
            return domain::decideProcess(o, ctx);
        });
    });
    _mediator.handle<CompleteOrder>([this](const CompleteOrder& c) {
        return transition(c.orderId, c.context, [](const domain::Order& o, const domain::EventContext& ctx) {
            return domain::decideComplete(o, ctx);
        });
    });
    _mediator.handle<CancelOrder>([this](const CancelOrder& c) {
        return transition(c.orderId, c.context, [&c](const domain::Order& o, const domain::EventContext& ctx) {
            return domain::decideCancel(o, c.reason, ctx);
        });
    });
    _mediator.handle<GetOrder>([this](const GetOrder& q) { return getOrder(q); });
    _mediator.handle<ListOrders>([this](const ListOrders& q) { return list(q); });
    _mediator.handle<GetOrderEvents>([this](const GetOrderEvents& q) { return events(q); });
}

domain::EventContext OrderService::context(const CommandContext& command) const {
    return domain::EventContext{_settings.nodeId, sdk::nowMs(), command.metadataJson};
}

Result<domain::Order> OrderService::readFromLog(int64_t orderId) {
    auto history = _log.readOrder(orderId);
    if (!history) return history.status();
    return domain::replay(*history);
}

namespace {
Status preconditionFailed(int64_t current, int64_t expected) {
    return Status(StatusCode::PreconditionFailed, "The order is at version " + std::to_string(current) + ", not " +
                                                      std::to_string(expected) + "; nothing was changed");
}
}  // namespace

template <class Decide>
Result<std::string> OrderService::transition(int64_t orderId, const CommandContext& command, const Decide& decide) {
    auto loaded = _readModel.loadOrder(orderId);
    // Another node's create or change may not have reached this read model yet: ask the log.
    const bool behind = loaded ? loaded->version < command.ifMatch : loaded.status().code == StatusCode::NotFound;
    if (behind) loaded = readFromLog(orderId);
    if (!loaded) return loaded.status();
    domain::Order order = std::move(*loaded);
    for (int attempt = 0; attempt <= _settings.maxConflictRetries; ++attempt) {
        if (command.ifMatch != 0 && order.version != command.ifMatch)
            return preconditionFailed(order.version, command.ifMatch);
        auto event = decide(order, context(command));
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
        auto replayed = readFromLog(orderId);
        if (!replayed) return replayed.status();
        order = std::move(*replayed);
    }
    return Status(StatusCode::Conflict, "Order was changed concurrently, please retry");
}

struct OrderService::PendingCreate {
    sdk::AppendRequest request;
    sdk::IdempotencyCompletion completion;  ///< request.idempotency points here when there is a key
    /// The order as the projection will build it from the event, ready for the cache.
    std::shared_ptr<const RenderedOrder> entry;
    CreatedOrder out;
    CreateCompletion done;  ///< asynchronous creates only
};

Result<CreatedOrder> OrderService::create(const CreateOrder& c) {
    if (auto answered = claimOrAnswer(c)) return std::move(*answered);
    auto pending = prepareCreate(c);
    if (!pending) return pending.status();
    PendingCreate& p = **pending;
    return finishCreate(p, _log.append(p.request));
}

void OrderService::createAsync(const CreateOrder& c, CreateCompletion done) {
    if (auto answered = claimOrAnswer(c)) return done(std::move(*answered));
    auto prepared = prepareCreate(c);
    if (!prepared) return done(prepared.status());
    std::shared_ptr<PendingCreate> p = std::move(*prepared);
    p->done = std::move(done);
    {
        std::lock_guard<std::mutex> lock(_pendingMutex);
        ++_pendingCreates;
    }
    _log.appendAsync(p->request, [this, p](sdk::AppendResult&& appended) { finishCreateAsync(*p, appended); });
}

void OrderService::finishCreateAsync(PendingCreate& p, const sdk::AppendResult& appended) noexcept {
    CreateCompletion done = std::move(p.done);
    Result<CreatedOrder> result(StatusCode::Internal, "finishing the create failed");
    try {
        result = finishCreate(p, appended);
    } catch (const std::exception& e) {
        result = Result<CreatedOrder>(StatusCode::Internal, std::string("finishing the create: ") + e.what());
    } catch (...) {
    }
    try {
        done(std::move(result));
    } catch (...) {
        _logger.error("answering an asynchronous create failed");
    }
    std::lock_guard<std::mutex> lock(_pendingMutex);
    if (--_pendingCreates == 0) _pendingDone.notify_all();
}

bool OrderService::waitForPendingCreates(int64_t timeoutMs) noexcept {
    std::unique_lock<std::mutex> lock(_pendingMutex);
    return _pendingDone.wait_for(lock, std::chrono::milliseconds(timeoutMs), [this] { return _pendingCreates == 0; });
}

std::optional<Result<CreatedOrder>> OrderService::claimOrAnswer(const CreateOrder& c) {
    if (c.idempotencyKey.empty()) return std::nullopt;
    auto claim = _log.idempotency().claim(c.idempotencyKey, c.fingerprint, _settings.idempotencyLeaseMs);
    if (!claim) return Result<CreatedOrder>(claim.status());
    switch (claim->state) {
    case sdk::IdempotencyClaim::State::InFlight:
        return Result<CreatedOrder>(StatusCode::Conflict, "A request with this Idempotency-Key is still in progress");
    case sdk::IdempotencyClaim::State::Completed: {
        if (!fingerprintMatches(claim->fingerprint, c.fingerprint, c.body))
            return Result<CreatedOrder>(StatusCode::Unprocessable,
                                        "This Idempotency-Key was already used with a different request body");
        auto doc = sdk::parseJson(claim->response);
        const sdk::JsonValue* id = doc ? doc->find("orderId") : nullptr;
        CreatedOrder replay;
        if (!id || !id->asInt64(&replay.orderId))
            return Result<CreatedOrder>(StatusCode::Internal, "stored idempotent response is unreadable");
        replay.body = std::move(claim->response);
        replay.replayed = true;
        return Result<CreatedOrder>(std::move(replay));
    }
    case sdk::IdempotencyClaim::State::Claimed: break;
    }
    return std::nullopt;
}

Result<std::shared_ptr<OrderService::PendingCreate>> OrderService::prepareCreate(const CreateOrder& c) {
    auto id = _log.allocateOrderId();
    if (!id) return releaseKey(c.idempotencyKey, id.status());
    const domain::EventContext ctx = context(c.context);
    auto p = std::make_shared<PendingCreate>();
    p->out.orderId = *id;
    domain::Order order;
    order.id = *id;
    order.orderNumber = domain::makeOrderNumber(ctx.nowMs, order.id);
    order.customerName = c.order.customerName;
    order.totalCents = c.order.totalCents();
    order.status = domain::OrderStatus::Pending;
    order.version = 1;
    order.items = c.order.items;
    order.createdAtMs = ctx.nowMs;
    p->out.body.reserve(80);  // {"orderId":<id>,"orderNumber":"ORD-<14 digits>-<id>"}
    sdk::JsonWriter w(p->out.body);
    w.beginObject().key("orderId").value(order.id).key("orderNumber").value(order.orderNumber).endObject();

    p->request.orderId = order.id;
    p->request.expectedVersion = 0;
    p->request.events.push_back(domain::makeCreated(c.order, order.id, order.orderNumber, ctx));
    if (!c.idempotencyKey.empty()) {
        p->completion = sdk::IdempotencyCompletion{c.idempotencyKey, c.fingerprint, p->out.body};
        p->request.idempotency = &p->completion;
    }
    p->entry = renderOrder(std::move(order));
    return p;
}

Result<CreatedOrder> OrderService::finishCreate(PendingCreate& p, const sdk::AppendResult& appended) {
    if (!appended.status.isOk()) {
        // Nothing was stored (or the append's outcome is unknown and the key completes with it).
        Status failure = appended.status;
        if (failure.code == StatusCode::VersionConflict)
            failure =
                Status(StatusCode::Internal, "order id " + std::to_string(p.request.orderId) + " was already in use");
        return releaseKey(p.request.idempotency ? p.completion.key : std::string(), std::move(failure));
    }
    _readModel.acknowledge(std::move(p.entry), appended.lastPosition);
    return std::move(p.out);
}

Status OrderService::releaseKey(const std::string& key, Status failure) {
    if (key.empty()) return failure;
    if (Status s = _log.idempotency().release(key); !s) _logger.warn("releasing Idempotency-Key failed: " + s.message);
    return failure;
}

Result<OrderList> OrderService::list(const ListOrders& q) {
    ListFilter filter = q.filter;
    filter.limit += 1;  // one extra row tells whether there is a next page
    auto rows = _readModel.list(filter, q.wait);
    if (!rows) return rows.status();
    const size_t shown = std::min<size_t>(rows->size(), static_cast<size_t>(q.filter.limit));
    OrderList out;
    if (rows->size() > shown) {
        const domain::Order& lastShown = (*rows)[shown - 1].order;
        out.nextCursor = std::to_string(lastShown.createdAtMs) + "-" + std::to_string(lastShown.id);
    }
    out.body.reserve(64 + shown * 400);
    sdk::JsonWriter w(out.body);
    if (q.paged) w.beginObject().key("items");
    w.beginArray();
    for (size_t i = 0; i < shown; ++i) domain::writeOrderDocument(w, (*rows)[i].order, (*rows)[i].itemsJson);
    w.endArray();
    if (q.paged) {
        w.key("nextCursor");
        if (out.nextCursor.empty()) w.null();
        else w.value(out.nextCursor);
        w.endObject();
    }
    return out;
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

Result<std::string> OrderService::getOrder(const GetOrder& q) {
    if (q.atVersion > 0 || q.asOfMs) return orderAsItWas(q);
    std::string body;
    body.reserve(512);
    if (Status s = _readModel.appendDocument(q.orderId, &body, q.wait); !s) return s;
    return body;
}

Result<std::string> OrderService::orderAsItWas(const GetOrder& q) {
    // A read of the log is a network round trip in the distributed modes.
    if (q.wait == WaitPolicy::MustNotWait) return Status(StatusCode::WouldBlock, "the order's history is in the log");
    auto history = _log.readOrder(q.orderId);
    if (!history) return history.status();
    if (history->empty()) return Status(StatusCode::NotFound, "Order not found");
    domain::Order order;
    for (const auto& e : *history) {
        if (q.atVersion > 0 && order.version >= q.atVersion) break;
        if (q.asOfMs && e.occurredAtMs > *q.asOfMs) break;
        if (Status s = domain::applyEvent(order, e); !s) return s;
    }
    if (order.version == 0 || (q.atVersion > 0 && order.version != q.atVersion))
        return Status(StatusCode::NotFound, q.atVersion > 0 ? "Order has no version " + std::to_string(q.atVersion)
                                                            : std::string("Order did not exist at that time"));
    std::string body;
    sdk::JsonWriter w(body);
    domain::writeOrderDocument(w, order);
    return body;
}

}  // namespace ordersystem::plugins::orders::app
