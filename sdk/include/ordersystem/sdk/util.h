// Contract: small stateless helpers every plugin needs: clocks, timestamps, UUIDs, hashes, thread
// priority, problem documents. All thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ordersystem/sdk/http.h"
#include "ordersystem/sdk/status.h"

namespace ordersystem::sdk {

/// Wall clock, Unix epoch milliseconds (UTC).
int64_t nowMs() noexcept;
/// RFC 3339 UTC with milliseconds and Z: "2025-10-11T19:21:45.123Z". The project's one
/// timestamp formatter; no libc call (it runs for every order document). Years outside
/// 0000-9999, which RFC 3339 cannot write, come out as printf's "%04d" writes them.
std::string formatTimestamp(int64_t epochMs);
/// Parses formatTimestamp()'s format back; -1 when malformed.
int64_t parseTimestamp(std::string_view text) noexcept;
/// Parses any RFC 3339 date-time ("2025-10-11T19:21:45Z", "...45.5+02:00"; fractions past
/// milliseconds are cut) into *epochMs; false when malformed or out of range.
bool parseRfc3339(std::string_view text, int64_t* epochMs) noexcept;
/// "yyyyMMddHHmmss" in UTC, for order numbers.
std::string formatCompactUtc(int64_t epochMs);
/// A random (version 4) UUID in canonical lower-case form.
std::string newUuid();
/// SHA-256 of data (OpenSSL: the CPU's SHA instructions where it has them). Throws
/// std::bad_alloc when OpenSSL cannot allocate.
using Sha256 = std::array<unsigned char, 32>;
Sha256 sha256(std::string_view data);
/// The same as 64 lower-case hex digits.
std::string sha256Hex(std::string_view data);
/// HMAC-SHA256 (RFC 2104) of data under key, with OpenSSL. Throws std::bad_alloc when OpenSSL
/// cannot allocate, std::length_error for a key of 2 GiB or more.
Sha256 hmacSha256(std::string_view key, std::string_view data);
/// FNV-1a 64-bit hash as 16 hex digits, with this project's offset basis 1469598103934665603
/// (not the standard 14695981039346656037): not collision-resistant, and never to change, since
/// what it made is stored (NATS KV keys of long texts, older builds' idempotency fingerprints).
std::string fnv1aHex(std::string_view data);

/// Marks the calling thread as background work (projections, reactions): its nice value goes up
/// by kBackgroundNice (at most 19), so when the CPUs are busy the kernel runs the threads a
/// caller is waiting for (HTTP loops, the log's committer) first. Background threads still get
/// their share; they only yield on contention. Best effort: never fails, never raises priority.
void runAsBackgroundThread() noexcept;
inline constexpr int kBackgroundNice = 10;

/// For a read model's thread, which nobody waits for while it keeps up but whose lag becomes
/// stale reads when it does not: it runs as background work (as above) while few events wait,
/// at its creator's priority once `behindHigh` or more wait, and as background work again once at
/// most `behindLow` wait. Niced for good, such threads starve on a saturated machine; at normal
/// priority for good they take CPU from the event loops (docs/performance.md). Returning to normal priority needs root,
/// CAP_SYS_NICE or RLIMIT_NICE (systemd: LimitNICE=); without that the thread is never niced.
/// Construct and call update() on the thread itself. Best effort: never fails.
class CatchUpPriority {
public:
    explicit CatchUpPriority(uint64_t behindHigh = 5000, uint64_t behindLow = 500) noexcept;
    /// After each batch: how many events wait now (an estimate is enough).
    void update(uint64_t behind) noexcept;
    /// False when this thread may not return to normal priority (then it stays there).
    bool adaptive() const noexcept { return _adaptive; }
    bool background() const noexcept { return _background; }

private:
    void setNice(int value) noexcept;
    uint64_t _high;
    uint64_t _low;
    int _normal = 0;
    bool _adaptive = false;
    bool _background = false;
};

/// Names the calling thread for operators (top -H, ps -L, /proc/<pid>/task/*/comm, perf):
/// "http-loop", "log-commit", "proj:<projection>"... Linux keeps 15 bytes; longer names are cut.
/// Best effort: never fails.
void nameThisThread(std::string_view name) noexcept;

struct FieldError {
    std::string field;
    std::string message;
};

/// Fills response with an RFC 9457 problem document (application/problem+json).
/// title defaults to the HTTP reason phrase of status. A 503 also says `Retry-After: 1`.
/// A list route's ?limit=: absent gives defaultLimit; false when present and not a decimal integer
/// from 1 to maxLimit (at most 4 digits).
bool parseLimitParam(const HttpRequest& request, int64_t defaultLimit, int64_t maxLimit, int64_t* limit) noexcept;

void writeProblem(HttpResponse& response, int status, std::string_view detail,
                  const std::vector<FieldError>& errors = {}, std::string_view title = {});
/// The same from a Status (httpStatusFor(status.code), detail = status.message).
void writeProblem(HttpResponse& response, const Status& status);
/// Standard reason phrase, e.g. 404 -> "Not Found".
const char* reasonPhrase(int status) noexcept;

}  // namespace ordersystem::sdk
