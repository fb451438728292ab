// Signed and CloudEvents webhooks: the signature against independently computed values, the
// envelope's members, and the start-up refusals of bad [notifications] values.
#include <gtest/gtest.h>

#include <string>

#include "NotificationsPlugin.h"
#include "WebhookPayload.h"
#include "WebhookSigner.h"
#include "ordersystem/sdk/json.h"
#include "ordersystem/testing/FakeHost.h"

using namespace ordersystem::sdk;
using namespace ordersystem::plugins::notifications;

namespace {

// The Standard Webhooks reference vector: secret, message id, timestamp and payload of the
// specification's example; the expected value was also recomputed with python3:
//   key = base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
//   base64.b64encode(hmac.new(key, b'msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{"test": 2432232314}',
//                             hashlib.sha256).digest())
constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char* kId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr int64_t kTimestamp = 1614265330;
constexpr const char* kBody = R"({"test": 2432232314})";
constexpr const char* kSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
// base64 of the 16 bytes "0123456789abcdef"; the signature computed the same way with python3.
constexpr const char* kSecondSecret = "whsec_MDEyMzQ1Njc4OWFiY2RlZg==";
constexpr const char* kSecondSignature = "v1,r94XOxQw8v+vLaVrXIUkFWnEmqNekP5mdIZf2e/Me5o=";

WebhookSigner signer(const std::string& value) {
    auto parsed = WebhookSigner::parse(value);
    EXPECT_TRUE(parsed.isOk()) << parsed.status().message;
    return parsed.isOk() ? parsed.value() : WebhookSigner();
}

/// create() with [notifications] set to the defaults plus one changed key.
Status createWith(const std::string& key, const std::string& value) {
    ordersystem::testing::FakeConfig config("notifications", {{"webhook_url", "http://127.0.0.1:9/hook"},
                                                              {"timeout_ms", "5000"},
                                                              {"dedup_retention_hours", "168"},
                                                              {"webhook_secret", ""},
                                                              {"format", "native"}});
    config.withDefaults(kConfigKeys, kConfigKeyCount);
    config.set(key, value);
    Status error;
    auto plugin = NotificationsPlugin::create(config, &error);
    return plugin ? Status::ok() : error;
}

EventRecord shipped() {
    EventRecord e;
    e.eventId = "0d6f3c2a-5b7e-4c1d-9a8b-2e4f6a8c0b1d";
    e.type = "OrderProcessing";
    e.orderId = 42;
    e.orderNumber = "ORD-20251011192145-0042";
    e.version = 2;
    e.occurredAtMs = 1760210505123;
    e.nodeId = "node-\"7\"";
    e.dataJson = R"({"note":"a \"quoted\" word"})";
    return e;
}

}  // namespace

TEST(WebhookSignature, MatchesTheStandardWebhooksReferenceVector) {
    EXPECT_EQ(signer(kSecret).signature(kId, kTimestamp, kBody), kSignature);
}

TEST(WebhookSignature, TwoSecretsGiveTwoSignaturesInTheirOrderSeparatedByOneSpace) {
    const std::string both = std::string(kSecret) + "  " + kSecondSecret;
    EXPECT_EQ(signer(both).signature(kId, kTimestamp, kBody), std::string(kSignature) + " " + kSecondSignature);
}

TEST(WebhookSignature, AnotherBodyTimestampOrIdGivesAnotherSignature) {
    const WebhookSigner s = signer(kSecret);
    EXPECT_NE(s.signature(kId, kTimestamp, R"({"test": 2432232315})"), kSignature);
    EXPECT_NE(s.signature(kId, kTimestamp + 1, kBody), kSignature);
    EXPECT_NE(s.signature("msg_other", kTimestamp, kBody), kSignature);
}

TEST(WebhookSignature, TheHeadersNameTheIdTheTimestampAndTheSignature) {
    const WebhookHeaders headers = signer(kSecret).headers(kId, kTimestamp, kBody);
    EXPECT_EQ(
        headers,
        (WebhookHeaders{{"webhook-id", kId}, {"webhook-timestamp", "1614265330"}, {"webhook-signature", kSignature}}));
}

TEST(WebhookSignature, WithoutASecretNothingIsAdded) {
    const WebhookSigner none = signer("");
    EXPECT_FALSE(none.enabled());
    EXPECT_TRUE(none.headers(kId, kTimestamp, kBody).empty());
    EXPECT_FALSE(signer("   ").enabled());
}

