// The analytics arithmetic on its own: exact cents, half-up averages, status moves.
#include <gtest/gtest.h>

#include "Aggregates.h"

using namespace ordersystem::plugins::analytics;

TEST(Money, PricesAreReadExactlyAsCents) {
    EXPECT_EQ(parseCents("15.99"), 1599);
    EXPECT_EQ(parseCents("47.97"), 4797);
    EXPECT_EQ(parseCents("1059.9"), 105990);
    EXPECT_EQ(parseCents("7"), 700);
    EXPECT_EQ(parseCents("0.10"), 10);
    EXPECT_EQ(parseCents("1.500"), 150) << "trailing zeros are still exact";
    EXPECT_EQ(parseCents("-0.05"), -5);
    EXPECT_EQ(parseCents("1000000000.00"), 100000000000);
}

TEST(Money, AnythingThatIsNotExactCentsIsRefused) {
    for (const char* text : {"1.555", "1e3", "", "-", "1.", ".5", "abc", "1.2.3", "99999999999999999999"})
        EXPECT_FALSE(parseCents(text).has_value()) << text;
}

TEST(Money, AverageRoundsHalfUpToTheCent) {
    EXPECT_EQ(averageCents(0, 0), 0);
    EXPECT_EQ(averageCents(3, 2), 2) << "0.015 -> 0.02";
    EXPECT_EQ(averageCents(1, 3), 0) << "0.0033 -> 0.00";
    EXPECT_EQ(averageCents(3002, 3), 1001) << "10.0066 -> 10.01";
    EXPECT_EQ(averageCents(1000, 3), 333) << "3.333 -> 3.33";
    EXPECT_EQ(averageCents(5, 2), 3) << "0.025 -> 0.03";
}

TEST(Totals, AnEmptySystemShowsAllFourStatusesAndZeroMoney) {
    EXPECT_EQ(renderAnalytics(Totals{}),
              R"({"totalOrders":0,"ordersByStatus":{"Pending":0,"Processing":0,"Completed":0,"Cancelled":0},)"
              R"("completedRevenue":0.00,"averageOrderValue":0.00})");
}

TEST(Totals, ATransitionMovesTheOrderAndItsAmountBetweenStatuses) {
    Totals t;
    t.add({OrderStatus::Pending, 4797, 1});
    t.remove({OrderStatus::Pending, 4797, 1});
    t.add({OrderStatus::Completed, 4797, 3});
    EXPECT_EQ(t.totalOrders(), 1);
    EXPECT_EQ(t.countByStatus[static_cast<size_t>(OrderStatus::Pending)], 0);
    EXPECT_EQ(t.completedCents(), 4797);
}

TEST(Decide, ACreatedEventWithoutAnExactTotalFallsBackToItsItems) {
    ordersystem::sdk::EventRecord e;
    e.type = "OrderCreated";
    e.orderId = 4;
    e.version = 1;
    e.position = 9;
    e.dataJson = R"({"customerName":"A","items":[{"productName":"P","quantity":3,"price":15.99}],"totalAmount":"x"})";
    const Decision d = decide(e, std::nullopt);
    ASSERT_EQ(d.kind, Decision::Kind::Upsert);
    EXPECT_EQ(d.next.totalCents, 4797);
    EXPECT_TRUE(d.noteIsWarning);
}

TEST(Decide, ACreatedTotalIsReadExactlyEvenWhenANameContainsTheMemberText) {
    ordersystem::sdk::EventRecord e;
    e.type = "OrderCreated";
    e.orderId = 5;
    e.version = 1;
    e.position = 10;
    // The customer's name holds the text "totalAmount":1 (escaped in JSON): the real member wins.
    e.dataJson = R"({"customerName":"x\"totalAmount\":1","items":[{"productName":"P","quantity":1,"price":1059.97}],)"
                 R"("totalAmount":1059.97})";
    Decision d = decide(e, std::nullopt);
    ASSERT_EQ(d.kind, Decision::Kind::Upsert);
    EXPECT_EQ(d.next.totalCents, 105997);
    EXPECT_FALSE(d.noteIsWarning);
    // A data object with the member twice is ambiguous for the fast path: the full parse decides.
    e.dataJson = R"({"items":[{"productName":"P","quantity":2,"price":0.10,"totalAmount":9}],"totalAmount":0.20})";
    d = decide(e, std::nullopt);
    EXPECT_EQ(d.next.totalCents, 20);
}

TEST(Decide, AnOldVersionOfAKnownOrderIsIgnored) {
    ordersystem::sdk::EventRecord e;
    e.type = "OrderProcessing";
    e.orderId = 4;
    e.version = 2;
    const Decision d = decide(e, OrderState{OrderStatus::Completed, 100, 3});
    EXPECT_EQ(d.kind, Decision::Kind::Ignore);
}
