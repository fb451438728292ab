// The webhook body: the event document, or a CloudEvents envelope around it.
#include "WebhookPayload.h"

#include "ordersystem/sdk/json.h"
#include "ordersystem/sdk/util.h"

namespace ordersystem::plugins::notifications {

sdk::Result<PayloadFormat> parsePayloadFormat(std::string_view value) {
    if (value == "native" || value.empty()) return PayloadFormat::Native;
    if (value == "cloudevents") return PayloadFormat::CloudEvents;
    return sdk::Status(sdk::StatusCode::InvalidConfig,
                       "notifications.format = '" + std::string(value) + "' must be native or cloudevents");
}

std::string payloadBody(const sdk::EventRecord& event, PayloadFormat format) {
    if (format == PayloadFormat::Native) return sdk::toJson(event);
    std::string out;
    sdk::JsonWriter w(out);
    w.beginObject();
    w.key("specversion").value("1.0");
    w.key("id").value(event.eventId);
    w.key("source").value("ordersystem/" + event.nodeId);
    w.key("type").value("ordersystem." + event.type);
    w.key("subject").value(std::to_string(event.orderId));
    w.key("time").value(sdk::formatTimestamp(event.occurredAtMs));
    w.key("datacontenttype").value("application/json");
    w.key("data").raw(sdk::toJson(event));
    w.endObject();
    return out;
}

const char* payloadContentType(PayloadFormat format) noexcept {
    return format == PayloadFormat::CloudEvents ? "application/cloudevents+json" : "application/json";
}

}  // namespace ordersystem::plugins::notifications
