// The event document of CONTRACT.md §4, written and read in one place.
#include "ordersystem/sdk/events.h"
#include "ordersystem/sdk/json.h"
#include "ordersystem/sdk/util.h"

namespace ordersystem::sdk {

std::string toJson(const EventRecord& e) {
    std::string out;
    out.reserve(192 + e.dataJson.size());
    JsonWriter w(out);
    w.beginObject();
    w.key("eventId").value(e.eventId);
    w.key("type").value(e.type);
    w.key("orderId").value(e.orderId);
    w.key("orderNumber").value(e.orderNumber);
    w.key("version").value(e.version);
    w.key("occurredAt").value(formatTimestamp(e.occurredAtMs));
    w.key("nodeId").value(e.nodeId);
    w.key("data").raw(e.dataJson.empty() ? std::string_view("{}") : std::string_view(e.dataJson));
    if (!e.metadataJson.empty()) w.key("metadata").raw(e.metadataJson);
    w.endObject();
    return out;
}

Result<EventRecord> eventFromJson(std::string_view json) {
    auto parsed = parseJson(json);
    if (!parsed) return parsed.status();
    const JsonValue& root = parsed.value();
    if (!root.isObject()) return Status(StatusCode::InvalidArgument, "event is not a JSON object");
    EventRecord e;
    auto str = [&](const char* name, std::string& out) {
        const JsonValue* v = root.find(name);
        if (!v || !v->isString()) return false;
        out = v->asString();
        return true;
    };
    auto num = [&](const char* name, int64_t& out) {
        const JsonValue* v = root.find(name);
        return v && v->asInt64(&out);
    };
    std::string occurredAt;
    if (!str("eventId", e.eventId) || !str("type", e.type) || !num("orderId", e.orderId) ||
        !str("orderNumber", e.orderNumber) || !num("version", e.version) || !str("occurredAt", occurredAt) ||
        !str("nodeId", e.nodeId))
        return Status(StatusCode::InvalidArgument, "event document lacks a required member");
    e.occurredAtMs = parseTimestamp(occurredAt);
    if (e.occurredAtMs < 0) return Status(StatusCode::InvalidArgument, "event occurredAt is malformed");
    const JsonValue* data = root.find("data");
    if (data && data->isObject()) {
        JsonWriter(e.dataJson).value(*data);
    } else {
        e.dataJson = "{}";
    }
    if (const JsonValue* metadata = root.find("metadata"); metadata && metadata->isObject())
        JsonWriter(e.metadataJson).value(*metadata);
    return e;
}

}  // namespace ordersystem::sdk
