// The webhook reaction against a real HTTP receiver on 127.0.0.1 (Poco HTTPServer, port 0).
#include <gtest/gtest.h>

#include <Poco/File.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "NotificationsPlugin.h"
#include "ordersystem/testing/FakeHost.h"
#include "ordersystem/testing/TestSupport.h"

using namespace ordersystem::sdk;
using ordersystem::plugins::notifications::kConfigKeyCount;
using ordersystem::plugins::notifications::kConfigKeys;
using ordersystem::plugins::notifications::NotificationsPlugin;
using ordersystem::testing::FakeHost;
using ordersystem::testing::TempDir;

namespace {

/// What the receiver saw in one request.
struct Received {
    std::string method, path, contentType, idempotencyKey, body;
};

/// Shared between the receiver's threads and the test.
struct ReceiverState {
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<Received> requests;
    int failFirst = 0;  ///< answer failStatus to this many requests, then 204
    int failStatus = 500;
    std::string retryAfter;  ///< sent with a failing answer when not empty
    bool holding = false;    ///< while true, requests wait before answering (a slow receiver)
};

class RecordingHandler final : public Poco::Net::HTTPRequestHandler {
public:
    explicit RecordingHandler(ReceiverState& state) : _state(state) {}
    void handleRequest(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) override {
        Received r;
        r.method = req.getMethod();
        r.path = req.getURI();
        r.contentType = req.getContentType();
        r.idempotencyKey = req.get("Idempotency-Key", "");
        Poco::StreamCopier::copyToString(req.stream(), r.body);
        bool fail;
        {
            std::unique_lock<std::mutex> lock(_state.mutex);
            fail = static_cast<int>(_state.requests.size()) < _state.failFirst;
            _state.requests.push_back(std::move(r));
            _state.changed.notify_all();
            // Bounded: a test that forgets to release still ends.
            _state.changed.wait_for(lock, std::chrono::seconds(10), [this] { return !_state.holding; });
        }
        res.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(fail ? _state.failStatus : 204));
        if (fail && !_state.retryAfter.empty()) res.set("Retry-After", _state.retryAfter);
        res.setContentLength(0);
        res.send();
    }

private:
    ReceiverState& _state;
};

class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
public:
    explicit Factory(ReceiverState& state) : _state(state) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
        return new RecordingHandler(_state);
    }

private:
    ReceiverState& _state;
};

/// A tiny webhook receiver on 127.0.0.1:<free port>; stopped by the destructor.
class Receiver {
public:
    explicit Receiver(int failFirst = 0) : _socket(Poco::Net::SocketAddress("127.0.0.1", 0)) {
        _state.failFirst = failFirst;
        auto* params = new Poco::Net::HTTPServerParams;
        params->setKeepAlive(false);
        params->setMaxThreads(2);
        _server = std::make_unique<Poco::Net::HTTPServer>(new Factory(_state), _socket, params);
        _server->start();
    }
    ~Receiver() { _server->stopAll(true); }
    int port() const { return _socket.address().port(); }
    std::string url(const std::string& path = "/hooks/orders") const {
        return "http://127.0.0.1:" + std::to_string(port()) + path;
    }
    std::vector<Received> requests() {
        std::lock_guard<std::mutex> lock(_state.mutex);
        return _state.requests;
    }
    /// Failing answers are status with Retry-After: retryAfter (none when empty).
    void failWith(int status, std::string retryAfter) {
        std::lock_guard<std::mutex> lock(_state.mutex);
        _state.failStatus = status;
        _state.retryAfter = std::move(retryAfter);
    }
    /// Makes requests wait for release() before they are answered.
    void hold() {
        std::lock_guard<std::mutex> lock(_state.mutex);
        _state.holding = true;
    }
    void release() {
        std::lock_guard<std::mutex> lock(_state.mutex);
        _state.holding = false;
        _state.changed.notify_all();
    }
    /// Waits (bounded) until n requests have arrived.
    bool waitForRequests(size_t n) {
        std::unique_lock<std::mutex> lock(_state.mutex);
        return _state.changed.wait_for(lock, std::chrono::seconds(10), [&] { return _state.requests.size() >= n; });
    }

private:
    ReceiverState _state;
    Poco::Net::ServerSocket _socket;
    std::unique_ptr<Poco::Net::HTTPServer> _server;
};

