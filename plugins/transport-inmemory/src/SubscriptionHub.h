// Contract: delivers committed events to in-process projections and reactions.
// Each subscription has one transport-owned reading thread; a reaction's hands its events to the
// reaction's ReactionScheduler, which delivers them on threads of its own. A reader addresses the
// log by position: positions at or below the committed head that are no longer (or not yet) in the in-memory window of
// recent batches are read from the database (catch-up), the rest is handed out from memory
// (live). Because both sources are addressed by position there is no switch-over gap.
// publish() is called by the group-commit leader only; everything else is thread-safe.
// unsubscribe() joins the thread, so it must not be called from inside a callback.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "DeadLetterTable.h"
#include "GroupCommitter.h"
#include "ReactionScheduler.h"
#include "Schema.h"
#include "ordersystem/sdk/eventlog.h"
#include "ordersystem/sdk/logger.h"
#include "ordersystem/sdk/metrics.h"
#include "ordersystem/transport/reaction_deliveries.h"
#include "ordersystem/transport/subscriptions.h"

namespace ordersystem::plugins::inmemory {

using EventBatch = std::shared_ptr<const std::vector<sdk::EventRecord>>;

class SubscriptionHub {
public:
    /// projectionLingerMs: see runProjection().
    SubscriptionHub(std::string dbPath, uint64_t head, size_t fetchLimit, int64_t projectionLingerMs,
                    ReactionSettings reaction, sdk::Logger& logger, sdk::Metrics& metrics, GroupCommitter& committer);
    ~SubscriptionHub();

    /// Leader only: the events just committed (consecutive positions after head()).
    void publish(std::vector<sdk::EventRecord>& committed);
    uint64_t head() const noexcept { return _head.load(std::memory_order_acquire); }

    sdk::Result<sdk::SubscriptionId> subscribe(sdk::Projection& projection);
    sdk::Result<sdk::SubscriptionId> subscribe(sdk::Reaction& reaction);
    void unsubscribe(sdk::SubscriptionId id);
    /// Stops every remaining subscription (subscribers normally unsubscribed already).
    void stopAll();

    /// EventLog::deadLetters(): also for a reaction not subscribed here (read from the table).
    sdk::Result<std::vector<sdk::DeadLetter>> deadLetters(std::string_view reaction, size_t limit);
    /// EventLog::retryDeadLetter(): Unavailable when the reaction is not subscribed here.
    sdk::Status retryDeadLetter(std::string_view reaction, const std::string& eventId);

private:
    struct Worker;
    class Handle;
    struct Window {
        uint64_t first;
        uint64_t last;
        EventBatch events;
    };

    sdk::Result<sdk::SubscriptionId> start(std::shared_ptr<Worker> worker);
    /// Stops the worker's thread and joins it (not from its own callback: then it is detached).
    void stopWorker(Worker& worker) noexcept;
    /// Blocks until events from `next` on exist (or stop); null batch = stopped.
    sdk::Result<EventBatch> fetch(Worker& worker, uint64_t next);
    sdk::Result<EventBatch> readFromDb(Worker& worker, uint64_t from, uint64_t to);
    /// Sleeps up to ms; false when the worker was asked to stop.
    bool pause(Worker& worker, int64_t ms);
    /// The same, but not woken by commits (only by a stop); false when asked to stop.
    bool linger(Worker& worker, int64_t ms);
    void runProjection(Worker& worker);
    void runReaction(Worker& worker);
    /// The reaction's dead-letter table, retries and delivery engine, from its stored checkpoint.
    sdk::Status prepareReaction(const std::shared_ptr<Worker>& worker);
    std::shared_ptr<Worker> reactionNamed(std::string_view name);
    void saveReactionCheckpoint(Worker& worker, uint64_t position);
    uint64_t loadReactionCheckpoint(Worker& worker);
    /// The reaction's positions done past checkpoint when it last stopped (not delivered again).
    std::vector<uint64_t> loadReactionDone(Worker& worker, uint64_t checkpoint);
    void saveReactionDone(Worker& worker, const std::vector<uint64_t>& positions);

    const std::string _dbPath;
    const size_t _fetchLimit;
    const int64_t _projectionLingerMs;
    const ReactionSettings _reaction;
    sdk::Logger& _logger;
    sdk::Metrics& _metrics;
    GroupCommitter& _committer;

    std::mutex _mutex;
    std::condition_variable _cv;      ///< commits and stops
    std::condition_variable _stopCv;  ///< stops only (linger)
    std::atomic<uint64_t> _head;
    std::deque<Window> _recent;
    size_t _recentEvents = 0;
    transport::Subscriptions _subscriptions;
    /// Subscribed reactions by name, for their dead letters (guarded by _mutex).
    std::map<std::string, std::shared_ptr<Worker>, std::less<>> _reactions;
};

}  // namespace ordersystem::plugins::inmemory
