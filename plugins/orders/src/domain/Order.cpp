// The Order state machine and event application (see Order.h).
#include "domain/Order.h"

#include "domain/Money.h"
#include "ordersystem/sdk/util.h"

namespace ordersystem::plugins::orders::domain {

using sdk::EventRecord;
using sdk::Result;
using sdk::Status;
using sdk::StatusCode;

const char* statusName(OrderStatus status) noexcept {
    switch (status) {
    case OrderStatus::Pending: return "Pending";
    case OrderStatus::Processing: return "Processing";
    case OrderStatus::Completed: return "Completed";
    case OrderStatus::Cancelled: return "Cancelled";
    }
    return "Unknown";
}

bool parseStatus(std::string_view text, OrderStatus* out) noexcept {
    for (int s = 0; s <= 3; ++s) {
        const auto status = static_cast<OrderStatus>(s);
        if (sdk::equalsIgnoreCase(text, statusName(status))) {
            *out = status;
            return true;
        }
    }
    return false;
}

int64_t NewOrder::totalCents() const noexcept {
    int64_t total = 0;
    for (const auto& item : items) total += item.quantity * item.priceCents;
    return total;
}

std::string makeOrderNumber(int64_t nowMs, int64_t orderId) {
    const std::string id = std::to_string(orderId);
    std::string number = "ORD-" + sdk::formatCompactUtc(nowMs) + "-";
    if (id.size() < 4) number.append(4 - id.size(), '0');  // ids are positive
    return number + id;
}

namespace {

EventRecord baseEvent(std::string_view type, const Order& order, const EventContext& ctx) {
    EventRecord e;
    e.eventId = sdk::newUuid();
    e.type = std::string(type);
    e.orderId = order.id;
    e.orderNumber = order.orderNumber;
    e.version = order.version + 1;
    e.occurredAtMs = ctx.nowMs;
    e.nodeId = ctx.nodeId;
    e.metadataJson = ctx.metadataJson;
    return e;
}

Result<EventRecord> conflict(std::string message) {
    return Result<EventRecord>(StatusCode::Conflict, std::move(message));
}

Status bad(std::string message) { return Status(StatusCode::InvalidArgument, std::move(message)); }

}  // namespace

EventRecord makeCreated(const NewOrder& order, int64_t orderId, const std::string& orderNumber,
                        const EventContext& ctx) {
    EventRecord e;
    e.eventId = sdk::newUuid();
    e.type = std::string(eventtype::kCreated);
    e.orderId = orderId;
    e.orderNumber = orderNumber;
    e.version = 1;
    e.occurredAtMs = ctx.nowMs;
    e.nodeId = ctx.nodeId;
    e.metadataJson = ctx.metadataJson;
    // One allocation for the document: the fixed text plus each item's, with room for escapes.
    size_t size = 64 + order.customerName.size();
    for (const auto& item : order.items) size += 72 + item.productName.size();
    e.dataJson.reserve(size);
    sdk::JsonWriter w(e.dataJson);
    w.beginObject();
    w.key("customerName").value(order.customerName);
    w.key("items");
    writeItems(w, order.items);
    w.key("totalAmount").cents(order.totalCents());
    w.endObject();
    return e;
}

Result<EventRecord> decideProcess(const Order& order, const EventContext& ctx) {
    if (order.version == 0) return conflict("Order not found");
    if (order.status == OrderStatus::Processing) return conflict("Order is already Processing");
    if (order.status != OrderStatus::Pending)
        return conflict(std::string("Order must be in Pending status, current: ") + statusName(order.status));
    EventRecord e = baseEvent(eventtype::kProcessing, order, ctx);
    e.dataJson = "{}";
    return e;
}

Result<EventRecord> decideComplete(const Order& order, const EventContext& ctx) {
    if (order.version == 0) return conflict("Order not found");
    if (order.status != OrderStatus::Processing)
        return conflict(std::string("Order must be in Processing status, current: ") + statusName(order.status));
    EventRecord e = baseEvent(eventtype::kCompleted, order, ctx);
    sdk::JsonWriter w(e.dataJson);
    w.beginObject().key("completedAt").value(sdk::formatTimestamp(ctx.nowMs)).endObject();
    return e;
}

Result<EventRecord> decideCancel(const Order& order, const std::string& reason, const EventContext& ctx) {
    if (order.version == 0) return conflict("Order not found");
    if (order.status == OrderStatus::Completed) return conflict("Cannot cancel completed order");
    if (order.status == OrderStatus::Cancelled) return conflict("Order is already cancelled");
    EventRecord e = baseEvent(eventtype::kCancelled, order, ctx);
    sdk::JsonWriter w(e.dataJson);
    w.beginObject().key("reason").value(reason).endObject();
    return e;
}

void writeItems(sdk::JsonWriter& w, const std::vector<OrderItem>& items) {
    w.beginArray();
    for (const auto& item : items) {
        w.beginObject();
        w.key("productName").value(item.productName);
        w.key("quantity").value(item.quantity);
        w.key("price").cents(item.priceCents);
        w.endObject();
    }
    w.endArray();
}

Status parseItems(const sdk::JsonValue& array, std::vector<OrderItem>* out) {
    if (!array.isArray()) return bad("items is not an array");
    out->clear();
    out->reserve(array.items().size());
    for (const auto& v : array.items()) {
        const auto* name = v.find("productName");
        const auto* qty = v.find("quantity");
        const auto* price = v.find("price");
        OrderItem item;
        if (!name || !name->isString() || !qty || !qty->asInt64(&item.quantity) || !price || !price->isNumber())
            return bad("malformed item");
        const auto cents = parseCents(price->numberText());
        if (!cents) return bad("malformed item price");
        item.productName = name->asString();
        item.priceCents = *cents;
        out->push_back(std::move(item));
    }
    return Status::ok();
}

namespace {

Status applyCreated(Order& order, const EventRecord& e) {
    auto parsed = sdk::parseJson(e.dataJson);
    if (!parsed) return bad("OrderCreated data is not JSON: " + parsed.status().message);
    const auto* name = parsed->find("customerName");
    const auto* items = parsed->find("items");
    const auto* total = parsed->find("totalAmount");
    if (!name || !name->isString() || !items || !total || !total->isNumber())
        return bad("OrderCreated data is incomplete");
    Order next;
    if (Status s = parseItems(*items, &next.items); !s) return s;
    const auto cents = parseCents(total->numberText());
    if (!cents) {
        // Totals may exceed a single price's maximum; recompute from the items instead.
        NewOrder n{name->asString(), next.items};
        next.totalCents = n.totalCents();
    } else {
        next.totalCents = *cents;
    }
    next.id = e.orderId;
    next.orderNumber = e.orderNumber;
    next.customerName = name->asString();
    next.status = OrderStatus::Pending;
    next.version = 1;
    next.createdAtMs = e.occurredAtMs;
    order = std::move(next);
    return Status::ok();
}

}  // namespace

Status applyEvent(Order& order, const EventRecord& e) {
    if (e.version != order.version + 1)
        return bad("event " + e.type + " of order " + std::to_string(e.orderId) + " has version " +
                   std::to_string(e.version) + ", expected " + std::to_string(order.version + 1));
    if (e.type == eventtype::kCreated) return applyCreated(order, e);
    if (e.type == eventtype::kProcessing) {
        order.status = OrderStatus::Processing;
        order.processedAtMs = e.occurredAtMs;
    } else if (e.type == eventtype::kCompleted) {
        order.status = OrderStatus::Completed;
        order.completedAtMs = e.occurredAtMs;
    } else if (e.type == eventtype::kCancelled) {
        auto parsed = sdk::parseJson(e.dataJson);
        const auto* reason = parsed ? parsed->find("reason") : nullptr;
        order.status = OrderStatus::Cancelled;
        order.cancelledAtMs = e.occurredAtMs;
        order.hasCancelReason = reason && reason->isString();
        order.cancelReason = order.hasCancelReason ? reason->asString() : std::string();
    } else {
        return bad("unknown event type " + e.type);
    }
    order.version = e.version;
    return Status::ok();
}

Result<Order> replay(const std::vector<EventRecord>& history) {
    if (history.empty()) return Result<Order>(StatusCode::NotFound, "Order not found");
    Order order;
    for (const auto& e : history)
        if (Status s = applyEvent(order, e); !s) return Result<Order>(std::move(s));
    return order;
}

namespace {
void timestampOrNull(sdk::JsonWriter& w, const char* key, int64_t ms) {
    w.key(key);
    if (ms == 0) w.null();
    else w.value(sdk::formatTimestamp(ms));
}
}  // namespace

void writeOrderDocument(sdk::JsonWriter& w, const Order& o, std::string_view itemsJson) {
    w.beginObject();
    w.key("id").value(o.id);
    w.key("orderNumber").value(o.orderNumber);
    w.key("customerName").value(o.customerName);
    w.key("totalAmount").cents(o.totalCents);
    w.key("status").value(statusName(o.status));
    w.key("version").value(o.version);
    w.key("items");
    if (itemsJson.empty()) writeItems(w, o.items);
    else w.raw(itemsJson);
    timestampOrNull(w, "createdAt", o.createdAtMs);
    timestampOrNull(w, "processedAt", o.processedAtMs);
    timestampOrNull(w, "completedAt", o.completedAtMs);
    timestampOrNull(w, "cancelledAt", o.cancelledAtMs);
    w.key("cancelReason");
    if (o.hasCancelReason) w.value(o.cancelReason);
    else w.null();
    w.endObject();
}

int64_t documentVersion(std::string_view document) noexcept {
    constexpr std::string_view kKey = "\"version\":";
    const size_t at = document.find(kKey);
    if (at == std::string_view::npos) return 0;
    int64_t version = 0;
    for (size_t i = at + kKey.size(); i < document.size() && document[i] >= '0' && document[i] <= '9'; ++i) {
        if (version > (INT64_MAX - 9) / 10) return 0;
        version = version * 10 + (document[i] - '0');
    }
    return version;
}

}  // namespace ordersystem::plugins::orders::domain
