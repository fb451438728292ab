#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <limits>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "ordersystem/sdk/trace.h"
#include "ordersystem/sdk/util.h"

using namespace ordersystem::sdk;

TEST(Util, TimestampsAreRfc3339UtcWithMillisecondsAndParseBack) {
    EXPECT_EQ(formatTimestamp(0), "1970-01-01T00:00:00.000Z");
    EXPECT_EQ(formatTimestamp(1760210505123), "2025-10-11T19:21:45.123Z");
    EXPECT_EQ(formatTimestamp(951868799999LL), "2000-02-29T23:59:59.999Z");
    EXPECT_EQ(formatTimestamp(-1), "1969-12-31T23:59:59.999Z");
    EXPECT_EQ(parseTimestamp("2025-10-11T19:21:45.123Z"), 1760210505123);
    EXPECT_EQ(parseTimestamp("yesterday"), -1);
    EXPECT_EQ(formatCompactUtc(1760210505123), "20251011192145");
}

namespace {
/// The same instant as libc writes it (gmtime_r, printf's %04d year): the reference.
std::string libcTimestamp(int64_t epochMs, bool compact) {
    int64_t seconds = epochMs / 1000;
    int64_t ms = epochMs % 1000;
    if (ms < 0) {
        ms += 1000;
        --seconds;
    }
    const auto t = static_cast<std::time_t>(seconds);
    std::tm tm{};
    if (gmtime_r(&t, &tm) == nullptr) return "gmtime_r failed";
    char buf[64];
    if (compact)
        std::snprintf(buf, sizeof buf, "%04d%02d%02d%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                      tm.tm_hour, tm.tm_min, tm.tm_sec);
    else
        std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                      tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
    return buf;
}

void expectSameAsLibc(int64_t epochMs) {
    ASSERT_EQ(formatTimestamp(epochMs), libcTimestamp(epochMs, false)) << epochMs;
    ASSERT_EQ(formatCompactUtc(epochMs), libcTimestamp(epochMs, true)) << epochMs;
}
}  // namespace

TEST(Util, TimestampsAreTheTextLibcWritesForEveryInstant) {
    // Millisecond and day boundaries around the epoch, leap days, centuries, years 0 and 9999.
    for (const int64_t ms : {int64_t{0},
                             int64_t{1},
                             int64_t{-1},
                             int64_t{999},
                             int64_t{-999},
                             int64_t{1000},
                             int64_t{-1000},
                             int64_t{-1001},
                             int64_t{86399999},
                             int64_t{-86400000},
                             int64_t{-86400001},
                             int64_t{951782400000},
                             int64_t{4107542399999},
                             int64_t{-2203891200001},
                             int64_t{-62167219200000},
                             int64_t{-62167219200001},
                             int64_t{253402300799999},
                             int64_t{253402300800000},
                             std::numeric_limits<int64_t>::max(),
                             std::numeric_limits<int64_t>::min()})
        expectSameAsLibc(ms);
    // Every day from 1600 to 2400 (two full 400-year leap cycles) at an odd time of day.
    for (int64_t day = -135140; day < 157054; ++day) expectSameAsLibc(day * 86400000 + 45296789);
    // Random instants, near now and across the whole range.
    std::mt19937_64 random(20251011);
    for (int i = 0; i < 100000; ++i) {
        expectSameAsLibc(static_cast<int64_t>(random() % 8000000000000ULL));
        expectSameAsLibc(static_cast<int64_t>(random()));
    }
}

TEST(Util, HashesAreTheStandardDigests) {
    EXPECT_EQ(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sha256("abc")[0], 0xba);
    // Not the standard FNV offset basis (see util.h), and never to change: stored names use it.
    EXPECT_EQ(fnv1aHex(""), "14650fb0739d0383");
    EXPECT_EQ(fnv1aHex("a"), "44bd8ad473cd9906");
}

TEST(Util, HmacSha256IsTheStandardMac) {
    auto hex = [](const Sha256& mac) {
        std::string out;
        char byte[3];
        for (const unsigned char b : mac) {
            std::snprintf(byte, sizeof byte, "%02x", b);
            out += byte;
        }
        return out;
    };
    // RFC 4231 test case 2 (also: printf 'what do ya want for nothing?' | openssl dgst -sha256 -hmac Jefe).
    EXPECT_EQ(hex(hmacSha256("Jefe", "what do ya want for nothing?")),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    // RFC 4231 test case 6: a key longer than the block size is hashed first.
    EXPECT_EQ(hex(hmacSha256(std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First")),
              "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(Util, UuidsAreVersion4AndDistinct) {
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        const std::string u = newUuid();
        ASSERT_EQ(u.size(), 36u);
        EXPECT_EQ(u[14], '4');
        EXPECT_TRUE(u[19] == '8' || u[19] == '9' || u[19] == 'a' || u[19] == 'b');
        seen.insert(u);
    }
    EXPECT_EQ(seen.size(), 1000u);
}

namespace {
int niceOfThisThread() { return getpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid))); }
}  // namespace

TEST(Util, AThreadIsNamedAsAskedAndALongNameIsCutTo15Bytes) {
    char shortName[16] = {0};
    char longName[16] = {0};
    std::thread([&] {
        nameThisThread("log-commit");
        pthread_getname_np(pthread_self(), shortName, sizeof shortName);
        nameThisThread("proj:orders-read-model");
        pthread_getname_np(pthread_self(), longName, sizeof longName);
    }).join();
    EXPECT_STREQ(shortName, "log-commit");
    EXPECT_STREQ(longName, "proj:orders-rea");
}

TEST(Util, ABackgroundThreadYieldsToItsCreatorButNeverGoesBeyondNice19) {
    const int creator = niceOfThisThread();
    int background = -100;
    int twice = -100;
    std::thread([&] {
        runAsBackgroundThread();
        background = niceOfThisThread();
        runAsBackgroundThread();
        runAsBackgroundThread();
        twice = niceOfThisThread();
    }).join();
    EXPECT_EQ(background, std::min(19, creator + kBackgroundNice));
    EXPECT_EQ(twice, 19);
    EXPECT_EQ(niceOfThisThread(), creator) << "only the calling thread changes";
}

TEST(CatchUpPriority, AReadModelThreadYieldsWhileItKeepsUpAndRunsAtNormalPriorityWhileBehind) {
    const int creator = niceOfThisThread();
    bool adaptive = false;
    std::vector<int> seen;
    std::thread([&] {
        CatchUpPriority priority(100, 10);
        adaptive = priority.adaptive();
        seen.push_back(niceOfThisThread());  // keeping up (nothing known yet): background
        priority.update(150);                // behind: normal
        seen.push_back(niceOfThisThread());
        priority.update(50);  // catching up, still above the low mark: normal
        seen.push_back(niceOfThisThread());
        priority.update(5);  // caught up: background again
        seen.push_back(niceOfThisThread());
    }).join();
    const int background = std::min(19, creator + kBackgroundNice);
    if (adaptive) {
        EXPECT_EQ(seen, std::vector<int>({background, creator, creator, background}));
    } else {
        // Without the right to raise a priority again, the thread is never niced at all.
        EXPECT_EQ(seen, std::vector<int>({creator, creator, creator, creator}));
    }
    if (geteuid() == 0) {
        EXPECT_TRUE(adaptive) << "root may always return to normal priority";
    }
}

namespace {
const std::string* retryAfter(const HttpResponse& r) {
    for (const auto& [name, value] : r.headers)
        if (name == "Retry-After") return &value;
    return nullptr;
}
}  // namespace

TEST(Util, ProblemDocumentsCarryStatusTitleDetailAndFieldErrors) {
    HttpResponse r;
    writeProblem(r, 400, "Validation failed", {{"customerName", "must not be blank"}});
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.contentType, "application/problem+json");
    EXPECT_EQ(
        r.body,
        R"({"type":"about:blank","title":"Bad Request","status":400,"detail":"Validation failed","errors":[{"field":"customerName","message":"must not be blank"}]})");
    writeProblem(r, Status(StatusCode::NotFound, "Order not found"));
    EXPECT_EQ(r.status, 404);
    EXPECT_NE(r.body.find("Order not found"), std::string::npos);
    EXPECT_EQ(retryAfter(r), nullptr);
}

