#include "SubscriptionHub.h"

#include <algorithm>

#include "Schema.h"
#include "ordersystem/sdk/util.h"
#include "ordersystem/transport/backoff.h"
#include "ordersystem/transport/projection_applier.h"

namespace ordersystem::plugins::inmemory {

using sdk::Result;
using sdk::Status;
using sdk::StatusCode;

namespace {
/// Recent committed events kept in memory for live delivery; older ones are read back from disk.
/// Live subscribers trail the head by a few groups and each event costs ~0.5 KiB here, so the
/// window is small.
constexpr size_t kWindowEvents = 8192;
using transport::kProjectionRetryInitialMs;
using transport::kProjectionRetryMaxMs;
}  // namespace

struct SubscriptionHub::Worker {
    sdk::Projection* projection = nullptr;
    sdk::Reaction* reaction = nullptr;
    std::string name;
    Db db;  ///< this worker's own reader connection (used only on its thread)
    Stmt readRange;
    Stmt readCheckpoint;
    Stmt readDone;  ///< a reaction's positions done past its checkpoint, stored at its last stop
    // A reaction's, destroyed in reverse: the engine and the retries stop before the table goes.
    std::unique_ptr<transport::ReactionDeliveries> deliveries;
    std::unique_ptr<DeadLetterTable> deadLetters;
    std::unique_ptr<transport::DeadLetterRetries> retries;
    std::unique_ptr<ReactionScheduler> scheduler;
    uint64_t checkpoint = 0;  ///< a reaction's stored checkpoint when it subscribed
    bool stopping = false;    ///< guarded by SubscriptionHub::_mutex
    std::thread thread;
};

SubscriptionHub::SubscriptionHub(std::string dbPath, uint64_t head, size_t fetchLimit, int64_t projectionLingerMs,
                                 ReactionSettings reaction, sdk::Logger& logger, sdk::Metrics& metrics,
                                 GroupCommitter& committer)
    : _dbPath(std::move(dbPath)),
      _fetchLimit(fetchLimit == 0 ? 1 : fetchLimit),
      _projectionLingerMs(std::max<int64_t>(0, projectionLingerMs)),
      _reaction(reaction),
      _logger(logger),
      _metrics(metrics),
      _committer(committer),
      _head(head) {}

SubscriptionHub::~SubscriptionHub() { stopAll(); }

void SubscriptionHub::publish(std::vector<sdk::EventRecord>& committed) {
    if (committed.empty()) return;
    const uint64_t first = committed.front().position;
    const uint64_t last = committed.back().position;
    auto batch = std::make_shared<const std::vector<sdk::EventRecord>>(std::move(committed));
    committed.clear();
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _recentEvents += batch->size();
        _recent.push_back(Window{first, last, std::move(batch)});
        while (_recentEvents > kWindowEvents && _recent.size() > 1) {
            _recentEvents -= _recent.front().events->size();
            _recent.pop_front();
        }
        _head.store(last, std::memory_order_release);
    }
    _cv.notify_all();
}

Result<EventBatch> SubscriptionHub::fetch(Worker& worker, uint64_t next) {
    std::unique_lock<std::mutex> lock(_mutex);
    _cv.wait(lock, [&] { return worker.stopping || _head.load(std::memory_order_relaxed) >= next; });
    if (worker.stopping) return EventBatch{};
    const uint64_t head = _head.load(std::memory_order_relaxed);
    if (!_recent.empty() && _recent.front().first <= next) {
        auto it = std::upper_bound(_recent.begin(), _recent.end(), next,
                                   [](uint64_t pos, const Window& w) { return pos < w.first; });
        --it;  // the window holding `next` (windows are consecutive up to head)
        // One group commit's events as they are (no copy) when the subscriber keeps up. When it
        // lags, several windows are merged into one batch: a batch costs the subscriber a
        // transaction, far more than copying its events.
        const auto following = std::next(it);
        if (it->first == next && it->events->size() <= _fetchLimit &&
            (following == _recent.end() || it->events->size() + following->events->size() > _fetchLimit))
            return it->events;  // live, no copy
        std::vector<EventBatch> windows;
        size_t count = 0;
        for (; it != _recent.end() && count < _fetchLimit; ++it) {
            windows.push_back(it->events);
            count += it->events->size();
        }
        lock.unlock();  // windows are immutable: copy without blocking the committer's publish
        auto out = std::make_shared<std::vector<sdk::EventRecord>>();
        out->reserve(std::min(count, _fetchLimit));
        for (const auto& w : windows)
            for (const auto& e : *w)
                if (e.position >= next && out->size() < _fetchLimit) out->push_back(e);
        return EventBatch(std::move(out));
    }
    lock.unlock();
    return readFromDb(worker, next, std::min<uint64_t>(head, next + _fetchLimit - 1));
}

