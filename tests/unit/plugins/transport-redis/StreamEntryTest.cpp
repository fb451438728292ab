// Reading stream entries out of Redis replies, without a server: replies are parsed from RESP text.
#include <gtest/gtest.h>

#include <hiredis/hiredis.h>

#include "RedisConnection.h"
#include "TransportCore.h"
#include "ordersystem/sdk/util.h"

using namespace ordersystem::plugins::redis;

namespace {
/// A reply as hiredis would build it from the given RESP bytes.
ReplyPtr replyFrom(const std::string& resp) {
    redisReader* reader = redisReaderCreate();
    redisReaderFeed(reader, resp.data(), resp.size());
    void* out = nullptr;
    const int rc = redisReaderGetReply(reader, &out);
    redisReaderFree(reader);
    EXPECT_EQ(rc, REDIS_OK);
    return ReplyPtr(static_cast<redisReply*>(out));
}

std::string bulk(const std::string& s) { return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n"; }
}  // namespace

TEST(StreamEntries, PositionsComeFromTheEntryIdAndTheEventFromItsEventField) {
    ordersystem::sdk::EventRecord e;
    e.eventId = ordersystem::sdk::newUuid();
    e.type = "OrderCreated";
    e.orderId = 7;
    e.orderNumber = "ORD-20251011192145-0007";
    e.version = 1;
    e.occurredAtMs = 1760210505123;
    e.nodeId = "node-1";
    e.dataJson = R"({"totalAmount":10.5})";
    const std::string json = ordersystem::sdk::toJson(e);
    auto reply = replyFrom("*2\r\n*2\r\n" + bulk("41-0") + "*2\r\n" + bulk("event") + bulk(json) + "*2\r\n" +
                           bulk("42-0") + "*-1\r\n");
    auto entries = parseEntries(reply.get());
    ASSERT_EQ(entries.size(), 2u);
    EXPECT_EQ(entries[0].position, 41u);
    EXPECT_EQ(entries[0].json, json);
    auto ev = eventOfEntry(entries[0]);
    ASSERT_TRUE(ev.isOk()) << ev.status().message;
    EXPECT_EQ(ev->eventId, e.eventId);
    EXPECT_EQ(ev->position, 41u);
    EXPECT_EQ(ev->dataJson, e.dataJson);
    // An entry deleted from the stream comes back with no fields: it has no event.
    EXPECT_EQ(entries[1].position, 42u);
    EXPECT_FALSE(eventOfEntry(entries[1]).isOk());
}

TEST(StreamEntries, AMalformedEventIsRefusedNamingTheEntry) {
    StreamEntry entry{"9-0", 9, "{not json"};
    auto ev = eventOfEntry(entry);
    ASSERT_FALSE(ev.isOk());
    EXPECT_NE(ev.status().message.find("9-0"), std::string::npos);
}

TEST(StreamEntries, PositionOfIdReadsTheFirstPart) {
    EXPECT_EQ(positionOfId("123-0"), 123u);
    EXPECT_EQ(positionOfId("9007199254740991-0"), 9007199254740991u);
    EXPECT_EQ(positionOfId(""), 0u);
}

TEST(RedisReplies, HelpersAreNullSafeAndReadIntegersFromStrings) {
    EXPECT_TRUE(replyIsNil(nullptr));
    EXPECT_EQ(replySize(nullptr), 0u);
    EXPECT_EQ(replyAt(nullptr, 0), nullptr);
    EXPECT_EQ(replyString(nullptr), "");
    auto n = replyFrom(":42\r\n");
    EXPECT_EQ(replyInteger(n.get()), 42);
    auto s = replyFrom(bulk("1764072000123"));
    EXPECT_EQ(replyInteger(s.get()), 1764072000123LL);
    auto bad = replyFrom(bulk("12abc"));
    EXPECT_EQ(replyInteger(bad.get(), -7), -7);
    auto err = replyFrom("-NOSCRIPT No matching script\r\n");
    EXPECT_TRUE(replyIsError(err.get()));
    EXPECT_EQ(replyString(err.get()), "NOSCRIPT No matching script");
}
