// A node's heartbeat: beats on start and every interval, explains an outage once and its end
// once, and a node whose first beat fails does not start beating.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "ordersystem/testing/FakeHost.h"
#include "ordersystem/testing/TestSupport.h"
#include "ordersystem/transport/heartbeat.h"

using ordersystem::sdk::LogLevel;
using ordersystem::sdk::Status;
using ordersystem::sdk::StatusCode;
using ordersystem::testing::FakeLogger;
using ordersystem::testing::waitUntil;
using ordersystem::transport::Heartbeat;

namespace {
size_t linesAt(const FakeLogger& logger, LogLevel level) {
    size_t n = 0;
    for (const auto& line : logger.lines()) n += line.first == level;
    return n;
}
}  // namespace

TEST(Heartbeat, BeatsAtOnceThenEveryIntervalUntilStopped) {
    FakeLogger logger;
    std::atomic<int> beats{0};
    Heartbeat heartbeat(
        "node-a", 5,
        [&] {
            ++beats;
            return Status::ok();
        },
        logger);
    ASSERT_TRUE(heartbeat.start());
    EXPECT_GE(beats.load(), 1);
    EXPECT_TRUE(waitUntil([&] { return beats.load() >= 4; }, std::chrono::seconds(5)));
    EXPECT_TRUE(heartbeat.stop());
    const int after = beats.load();
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    EXPECT_EQ(beats.load(), after);
    EXPECT_FALSE(heartbeat.stop());
}

TEST(Heartbeat, AnOutageIsLoggedOnceWhenItBeginsAndOnceWhenBeatsFlowAgain) {
    FakeLogger logger;
    std::atomic<int> beats{0};
    std::atomic<bool> failing{false};
    Heartbeat heartbeat(
        "node-a", 2,
        [&] {
            ++beats;
            return failing ? Status(StatusCode::Unavailable, "broker away") : Status::ok();
        },
        logger);
    ASSERT_TRUE(heartbeat.start());
    failing = true;
    const int before = beats.load();
    ASSERT_TRUE(waitUntil([&] { return beats.load() >= before + 10; }, std::chrono::seconds(5)));
    failing = false;
    ASSERT_TRUE(
        waitUntil([&] { return logger.contains("heartbeat of node node-a is back"); }, std::chrono::seconds(5)));
    heartbeat.stop();
    EXPECT_EQ(linesAt(logger, LogLevel::Warn), 1u);
    EXPECT_TRUE(logger.contains("heartbeat of node node-a failed: broker away"));
}

TEST(Heartbeat, AFailingFirstBeatFailsTheStartAndNothingBeatsLater) {
    FakeLogger logger;
    std::atomic<int> beats{0};
    Heartbeat heartbeat(
        "node-a", 1,
        [&] {
            ++beats;
            return Status(StatusCode::Unavailable, "no broker");
        },
        logger);
    const Status st = heartbeat.start();
    EXPECT_EQ(st.code, StatusCode::Unavailable);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(beats.load(), 1);
    EXPECT_FALSE(heartbeat.stop());
}