Result<EventBatch> SubscriptionHub::readFromDb(Worker& worker, uint64_t from, uint64_t to) {
    auto out = std::make_shared<std::vector<sdk::EventRecord>>();
    out->reserve(static_cast<size_t>(to - from + 1));
    Stmt& q = worker.readRange;
    q.reset();
    q.bind(1, static_cast<int64_t>(from));
    q.bind(2, static_cast<int64_t>(to));
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) {
        out->push_back(eventFromRow(q));
    }
    q.reset();
    if (rc != SQLITE_DONE)
        return Status(StatusCode::Unavailable,
                      "cannot read the event log at position " + std::to_string(from) + ": " + worker.db.lastError());
    if (out->empty() || out->front().position != from)
        return Status(StatusCode::Internal, "event log has a gap at position " + std::to_string(from));
    return EventBatch(std::move(out));
}

bool SubscriptionHub::pause(Worker& worker, int64_t ms) {
    std::unique_lock<std::mutex> lock(_mutex);
    _cv.wait_for(lock, std::chrono::milliseconds(ms), [&] { return worker.stopping; });
    return !worker.stopping;
}

bool SubscriptionHub::linger(Worker& worker, int64_t ms) {
    std::unique_lock<std::mutex> lock(_mutex);
    _stopCv.wait_for(lock, std::chrono::milliseconds(ms), [&] { return worker.stopping; });
    return !worker.stopping;
}

Result<sdk::SubscriptionId> SubscriptionHub::subscribe(sdk::Projection& projection) {
    auto worker = std::make_shared<Worker>();
    worker->projection = &projection;
    worker->name = std::string(projection.projectionName());
    return start(std::move(worker));
}

Result<sdk::SubscriptionId> SubscriptionHub::subscribe(sdk::Reaction& reaction) {
    auto worker = std::make_shared<Worker>();
    worker->reaction = &reaction;
    worker->name = std::string(reaction.reactionName());
    try {
        worker->deliveries =
            std::make_unique<transport::ReactionDeliveries>(reaction, _reaction.policy, _logger, _metrics);
    } catch (const std::exception& e) {
        return Status(StatusCode::Internal, std::string("cannot subscribe reaction: ") + e.what());
    }
    return start(std::move(worker));
}

/// A worker as the registry holds it: stopping it stops and joins its thread.
class SubscriptionHub::Handle final : public transport::Subscription {
public:
    Handle(SubscriptionHub& hub, std::shared_ptr<Worker> worker) : _hub(hub), _worker(std::move(worker)) {}
    void stop() noexcept override { _hub.stopWorker(*_worker); }

private:
    SubscriptionHub& _hub;
    std::shared_ptr<Worker> _worker;
};

Result<sdk::SubscriptionId> SubscriptionHub::start(std::shared_ptr<Worker> worker) {
    if (auto s = worker->db.open(_dbPath, false); !s) return s;
    std::string sql = std::string("SELECT ") + kEventColumns +
                      " FROM events WHERE position >= ?1 AND position <= ?2 ORDER BY position";
    if (auto s = worker->readRange.prepare(worker->db, sql.c_str()); !s) return s;
    if (auto s =
            worker->readCheckpoint.prepare(worker->db, "SELECT position FROM reaction_checkpoints WHERE name = ?1");
        !s)
        return s;
    if (worker->reaction) {
        if (auto s = worker->readDone.prepare(
                worker->db, "SELECT position FROM reaction_done WHERE name = ?1 AND position > ?2 ORDER BY position");
            !s)
            return s;
        if (auto s = prepareReaction(worker); !s) return s;
    }
    Worker* w = worker.get();
    try {
        // The thread shares the worker: one that unsubscribes from its own callback outlives it.
        w->thread = std::thread([this, w, keep = worker] {
            // Read models: niced only while they keep up (runProjection); reactions: niced.
            if (!w->projection) sdk::runAsBackgroundThread();
            sdk::nameThisThread((w->projection ? "proj:" : "react:") + w->name);
            try {
                if (w->projection) runProjection(*w);
                else runReaction(*w);
            } catch (const std::exception& e) {
                _logger.error("subscription '" + w->name + "' stopped delivering: " + e.what());
            }
        });
    } catch (const std::exception& e) {
        if (w->scheduler) w->scheduler->stop();
        if (w->retries) w->retries->stop();
        return Status(StatusCode::Internal, std::string("cannot start subscription thread: ") + e.what());
    }
    if (w->reaction) {
        std::lock_guard<std::mutex> lock(_mutex);
        _reactions[w->name] = worker;
    }
    const sdk::SubscriptionId id = _subscriptions.add(std::make_unique<Handle>(*this, std::move(worker)));
    _logger.info(std::string(w->projection ? "projection '" : "reaction '") + w->name + "' subscribed (subscription " +
                 std::to_string(id) + ")");
    return id;
}

