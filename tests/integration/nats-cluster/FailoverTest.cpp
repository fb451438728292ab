// Faults of a three-server cluster as a node's appends see them: the stream leader killed under
// concurrent writers (every acknowledged append stored exactly once, no gaps, refusals 409/503
// only, the killed server catches up), the node's own server lost, and a majority lost (503 after
// append_timeout_ms, nothing acknowledged, writes again once the majority is back).
#include <set>

#include "NatsClusterNodes.h"

using namespace ordersystem::natstest;

namespace {

using namespace std::chrono_literals;

struct Acknowledged {
    int64_t orderId = 0;
    int64_t version = 0;
    std::string eventId;
};

/// Writer threads, half blocking and half asynchronous: each creates orders and takes each to
/// version 3, giving up an order at its first refused append. Remembers every acknowledgement.
class Writers {
public:
    Writers(NatsEventLog& log, int threads) {
        for (int t = 0; t < threads; ++t) _threads.emplace_back([this, &log, t] { run(log, t % 2 == 1); });
    }
    ~Writers() { stop(); }
    void stop() {
        _stop = true;
        for (auto& thread : _threads)
            if (thread.joinable()) thread.join();
    }
    size_t acknowledged() const {
        std::lock_guard<std::mutex> lock(_mutex);
        return _acks.size();
    }
    std::vector<Acknowledged> acks() const {
        std::lock_guard<std::mutex> lock(_mutex);
        return _acks;
    }
    std::map<StatusCode, int> refusals() const {
        std::lock_guard<std::mutex> lock(_mutex);
        return _refusals;
    }

private:
    void run(NatsEventLog& log, bool async) {
        while (!_stop) {
            auto id = log.allocateOrderId();
            if (!id) {
                refused(id.status().code);
                std::this_thread::sleep_for(50ms);
                continue;
            }
            for (int64_t version = 0; version < 3 && !_stop; ++version) {
                AppendRequest request = nextEvent(*id, version);
                const std::string eventId = request.events[0].eventId;
                const AppendResult r = async ? appendAsyncAndWait(log, std::move(request), 60s) : log.append(request);
                if (!r.status) {
                    refused(r.status.code);
                    break;
                }
                std::lock_guard<std::mutex> lock(_mutex);
                _acks.push_back({*id, version + 1, eventId});
            }
        }
    }
    void refused(StatusCode code) {
        std::lock_guard<std::mutex> lock(_mutex);
        ++_refusals[code];
    }

    std::atomic<bool> _stop{false};
    mutable std::mutex _mutex;
    std::vector<Acknowledged> _acks;
    std::map<StatusCode, int> _refusals;
    std::vector<std::thread> _threads;
};

/// Every acknowledged event is stored exactly once, and each order's versions run 1, 2, ... .
void expectStoredOnceWithoutGaps(NatsEventLog& log, const std::vector<Acknowledged>& acks) {
    std::map<int64_t, std::set<std::string>> acknowledgedByOrder;
    for (const auto& a : acks) acknowledgedByOrder[a.orderId].insert(a.eventId);
    for (const auto& [orderId, eventIds] : acknowledgedByOrder) {
        auto events = log.readOrder(orderId);
        ASSERT_TRUE(events.isOk()) << events.status().message;
        std::map<std::string, int> stored;
        for (size_t i = 0; i < events->size(); ++i) {
            EXPECT_EQ((*events)[i].version, static_cast<int64_t>(i + 1)) << "order " << orderId << " has a gap";
            ++stored[(*events)[i].eventId];
        }
        for (const auto& [eventId, times] : stored) EXPECT_EQ(times, 1) << "order " << orderId << " event " << eventId;
        for (const auto& eventId : eventIds)
            EXPECT_EQ(stored.count(eventId), 1u)
                << "acknowledged event " << eventId << " of order " << orderId << " is not stored";
    }
}

void expectOnly409Or503(const std::map<StatusCode, int>& refusals) {
    for (const auto& [code, count] : refusals)
        EXPECT_TRUE(httpStatusFor(code) == 409 || httpStatusFor(code) == 503)
            << count << " appends refused with HTTP " << httpStatusFor(code);
}

}  // namespace

