// The built executable under attack, as one hostile machine would mount it: descriptor
// exhaustion under a low open-file limit, idle and slowloris connections on the plain and the
// TLS listener, a pipelining client that never reads, many large bodies at once. Each test
// asserts a resource bound measured here (CPU seconds, resident memory, a fresh client served
// within a second), with margins wide enough for a shared, noisy machine.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "E2e.h"
#include "ordersystem/testing/RawClient.h"

namespace e2e {
namespace {

using Clock = std::chrono::steady_clock;
using ordersystem::testing::RawClient;

/// This test process opens hundreds of sockets: raise its own soft limit to the hard one.
void allowManySockets() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
}

/// How long a fresh client waits for GET /health/live (a very long time when not served).
std::chrono::milliseconds freshClientWait(int port, bool tls) {
    const auto start = Clock::now();
    RawClient client(port, tls, std::chrono::seconds(10));
    const bool served = client.ok() && client.send("GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n") &&
                        client.readResponse(false, false, std::chrono::seconds(10)).status == 200;
    return served ? std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start) : std::chrono::hours(1);
}

/// Writes as much of bytes as the peer takes until deadline, without blocking; the count sent.
size_t sendWhatFits(int fd, const std::string& bytes, Clock::time_point deadline) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    size_t sent = 0;
    while (sent < bytes.size() && Clock::now() < deadline) {
        const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += static_cast<size_t>(n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            pollfd p{fd, POLLOUT, 0};
            ::poll(&p, 1, 50);
            continue;
        }
        break;
    }
    return sent;
}

size_t countLines(const std::string& text, const std::string& part) {
    size_t n = 0;
    for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
    return n;
}

class AbuseTest : public ::testing::Test {
protected:
    void SetUp() override { allowManySockets(); }
    std::unique_ptr<OrderNode> startNode(OrderNode::Options options, bool tls = false) {
        if (tls) {
            if (!makeSelfSignedCertificate(dir.path())) return nullptr;
            options.extraKeys["http"]["tls_cert"] = dir.file("cert.pem");
            options.extraKeys["http"]["tls_key"] = dir.file("key.pem");
        }
        auto node = std::make_unique<OrderNode>(dir.file(tls ? "tls-node" : "node"), options);
        if (!node->start()) {
            ADD_FAILURE() << "the node did not start: " << node->output();
            return nullptr;
        }
        return node;
    }
    TempDir dir;
};

TEST_F(AbuseTest, AtTheOpenFileLimitTheServerNeitherSpinsNorFloodsTheLogAndAFreshClientIsServed) {
    OrderNode::Options options;
    options.maxOpenFiles = 64;
    options.extraKeys["http"]["keep_alive_timeout_ms"] = "60000";
    auto node = startNode(options);
    ASSERT_TRUE(node);
    std::vector<std::unique_ptr<RawClient>> attackers;
    for (int i = 0; i < 200; ++i) attackers.push_back(std::make_unique<RawClient>(node->port(), false));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // accepted until no descriptor is left
    const double cpuBefore = processCpuSeconds(node->process()->pid());
    std::this_thread::sleep_for(std::chrono::seconds(3));
    const double cpu = processCpuSeconds(node->process()->pid()) - cpuBefore;
    EXPECT_LT(cpu, 1.0) << "the server burned " << cpu << " CPU seconds in 3 s serving nobody";
    EXPECT_LE(countLines(node->output(), "cannot accept connections"), 2u) << node->output().substr(0, 2000);
    EXPECT_NE(node->output().find("max_connections = 10000 lowered to"), std::string::npos) << node->output();
    // Connections that hold a descriptor for a second without asking for anything make room for
    // one that asks, even before the attacker lets go (the backlog ahead of it drains 1 s a round).
    const auto during = freshClientWait(node->port(), false);
    EXPECT_LT(during.count(), 5000) << "a fresh client waited " << during.count() << " ms during the attack";
    attackers.clear();
    const auto wait = freshClientWait(node->port(), false);
    EXPECT_LT(wait.count(), 1000) << "a fresh client waited " << wait.count() << " ms once descriptors were free";
    const std::string metrics = httpGet(node->port(), "/metrics").body;
    EXPECT_GT(metricSample(metrics, "ordersystem_http_accept_pauses_total{reason=\"descriptors\"}"), 0) << metrics;
    EXPECT_GT(metricSample(metrics, "ordersystem_http_unused_connections_closed_total"), 0);
    EXPECT_GE(metricSample(metrics, "ordersystem_http_open_connections"), 1);
}

class SlowClients : public AbuseTest, public ::testing::WithParamInterface<bool> {};

