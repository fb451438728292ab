#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>
#include <thread>
#include <vector>

#include "ordersystem/sdk/util.h"

using namespace ordersystem::sdk;

TEST(Util, TimestampsAreRfc3339UtcWithMillisecondsAndParseBack) {
    EXPECT_EQ(formatTimestamp(0), "1970-01-01T00:00:00.000Z");
    EXPECT_EQ(formatTimestamp(1760210505123), "2025-10-11T19:21:45.123Z");
    EXPECT_EQ(parseTimestamp("2025-10-11T19:21:45.123Z"), 1760210505123);
    EXPECT_EQ(parseTimestamp("yesterday"), -1);
    EXPECT_EQ(formatCompactUtc(1760210505123), "20251011192145");
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
        priority.update(50);                 // catching up, still above the low mark: normal
        seen.push_back(niceOfThisThread());
        priority.update(5);                  // caught up: background again
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

TEST(Util, ProblemDocumentsCarryStatusTitleDetailAndFieldErrors) {
    HttpResponse r;
    writeProblem(r, 400, "Validation failed", {{"customerName", "must not be blank"}});
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.contentType, "application/problem+json");
    EXPECT_EQ(r.body, R"({"type":"about:blank","title":"Bad Request","status":400,"detail":"Validation failed","errors":[{"field":"customerName","message":"must not be blank"}]})");
    writeProblem(r, Status(StatusCode::NotFound, "Order not found"));
    EXPECT_EQ(r.status, 404);
    EXPECT_NE(r.body.find("Order not found"), std::string::npos);
}
