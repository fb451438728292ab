// The checker finds each kind of anomaly in a hand-made history, and passes a clean one: the
// fault scenarios can only fail through it, so it must be able to fail.
#include <gtest/gtest.h>

#include "Checker.h"

using namespace ordersystem::faults;

namespace {

Op ack(OpKind kind, int64_t id, const std::string& customer = "") {
    Op op;
    op.kind = kind;
    op.node = "node-a";
    op.orderId = id;
    op.customer = customer;
    op.outcome = Outcome::Ok;
    op.status = kind == OpKind::Create ? 201 : 200;
    return op;
}

OrderSeen order(int64_t id, const std::string& customer, std::vector<std::string> types) {
    OrderSeen o;
    o.id = id;
    o.customer = customer;
    for (size_t i = 0; i < types.size(); ++i)
        o.events.push_back(
            {"ev-" + std::to_string(id) + "-" + std::to_string(i), types[i], static_cast<int64_t>(i) + 1});
    o.version = static_cast<int64_t>(types.size());
    const std::string last = types.back();
    o.status = last == "OrderCreated"      ? "Pending"
               : last == "OrderProcessing" ? "Processing"
               : last == "OrderCompleted"  ? "Completed"
                                           : "Cancelled";
    return o;
}

/// Two nodes showing the same orders, every event delivered once.
Observed twoNodes(const std::vector<OrderSeen>& orders) {
    Observed seen;
    for (const char* name : {"node-a", "node-b"}) {
        NodeView view;
        view.node = name;
        for (const auto& o : orders) view.orders[o.id] = o;
        view.analytics = R"({"totalOrders":)" + std::to_string(orders.size()) + "}";
        seen.nodes.push_back(view);
    }
    for (const auto& o : orders)
        for (const auto& e : o.events) seen.deliveries[e.eventId] = 1;
    return seen;
}

const std::vector<Op> kCleanHistory = {ack(OpKind::Create, 1, "c1"), ack(OpKind::Process, 1), ack(OpKind::Complete, 1),
                                       ack(OpKind::Create, 2, "c2")};
const std::vector<OrderSeen> kCleanOrders = {order(1, "c1", {"OrderCreated", "OrderProcessing", "OrderCompleted"}),
                                             order(2, "c2", {"OrderCreated"})};

}  // namespace

TEST(FaultChecker, PassesAHistoryEveryNodeShowsInFull) {
    Verdict v = check(kCleanHistory, twoNodes(kCleanOrders));
    EXPECT_TRUE(v.ok()) << v.problems.front();
    EXPECT_EQ(v.acknowledged, 4);
}

TEST(FaultChecker, ReportsAnAcknowledgedWriteOneNodeLacks) {
    Observed seen = twoNodes(kCleanOrders);
    seen.nodes[1].orders[1] = order(1, "c1", {"OrderCreated", "OrderProcessing"});  // the complete is gone there
    Verdict v = check(kCleanHistory, seen);
    EXPECT_EQ(v.lost, 1);
    EXPECT_EQ(v.diverged, 1);
    EXPECT_FALSE(v.ok());
}

TEST(FaultChecker, ReportsAnAcknowledgedCreateNoNodeHas) {
    std::vector<Op> history = kCleanHistory;
    history.push_back(ack(OpKind::Create, 3, "c3"));
    EXPECT_EQ(check(history, twoNodes(kCleanOrders)).lost, 1);
}

TEST(FaultChecker, ReportsAnEventStoredTwiceAndACreateStoredTwice) {
    std::vector<OrderSeen> orders = kCleanOrders;
    orders[0] = order(1, "c1", {"OrderCreated", "OrderProcessing", "OrderProcessing", "OrderCompleted"});
    orders.push_back(order(7, "c2", {"OrderCreated"}));  // the create of c2 landed again under another id
    Verdict v = check(kCleanHistory, twoNodes(orders));
    EXPECT_EQ(v.duplicated, 2);
}

TEST(FaultChecker, ReportsTwoWinnersInTheHistoryAndInTheLog) {
    std::vector<Op> history = {ack(OpKind::Create, 1, "c1"), ack(OpKind::Complete, 1), ack(OpKind::Cancel, 1)};
    Observed seen = twoNodes({order(1, "c1", {"OrderCreated", "OrderProcessing", "OrderCompleted", "OrderCancelled"})});
    EXPECT_EQ(check(history, seen).twoWinners, 2);
}

TEST(FaultChecker, ReportsAGapInAnOrdersVersions) {
    std::vector<OrderSeen> orders = kCleanOrders;
    orders[0].events[2].version = 4;
    orders[0].version = 4;
    EXPECT_EQ(check(kCleanHistory, twoNodes(orders)).versionGaps, 1);
}

TEST(FaultChecker, ReportsAnIdAcknowledgedToTwoCreates) {
    std::vector<Op> history = kCleanHistory;
    history.push_back(ack(OpKind::Create, 2, "c9"));
    EXPECT_EQ(check(history, twoNodes(kCleanOrders)).reusedIds, 1);
}

TEST(FaultChecker, ReportsANodeThatCannotBeReadOnceNotAsEveryWriteLost) {
    Observed seen = twoNodes(kCleanOrders);
    seen.nodes[1].orders.clear();
    seen.nodes[1].readable = false;
    Verdict v = check(kCleanHistory, seen);
    EXPECT_EQ(v.lost, 0);
    EXPECT_GE(v.diverged, 1);
    EXPECT_FALSE(v.ok());
}

TEST(FaultChecker, ReportsNodesThatDisagreeOnAnalytics) {
    Observed seen = twoNodes(kCleanOrders);
    seen.nodes[1].analytics = R"({"totalOrders":1})";
    EXPECT_EQ(check(kCleanHistory, seen).diverged, 1);
}

TEST(FaultChecker, ReportsEventsNeverDeliveredAndQuietEventsDeliveredTwice) {
    Observed seen = twoNodes(kCleanOrders);
    seen.deliveries.erase("ev-1-0");
    seen.deliveries["ev-2-0"] = 2;
    EXPECT_EQ(check(kCleanHistory, seen).redelivered, 0);  // at least once is enough during faults
    seen.quietOrders.insert(2);
    Verdict v = check(kCleanHistory, seen);
    EXPECT_EQ(v.undelivered, 1);
    EXPECT_EQ(v.redelivered, 1);
}

TEST(FaultChecker, IgnoresWritesThatWereNotAcknowledged) {
    std::vector<Op> history = kCleanHistory;
    Op unknown = ack(OpKind::Create, -1, "c5");
    unknown.outcome = Outcome::Unknown;
    Op refused = ack(OpKind::Cancel, 1);
    refused.outcome = Outcome::Failed;
    history.push_back(unknown);
    history.push_back(refused);
    EXPECT_TRUE(check(history, twoNodes(kCleanOrders)).ok());
}

TEST(FaultOutages, TheLongestStretchWithoutAnAcknowledgedWriteAfterEachFault) {
    std::vector<Op> ops;
    for (int64_t end : {100, 200, 900, 1000, 1100}) {
        Op op = ack(OpKind::Create, end, "c");
        op.endMs = end;
        ops.push_back(op);
    }
    auto outages = writeOutages(ops, {{"kill", 150}, {"heal", 950}}, 1500);
    ASSERT_EQ(outages.size(), 2u);
    EXPECT_EQ(outages[0].second, 700);  // 200 -> 900
    EXPECT_EQ(outages[1].second, 400);  // 1100 -> end of run
}
