// Clocks, timestamps, UUIDs, thread priority and problem documents (see ordersystem/sdk/util.h).
#include "ordersystem/sdk/util.h"

#include "Random.h"

#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <optional>
#include <random>

#include "ordersystem/sdk/json.h"

namespace ordersystem::sdk {

int64_t nowMs() noexcept {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

namespace {

/// A UTC instant split into calendar fields (proleptic Gregorian, any int64 milliseconds).
struct UtcFields {
    int64_t year;
    unsigned month, day, hour, minute, second, millis;
};

/// H. Hinnant's civil_from_days: no libc call and no lock, unlike gmtime_r (time zone state).
UtcFields utcFields(int64_t epochMs) noexcept {
    UtcFields f{};
    constexpr int64_t kMsPerDay = 86400000;
    // Floor division without overflow: the day of -1 ms is day -1, not day 0.
    int64_t days = epochMs / kMsPerDay;
    int64_t msOfDay = epochMs % kMsPerDay;
    if (msOfDay < 0) {
        msOfDay += kMsPerDay;
        --days;
    }
    const int64_t z = days + 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    f.day = doy - (153 * mp + 2) / 5 + 1;
    f.month = mp < 10 ? mp + 3 : mp - 9;
    f.year = static_cast<int64_t>(yoe) + era * 400 + (f.month <= 2 ? 1 : 0);
    const auto ms = static_cast<unsigned>(msOfDay);
    f.hour = ms / 3600000;
    f.minute = ms / 60000 % 60;
    f.second = ms / 1000 % 60;
    f.millis = ms % 1000;
    return f;
}

/// Writes value in exactly width decimal digits. Template: 32-bit division where it suffices.
template <class Unsigned>
char* digits(char* p, Unsigned value, int width) noexcept {
    for (int i = width - 1; i >= 0; --i) {
        p[i] = static_cast<char>('0' + value % 10);
        value /= 10;
    }
    return p + width;
}

/// The year as printf's "%04d" writes it: at least four characters, a sign counting as one.
char* yearDigits(char* p, int64_t year) noexcept {
    if (year >= 0 && year <= 9999) return digits(p, static_cast<unsigned>(year), 4);
    if (year < 0) *p++ = '-';
    const uint64_t magnitude = year < 0 ? 0 - static_cast<uint64_t>(year) : static_cast<uint64_t>(year);
    int width = 1;
    for (uint64_t rest = magnitude / 10; rest > 0; rest /= 10) ++width;
    return digits(p, magnitude, std::max(width, year < 0 ? 3 : 4));
}

/// "yyyy-MM-ddTHH:mm:ss" (RFC 3339) or "yyyyMMddHHmmss" (order numbers); returns the end.
char* dateAndTime(char* p, const UtcFields& f, bool rfc3339) noexcept {
    const unsigned fields[] = {f.month, f.day, f.hour, f.minute, f.second};
    const char separators[] = "--T::";
    p = yearDigits(p, f.year);
    for (size_t i = 0; i < 5; ++i) {
        if (rfc3339) *p++ = separators[i];
        p = digits(p, fields[i], 2);
    }
    return p;
}

}  // namespace

std::string formatTimestamp(int64_t epochMs) {
    const UtcFields f = utcFields(epochMs);
    char buf[48];
    char* p = dateAndTime(buf, f, true);
    *p++ = '.';
    p = digits(p, f.millis, 3);
    *p++ = 'Z';
    return std::string(buf, static_cast<size_t>(p - buf));
}

int64_t parseTimestamp(std::string_view text) noexcept {
    int y, mo, d, h, mi, s, ms;
    if (text.size() != 24) return -1;
    const std::string copy(text);
    if (std::sscanf(copy.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &y, &mo, &d, &h, &mi, &s, &ms) != 7) return -1;
    std::tm tm{};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    return static_cast<int64_t>(timegm(&tm)) * 1000 + ms;
}

namespace {
/// Reads `count` digits at text[*pos] into *out.
bool digits(std::string_view text, size_t* pos, size_t count, int* out) noexcept {
    if (*pos + count > text.size()) return false;
    int v = 0;
    for (size_t i = 0; i < count; ++i) {
        const char c = text[*pos + i];
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    *pos += count;
    *out = v;
    return true;
}

/// The character c at text[*pos] (a letter in either case, as RFC 3339 allows).
bool at(std::string_view text, size_t* pos, char c) noexcept {
    if (*pos >= text.size()) return false;
    const char got = text[*pos];
    const bool letter = c >= 'A' && c <= 'Z';
    if (got != c && !(letter && got == c - 'A' + 'a')) return false;
    ++*pos;
    return true;
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t daysFromCivil(int64_t y, int m, int d) noexcept {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int daysInMonth(int y, int m) noexcept {
    static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : kDays[m - 1];
}
}  // namespace

bool parseRfc3339(std::string_view t, int64_t* epochMs) noexcept {
    size_t p = 0;
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
    if (!digits(t, &p, 4, &y) || !at(t, &p, '-') || !digits(t, &p, 2, &mo) || !at(t, &p, '-') ||
        !digits(t, &p, 2, &d) || !at(t, &p, 'T') || !digits(t, &p, 2, &h) || !at(t, &p, ':') ||
        !digits(t, &p, 2, &mi) || !at(t, &p, ':') || !digits(t, &p, 2, &s))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || s > 60) return false;
    int ms = 0;
    if (p < t.size() && t[p] == '.') {
        ++p;
        size_t n = 0;
        for (; p < t.size() && t[p] >= '0' && t[p] <= '9'; ++p, ++n)
            if (n < 3) ms = ms * 10 + (t[p] - '0');
        if (n == 0) return false;
        for (; n < 3; ++n) ms *= 10;
    }
    int offsetMin = 0;
    if (at(t, &p, 'Z')) {
    } else if (p < t.size() && (t[p] == '+' || t[p] == '-')) {
        const int sign = t[p++] == '-' ? -1 : 1;
        int oh = 0, om = 0;
        if (!digits(t, &p, 2, &oh) || !at(t, &p, ':') || !digits(t, &p, 2, &om) || oh > 23 || om > 59) return false;
        offsetMin = sign * (oh * 60 + om);
    } else {
        return false;
    }
    if (p != t.size()) return false;
    // A leap second (:60) is read as the last millisecond of its minute's 59th second.
    const int64_t seconds = daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + std::min(s, 59) - offsetMin * 60;
    *epochMs = seconds * 1000 + (s == 60 ? 999 : ms);
    return true;
}

std::string formatCompactUtc(int64_t epochMs) {
    char buf[40];
    const char* end = dateAndTime(buf, utcFields(epochMs), false);
    return std::string(buf, static_cast<size_t>(end - buf));
}

namespace {
/// Linux: PRIO_PROCESS with a thread id reads and sets that thread's nice value only.
id_t thisThreadId() noexcept { return static_cast<id_t>(syscall(SYS_gettid)); }

/// This thread's nice value, or none when the OS does not say.
std::optional<int> thisThreadNice() noexcept {
    errno = 0;
    const int current = getpriority(PRIO_PROCESS, thisThreadId());
    if (current == -1 && errno != 0) return std::nullopt;
    return current;
}

/// The nice value of background work for a thread whose own is `nice` (19 at most).
int backgroundNiceFrom(int nice) noexcept { return std::min(19, nice + kBackgroundNice); }
}  // namespace

void runAsBackgroundThread() noexcept {
    if (const auto current = thisThreadNice())
        (void)setpriority(PRIO_PROCESS, thisThreadId(), backgroundNiceFrom(*current));
}

CatchUpPriority::CatchUpPriority(uint64_t behindHigh, uint64_t behindLow) noexcept
    : _high(behindHigh), _low(std::min(behindLow, behindHigh)) {
    const auto current = thisThreadNice();
    if (!current) return;
    _normal = *current;
    // Lowering a nice value again is allowed to root / CAP_SYS_NICE (geteuid() stands in for
    // both) or down to 20 - RLIMIT_NICE.
    rlimit limit{};
    const bool mayLower =
        geteuid() == 0 || (getrlimit(RLIMIT_NICE, &limit) == 0 &&
                           (limit.rlim_cur == RLIM_INFINITY || 20 - static_cast<int>(limit.rlim_cur) <= _normal));
    if (!mayLower) return;
    _adaptive = true;
    setNice(backgroundNiceFrom(_normal));
    _background = true;
}

void CatchUpPriority::update(uint64_t behind) noexcept {
    if (!_adaptive) return;
    if (_background && behind >= _high) {
        setNice(_normal);
        _background = false;
    } else if (!_background && behind <= _low) {
        setNice(backgroundNiceFrom(_normal));
        _background = true;
    }
}

void CatchUpPriority::setNice(int value) noexcept { (void)setpriority(PRIO_PROCESS, thisThreadId(), value); }

void nameThisThread(std::string_view name) noexcept {
    char buf[16];
    const size_t n = std::min(name.size(), sizeof buf - 1);
    std::memcpy(buf, name.data(), n);
    buf[n] = '\0';
    (void)pthread_setname_np(pthread_self(), buf);
}

uint64_t detail::randomWord() noexcept {
    thread_local std::mt19937_64 engine([] {
        std::random_device rd;
        std::seed_seq seq{rd(), rd(), rd(), rd(), rd(), rd()};
        return std::mt19937_64(seq);
    }());
    return engine();
}

std::string newUuid() {
    uint64_t hi = detail::randomWord();
    uint64_t lo = detail::randomWord();
    hi = (hi & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;  // version 4
    lo = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // variant 10
    char buf[40];
    std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                  static_cast<unsigned>((hi >> 16) & 0xFFFF), static_cast<unsigned>(hi & 0xFFFF),
                  static_cast<unsigned>(lo >> 48), static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFULL));
    return buf;
}

bool parseLimitParam(const HttpRequest& request, int64_t defaultLimit, int64_t maxLimit, int64_t* limit) noexcept {
    *limit = defaultLimit;
    const std::string* raw = request.query("limit");
    if (!raw) return true;
    if (raw->empty() || raw->size() > 4) return false;
    int64_t v = 0;
    for (const char c : *raw) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    if (v < 1 || v > maxLimit) return false;
    *limit = v;
    return true;
}

const char* reasonPhrase(int status) noexcept {
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 412: return "Precondition Failed";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Error";
    }
}

void writeProblem(HttpResponse& response, int status, std::string_view detail, const std::vector<FieldError>& errors,
                  std::string_view title) {
    response.status = status;
    response.contentType = "application/problem+json";
    response.body.clear();
    JsonWriter w(response.body);
    w.beginObject();
    w.key("type").value("about:blank");
    w.key("title").value(title.empty() ? std::string_view(reasonPhrase(status)) : title);
    w.key("status").value(static_cast<int64_t>(status));
    w.key("detail").value(detail);
    if (!errors.empty()) {
        w.key("errors").beginArray();
        for (const auto& e : errors) {
            w.beginObject();
            w.key("field").value(e.field);
            w.key("message").value(e.message);
            w.endObject();
        }
        w.endArray();
    }
    w.endObject();
    if (status == 503) response.setHeader("Retry-After", "1");
}

void writeProblem(HttpResponse& response, const Status& status) {
    writeProblem(response, httpStatusFor(status.code), status.message);
}

}  // namespace ordersystem::sdk
