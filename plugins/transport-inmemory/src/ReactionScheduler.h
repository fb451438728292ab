// Contract: the standalone engine of one reaction's deliveries (the rules in sdk::Reaction's
// comment). The reader (the reaction's subscription thread) add()s events in log order; each order
// has a FIFO of held events of which only the head is eligible. A few delivery threads deliver the
// eligible heads, so a receiver that is slow or refuses order A does not stall order B; a failed
// head is delivered again at its own due time (ReactionDeliveries' retryInMs), and after the last
// attempt it goes to the deadLetter sink; either way the order's next event becomes eligible then.
// The checkpoint sink is called, from one thread at a time, with the end of the prefix of positions
// that are all done (acknowledged or dead-lettered); at stop() the doneAfterCheckpoint sink gets the
// positions done past it (behind a failing event), which the next start skips, so a restart
// redelivers exactly those not done.
// At most maxHeld events not done are held and at most kWindowPerHeld * maxHeld positions are past
// the checkpoint: add() waits beyond that, so reading the log pauses.
// Thread-safe. stop() returns once no delivery runs or will run (see there for a self-stop).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <queue>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "ordersystem/sdk/eventlog.h"
#include "ordersystem/sdk/logger.h"
#include "ordersystem/transport/reaction_deliveries.h"

namespace ordersystem::plugins::inmemory {

/// How reactions are delivered on this node ([transport.inmemory] reaction_* keys).
struct ReactionSettings {
    transport::ReactionPolicy policy;
    size_t workers = 4;     ///< delivery threads per reaction
    size_t maxHeld = 4096;  ///< events not yet done held per reaction
};

class ReactionScheduler {
public:
    /// Positions past the checkpoint per held event (one byte each): done ones wait there for the
    /// checkpoint to pass a failing event before them.
    static constexpr size_t kWindowPerHeld = 256;

    struct Sinks {
        /// Stores a dead letter; false when it could not be stored (it is lost to the reaction).
        std::function<bool(const sdk::EventRecord& event, int64_t deliveries, const std::string& error)> deadLetter;
        std::function<void(uint64_t position)> checkpoint;
        /// At stop(), after the last checkpoint: the positions past it that are done (may be empty).
        std::function<void(const std::vector<uint64_t>& positions)> doneAfterCheckpoint;
    };
    /// Positions past the checkpoint handed to doneAfterCheckpoint at most (beyond: delivered again).
    static constexpr size_t kMaxDoneKept = 100000;

    /// checkpoint: every position up to it is done already, and so is each of doneAfterCheckpoint.
    ReactionScheduler(transport::ReactionDeliveries& deliveries, const ReactionSettings& settings, uint64_t checkpoint,
                      std::vector<uint64_t> doneAfterCheckpoint, Sinks sinks, sdk::Logger& logger);
    ~ReactionScheduler();
    ReactionScheduler(const ReactionScheduler&) = delete;
    ReactionScheduler& operator=(const ReactionScheduler&) = delete;

    /// Starts the delivery threads; each keeps keepAlive (the owner of this object) while it runs.
    void start(const std::shared_ptr<void>& keepAlive);
    /// Holds the event after the last one added (a later position); waits while full. false once
    /// stopping (the event is not held).
    bool add(const sdk::EventRecord& event);
    /// Wakes add() and the delivery threads; each ends after the delivery it is in.
    void requestStop() noexcept;
    /// requestStop(), joins the delivery threads and stores the last checkpoint. From a delivery
    /// thread (a reaction that unsubscribes from its own handle()) that thread is detached instead.
    void stop() noexcept;

private:
    using Clock = std::chrono::steady_clock;
    struct Held {
        sdk::EventRecord event;
        int64_t delivery = 1;  ///< number of the next delivery
    };
    struct Due {
        Clock::time_point at;
        int64_t orderId;
        bool operator>(const Due& other) const noexcept { return at > other.at; }
    };
    using Fifo = std::deque<Held>;

    void run();
    /// Delivers the head once (without the lock) and records what came of it.
    void deliverHead(std::unique_lock<std::mutex>& lock, int64_t orderId);
    /// The head was acknowledged or dead-lettered: the order's next event becomes eligible.
    void finishHead(std::unique_lock<std::mutex>& lock, int64_t orderId, Fifo& fifo);
    void markDone(uint64_t position);
    /// The done positions past the checkpoint, for doneAfterCheckpoint.
    std::vector<uint64_t> donePastCheckpoint() const;
    /// Stores the checkpoint while the done prefix grows, unless another thread is at it.
    void saveCheckpoints(std::unique_lock<std::mutex>& lock);
    void makeEligible(int64_t orderId, Clock::time_point at);
    /// One throttled line when an order's events wait behind its failing head.
    void noteWaiting(int64_t orderId, const Fifo& fifo);
    bool full() const noexcept;

    transport::ReactionDeliveries& _deliveries;
    const ReactionSettings _settings;
    const Sinks _sinks;
    sdk::Logger& _logger;

    std::mutex _mutex;
    std::condition_variable _work;   ///< delivery threads: an eligible head, or stop
    std::condition_variable _space;  ///< add(): room, or stop
    bool _stopping = false;
    std::unordered_map<int64_t, Fifo> _orders;
    std::priority_queue<Due, std::vector<Due>, std::greater<Due>> _due;  ///< each waiting head once
    size_t _held = 0;                                                    ///< events held, not done
    uint64_t _checkpoint;                                                ///< every position up to it is done
    std::deque<uint8_t> _window;               ///< positions after _checkpoint: kPending, kNothing or kDone
    std::unordered_set<uint64_t> _doneBefore;  ///< done past the checkpoint before this start
    uint64_t _saved;                           ///< the checkpoint stored last
    bool _saving = false;                      ///< a thread is storing the checkpoint
    bool _finalSaved = false;                  ///< stop() handed the done positions on (once)
    Clock::time_point _lastWaitingLog{};       ///< throttles noteWaiting()
    Clock::time_point _lastFullLog{};          ///< throttles the "reading pauses" line
    std::vector<std::thread> _threads;
};

}  // namespace ordersystem::plugins::inmemory