TEST(WebhookConfig, AMalformedSecretIsRefusedNamingTheKeyAndItsPositionButNotItsText) {
    const std::string good = kSecret;
    const std::string tooShort = "whsec_" + std::string("MDEyMzQ1Njc4OWFiY2Rl");  // 15 bytes
    const std::string tooLong = "whsec_" + std::string(684, 'A');                 // 513 bytes
    struct Case {
        std::string value, position, why;
    };
    for (const Case& c :
         {Case{"secretvalue1234567890", "secret 1 of 1", "whsec_"}, Case{good + " whsec_", "secret 2 of 2", "base64"},
          Case{good + " whsec_MfKQ9r8GKYqrTwjU-D8ILPZIo2LaLaSw", "secret 2 of 2", "base64"},
          Case{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS " + good, "secret 1 of 2", "base64"},
          Case{"whsec_MDEyMzQ1Njc4OWFiY2RlZg=== " + good, "secret 1 of 2", "base64"},
          Case{"whsec_MDEyMzQ1Njc4OWFi=2RlZg== " + good, "secret 1 of 2", "base64"},
          Case{tooShort, "secret 1 of 1", "15 bytes"}, Case{good + " " + tooLong, "secret 2 of 2", "513 bytes"}}) {
        const Status s = createWith("webhook_secret", c.value);
        EXPECT_EQ(s.code, StatusCode::InvalidConfig) << c.value;
        EXPECT_NE(s.message.find("notifications.webhook_secret"), std::string::npos) << s.message;
        EXPECT_NE(s.message.find(c.position), std::string::npos) << s.message;
        EXPECT_NE(s.message.find(c.why), std::string::npos) << s.message;
        EXPECT_EQ(s.message.find("MfKQ9r8G"), std::string::npos) << "a secret was printed: " << s.message;
        EXPECT_EQ(s.message.find("secretvalue"), std::string::npos) << "a secret was printed: " << s.message;
    }
}

TEST(WebhookConfig, MoreSecretsThanTheLimitAreRefused) {
    std::string many;
    for (size_t i = 0; i <= WebhookSigner::kMaxSecrets; ++i) many += std::string(kSecret) + " ";
    const Status s = createWith("webhook_secret", many);
    EXPECT_EQ(s.code, StatusCode::InvalidConfig);
    EXPECT_NE(s.message.find("notifications.webhook_secret"), std::string::npos) << s.message;
}

TEST(WebhookConfig, SecretsOfTheBoundaryLengthsAreAccepted) {
    EXPECT_TRUE(createWith("webhook_secret", kSecondSecret).isOk());                              // 16 bytes
    EXPECT_TRUE(createWith("webhook_secret", "whsec_" + std::string(680, 'A') + "AA==").isOk());  // 511 bytes
    EXPECT_TRUE(createWith("webhook_secret", "whsec_" + std::string(680, 'A') + "AAA=").isOk());  // 512 bytes
}

TEST(WebhookConfig, AnUnknownFormatIsRefusedNamingTheKey) {
    for (const char* format : {"json", "CloudEvents", "native cloudevents", "cloudevents+json"}) {
        const Status s = createWith("format", format);
        EXPECT_EQ(s.code, StatusCode::InvalidConfig) << format;
        EXPECT_NE(s.message.find("notifications.format"), std::string::npos) << s.message;
    }
    EXPECT_TRUE(createWith("format", "cloudevents").isOk());
    EXPECT_TRUE(createWith("format", "").isOk()) << "empty is the default, native";
}

TEST(WebhookPayload, NativeIsTheEventDocumentAsJson) {
    const EventRecord e = shipped();
    EXPECT_EQ(payloadBody(e, PayloadFormat::Native), toJson(e));
    EXPECT_STREQ(payloadContentType(PayloadFormat::Native), "application/json");
}

TEST(WebhookPayload, CloudEventsWrapsTheEventDocumentAsData) {
    const EventRecord e = shipped();
    const std::string body = payloadBody(e, PayloadFormat::CloudEvents);
    EXPECT_STREQ(payloadContentType(PayloadFormat::CloudEvents), "application/cloudevents+json");
    EXPECT_EQ(body, R"({"specversion":"1.0","id":"0d6f3c2a-5b7e-4c1d-9a8b-2e4f6a8c0b1d",)"
                    R"("source":"ordersystem/node-\"7\"","type":"ordersystem.OrderProcessing","subject":"42",)"
                    R"("time":"2025-10-11T19:21:45.123Z","datacontenttype":"application/json","data":)" +
                        toJson(e) + "}");
    auto doc = parseJson(body);
    ASSERT_TRUE(doc.isOk()) << body;
    ASSERT_NE(doc.value().find("data"), nullptr);
    EXPECT_TRUE(doc.value().find("data")->isObject()) << "data is the document itself, not a string";
}
