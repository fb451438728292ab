#include <gtest/gtest.h>

#include "ordersystem/sdk/events.h"
#include "ordersystem/sdk/json.h"

using namespace ordersystem::sdk;

TEST(Json, ParsesAnOrderBodyAndKeepsNumberTextExact) {
    auto r = parseJson(
        R"({"customerName":"John \"J\" Doe","items":[{"productName":"Laptop","quantity":1,"price":999.99}]})");
    ASSERT_TRUE(r.isOk()) << r.status().message;
    const JsonValue& root = r.value();
    EXPECT_EQ(root.find("customerName")->asString(), "John \"J\" Doe");
    const JsonValue& item = root.find("items")->items().at(0);
    int64_t q = 0;
    EXPECT_TRUE(item.find("quantity")->asInt64(&q));
    EXPECT_EQ(q, 1);
    EXPECT_EQ(item.find("price")->numberText(), "999.99");
    EXPECT_FALSE(item.find("price")->asInt64(&q));
}

TEST(Json, RejectsMalformedDocumentsWithAnOffset) {
    for (const char* bad : {"", "{", "{\"a\":}", "[1,]", "{\"a\":1}x", "\"\x01\"", "01", "1.", "-", "nul",
                            "\"\\ud800\"", "\"\xff\"", "{\"a\" 1}"}) {
        auto r = parseJson(bad);
        EXPECT_FALSE(r.isOk()) << "accepted: " << bad;
        if (!r.isOk()) {
            EXPECT_NE(r.status().message.find("byte"), std::string::npos);
        }
    }
}

TEST(Json, ADocumentThatNamesAMemberTwiceIsRefused) {
    for (const char* twice : {R"({"a":1,"a":2})", R"({"customerName":"A","items":[],"customerName":"B"})",
                              R"([{"x":{"y":1,"y":1}}])", R"({"\u0061":1,"a":2})"}) {
        auto doc = parseJson(twice);
        ASSERT_FALSE(doc.isOk()) << twice;
        EXPECT_NE(doc.status().message.find("duplicate"), std::string::npos) << doc.status().message;
    }
    std::string wide = "{";
    for (int i = 0; i < 200; ++i) wide += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":" + std::to_string(i);
    EXPECT_TRUE(parseJson(wide + "}").isOk());
    EXPECT_FALSE(parseJson(wide + ",\"k117\":0}").isOk()) << "a repeat among many members is found too";
}

TEST(Json, LimitsNestingDepth) {
    std::string deep(100, '[');
    deep += std::string(100, ']');
    EXPECT_FALSE(parseJson(deep, 64).isOk());
    EXPECT_TRUE(parseJson(deep, 128).isOk());
}

TEST(Json, DecodesUnicodeEscapesToUtf8) {
    auto r = parseJson(R"("caf\u00e9 \ud83d\ude00")");
    ASSERT_TRUE(r.isOk());
    EXPECT_EQ(r.value().asString(), "caf\xc3\xa9 \xf0\x9f\x98\x80");
}

TEST(JsonWriter, WritesCommasEscapesAndExactCents) {
    std::string out;
    JsonWriter w(out);
    w.beginObject();
    w.key("a").value("x\"y\n");
    w.key("n").value(int64_t{-3});
    w.key("m").cents(105997);
    w.key("z").cents(5);
    w.key("l").beginArray().value(true).null().endArray();
    w.endObject();
    EXPECT_EQ(out, R"({"a":"x\"y\n","n":-3,"m":1059.97,"z":0.05,"l":[true,null]})");
}

namespace {
/// Order 7's first event, without data or metadata.
EventRecord sampleEvent() {
    EventRecord e;
    e.eventId = "0b9f5c1e-1111-4222-8333-444455556666";
    e.type = "OrderCreated";
    e.orderId = 7;
    e.orderNumber = "ORD-20251011192145-0007";
    e.version = 1;
    e.occurredAtMs = 1760210505123;
    e.nodeId = "node-1";
    return e;
}
}  // namespace

