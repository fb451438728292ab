// Dead letters seen from two nodes of one cluster, for every distributed mode: an event a receiver
// refused until its last attempt is listed by every node, and retried from another node it is
// delivered and leaves every node's list.
#pragma once

#include <map>
#include <string>

#include "ordersystem/testing/ClusterHttp.h"

namespace ordersystem::clustertest {

/// [notifications] keys that make a refused event a dead letter within a second.
inline std::map<std::string, std::map<std::string, std::string>> quickDeadLetterKeys() {
    return {{"notifications", {{"max_attempts", "2"}, {"retry_initial_ms", "50"}, {"retry_max_ms", "100"}}}};
}

/// The dead letters a node lists (eventId -> entry); empty on an error (the test then fails on it).
inline std::map<std::string, JsonValue> listedDeadLetters(int port) {
    std::map<std::string, JsonValue> out;
    const HttpResult r = httpGet(port, "/api/dead-letters");
    EXPECT_EQ(r.status, 200) << r.body;
    if (r.status != 200) return out;
    const JsonValue list = r.json();
    for (const auto& entry : list.items()) out.emplace(stringField(entry, "eventId"), entry);
    return out;
}

/// a and b started with quickDeadLetterKeys() and hooks' url; hooks refuses until told otherwise.
inline void expectDeadLettersSharedAcrossNodes(OrderNode& a, OrderNode& b, HookReceiver& hooks) {
    hooks.setFailing(true);
    const int64_t id = createOrder(a.port(), "Refused");
    ASSERT_GT(id, 0);
    const auto events = httpGet(a.port(), "/api/orders/" + std::to_string(id) + "/events").json();
    ASSERT_EQ(events.items().size(), 1u);
    const std::string eventId = stringField(events.items()[0], "eventId");

    ASSERT_TRUE(waitUntil([&] { return listedDeadLetters(b.port()).count(eventId) == 1; }, std::chrono::seconds(20)))
        << "node b never listed the dead letter\n"
        << a.output() << b.output();
    const JsonValue letter = listedDeadLetters(a.port()).at(eventId);
    EXPECT_EQ(intField(letter, "orderId"), id);
    EXPECT_EQ(stringField(letter, "type"), "OrderCreated");
    EXPECT_EQ(intField(letter, "attempts"), 2);
    EXPECT_NE(stringField(letter, "lastError").find("503"), std::string::npos) << stringField(letter, "lastError");
    EXPECT_FALSE(stringField(letter, "failedAt").empty());
    EXPECT_EQ(hooks.received().count(eventId), 0u);

    hooks.setFailing(false);
    const HttpResult retried = httpRequest(b.port(), "POST", "/api/dead-letters/" + eventId + "/retry");
    ASSERT_EQ(retried.status, 202) << retried.body;
    ASSERT_TRUE(waitUntil([&] { return hooks.received().count(eventId) == 1; }, std::chrono::seconds(20)))
        << "the retried dead letter was not delivered\n"
        << b.output();
    ASSERT_TRUE(waitUntil([&] { return listedDeadLetters(a.port()).empty(); }, std::chrono::seconds(10)))
        << "node a still lists the delivered dead letter";
    EXPECT_EQ(httpRequest(a.port(), "POST", "/api/dead-letters/" + eventId + "/retry").status, 404);
}

}  // namespace ordersystem::clustertest
