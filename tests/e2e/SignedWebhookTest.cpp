// Signed webhooks and CloudEvents against the built executable: the receiver here checks the
// Standard Webhooks signature with its own OpenSSL HMAC code, as a user's receiver would.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <chrono>
#include <cstdlib>
#include <sstream>

#include "E2e.h"

using namespace e2e;

namespace {

// Raw keys; the node gets them as whsec_<base64>.
const std::string kFirstKey = "first key of the receiver, 32 b.";
const std::string kSecondKey = "second key, added to rotate";
const std::string kWrongKey = "a key the node was never given!!";

std::string base64(const std::string& bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
    out.resize(static_cast<size_t>(n));
    return out;
}

std::string whsec(const std::string& key) { return "whsec_" + base64(key); }

/// HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>", base64: what a v1 signature must be.
std::string expectedSignature(const std::string& key, const WebhookReceiver::Request& r) {
    const std::string content = r.headers.at("webhook-id") + "." + r.headers.at("webhook-timestamp") + "." + r.body;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(content.data()),
         content.size(), mac, &length);
    return base64(std::string(reinterpret_cast<const char*>(mac), length));
}

std::vector<std::string> signatures(const WebhookReceiver::Request& r) {
    std::vector<std::string> out;
    std::istringstream in(r.headers.count("webhook-signature") ? r.headers.at("webhook-signature") : "");
    for (std::string word; in >> word;) out.push_back(word);
    return out;
}

/// A receiver's check: one of the request's v1 signatures is the HMAC under key.
bool verifies(const std::string& key, const WebhookReceiver::Request& r) {
    if (!r.headers.count("webhook-id") || !r.headers.count("webhook-timestamp")) return false;
    const std::string wanted = "v1," + expectedSignature(key, r);
    for (const std::string& s : signatures(r))
        if (s == wanted) return true;
    return false;
}

int64_t unixSecondsNow() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/// One node whose [notifications] posts to a receiver with the given secret and format.
class WebhookFixture : public WebhookNodeTest {
protected:
    WebhookFixture(std::string secret, std::string format) : _secret(std::move(secret)), _format(std::move(format)) {}
    OrderNode::Options options() override {
        OrderNode::Options o = WebhookNodeTest::options();
        o.extraKeys["notifications"]["webhook_secret"] = _secret;
        o.extraKeys["notifications"]["format"] = _format;
        return o;
    }
    std::vector<WebhookReceiver::Request> waitForDeliveries(size_t n) {
        EXPECT_TRUE(waitUntil([&] { return receiver->accepted().size() >= n; }, std::chrono::seconds(20)))
            << "accepted " << receiver->accepted().size() << "\n"
            << node->output();
        return receiver->accepted();
    }

private:
    std::string _secret, _format;
};

class SignedWebhooks : public WebhookFixture {
protected:
    SignedWebhooks() : WebhookFixture(whsec(kFirstKey) + " " + whsec(kSecondKey), "native") {}
};

class CloudEventWebhooks : public WebhookFixture {
protected:
    CloudEventWebhooks() : WebhookFixture(whsec(kFirstKey), "cloudevents") {}
};

}  // namespace

TEST_F(SignedWebhooks, WithTwoSecretsEveryDeliveryCarriesTwoSignaturesThatTheReceiverVerifies) {
    const int64_t id = create("Signed");
    ASSERT_EQ(post("/api/orders/" + std::to_string(id) + "/process").status, 200);

    const auto deliveries = waitForDeliveries(2);
    ASSERT_EQ(deliveries.size(), 2u);
    for (const auto& r : deliveries) {
        auto doc = ordersystem::sdk::parseJson(r.body);
        ASSERT_TRUE(doc.isOk()) << r.body;
        EXPECT_EQ(r.contentType.rfind("application/json", 0), 0u) << r.contentType;
        ASSERT_EQ(r.headers.count("webhook-id"), 1u);
        EXPECT_EQ(r.headers.at("webhook-id"), stringField(doc.value(), "eventId"));
        EXPECT_EQ(r.headers.at("webhook-id"), r.idempotencyKey);
        ASSERT_EQ(r.headers.count("webhook-timestamp"), 1u);
        // Unix seconds (a generous window: the receiver's clock is this machine's).
        const int64_t timestamp = std::stoll(r.headers.at("webhook-timestamp"));
        EXPECT_LT(std::llabs(timestamp - unixSecondsNow()), 3600) << r.headers.at("webhook-timestamp");
        EXPECT_EQ(signatures(r).size(), 2u) << r.headers.at("webhook-signature");
        EXPECT_TRUE(verifies(kFirstKey, r)) << r.headers.at("webhook-signature");
        EXPECT_TRUE(verifies(kSecondKey, r)) << r.headers.at("webhook-signature");
    }
    const std::string log = node->output();
    EXPECT_NE(log.find("signed with 2 secrets"), std::string::npos) << log;
    EXPECT_EQ(log.find(base64(kFirstKey)), std::string::npos) << "a secret is in the log";
    EXPECT_EQ(log.find(base64(kSecondKey)), std::string::npos) << "a secret is in the log";
}

TEST_F(SignedWebhooks, ASignatureDoesNotVerifyWithAnotherSecretOrAnotherBody) {
    create("Tampered");
    const auto deliveries = waitForDeliveries(1);
    ASSERT_FALSE(deliveries.empty());
    WebhookReceiver::Request r = deliveries.front();
    ASSERT_TRUE(verifies(kFirstKey, r));
    EXPECT_FALSE(verifies(kWrongKey, r));
    r.body += " ";
    EXPECT_FALSE(verifies(kFirstKey, r)) << "the signature covers the exact body";
}

TEST_F(CloudEventWebhooks, ADeliveryIsASignedCloudEventWithTheEventDocumentAsData) {
    const int64_t id = create("Clouded");
    const auto deliveries = waitForDeliveries(1);
    ASSERT_FALSE(deliveries.empty());
    const auto& r = deliveries.front();
    EXPECT_EQ(r.contentType, "application/cloudevents+json");
    EXPECT_TRUE(verifies(kFirstKey, r)) << "the signature covers the CloudEvents body";
    EXPECT_EQ(signatures(r).size(), 1u);

    auto doc = ordersystem::sdk::parseJson(r.body);
    ASSERT_TRUE(doc.isOk()) << r.body;
    std::vector<std::string> names;
    for (const auto& member : doc.value().members()) names.push_back(member.first);
    EXPECT_EQ(names, (std::vector<std::string>{"specversion", "id", "source", "type", "subject", "time",
                                               "datacontenttype", "data"}));
    const JsonValue& ce = doc.value();
    const JsonValue* data = ce.find("data");
    ASSERT_TRUE(data && data->isObject()) << "data is the event document, not a string: " << r.body;
    EXPECT_EQ(stringField(ce, "specversion"), "1.0");
    EXPECT_EQ(stringField(ce, "id"), stringField(*data, "eventId"));
    EXPECT_EQ(stringField(ce, "id"), r.idempotencyKey);
    EXPECT_EQ(stringField(ce, "source"), "ordersystem/node-1");
    EXPECT_EQ(stringField(ce, "type"), "ordersystem.OrderCreated");
    EXPECT_EQ(stringField(ce, "subject"), std::to_string(id));
    EXPECT_EQ(stringField(ce, "time"), stringField(*data, "occurredAt"));
    EXPECT_EQ(stringField(ce, "datacontenttype"), "application/json");
    EXPECT_EQ(intField(*data, "orderId"), id);
    EXPECT_EQ(stringField(*data, "type"), "OrderCreated");
}