/// Just enough EventLog for a Reaction to subscribe; everything else is unused here.
class FakeEventLog final : public EventLog {
public:
    std::string_view mode() const noexcept override { return "standalone"; }
    Result<int64_t> allocateOrderId() noexcept override { return Status(StatusCode::Internal, "unused"); }
    AppendResult append(AppendRequest&) noexcept override { return {}; }
    Result<std::vector<EventRecord>> readOrder(int64_t) noexcept override { return std::vector<EventRecord>{}; }
    Result<uint64_t> headPosition() noexcept override { return uint64_t{0}; }
    Result<SubscriptionId> subscribe(Projection&) noexcept override { return Status(StatusCode::Internal, "unused"); }
    Result<SubscriptionId> subscribe(Reaction& r) noexcept override {
        reaction = &r;
        return SubscriptionId{7};
    }
    void unsubscribe(SubscriptionId id) noexcept override {
        if (id == 7) reaction = nullptr;
    }
    IdempotencyStore& idempotency() noexcept override { std::abort(); }
    Membership& membership() noexcept override { std::abort(); }

    Reaction* reaction = nullptr;
};

EventRecord orderCreated(int64_t orderId = 12) {
    EventRecord e;
    e.eventId = "4f1c2a9e-1111-4a2b-9c3d-" + std::to_string(100000000000 + orderId);
    e.type = "OrderCreated";
    e.orderId = orderId;
    e.orderNumber = "ORD-20251011192145-0012";
    e.version = 1;
    e.occurredAtMs = 1760210505123;
    e.nodeId = "node-1";
    e.dataJson =
        R"({"customerName":"John Doe","items":[{"productName":"Laptop","quantity":1,"price":999.99}],"totalAmount":999.99})";
    e.position = 5;
    return e;
}

/// A started plugin on a FakeHost with the given webhook URL.
struct Started {
    TempDir dir;
    FakeHost host{dir.path()};
    FakeEventLog log;
    std::unique_ptr<NotificationsPlugin> plugin;

    explicit Started(const std::string& url, const std::string& timeoutMs = "2000") {
        host.mutableConfig().withDefaults(kConfigKeys, kConfigKeyCount);
        host.mutableConfig().set("webhook_url", url);
        host.mutableConfig().set("timeout_ms", timeoutMs);
        host.mutableConfig().set("dedup_retention_hours", "168");
        host.provideEventLog(&log);
        Status error;
        plugin = NotificationsPlugin::create(host.config(), &error);
        if (!plugin) throw std::runtime_error("create failed: " + error.message);
        Status s = plugin->start(host);
        if (!s) throw std::runtime_error("start failed: " + s.message);
    }
    ~Started() { plugin->stop(); }
    double outcome(const char* name) {
        return host.fakeMetrics().value("ordersystem_webhook_deliveries_total", {{"outcome", name}});
    }
};

}  // namespace

TEST(Webhook, DeliversTheEventDocumentWithItsIdAsIdempotencyKey) {
    Receiver receiver;
    Started s(receiver.url());
    ASSERT_EQ(s.log.reaction, s.plugin.get()) << "start() subscribes the reaction";
    const EventRecord e = orderCreated();

    EXPECT_TRUE(s.plugin->handle(e).isOk());

    const auto got = receiver.requests();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].method, "POST");
    EXPECT_EQ(got[0].path, "/hooks/orders");
    EXPECT_EQ(got[0].contentType, "application/json");
    EXPECT_EQ(got[0].idempotencyKey, e.eventId);
    EXPECT_EQ(got[0].body, toJson(e));
    EXPECT_EQ(s.outcome("success"), 1.0);
}

