// Contract: a webhook receiver's Retry-After header (RFC 9110 §10.2.3): delay-seconds or an
// IMF-fixdate. Network input: anything else is ignored (-1), never an exception.
#pragma once

#include <cstdint>
#include <string_view>

namespace ordersystem::plugins::notifications {

/// Milliseconds from nowMs until the time value names (0 when it is past), or -1 when it is not a
/// valid Retry-After. A wait beyond a day is taken as a day.
int64_t parseRetryAfterMs(std::string_view value, int64_t nowMs) noexcept;

}  // namespace ordersystem::plugins::notifications