void SubscriptionHub::unsubscribe(sdk::SubscriptionId id) { _subscriptions.stop(id); }

void SubscriptionHub::stopAll() { _subscriptions.stopAll(); }

void SubscriptionHub::stopWorker(Worker& worker) noexcept {
    {
        std::lock_guard<std::mutex> lock(_mutex);
        worker.stopping = true;
        if (auto it = _reactions.find(worker.name); it != _reactions.end() && it->second.get() == &worker)
            _reactions.erase(it);
    }
    _cv.notify_all();
    _stopCv.notify_all();
    if (worker.scheduler) worker.scheduler->requestStop();  // wakes a reader waiting for room
    if (worker.thread.joinable()) {
        if (worker.thread.get_id() == std::this_thread::get_id()) {
            // Called from inside its own callback: joining would deadlock; the thread ends on return.
            _logger.error("subscription '" + worker.name + "' unsubscribed from its own callback");
            worker.thread.detach();
        } else {
            worker.thread.join();
        }
    }
    if (worker.scheduler) worker.scheduler->stop();  // no handle() runs after this, checkpoint stored
    if (worker.retries) worker.retries->stop();
}

void SubscriptionHub::runProjection(Worker& w) {
    // Nobody waits for a read model while it keeps up, so it yields then; once it falls behind
    // (a saturated machine) it runs at normal priority until it has caught up.
    sdk::CatchUpPriority priority;
    transport::ProjectionApplier applier(*w.projection, _logger);
    transport::Backoff readBackoff(kProjectionRetryInitialMs, kProjectionRetryMaxMs);
    uint64_t next = applier.checkpoint() + 1;
    while (true) {
        const uint64_t head = _head.load(std::memory_order_acquire);
        priority.update(head >= next ? head - next + 1 : 0);
        auto fetched = fetch(w, next);
        if (!fetched) {
            const int64_t wait = readBackoff.next();
            _logger.warn("projection '" + w.name + "': " + fetched.status().message + "; retrying in " +
                         std::to_string(wait) + " ms");
            if (!pause(w, wait)) return;
            continue;
        }
        readBackoff.reset();
        EventBatch batch = fetched.value();
        if (!batch) return;  // stopped
        if (applier.apply(*batch)) {
            next = batch->back().position + 1;
            // Keeping up (a short batch), it gathers the next milliseconds' commits instead of
            // waking for each: every wake-up costs the committer a futex call and each batch a
            // transaction (docs/performance.md, "read-model linger").
            if (_projectionLingerMs > 0 && batch->size() < _fetchLimit && !linger(w, _projectionLingerMs)) return;
            continue;
        }
        if (!pause(w, applier.retryDelayMs())) return;
        next = applier.checkpoint() + 1;
    }
}

uint64_t SubscriptionHub::loadReactionCheckpoint(Worker& w) {
    w.readCheckpoint.reset();
    w.readCheckpoint.bind(1, w.name);
    uint64_t position = 0;
    if (w.readCheckpoint.step() == SQLITE_ROW) position = static_cast<uint64_t>(w.readCheckpoint.int64(0));
    w.readCheckpoint.reset();
    return position;
}

std::vector<uint64_t> SubscriptionHub::loadReactionDone(Worker& w, uint64_t checkpoint) {
    std::vector<uint64_t> positions;
    w.readDone.reset();
    w.readDone.bind(1, w.name);
    w.readDone.bind(2, static_cast<int64_t>(checkpoint));
    while (w.readDone.step() == SQLITE_ROW) positions.push_back(static_cast<uint64_t>(w.readDone.int64(0)));
    w.readDone.reset();
    return positions;
}