TEST(Webhook, AFailingReceiverIsNotAckedAndTheRedeliveryIsAckedOnceItAccepts) {
    Receiver receiver(/*failFirst=*/2);
    Started s(receiver.url());
    const EventRecord e = orderCreated();

    EXPECT_FALSE(s.plugin->handle(e).isOk()) << "500 must not be acknowledged";
    EXPECT_FALSE(s.plugin->handle(e).isOk());
    EXPECT_TRUE(s.plugin->handle(e).isOk()) << "third attempt gets 204";

    const auto got = receiver.requests();
    ASSERT_EQ(got.size(), 3u) << "one POST per handle(), no hidden retries";
    for (const auto& r : got) {
        EXPECT_EQ(r.idempotencyKey, e.eventId) << "the same key on every retry";
        EXPECT_EQ(r.body, toJson(e));
    }
    EXPECT_EQ(s.outcome("failure"), 2.0);
    EXPECT_EQ(s.outcome("success"), 1.0);
    EXPECT_TRUE(s.host.fakeLogger().contains(e.eventId)) << "the warn line names the event";
    EXPECT_TRUE(s.host.fakeLogger().contains("HTTP 500"));
    EXPECT_TRUE(s.host.fakeLogger().contains("127.0.0.1:" + std::to_string(receiver.port()) + "/hooks/orders"));
}

TEST(Webhook, ARedeliveryOfADeliveredEventIsAckedWithoutASecondPost) {
    Receiver receiver;
    Started s(receiver.url());
    const EventRecord e = orderCreated();

    ASSERT_TRUE(s.plugin->handle(e).isOk());
    EXPECT_TRUE(s.plugin->handle(e).isOk());

    EXPECT_EQ(receiver.requests().size(), 1u);
    EXPECT_EQ(s.outcome("duplicate"), 1.0);
}

TEST(Webhook, TheNodeRemembersDeliveriesAcrossARestart) {
    Receiver receiver;
    TempDir dir;
    const EventRecord e = orderCreated();
    for (int run = 0; run < 2; ++run) {
        FakeHost host(dir.path());
        FakeEventLog log;
        host.mutableConfig().withDefaults(kConfigKeys, kConfigKeyCount);
        host.mutableConfig().set("webhook_url", receiver.url());
        host.mutableConfig().set("timeout_ms", "2000");
        host.mutableConfig().set("dedup_retention_hours", "168");
        host.provideEventLog(&log);
        Status error;
        auto plugin = NotificationsPlugin::create(host.config(), &error);
        ASSERT_TRUE(plugin) << error.message;
        ASSERT_TRUE(plugin->start(host).isOk());
        EXPECT_TRUE(plugin->handle(e).isOk());
        plugin->stop();
    }
    EXPECT_EQ(receiver.requests().size(), 1u);
    EXPECT_TRUE(Poco::File(dir.path() + "/notifications.db").exists());
}

TEST(Webhook, DifferentEventsAreEachDelivered) {
    Receiver receiver;
    Started s(receiver.url());
    ASSERT_TRUE(s.plugin->handle(orderCreated(1)).isOk());
    ASSERT_TRUE(s.plugin->handle(orderCreated(2)).isOk());
    const auto got = receiver.requests();
    ASSERT_EQ(got.size(), 2u);
    EXPECT_NE(got[0].idempotencyKey, got[1].idempotencyKey);
}

TEST(Webhook, AReceiverThatIsDownIsNotAckedAndFailsQuickly) {
    int port;
    {
        Receiver gone;  // learn a port nobody listens on any more
        port = gone.port();
    }
    Started s("http://127.0.0.1:" + std::to_string(port) + "/hook", "30000");
    const Status r = s.plugin->handle(orderCreated());
    EXPECT_FALSE(r.isOk());
    EXPECT_EQ(r.code, StatusCode::Unavailable) << r.message;
    EXPECT_EQ(s.outcome("failure"), 1.0);
    EXPECT_TRUE(s.host.fakeLogger().contains("127.0.0.1:" + std::to_string(port) + "/hook"));
}