TEST(EventJson, RoundTripsTheWireDocument) {
    EventRecord e = sampleEvent();
    e.dataJson = R"({"customerName":"A","totalAmount":10.50})";
    const std::string json = toJson(e);
    EXPECT_NE(json.find(R"("occurredAt":"2025-10-11T19:21:45.123Z")"), std::string::npos) << json;
    auto back = eventFromJson(json);
    ASSERT_TRUE(back.isOk()) << back.status().message;
    EXPECT_EQ(back->eventId, e.eventId);
    EXPECT_EQ(back->occurredAtMs, e.occurredAtMs);
    EXPECT_EQ(back->dataJson, e.dataJson);
    EXPECT_FALSE(eventFromJson("{\"type\":1}").isOk());
}

TEST(EventJson, MetadataRoundTripsAndAnEventWithoutItPrintsAsBefore) {
    EventRecord e = sampleEvent();
    const std::string plain = toJson(e);
    EXPECT_EQ(plain.find("metadata"), std::string::npos) << plain;
    auto old = eventFromJson(plain);
    ASSERT_TRUE(old.isOk());
    EXPECT_TRUE(old->metadataJson.empty());
    EXPECT_EQ(toJson(*old), plain);

    e.metadataJson = R"({"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01","actor":null})";
    const std::string json = toJson(e);
    EXPECT_NE(json.find(R"("metadata":{"traceparent")"), std::string::npos) << json;
    auto back = eventFromJson(json);
    ASSERT_TRUE(back.isOk()) << back.status().message;
    EXPECT_EQ(back->metadataJson, e.metadataJson);
    EXPECT_EQ(toJson(*back), json);
}

TEST(JsonWriter, WritesAParsedValueBackCompactlyWithNumbersAsWritten) {
    auto parsed = parseJson(R"( { "a" : [1.50, true, null, "x\"y"], "b": {} } )");
    ASSERT_TRUE(parsed.isOk());
    std::string out;
    JsonWriter(out).value(parsed.value());
    EXPECT_EQ(out, R"({"a":[1.50,true,null,"x\"y"],"b":{}})");
}

TEST(JsonWriter, SeparatesElementsCorrectlyAtEveryDepthBeyondSixtyFourLevels) {
    // Each level holds a number, then the next level, then another number: a comma is needed
    // before the nested array and after it, at every depth, including past the 64th.
    constexpr int kLevels = 100;
    std::string out;
    JsonWriter w(out);
    std::string expected;
    for (int i = 0; i < kLevels; ++i) {
        w.beginArray().value(i);
        expected += "[" + std::to_string(i) + ",";
    }
    w.beginObject().endObject();
    expected += "{}";
    for (int i = kLevels - 1; i >= 0; --i) {
        w.value(-i).endArray();
        expected += "," + std::to_string(-i) + "]";
    }
    EXPECT_EQ(out, expected);
    auto parsed = parseJson(out, kLevels + 1);
    ASSERT_TRUE(parsed.isOk()) << parsed.status().message;
    std::string again;
    JsonWriter(again).value(parsed.value());
    EXPECT_EQ(again, expected);
}

TEST(Json, ParsesEveryElementOfADocumentOfManySmallArraysAndObjects) {
    // The parser reserves room for a few members per container only while the document's size
    // allows it; past that budget containers grow one by one. Both must keep every element.
    std::string doc = "[";
    for (int i = 0; i < 5000; ++i)
        doc += (i ? "," : "") + std::string(i % 2 ? "{\"k\":" : "[") + std::to_string(i) + (i % 2 ? "}" : "]");
    doc += "]";
    auto parsed = parseJson(doc);
    ASSERT_TRUE(parsed.isOk()) << parsed.status().message;
    ASSERT_EQ(parsed->items().size(), 5000u);
    int64_t n = 0;
    ASSERT_TRUE(parsed->items()[4999].find("k")->asInt64(&n));
    EXPECT_EQ(n, 4999);
    ASSERT_TRUE(parsed->items()[4998].items().at(0).asInt64(&n));
    EXPECT_EQ(n, 4998);
    std::string again;
    JsonWriter(again).value(parsed.value());
    EXPECT_EQ(again, doc);
}
