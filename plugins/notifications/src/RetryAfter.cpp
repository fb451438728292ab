#include "RetryAfter.h"

#include <algorithm>
#include <array>
#include <ctime>

namespace ordersystem::plugins::notifications {

namespace {
constexpr int64_t kDayMs = 24LL * 3600 * 1000;

std::string_view trimmed(std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
}

bool digits(std::string_view v, size_t from, size_t count, int* out) {
    if (from + count > v.size()) return false;
    int n = 0;
    for (size_t i = from; i < from + count; ++i) {
        if (v[i] < '0' || v[i] > '9') return false;
        n = n * 10 + (v[i] - '0');
    }
    *out = n;
    return true;
}

/// "Sun, 06 Nov 1994 08:49:37 GMT" (the only date form a sender may use) to Unix ms, or -1.
int64_t imfFixdateMs(std::string_view v) {
    static constexpr std::array<std::string_view, 7> kDays = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
    static constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    if (v.size() != 29 || v.substr(3, 2) != ", " || v[7] != ' ' || v[11] != ' ' || v[16] != ' ' || v[19] != ':' ||
        v[22] != ':' || v.substr(25) != " GMT")
        return -1;
    bool dayName = false;
    for (auto d : kDays) dayName = dayName || v.substr(0, 3) == d;
    int month = -1;
    for (size_t i = 0; i < kMonths.size(); ++i)
        if (v.substr(8, 3) == kMonths[i]) month = static_cast<int>(i);
    int day = 0, year = 0, hour = 0, minute = 0, second = 0;
    if (!dayName || month < 0 || !digits(v, 5, 2, &day) || !digits(v, 12, 4, &year) || !digits(v, 17, 2, &hour) ||
        !digits(v, 20, 2, &minute) || !digits(v, 23, 2, &second))
        return -1;
    if (day < 1 || day > 31 || year < 1970 || hour > 23 || minute > 59 || second > 60) return -1;
    std::tm tm{};
    tm.tm_year = year - 1900;
    tm.tm_mon = month;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    const time_t t = timegm(&tm);
    return t < 0 ? -1 : static_cast<int64_t>(t) * 1000;
}
}  // namespace

int64_t parseRetryAfterMs(std::string_view value, int64_t nowMs) noexcept {
    const std::string_view v = trimmed(value);
    if (v.empty() || v.size() > 64) return -1;
    if (v.front() >= '0' && v.front() <= '9') {
        int64_t seconds = 0;
        for (const char c : v) {
            if (c < '0' || c > '9') return -1;
            if (seconds < kDayMs / 1000) seconds = seconds * 10 + (c - '0');
        }
        return std::min(seconds * 1000, kDayMs);
    }
    const int64_t at = imfFixdateMs(v);
    if (at < 0) return -1;
    return at > nowMs ? std::min(at - nowMs, kDayMs) : 0;
}

}  // namespace ordersystem::plugins::notifications