TEST(Webhook, AReceiverThatDoesNotAnswerInTimeIsATimeoutAndNotAcked) {
    Receiver receiver;
    receiver.hold();
    Started s(receiver.url(), "300");
    const Status r = s.plugin->handle(orderCreated());
    receiver.release();
    EXPECT_EQ(r.code, StatusCode::Timeout) << r.message;
    EXPECT_EQ(s.outcome("failure"), 1.0);
}

TEST(Webhook, TheSameEventOnTwoThreadsAtOnceIsPostedOnlyOnce) {
    Receiver receiver;
    receiver.hold();
    Started s(receiver.url(), "10000");
    const EventRecord e = orderCreated();
    Status first;
    std::thread worker([&] { first = s.plugin->handle(e); });
    ASSERT_TRUE(receiver.waitForRequests(1)) << "the first POST never arrived";
    const Status second = s.plugin->handle(e);
    receiver.release();
    worker.join();
    EXPECT_FALSE(second.isOk()) << "in flight elsewhere: redeliver later rather than POST twice";
    EXPECT_TRUE(first.isOk()) << first.message;
    EXPECT_EQ(receiver.requests().size(), 1u);
    EXPECT_TRUE(s.plugin->handle(e).isOk()) << "a later redelivery is acked as a duplicate";
    EXPECT_EQ(receiver.requests().size(), 1u);
}

TEST(Webhook, AnHttpsUrlIsUsableWhenTheBuildHasTls) {
    if (!ordersystem::plugins::notifications::httpsSupported()) GTEST_SKIP() << "built without Poco NetSSL";
    Receiver plainHttp;
    Started s("https://127.0.0.1:" + std::to_string(plainHttp.port()) + "/hook", "2000");
    const Status r = s.plugin->handle(orderCreated());
    EXPECT_FALSE(r.isOk()) << "a TLS handshake with a plain-HTTP server must fail, not pass";
    EXPECT_TRUE(s.host.fakeLogger().contains("https://127.0.0.1:" + std::to_string(plainHttp.port()) + "/hook"));
}

TEST(Webhook, WithoutAUrlEachEventIsLoggedAndAcked) {
    Started s("");
    EXPECT_TRUE(s.plugin->handle(orderCreated(12)).isOk());
    EXPECT_TRUE(s.host.fakeLogger().contains("event OrderCreated order 12 v1 (no webhook_url configured)"));
    EXPECT_FALSE(Poco::File(s.dir.path() + "/notifications.db").exists()) << "nothing to deduplicate";
}

TEST(Webhook, StopUnsubscribesTheReaction) {
    Receiver receiver;
    Started s(receiver.url());
    ASSERT_NE(s.log.reaction, nullptr);
    s.plugin->stop();
    EXPECT_EQ(s.log.reaction, nullptr);
}

TEST(WebhookConfig, ABadUrlIsRefusedAtCreateNamingTheKey) {
    for (const char* url : {"not a url", "ftp://example.com/hook", "http:///nohost", "mailto:ops@example.com",
                            "http://127.0.0.1:0/hook"}) {
        ordersystem::testing::FakeConfig config(
            "notifications", {{"webhook_url", url}, {"timeout_ms", "5000"}, {"dedup_retention_hours", "168"}});
        config.withDefaults(kConfigKeys, kConfigKeyCount);
        Status error;
        auto plugin = NotificationsPlugin::create(config, &error);
        EXPECT_FALSE(plugin) << url;
        EXPECT_EQ(error.code, StatusCode::InvalidConfig) << url;
        EXPECT_NE(error.message.find("notifications.webhook_url"), std::string::npos) << error.message;
    }
}

