// Contract: what an Idempotency-Key remembers of its request body, so that a repeat with the same
// body replays the first answer and a reuse with another body is told apart (422). Pure
// functions, any thread.
#pragma once

#include <string>
#include <string_view>

namespace ordersystem::plugins::orders::app {

/// What a claim stores: SHA-256 of the body, 64 lower-case hex digits.
std::string bodyFingerprint(std::string_view body);

/// True when `stored` was made from `body` (whose bodyFingerprint() is `fingerprint`): the same
/// SHA-256, or the 16-hex-digit FNV-1a fingerprint that keys claimed by builds before SHA-256
/// still hold (the transports keep a key up to 24 h, so a retry across an upgrade must match).
bool fingerprintMatches(std::string_view stored, std::string_view fingerprint, std::string_view body);

}  // namespace ordersystem::plugins::orders::app
