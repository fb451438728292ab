// One scenario for every distributed mode: If-Match and event metadata hold across two nodes of
// one log (tests/integration/redis and tests/integration/nats run it on their own broker).
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "ordersystem/testing/ClusterHttp.h"

namespace ordersystem::clustertest {

/// Creates on node a with a traceparent, changes the order on node b with If-Match, then checks a
/// stale If-Match on node a is 412 and changes nothing, and both nodes show the same metadata.
inline void checkIfMatchAndMetadataAcrossNodes(int a, int b) {
    const std::string traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    HttpResult created;
    const int64_t id = createOrder(a, "Across", &created, {{"traceparent", traceparent}});
    ASSERT_GT(id, 0) << created.status << " " << created.body;
    EXPECT_EQ(created.header("etag"), "\"1\"");
    const std::string path = "/api/orders/" + std::to_string(id);
    // Node b may not have projected the create yet: the command reads the log then.
    const HttpResult processed = httpRequest(b, "POST", path + "/process", "", {{"If-Match", "\"1\""}});
    ASSERT_EQ(processed.status, 200) << processed.body;
    EXPECT_EQ(processed.header("etag"), "\"2\"");
    const HttpResult stale = httpRequest(a, "POST", path + "/cancel?reason=late", "", {{"If-Match", "\"1\""}});
    EXPECT_EQ(stale.status, 412) << stale.body;
    for (int port : {a, b}) {
        const HttpResult events = httpGet(port, path + "/events");
        ASSERT_EQ(events.status, 200) << events.body;
        const auto items = events.json().items();
        ASSERT_EQ(items.size(), 2u) << "the stale command changed nothing: " << events.body;
        const JsonValue* metadata = items[0].find("metadata");
        ASSERT_TRUE(metadata) << events.body;
        EXPECT_EQ(stringField(*metadata, "traceparent"), traceparent);
        EXPECT_FALSE(items[1].find("metadata")) << "the change came without a traceparent: " << events.body;
    }
    const HttpResult onA = httpRequest(a, "POST", path + "/cancel?reason=now", "", {{"If-Match", "\"2\""}});
    EXPECT_EQ(onA.status, 200) << "node a reads the log when its read model is behind If-Match: " << onA.body;
    EXPECT_EQ(onA.header("etag"), "\"3\"");
}

}  // namespace ordersystem::clustertest