void SubscriptionHub::saveReactionDone(Worker& w, const std::vector<uint64_t>& positions) {
    Op op(OpKind::ReactionDone);
    op.name = &w.name;
    op.positions = &positions;
    if (!_committer.submit(op, false) || !op.status)
        _logger.warn("reaction '" + w.name + "': cannot store the " + std::to_string(positions.size()) +
                     " events done past its checkpoint; they will be delivered again after a restart");
}

void SubscriptionHub::saveReactionCheckpoint(Worker& w, uint64_t position) {
    Op op(OpKind::ReactionCheckpoint);
    op.name = &w.name;
    op.value = static_cast<int64_t>(position);
    if (!_committer.submit(op, false))
        _logger.warn("reaction '" + w.name + "': log closed before checkpoint " + std::to_string(position) +
                     " was stored; those events will be delivered again");
    else if (!op.status)
        _logger.warn("reaction '" + w.name + "': cannot store checkpoint " + std::to_string(position) + ": " +
                     op.status.message);
}

Status SubscriptionHub::prepareReaction(const std::shared_ptr<Worker>& worker) {
    Worker* w = worker.get();
    try {
        w->deadLetters = std::make_unique<DeadLetterTable>(_dbPath, w->name, _committer);
        w->retries =
            std::make_unique<transport::DeadLetterRetries>(*w->deliveries, *w->deadLetters, _logger, kDeadLettersTable);
        ReactionScheduler::Sinks sinks;
        sinks.checkpoint = [this, w](uint64_t position) { saveReactionCheckpoint(*w, position); };
        sinks.doneAfterCheckpoint = [this, w](const std::vector<uint64_t>& positions) {
            saveReactionDone(*w, positions);
        };
        sinks.deadLetter = [w](const sdk::EventRecord& event, int64_t deliveries, const std::string& error) {
            return w->deadLetters->put(sdk::DeadLetter{event, deliveries, error, sdk::nowMs()}).isOk();
        };
        w->checkpoint = loadReactionCheckpoint(*w);
        w->scheduler = std::make_unique<ReactionScheduler>(
            *w->deliveries, _reaction, w->checkpoint, loadReactionDone(*w, w->checkpoint), std::move(sinks), _logger);
        w->scheduler->start(worker);
    } catch (const std::exception& e) {
        if (w->scheduler) w->scheduler->stop();
        if (w->retries) w->retries->stop();
        return Status(StatusCode::Internal, std::string("cannot start reaction '") + w->name + "': " + e.what());
    }
    return Status::ok();
}

void SubscriptionHub::runReaction(Worker& w) {
    // Reads ahead of the deliveries, in log order; add() waits while the engine holds its most.
    uint64_t next = w.checkpoint + 1;
    transport::Backoff readBackoff(kProjectionRetryInitialMs, kProjectionRetryMaxMs);
    while (true) {
        auto fetched = fetch(w, next);
        if (!fetched) {
            _logger.warn("reaction '" + w.name + "': " + fetched.status().message);
            if (!pause(w, readBackoff.next())) return;
            continue;
        }
        readBackoff.reset();
        EventBatch batch = fetched.value();
        if (!batch) return;
        for (const auto& event : *batch)
            if (!w.scheduler->add(event)) return;
        next = batch->back().position + 1;
    }
}

std::shared_ptr<SubscriptionHub::Worker> SubscriptionHub::reactionNamed(std::string_view name) {
    std::lock_guard<std::mutex> lock(_mutex);
    auto it = _reactions.find(name);
    return it == _reactions.end() ? nullptr : it->second;
}

Result<std::vector<sdk::DeadLetter>> SubscriptionHub::deadLetters(std::string_view reaction, size_t limit) {
    if (auto w = reactionNamed(reaction)) return w->deadLetters->list(limit);
    // Not subscribed on this node: its table is read all the same.
    return DeadLetterTable(_dbPath, std::string(reaction), _committer).list(limit);
}

Status SubscriptionHub::retryDeadLetter(std::string_view reaction, const std::string& eventId) {
    if (auto w = reactionNamed(reaction)) return w->retries->retry(eventId);
    return Status(StatusCode::Unavailable, "reaction '" + std::string(reaction) + "' does not run on this node");
}

}  // namespace ordersystem::plugins::inmemory
