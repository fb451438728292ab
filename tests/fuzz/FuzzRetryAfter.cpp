// libFuzzer target: a webhook receiver's Retry-After (plugins/notifications/src/RetryAfter.h).
// Invariants: the answer is -1 or 0..one day; delay-seconds print back to what they say (up to a
// day); an accepted date answers the same whatever is around it in spaces.
#include <cstdint>
#include <string>
#include <string_view>

#include "FuzzCheck.h"
#include "RetryAfter.h"

using ordersystem::plugins::notifications::parseRetryAfterMs;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string input(reinterpret_cast<const char*>(data), size);
    constexpr int64_t kNow = 1765000000000;  // a fixed "now" keeps runs reproducible
    constexpr int64_t kDayMs = 24LL * 3600 * 1000;
    const int64_t ms = parseRetryAfterMs(input, kNow);
    check(ms == -1 || (ms >= 0 && ms <= kDayMs));
    if (ms < 0) return 0;
    check(parseRetryAfterMs(" " + input + "\t", kNow) == ms);
    const bool allDigits = !input.empty() && input.find_first_not_of("0123456789 \t") == std::string::npos;
    if (allDigits && ms < kDayMs) check(ms % 1000 == 0 && std::stoll(input) * 1000 == ms);
    return 0;
}