TEST_F(NatsClusterTest, AppendsKeepSucceedingWhileTheStreamLeaderIsKilled) {
    auto node = startReplicated("node-a", {{"request_timeout_ms", "1000"}, {"append_timeout_ms", "20000"}});
    ASSERT_TRUE(node);
    RawNats raw(cluster.urls());
    Writers writers(node->log(), 4);
    ASSERT_TRUE(waitUntil([&] { return writers.acknowledged() >= 30; }, 30s)) << "the writers did not get going";

    const int leader = leaderOf(raw, stream());
    ASSERT_GE(leader, 0) << "stream " << stream() << " has no leader";
    cluster.killServer(leader);
    const size_t atKill = writers.acknowledged();
    EXPECT_TRUE(waitUntil([&] { return writers.acknowledged() >= atKill + 60; }, 60s))
        << "appends stopped after the stream leader was killed (" << writers.acknowledged() - atKill << " since)";
    writers.stop();
    EXPECT_NE(leaderOf(raw, stream()), leader);

    expectOnly409Or503(writers.refusals());
    expectStoredOnceWithoutGaps(node->log(), writers.acks());

    ASSERT_TRUE(cluster.startServer(leader));
    EXPECT_TRUE(settled(raw, stream(), 60s)) << "the restarted server did not catch up";
}

TEST_F(NatsClusterTest, ANodeKeepsServingWhenItsServerDiesAndStartsWhenTheFirstListedIsDown) {
    auto node = startReplicated("node-a");
    ASSERT_TRUE(node);
    appendNew(node->log(), *node->log().allocateOrderId());
    int connected = -1;
    ASSERT_TRUE(waitUntil(
        [&] {
            for (int i = 0; i < cluster.size() && connected < 0; ++i)
                if (cluster.hasClient(i, "ordersystem node-a")) connected = i;
            return connected >= 0;
        },
        10s));

    cluster.killServer(connected);
    std::map<StatusCode, int> refusals;
    bool served = false;
    for (int attempt = 0; attempt < 300 && !served; ++attempt) {
        auto id = node->log().allocateOrderId();
        AppendResult r{id.status(), 0, -1};
        if (id) {
            AppendRequest request = nextEvent(*id, 0);
            r = node->log().append(request);
        }
        served = r.status.isOk();
        if (!served) {
            ++refusals[r.status.code];
            std::this_thread::sleep_for(100ms);
        }
    }
    EXPECT_TRUE(served) << "no append succeeded after the node's server died";
    expectOnly409Or503(refusals);
    EXPECT_TRUE(waitUntil(
        [&] {
            for (int i = 0; i < cluster.size(); ++i)
                if (i != connected && cluster.hasClient(i, "ordersystem node-a")) return true;
            return false;
        },
        10s))
        << "the node did not move to another server";
    node->stop();

    // The first server of the list is down when a node starts: it starts on another.
    ASSERT_TRUE(cluster.startServer(connected));
    RawNats raw(cluster.urls());
    ASSERT_TRUE(settled(raw, stream(), 60s));
    cluster.stopServer(0);
    auto second = startReplicated("node-b");
    ASSERT_TRUE(second) << "a node did not start while the first server of its list was down";
    appendNew(second->log(), *second->log().allocateOrderId(), "node-b");
}

TEST_F(NatsClusterTest, WithoutAMajorityAppendsAnswer503AndWritesWorkAgainOnceItIsBack) {
    auto node = startReplicated("node-a", {{"append_timeout_ms", "5000"}});
    ASSERT_TRUE(node);
    const int64_t order = *node->log().allocateOrderId();
    appendNew(node->log(), order);
    const int64_t fresh = *node->log().allocateOrderId();
    std::vector<int> others;
    for (int i = 0; i < cluster.size(); ++i)
        if (!cluster.hasClient(i, "ordersystem node-a")) others.push_back(i);
    ASSERT_EQ(others.size(), 2u) << "the node is not connected to exactly one server";

    // The node stays connected to the one left: its appends find no stream leader.
    for (int i : others) cluster.stopServer(i);
    const AppendResult blocking = appendNext(node->log(), order, 1);
    EXPECT_EQ(httpStatusFor(blocking.status.code), 503) << blocking.status.message;
    EXPECT_NE(blocking.status.message.find("stream leader"), std::string::npos) << blocking.status.message;
    const AppendResult async = appendAsyncAndWait(node->log(), nextEvent(fresh, 0), 30s);
    EXPECT_EQ(httpStatusFor(async.status.code), 503) << async.status.message;
    EXPECT_NE(async.status.message.find("stream leader"), std::string::npos) << async.status.message;

    // One warning for the episode, however many publishes were repeated in it.
    size_t warnings = 0;
    for (const auto& line : node->host->fakeLogger().lines())
        if (line.second.find("are not acknowledged") != std::string::npos) ++warnings;
    EXPECT_EQ(warnings, 1u);

    for (int i : others) ASSERT_TRUE(cluster.startServer(i));
    bool written = false;
    for (int attempt = 0; attempt < 60 && !written; ++attempt) {
        auto events = node->log().readOrder(order);
        if (events.isOk() && !events->empty())
            written = appendNext(node->log(), order, events->back().version).status.isOk();
        if (!written) std::this_thread::sleep_for(500ms);
    }
    EXPECT_TRUE(written) << "writes did not come back with the majority";
    EXPECT_TRUE(node->host->fakeLogger().contains("acknowledges appends again"));
}