TEST(Util, EveryErrorCodeAnswersTheStatusTheContractNamesAndA503SaysWhenToRetry) {
    const std::pair<StatusCode, int> expected[] = {
        {StatusCode::InvalidArgument, 400}, {StatusCode::NotFound, 404},      {StatusCode::Conflict, 409},
        {StatusCode::VersionConflict, 409}, {StatusCode::Unprocessable, 422}, {StatusCode::Unavailable, 503},
        {StatusCode::Timeout, 503},         {StatusCode::InvalidConfig, 500}, {StatusCode::Internal, 500},
    };
    for (const auto& [code, status] : expected) {
        HttpResponse r;
        writeProblem(r, Status(code, "why"));
        EXPECT_EQ(r.status, status) << static_cast<int>(code);
        const std::string* retry = retryAfter(r);
        if (status == 503) {
            ASSERT_NE(retry, nullptr) << static_cast<int>(code);
            EXPECT_EQ(*retry, "1");
        } else {
            EXPECT_EQ(retry, nullptr) << static_cast<int>(code);
        }
    }
}

TEST(Rfc3339, ReadsUtcOffsetsFractionsAndLowerCaseAndRefusesTheRest) {
    int64_t ms = 0;
    ASSERT_TRUE(parseRfc3339("2025-10-11T19:21:45.123Z", &ms));
    EXPECT_EQ(ms, 1760210505123);
    ASSERT_TRUE(parseRfc3339("2025-10-11T19:21:45Z", &ms));
    EXPECT_EQ(ms, 1760210505000);
    ASSERT_TRUE(parseRfc3339("2025-10-11t21:21:45.1239+02:00", &ms));
    EXPECT_EQ(ms, 1760210505123);
    ASSERT_TRUE(parseRfc3339("2025-10-11T18:21:45.5-01:00", &ms));
    EXPECT_EQ(ms, 1760210505500);
    ASSERT_TRUE(parseRfc3339("2024-02-29T00:00:00z", &ms));
    for (const char* bad : {"", "2025-10-11", "2025-10-11T19:21:45", "2025-10-11T19:21:45.Z", "2025-13-11T19:21:45Z",
                            "2025-02-29T00:00:00Z", "2025-10-11T24:00:00Z", "2025-10-11T19:21:45+2:00",
                            "2025-10-11T19:21:45Z ", "2025-10-11 19:21:45Z", "2025\r10-11T19:21:45Z"})
        EXPECT_FALSE(parseRfc3339(bad, &ms)) << bad;
}

TEST(Traceparent, AcceptsValidHeadersAndRefusesZeroIdsUpperCaseAndBadLengths) {
    const std::string valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    EXPECT_EQ(parseTraceparent(valid), valid);
    EXPECT_EQ(parseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"), valid);
    for (const std::string& bad :
         std::vector<std::string>{std::string(), valid + "-", "ff" + valid.substr(2), valid.substr(0, 54),
                                  "00-" + std::string(32, '0') + "-00f067aa0ba902b7-01",
                                  "00-4bf92f3577b34da6a3ce929d0e0e4736-" + std::string(16, '0') + "-01",
                                  "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"})
        EXPECT_EQ(parseTraceparent(bad), "") << bad;
    const std::string fresh = newTraceparent();
    EXPECT_EQ(parseTraceparent(fresh), fresh);
    EXPECT_NE(traceIdOf(fresh), traceIdOf(newTraceparent()));
    const std::string child = childTraceparent(valid);
    EXPECT_EQ(parseTraceparent(child), child);
    EXPECT_EQ(traceIdOf(child), traceIdOf(valid));
    EXPECT_NE(child.substr(36, 16), valid.substr(36, 16));
}
