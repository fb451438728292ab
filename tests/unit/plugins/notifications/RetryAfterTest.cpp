// A webhook receiver's Retry-After as the notifications plugin reads it.
#include <gtest/gtest.h>

#include "RetryAfter.h"

using ordersystem::plugins::notifications::parseRetryAfterMs;

namespace {
constexpr int64_t kNow = 784111777000;  // Sun, 06 Nov 1994 08:49:37 GMT
constexpr int64_t kDayMs = 24LL * 3600 * 1000;
}  // namespace

TEST(RetryAfter, DelaySecondsAreMilliseconds) {
    EXPECT_EQ(parseRetryAfterMs("0", kNow), 0);
    EXPECT_EQ(parseRetryAfterMs("120", kNow), 120000);
    EXPECT_EQ(parseRetryAfterMs(" 5 ", kNow), 5000);
}

TEST(RetryAfter, AnHttpDateIsTheTimeUntilIt) {
    EXPECT_EQ(parseRetryAfterMs("Sun, 06 Nov 1994 08:50:37 GMT", kNow), 60000);
    EXPECT_EQ(parseRetryAfterMs("Sun, 06 Nov 1994 08:49:37 GMT", kNow), 0);
    EXPECT_EQ(parseRetryAfterMs("Sat, 05 Nov 1994 08:49:37 GMT", kNow), 0) << "a past date: at once";
}

TEST(RetryAfter, MoreThanADayIsADay) {
    EXPECT_EQ(parseRetryAfterMs("99999999999999999999", kNow), kDayMs);
    EXPECT_EQ(parseRetryAfterMs("Fri, 01 Jan 2100 00:00:00 GMT", kNow), kDayMs);
}

TEST(RetryAfter, AnythingElseIsIgnored) {
    for (const char* bad :
         {"", " ", "-5", "1.5", "5s", "soon", "Sun, 06 Nov 1994 08:49:37 UTC", "Sunday, 06-Nov-94 08:49:37 GMT",
          "Sun Nov  6 08:49:37 1994", "Sun, 32 Nov 1994 08:49:37 GMT", "Xyz, 06 Nov 1994 08:49:37 GMT",
          "Sun, 06 Foo 1994 08:49:37 GMT"})
        EXPECT_EQ(parseRetryAfterMs(bad, kNow), -1) << bad;
}
