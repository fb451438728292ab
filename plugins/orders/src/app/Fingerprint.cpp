// Request-body fingerprints for Idempotency-Keys (see Fingerprint.h).
#include "app/Fingerprint.h"

#include "ordersystem/sdk/util.h"

namespace ordersystem::plugins::orders::app {

namespace {
/// sdk::fnv1aHex's length; a SHA-256 fingerprint has 64 digits.
constexpr size_t kLegacyFingerprintLength = 16;
}  // namespace

std::string bodyFingerprint(std::string_view body) { return sdk::sha256Hex(body); }

bool fingerprintMatches(std::string_view stored, std::string_view fingerprint, std::string_view body) {
    if (stored.size() == kLegacyFingerprintLength) return stored == sdk::fnv1aHex(body);
    return stored == fingerprint;
}

}  // namespace ordersystem::plugins::orders::app
