// Timing program (prints figures, asserts nothing): appends/s of the standalone log with
// synchronous=FULL at 1, 16 and 64 concurrent appending threads, each appending new orders
// (allocateOrderId + append), with the orders-style projection subscribed so that live delivery
// is part of the cost. Usage: transport_inmemory_append_throughput [seconds-per-run] [threads...]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "InMemoryTransportPlugin.h"
#include "ordersystem/sdk/util.h"
#include "ordersystem/testing/FakeHost.h"
#include "ordersystem/testing/TestSupport.h"

using namespace ordersystem::sdk;
using namespace ordersystem::plugins::inmemory;
using ordersystem::testing::FakeHost;

namespace {

class CountingProjection final : public Projection {
public:
    std::string_view projectionName() const noexcept override { return "bench"; }
    uint64_t checkpoint() noexcept override { return _checkpoint.load(); }
    Status apply(const std::vector<EventRecord>& batch) noexcept override {
        _checkpoint.store(batch.back().position);
        return Status::ok();
    }

private:
    std::atomic<uint64_t> _checkpoint{0};
};

void run(int threads, double seconds) {
    ordersystem::testing::TempDir dir;
    FakeHost host(dir.path());
    host.mutableNode().durability = Durability::Full;
    for (uint32_t i = 0; i < kConfigKeyCount; ++i)
        host.mutableConfig().set(kConfigKeys[i].name, kConfigKeys[i].defaultValue);
    auto plugin = std::move(InMemoryTransportPlugin::create(host.config()).value());
    if (!plugin->start(host).isOk()) {
        std::fprintf(stderr, "cannot start the log\n");
        std::exit(1);
    }
    EventLog& log = *host.eventLog();
    CountingProjection projection;
    auto sub = log.subscribe(projection).value();

    std::atomic<bool> stop{false};
    std::atomic<uint64_t> appended{0};
    std::vector<std::thread> workers;
    const auto start = std::chrono::steady_clock::now();
    for (int t = 0; t < threads; ++t)
        workers.emplace_back([&] {
            while (!stop.load(std::memory_order_relaxed)) {
                auto id = log.allocateOrderId();
                if (!id.isOk()) continue;
                AppendRequest req;
                req.orderId = id.value();
                req.events.resize(1);
                EventRecord& e = req.events[0];
                e.eventId = newUuid();
                e.type = "OrderCreated";
                e.orderId = id.value();
                e.orderNumber = "ORD-20251011-" + std::to_string(id.value());
                e.version = 1;
                e.occurredAtMs = nowMs();
                e.nodeId = "bench";
                e.dataJson = R"({"customerId":"c-42","items":[{"sku":"A-1","qty":2,"price":9.5}],"total":19.0})";
                if (log.append(req).status.isOk()) appended.fetch_add(1, std::memory_order_relaxed);
            }
        });
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    stop = true;
    for (auto& w : workers) w.join();
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    log.unsubscribe(sub);
    const double commits = host.fakeMetrics().value("ordersystem_inmemory_commits_total");
    const double n = static_cast<double>(appended.load());
    std::printf(
        "threads=%3d  appends/s=%9.0f  commits/s=%8.0f  mean ops per commit=%6.1f  (%.0f appends in %.2f s, "
        "synchronous=FULL)\n",
        threads, n / elapsed, commits / elapsed, commits > 0 ? n / commits : 0.0, n, elapsed);
    std::fflush(stdout);
    plugin->stop();
}

}  // namespace

int main(int argc, char** argv) {
    const double seconds = argc > 1 ? std::atof(argv[1]) : 3.0;
    std::vector<int> counts;
    for (int i = 2; i < argc; ++i) counts.push_back(std::atoi(argv[i]));
    if (counts.empty()) counts = {1, 16, 64};
    for (int threads : counts) run(threads, seconds);
    return 0;
}
