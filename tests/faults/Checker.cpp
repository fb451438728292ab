// The checks of a run (see Checker.h).
#include "Checker.h"

#include <algorithm>

namespace ordersystem::faults {

namespace {

std::string eventTypeOf(OpKind kind) {
    switch (kind) {
    case OpKind::Create: return "OrderCreated";
    case OpKind::Process: return "OrderProcessing";
    case OpKind::Complete: return "OrderCompleted";
    case OpKind::Cancel: return "OrderCancelled";
    }
    return {};
}

bool hasEvent(const OrderSeen& order, const std::string& type) {
    return std::any_of(order.events.begin(), order.events.end(), [&](const EventSeen& e) { return e.type == type; });
}

std::string orderName(int64_t id) { return "order " + std::to_string(id); }

/// "OrderCreated@1 OrderProcessing@2 ...": what a node holds, for the problem line.
std::string eventList(const OrderSeen& order) {
    std::string out;
    for (const auto& e : order.events) out += " " + e.type + "@" + std::to_string(e.version) + "(" + e.eventId + ")";
    return out;
}

void checkAcknowledged(const std::vector<Op>& history, const Observed& observed, Verdict& v) {
    std::map<int64_t, int> creates;
    std::map<int64_t, std::set<OpKind>> won;
    for (const auto& op : history) {
        if (op.outcome != Outcome::Ok) continue;
        if (op.kind == OpKind::Create && ++creates[op.orderId] == 2) {
            ++v.reusedIds;
            v.problems.push_back(orderName(op.orderId) + ": id acknowledged to two creates");
        }
        won[op.orderId].insert(op.kind);
        for (const auto& node : observed.nodes) {
            if (!node.readable) continue;  // reported once as diverged, not as every write lost
            auto it = node.orders.find(op.orderId);
            if (it == node.orders.end() || !hasEvent(it->second, eventTypeOf(op.kind))) {
                ++v.lost;
                v.problems.push_back(std::string("lost: acknowledged ") + kindName(op.kind) + " of " +
                                     orderName(op.orderId) + " (via " + op.node + ") missing on " + node.node);
                break;
            }
        }
    }
    for (const auto& [id, kinds] : won)
        if (kinds.count(OpKind::Complete) && kinds.count(OpKind::Cancel)) {
            ++v.twoWinners;
            v.problems.push_back(orderName(id) + ": both complete and cancel were acknowledged");
        }
}

/// " | asked: process@node-a ok(200) ...": what the clients did to one order, for the problem line.
std::map<int64_t, std::string> askedByOrder(const std::vector<Op>& history) {
    std::map<int64_t, std::string> out;
    for (const auto& op : history)
        if (op.orderId > 0)
            out[op.orderId] += std::string(out[op.orderId].empty() ? " | asked:" : "") + " " + kindName(op.kind) + "@" +
                               op.node + " " + outcomeName(op.outcome) + "(" + std::to_string(op.status) + ")";
    return out;
}

/// Duplicates, two winners and gaps as one node stores them; each order counted once per kind.
void checkStored(const std::vector<Op>& history, const Observed& observed, Verdict& v) {
    auto asked = askedByOrder(history);
    std::set<int64_t> duplicated, twoWinners, gaps;
    for (const auto& node : observed.nodes) {
        std::map<std::string, int64_t> byCustomer;
        for (const auto& [id, order] : node.orders) {
            std::map<std::string, int> types;
            std::set<std::string> ids;
            bool gap = false;
            for (size_t i = 0; i < order.events.size(); ++i) {
                ++types[order.events[i].type];
                if (!ids.insert(order.events[i].eventId).second) types["again"] = 2;
                if (order.events[i].version != static_cast<int64_t>(i) + 1) gap = true;
            }
            if (order.events.empty() || order.events.back().version != order.version) gap = true;
            const bool twice = std::any_of(types.begin(), types.end(), [](const auto& t) { return t.second > 1; });
            auto [other, fresh] = byCustomer.emplace(order.customer, id);
            if ((twice || (!fresh && !order.customer.empty())) && duplicated.insert(id).second) {
                ++v.duplicated;
                v.problems.push_back("duplicated: " + orderName(id) + " on " + node.node +
                                     (twice ? " holds an event twice:" + eventList(order)
                                            : " repeats the create of " + orderName(other->second)));
            }
            if (types.count("OrderCompleted") && types.count("OrderCancelled") && twoWinners.insert(id).second) {
                ++v.twoWinners;
                v.problems.push_back(orderName(id) + " on " + node.node + " is both completed and cancelled");
            }
            if (gap && gaps.insert(id).second) {
                ++v.versionGaps;
                v.problems.push_back(orderName(id) + " on " + node.node + ": event versions are not 1.." +
                                     std::to_string(order.version) + ":" + eventList(order) + asked[id]);
            }
        }
    }
}

void checkConverged(const Observed& observed, Verdict& v) {
    if (observed.nodes.empty()) return;
    for (const auto& node : observed.nodes)
        if (!node.readable) {
            ++v.diverged;
            v.problems.push_back("diverged: " + node.node + " did not answer the reads after the heal");
        }
    std::set<int64_t> all;
    for (const auto& node : observed.nodes)
        for (const auto& entry : node.orders) all.insert(entry.first);
    for (int64_t id : all) {
        std::set<std::pair<std::string, int64_t>> states;
        for (const auto& node : observed.nodes) {
            auto it = node.orders.find(id);
            states.insert(it == node.orders.end() ? std::make_pair(std::string("absent"), int64_t{0})
                                                  : std::make_pair(it->second.status, it->second.version));
        }
        if (states.size() > 1) {
            ++v.diverged;
            v.problems.push_back("diverged: nodes disagree on " + orderName(id));
        }
    }
    for (const auto& node : observed.nodes)
        if (node.analytics != observed.nodes.front().analytics) {
            ++v.diverged;
            v.problems.push_back("diverged: analytics of " + node.node + " " + node.analytics + " vs " +
                                 observed.nodes.front().node + " " + observed.nodes.front().analytics);
        }
}

void checkWebhooks(const Observed& observed, Verdict& v) {
    if (observed.nodes.empty()) return;
    for (const auto& [id, order] : observed.nodes.front().orders)
        for (const auto& event : order.events) {
            auto it = observed.deliveries.find(event.eventId);
            const int got = it == observed.deliveries.end() ? 0 : it->second;
            if (got == 0) {
                ++v.undelivered;
                v.problems.push_back("webhook never received " + event.type + " of " + orderName(id));
            } else if (got > 1 && observed.quietOrders.count(id)) {
                ++v.redelivered;
                v.problems.push_back("webhook received " + event.type + " of " + orderName(id) + " " +
                                     std::to_string(got) + " times after the heal");
            }
        }
}

}  // namespace

Verdict check(const std::vector<Op>& history, const Observed& observed) {
    Verdict v;
    v.attempted = static_cast<int>(history.size());
    v.acknowledged = static_cast<int>(
        std::count_if(history.begin(), history.end(), [](const Op& op) { return op.outcome == Outcome::Ok; }));
    checkAcknowledged(history, observed, v);
    checkStored(history, observed, v);
    checkConverged(observed, v);
    checkWebhooks(observed, v);
    return v;
}

}  // namespace ordersystem::faults
