// The back-off every retry loop of the transports uses, and the leader/follower hand-off word.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "ordersystem/transport/backoff.h"
#include "ordersystem/transport/handoff.h"

using ordersystem::transport::Backoff;
using ordersystem::transport::HandOff;

TEST(Backoff, DoublesFromTheInitialDelayUpToTheCapAndStartsOverAfterReset) {
    Backoff b(100, 500);
    EXPECT_EQ(b.next(), 100);
    EXPECT_EQ(b.next(), 200);
    EXPECT_EQ(b.next(), 400);
    EXPECT_EQ(b.next(), 500);
    EXPECT_EQ(b.next(), 500);
    b.reset();
    EXPECT_EQ(b.next(), 100);
}

TEST(Backoff, TheDelayAfterTheNthFailureDoesNotDependOnHistory) {
    const Backoff b(200, 30000);
    EXPECT_EQ(b.after(1), 200);
    EXPECT_EQ(b.after(2), 400);
    EXPECT_EQ(b.after(8), 25600);
    EXPECT_EQ(b.after(9), 30000);
    EXPECT_EQ(b.after(1000000), 30000);
}

TEST(Backoff, ZeroOrNegativeSettingsStillWaitAtLeastOneMillisecond) {
    Backoff b(0, -5);
    EXPECT_EQ(b.next(), 1);
    EXPECT_EQ(b.next(), 1);
}

TEST(HandOff, AFollowerWakesAsLeaderOrAsDoneWhateverTheOrderOfTheLeadersMoves) {
    for (int round = 0; round < 200; ++round) {
        HandOff word;
        word.queue();
        std::atomic<int> seen{-1};
        std::thread follower([&] { seen = word.await(); });
        if (round % 2 == 0) {
            EXPECT_TRUE(word.nameLeaderIfQueued());
            follower.join();
            EXPECT_EQ(seen.load(), HandOff::kLead);
            EXPECT_TRUE(word.takeLead());
            EXPECT_FALSE(word.done());
        } else {
            word.finishAndWake();
            follower.join();
            EXPECT_EQ(seen.load(), HandOff::kDone);
            EXPECT_FALSE(word.nameLeaderIfQueued());  // a finished call is never named leader
        }
    }
}

TEST(HandOff, ALeaderThatFinishedTheCallFirstKeepsTheFollowerFromLeading) {
    HandOff word;
    word.queue();
    word.nameLeader();
    word.finish();  // another leader completed it before the follower took its turn
    EXPECT_FALSE(word.takeLead());
    EXPECT_EQ(word.await(), HandOff::kDone);
}