TEST_P(SlowClients, IdleAndSlowlorisConnectionsDoNotLockOutAFreshClientAndAreCutAtTheirDeadline) {
    const bool tls = GetParam();
    OrderNode::Options options;
    options.extraKeys["http"]["request_timeout_ms"] = "3000";
    options.extraKeys["http"]["keep_alive_timeout_ms"] = "60000";
    auto node = startNode(options, tls);
    ASSERT_TRUE(node);
    const int pid = node->process()->pid();
    // Idle: connected, never a byte (for TLS, not even a handshake).
    std::vector<std::unique_ptr<RawClient>> idle;
    for (int i = 0; i < 300; ++i) idle.push_back(std::make_unique<RawClient>(node->port(), false));
    // Slowloris: a head that never ends, one byte at a time.
    std::vector<std::unique_ptr<RawClient>> slow;
    for (int i = 0; i < 60; ++i) {
        slow.push_back(std::make_unique<RawClient>(node->port(), tls));
        ASSERT_TRUE(slow.back()->ok()) << slow.back()->error();
        slow.back()->send("GET /health/live HTTP/1.1\r\nHost: x\r\nX-Slow: ");
    }
    const double cpuBefore = processCpuSeconds(pid);
    for (int round = 0; round < 4; ++round) {
        for (auto& s : slow) s->send("a");
        const auto wait = freshClientWait(node->port(), tls);
        EXPECT_LT(wait.count(), 1000) << "round " << round << ": a fresh client waited " << wait.count() << " ms";
        std::this_thread::sleep_for(std::chrono::milliseconds(400));
    }
    const double cpu = processCpuSeconds(pid) - cpuBefore;
    EXPECT_LT(cpu, 1.5) << "the server spent " << cpu << " CPU seconds on 360 slow connections";
    // The slowloris heads started more than request_timeout_ms ago: every one is cut off.
    size_t closed = 0;
    for (auto& s : slow) closed += s->closedWithin(std::chrono::seconds(3)) ? 1 : 0;
    EXPECT_EQ(closed, slow.size());
    if (tls) {  // a TCP connection that never starts its handshake is dropped too
        size_t idleClosed = 0;
        for (size_t i = 0; i < 20; ++i) idleClosed += idle[i]->closedWithin(std::chrono::seconds(12)) ? 1 : 0;
        EXPECT_EQ(idleClosed, 20u);
    }
}

INSTANTIATE_TEST_SUITE_P(Listeners, SlowClients, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) { return info.param ? "Tls" : "Plain"; });

TEST_F(AbuseTest, APipeliningClientThatNeverReadsHoldsBoundedMemoryAndOthersAreServed) {
    auto node = startNode({});
    ASSERT_TRUE(node);
    const int pid = node->process()->pid();
    ASSERT_EQ(httpPostJson(node->port(), "/api/orders", orderBody("Pipeliner")).status, 201);
    const double rssBefore = processRssMiB(pid);
    // Large requests, small answers: the answers fill the client's socket long after the
    // requests would have filled the server's memory, were they read ahead.
    const std::string request =
        "GET /api/orders/1 HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(12000, 'p') + "\r\n\r\n";
    std::string all;
    while (all.size() < 128u * 1024 * 1024) all += request;
    RawClient greedy(node->port(), false);
    ASSERT_TRUE(greedy.ok());
    std::thread pusher([&] { sendWhatFits(greedy.fd(), all, Clock::now() + std::chrono::seconds(4)); });
    std::this_thread::sleep_for(std::chrono::seconds(1));
    const auto wait = freshClientWait(node->port(), false);
    pusher.join();
    const double grown = processRssMiB(pid) - rssBefore;
    EXPECT_LT(grown, 48.0) << "resident memory grew by " << grown << " MiB for one client that never reads";
    EXPECT_LT(wait.count(), 1000) << "a fresh client waited " << wait.count() << " ms";
}

TEST_F(AbuseTest, ManyLargeBodiesAtOnceHoldNoMoreThanTheBodyBudgetAndTheRestGet503) {
    OrderNode::Options options;  // the default budget: 64 MiB for all bodies in flight
    options.extraKeys["http"]["request_timeout_ms"] = "10000";
    auto node = startNode(options);
    ASSERT_TRUE(node);
    const int pid = node->process()->pid();
    const double rssBefore = processRssMiB(pid);
    const size_t declared = 250 * 1000;
    const std::string head =
        "POST /api/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
        std::to_string(declared) + "\r\n\r\n";
    const std::string body(declared - 1000, ' ');  // never quite complete: the server has to hold it
    std::vector<std::unique_ptr<RawClient>> senders;
    const auto deadline = Clock::now() + std::chrono::seconds(8);
    for (int i = 0; i < 600; ++i) {
        senders.push_back(std::make_unique<RawClient>(node->port(), false));
        sendWhatFits(senders.back()->fd(), head + body,
                     std::min(deadline, Clock::now() + std::chrono::milliseconds(20)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const double grown = processRssMiB(pid) - rssBefore;
    EXPECT_LT(grown, 100.0) << "resident memory grew by " << grown << " MiB holding 600 bodies of 250 KB";
    size_t refused = 0;
    for (auto& s : senders) {
        const auto r = s->readResponse(false, false, std::chrono::milliseconds(100));
        refused += r.status == 503 ? 1 : 0;
    }
    EXPECT_GT(refused, 0u) << "the bodies past the budget should be refused";
    EXPECT_GT(metricSample(httpGet(node->port(), "/metrics").body, "ordersystem_http_body_budget_refusals_total"), 0);
    const auto wait = freshClientWait(node->port(), false);
    EXPECT_LT(wait.count(), 1000) << "a fresh client waited " << wait.count() << " ms";
}

}  // namespace
}  // namespace e2e
