// Contract: drives one Projection on this node. One thread with its own connection reads the log
// stream from the projection's checkpoint (XREAD BLOCK, so a new event is seen within
// milliseconds: this is the read-your-writes latency) and calls apply() with consecutive batches,
// never overlapping, in position order. A failed apply() is retried after back-off from a fresh
// checkpoint() (transport::ProjectionApplier). Redis outages are waited out with reconnects. stop() returns when the
// thread has ended (after at most one block_ms read or one apply()).
#pragma once

#include <thread>
#include <vector>

#include "RedisEventLog.h"
#include "TransportCore.h"
#include "ordersystem/transport/projection_applier.h"

namespace ordersystem::plugins::redis {

class ProjectionReader final : public Subscription {
public:
    ProjectionReader(TransportCore& core, sdk::Projection& projection);
    ~ProjectionReader() override { stop(); }
    void start();
    void stop() noexcept override;

private:
    void run();
    /// One XREAD + apply round; false when the connection failed.
    bool step(RedisConnection& connection);
    /// Applies the entries read, those up to position replicated (what replicas hold); always true.
    bool applyUpTo(std::vector<StreamEntry> entries, uint64_t replicated);
    void checkNotAhead(RedisConnection& connection);

    TransportCore& _core;
    transport::ProjectionApplier _applier;
    std::string _name;
    StopSignal _stop;
    ThreadLink _link;
    std::thread _thread;
    uint64_t _cursor = 0;
    bool _lastBatchFull = false;  ///< the last XREAD returned read_batch entries: more wait
};

}  // namespace ordersystem::plugins::redis
