// Contract: drives one Projection on this node from its checkpoint, on one thread owned here.
// Why a durable pull consumer named "<nodeId>_<projection>" that start() re-aligns to the
// projection's checkpoint: the checkpoint lives in the node's SQLite atomically with the read
// model, so it is the truth and the consumer is only a cursor. start() keeps the consumer when it
// already stands at checkpoint+1 (a restart after a clean stop) and otherwise recreates it there
// (fresh or restored database). The consumer is AckNone with a consumer-sequence check: a delivery
// lost on the wire (NATS restart, reconnect) shows as a gap and the cursor is re-created at the
// last applied position + 1, so apply() sees every event once, in order, without gaps.
// Being durable it survives NATS restarts and node restarts; stop() only destroys the local
// subscription (never deletes the consumer); an abandoned consumer expires after 7 days idle.
// Threads: start()/stop() on the subscriber's thread; apply() only on the worker thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "NatsClient.h"
#include "NatsEventLog.h"
#include "ordersystem/sdk/host.h"

namespace ordersystem::plugins::nats {

class ProjectionWorker final : public SubscriptionWorker {
public:
    ProjectionWorker(const Settings& settings, NatsClient& client, sdk::Projection& projection, sdk::Host& host);
    ~ProjectionWorker() override;

    /// Aligns the consumer with checkpoint()+1 and starts the thread. Non-Ok: nothing runs.
    sdk::Status start();
    void stop() noexcept override;

    const std::string& consumerName() const { return _consumer; }

private:
    void run();
    /// A checkpoint past the end of the stream means a recreated stream: say so, loudly.
    void warnIfBeyondHead();
    /// Binds to the durable, (re)creating it at `from` unless it already stands there.
    sdk::Status openCursor(uint64_t from, bool forceRecreate);
    void closeCursor();
    /// Fetches the next batch (blocks up to the poll interval); empty = nothing new or trouble.
    std::vector<natsMsg*> fetchBatch();
    /// Applies events with retries until Ok or stop; returns false when stopping.
    bool applyWithRetry(std::vector<sdk::EventRecord>& batch);
    void sleepFor(int64_t ms);

    const Settings& _settings;
    NatsClient& _client;
    sdk::Projection& _projection;
    sdk::Logger& _logger;
    sdk::Gauge& _positionGauge;
    std::string _name;
    std::string _consumer;
    std::string _filter;
    natsSubscription* _sub = nullptr;
    /// Last stream sequence applied (the projection's checkpoint as this thread knows it).
    uint64_t _applied = 0;
    /// Consumer sequence of the last delivery: the next one must be exactly +1.
    uint64_t _lastConsumerSeq = 0;
    bool _needReset = false;
    std::atomic<bool> _stop{false};
    std::thread _thread;
};

}  // namespace ordersystem::plugins::nats
