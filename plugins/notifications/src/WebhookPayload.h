// Contract: what one webhook POST carries for an event, in the configured [notifications] format:
// `native` is the event document (sdk::toJson) as application/json; `cloudevents` wraps it as
// the `data` of a CloudEvents 1.0 structured-mode document (application/cloudevents+json).
// Pure functions of their arguments, safe on any thread.
#pragma once

#include <string>
#include <string_view>

#include "ordersystem/sdk/events.h"
#include "ordersystem/sdk/status.h"

namespace ordersystem::plugins::notifications {

enum class PayloadFormat { Native, CloudEvents };

/// Reads [notifications] format: "native" (also when empty, like an unset key) or "cloudevents";
/// InvalidConfig naming the key otherwise.
sdk::Result<PayloadFormat> parsePayloadFormat(std::string_view value);

/// The exact bytes POSTed (and signed) for event.
std::string payloadBody(const sdk::EventRecord& event, PayloadFormat format);

/// The Content-Type of payloadBody().
const char* payloadContentType(PayloadFormat format) noexcept;

}  // namespace ordersystem::plugins::notifications