TEST(WebhookConfig, ANonPositiveTimeoutIsRefusedAtCreate) {
    ordersystem::testing::FakeConfig config(
        "notifications", {{"webhook_url", ""}, {"timeout_ms", "0"}, {"dedup_retention_hours", "168"}});
    config.withDefaults(kConfigKeys, kConfigKeyCount);
    Status error;
    EXPECT_FALSE(NotificationsPlugin::create(config, &error));
    EXPECT_NE(error.message.find("notifications.timeout_ms"), std::string::npos) << error.message;
}

TEST(WebhookConfig, AnHttpUrlWithPortPathAndQueryIsAccepted) {
    ordersystem::testing::FakeConfig config("notifications",
                                            {{"webhook_url", "http://hooks.example.com:8080/a/b?token=x"},
                                             {"timeout_ms", "5000"},
                                             {"dedup_retention_hours", "168"}});
    config.withDefaults(kConfigKeys, kConfigKeyCount);
    Status error;
    EXPECT_TRUE(NotificationsPlugin::create(config, &error)) << error.message;
}

TEST(Webhook, AReceiversRetryAfterOn503And429IsHandedToTheTransportAndIgnoredOnOtherStatuses) {
    Receiver receiver(/*failFirst=*/3);
    Started s(receiver.url());
    const EventRecord e = orderCreated();

    receiver.failWith(503, "7");
    const Status unavailable = s.plugin->handle(e);
    EXPECT_FALSE(unavailable.isOk());
    EXPECT_EQ(unavailable.retryAfterMs, 7000);

    receiver.failWith(429, "Fri, 01 Jan 2100 00:00:00 GMT");
    const Status limited = s.plugin->handle(e);
    EXPECT_FALSE(limited.isOk());
    EXPECT_EQ(limited.retryAfterMs, 24LL * 3600 * 1000) << "a far date is waited out for at most a day";

    receiver.failWith(400, "30");
    const Status refused = s.plugin->handle(e);
    EXPECT_FALSE(refused.isOk());
    EXPECT_EQ(refused.retryAfterMs, 0) << "Retry-After counts only on 429 and 503";
}

TEST(WebhookConfig, TheRetryScheduleIsTheReactionsDeliveryPolicy) {
    ordersystem::testing::FakeConfig config(
        "notifications", {{"max_attempts", "3"}, {"retry_initial_ms", "50"}, {"retry_max_ms", "400"}});
    config.withDefaults(kConfigKeys, kConfigKeyCount);
    Status error;
    auto plugin = NotificationsPlugin::create(config, &error);
    ASSERT_TRUE(plugin) << error.message;
    const DeliveryPolicy policy = plugin->deliveryPolicy();
    EXPECT_EQ(policy.maxAttempts, 3);
    EXPECT_EQ(policy.retryInitialMs, 50);
    EXPECT_EQ(policy.retryMaxMs, 400);
}

TEST(WebhookConfig, AnUnusableRetryScheduleIsRefusedAtCreateNamingTheKey) {
    const std::vector<std::pair<std::map<std::string, std::string>, std::string>> bad = {
        {{{"max_attempts", "0"}}, "notifications.max_attempts"},
        {{{"max_attempts", "1001"}}, "notifications.max_attempts"},
        {{{"retry_initial_ms", "0"}}, "notifications.retry_initial_ms"},
        {{{"retry_initial_ms", "500"}, {"retry_max_ms", "100"}}, "notifications.retry_max_ms"},
        {{{"retry_max_ms", "86400001"}}, "notifications.retry_max_ms"},
    };
    for (const auto& [values, key] : bad) {
        ordersystem::testing::FakeConfig config("notifications", values);
        config.withDefaults(kConfigKeys, kConfigKeyCount);
        Status error;
        EXPECT_FALSE(NotificationsPlugin::create(config, &error)) << key;
        EXPECT_EQ(error.code, StatusCode::InvalidConfig);
        EXPECT_NE(error.message.find(key), std::string::npos) << error.message;
    }
}
