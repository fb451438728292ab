// Contract: drives this node's projections (read models) from one durable pull consumer, on one
// thread owned here.
// - Why one cursor for all of them: nats-server then sends each event to the node once instead of
//   once per read model, and the node parses it once (docs/performance.md).
// - Each projection keeps its own checkpoint (in its own SQLite, atomically with its data), and
//   gets only the events past it, in order, each once, without gaps. The cursor starts at the
//   lowest checkpoint + 1; a projection added later below the cursor (a second read model, a
//   resubscription) rewinds it to its checkpoint + 1 and the others skip what they have.
// - A failed apply() is retried with the same events (transport::ProjectionApplier's back-off); the
//   other projections wait meanwhile. When one keeps failing (kAttemptsBeforeDetach) while others are
//   fine, it leaves the shared cursor and follows the stream on a cursor of its own, consumer
//   "<nodeId>_<projection>", until the node restarts: one broken read model cannot stall the rest.
// - The cursor is a durable pull consumer ("<nodeId>_read-models" for the shared one), AckNone
//   with a consumer-sequence check: a delivery lost on the wire (NATS restart, reconnect) shows
//   as a gap and the cursor is re-created at the lowest applied position + 1. Opening keeps the
//   consumer when it already stands there (a restart after a clean stop), else re-creates it.
// - A skipped stream position is a hole in the copy of the server the consumer reads from
//   (nats-server can leave one in a server paused or cut off during an election): the positions
//   are read from the stream leader, which holds every acknowledged message, before the batch
//   is applied, so no read model ever goes past an event it did not see.
//   Being durable it survives NATS and node restarts; this class never deletes it (an abandoned
//   one expires after 7 days idle).
// Threads: add()/remove()/stop() on subscribers' threads (serialised here); apply() only on the
// feed's thread, and never for a projection whose remove() has returned.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "NatsClient.h"
#include "NatsEventLog.h"
#include "ordersystem/sdk/host.h"
#include "ordersystem/transport/projection_applier.h"
#include "ordersystem/transport/stop_signal.h"

namespace ordersystem::plugins::nats {

/// Failed applies in a row after which a projection leaves a shared cursor for one of its own.
inline constexpr int kAttemptsBeforeDetach = 4;

class ProjectionFeed final {
public:
    /// consumerSuffix names the durable ("<nodeId>_<suffix>"); shared: may hand a failing
    /// projection over to a feed of its own (a feed of one never does: it retries forever).
    ProjectionFeed(const Settings& settings, NatsClient& client, sdk::Host& host, const std::string& consumerSuffix,
                   bool shared);
    ~ProjectionFeed();
    ProjectionFeed(const ProjectionFeed&) = delete;
    ProjectionFeed& operator=(const ProjectionFeed&) = delete;

    /// Registers projection from its checkpoint. The first one opens the cursor and starts the
    /// thread; non-Ok: nothing registered, nothing runs.
    sdk::Status add(sdk::Projection& projection);
    /// Returns once no apply() of projection runs or will run; the last one stops the thread.
    void remove(sdk::Projection& projection) noexcept;
    void stop() noexcept;

    const std::string& consumerName() const { return _consumer; }

private:
    struct Member {
        sdk::Projection* projection = nullptr;
        std::string name;
        std::unique_ptr<transport::ProjectionApplier> applier;
        uint64_t applied = 0;  ///< last stream sequence applied (its checkpoint as this feed knows it)
        /// Cursor position up to which it has everything (>= applied: what follows an applied
        /// event may be a stream message that is not an event, skipped by everyone).
        uint64_t seen = 0;
        std::unique_ptr<ProjectionFeed> own;  ///< set once it left this (shared) cursor
    };

    void run();
    /// A checkpoint past the end of the stream means a recreated stream: say so, loudly.
    void warnIfBeyondHead(const Member& member);
    /// Binds to the durable, (re)creating it at `from` unless it already stands there.
    sdk::Status openCursor(uint64_t from, bool forceRecreate);
    void closeCursor();
    /// Fetches the next batch (blocks up to the poll interval); empty = nothing new or trouble.
    std::vector<natsMsg*> fetchBatch();
    /// The events of msgs, which follow stream position after; *last = the highest position they
    /// cover; the positions they skipped go to *missing (destroys msgs).
    std::vector<sdk::EventRecord> parse(std::vector<natsMsg*>& msgs, uint64_t after, uint64_t* last,
                                        std::vector<uint64_t>* missing);
    /// Adds the missing positions' events to batch from the stream leader; returns the position up
    /// to which batch is now complete (below last when the leader could not give one: _reopen).
    uint64_t fillHoles(std::vector<sdk::EventRecord>& batch, const std::vector<uint64_t>& missing, uint64_t last);
    /// Hands the held batch to every member that lacks some of it; true when one failed (lock held).
    bool applyHeld();
    /// true when member failed to apply its part of the held batch (lock held).
    bool applyTo(Member& member);
    /// Lowest position seen by a member on this cursor; UINT64_MAX without any (lock held).
    uint64_t lowestSeen() const;
    /// Hands member over to a feed of its own; false when that could not start (lock held).
    bool detach(Member& member);
    void stopThread() noexcept;

    const Settings& _settings;
    NatsClient& _client;
    sdk::Host& _host;
    sdk::Logger& _logger;
    const bool _shared;
    std::string _consumer;
    std::string _filter;
    std::string _threadName;

    std::mutex _lifecycle;  ///< serialises add/remove/stop
    /// Guards _members, _cursorAt and the held batch; the thread holds it while applying, not
    /// while fetching.
    mutable std::mutex _mutex;
    std::vector<std::unique_ptr<Member>> _members;
    /// Last stream position the cursor handed out (start - 1 right after opening).
    uint64_t _cursorAt = 0;
    /// The batch fetched last, stream positions (_heldFrom, _heldTo], kept until every member has
    /// it (while one fails); none held when _heldTo == _heldFrom.
    std::vector<sdk::EventRecord> _held;
    uint64_t _heldFrom = 0;
    uint64_t _heldTo = 0;
    int64_t _retryInMs = 0;  ///< the longest retry wait among the members that failed the held batch

    // The cursor: only the thread (and add() before starting it) touch these.
    natsSubscription* _sub = nullptr;
    uint64_t _behind = 0;           ///< messages still pending after the last fetch (feed thread only)
    uint64_t _lastConsumerSeq = 0;  ///< consumer sequence of the last delivery: the next is +1
    bool _needReset = false;
    bool _reopen = false;   ///< re-create the cursor after the batch: it skipped what the leader has not given yet
    int _holeAttempts = 0;  ///< tries for the position the leader could not give
    transport::StopSignal _stop;
    std::thread _thread;
};

}  // namespace ordersystem::plugins::nats
