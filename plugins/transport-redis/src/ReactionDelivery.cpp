// What a reaction worker does with one entry it holds (gate, handle, ack, wait, dead letter), and
// the ReactionGroup that runs the workers of one reaction on this node.
#include <hiredis/hiredis.h>

#include <algorithm>

#include "ReactionWorker.h"
#include "ordersystem/sdk/util.h"

namespace ordersystem::plugins::redis {

using sdk::Status;
using sdk::StatusCode;

namespace {
constexpr auto kWaitLogEvery = std::chrono::seconds(10);
/// Entries held per node at most, shared by its workers: a receiver refusing everything must not
/// make a node hold the whole log.
constexpr size_t kMaxHeldPerNode = 4000;
}  // namespace

bool ReactionWorker::process(RedisConnection& c, const StreamEntry& entry) {
    auto ev = eventOfEntry(entry);
    const long long deliveries = _held.at(entry.position).deliveries;
    if (!ev) return deadLetter(c, entry, nullptr, deliveries, ev.status().message);
    const sdk::EventRecord& event = ev.value();
    _held.at(entry.position).orderId = event.orderId;
    auto seen = c.command({"EXISTS", _core.keys.reactionDone(_name, event.eventId)});
    if (!seen) return fail(seen.status());
    auto verdict = replyInteger(seen.value().get()) == 1 ? sdk::Result<OrderGate::Verdict>(OrderGate::Verdict::Done)
                                                         : _gate.check(c, event);
    if (!verdict) return fail(verdict.status());
    if (verdict.value() == OrderGate::Verdict::Done) {
        _deliveries.skippedDuplicate(event.eventId);
        return ack(c, entry, event);
    }
    if (verdict.value() == OrderGate::Verdict::Wait) return wait(c, entry.position, event, true);
    auto safe = replicated(c, entry.position);
    if (!safe) return fail(safe.status());
    if (!safe.value()) return wait(c, entry.position, event, false);  // delivered once replicas hold it
    const auto outcome = _deliveries.deliver(event, deliveries);
    using Next = transport::ReactionDeliveries::Next;
    if (outcome.next == Next::Acknowledge) return ack(c, entry, event);
    if (outcome.next == Next::DeadLetter) return deadLetter(c, entry, &event, deliveries, outcome.status.message);
    // Retry: the entry stays pending; runDue() claims it again at the time ReactionDeliveries chose.
    Held& h = _held.at(entry.position);
    h.waiting = false;
    h.lastError = outcome.status.message;
    h.due = Clock::now() + std::chrono::milliseconds(outcome.retryInMs);
    return true;
}

bool ReactionWorker::wait(RedisConnection& c, uint64_t position, const sdk::EventRecord& event, bool behindItsOrder) {
    Held& h = _held.at(position);
    ReplyPtr claimed;  // sets the delivery count back: waiting is not an attempt
    if (!claim(c, h, true, h.deliveries - 1, &claimed)) return false;
    if (replySize(claimed.get()) != 1) {
        _held.erase(position);  // another consumer took it over meanwhile
        return true;
    }
    h.deliveries -= 1;
    h.touched = Clock::now();
    h.waiting = true;
    const long long waitMs = std::min(kWaitMaxMs, kWaitFirstMs << std::min(h.waits, 10));
    ++h.waits;
    h.due = h.touched + std::chrono::milliseconds(waitMs);
    if (behindItsOrder && h.waits == 1 && Clock::now() >= _nextWaitLog) {
        _nextWaitLog = Clock::now() + kWaitLogEvery;
        _core.logger->info("reaction " + _name + ": event " + event.eventId + " (order " +
                           std::to_string(event.orderId) + ", version " + std::to_string(event.version) +
                           ") waits until version " + std::to_string(event.version - 1) +
                           " of its order is delivered or dead-lettered (at most one such line per " +
                           std::to_string(kWaitLogEvery.count()) + " s per consumer)");
    }
    return true;
}

void ReactionWorker::settled(uint64_t position, int64_t orderId) {
    _held.erase(position);
    if (orderId == 0) return;
    const auto now = Clock::now();
    for (auto& [p, h] : _held)
        if (h.waiting && h.orderId == orderId) h.due = now;
}

bool ReactionWorker::ack(RedisConnection& c, const StreamEntry& entry, const sdk::EventRecord& event) {
    auto reply = runScript(
        c, _core.scripts.ack,
        {_core.keys.log, _core.keys.reactionDone(_name, event.eventId),
         _core.keys.reactionProgress(_name, event.orderId)},
        {_name, entry.id, std::to_string(_core.settings.idempotencyTtlSeconds), std::to_string(event.version)});
    if (!reply) return fail(reply.status());
    if (_link.refusedAsReplica(reply.value().get())) return false;
    if (replyIsError(reply.value().get())) {
        // Stays held: looked at again later (the event is marked only if the script ran).
        _core.logger->error("reaction " + _name + ": ack of " + entry.id +
                            " refused: " + replyString(reply.value().get()));
        _held.at(entry.position).due = Clock::now() + std::chrono::milliseconds(kWaitMaxMs);
        return true;
    }
    settled(entry.position, event.orderId);
    return true;
}

bool ReactionWorker::deadLetter(RedisConnection& c, const StreamEntry& entry, const sdk::EventRecord* event,
                                long long deliveries, const std::string& reason) {
    const std::string where = _core.keys.deadLetters(_name);
    if (!event) {
        // Not an event: nothing a retry could deliver. Acked so it holds nothing up, and logged.
        auto acked = c.command({"XACK", _core.keys.log, _name, entry.id});
        if (!acked) return fail(acked.status());
        settled(entry.position, 0);
        _deliveries.gaveUp(transport::DeadLetterRecord{"", 0, entry.position, deliveries, reason, where, false});
        return true;
    }
    sdk::DeadLetter letter{*event, deliveries, reason, sdk::nowMs()};
    auto reply = runScript(
        c, _core.scripts.deadLetter,
        {_core.keys.log, where, _core.keys.deadLettersByTime(_name),
         _core.keys.reactionProgress(_name, event->orderId)},
        {_name, entry.id, event->eventId, transport::deadLetterToJson(letter), std::to_string(letter.failedAtMs),
         std::to_string(event->version), std::to_string(_core.settings.idempotencyTtlSeconds)});
    if (!reply) return fail(reply.status());
    const redisReply* r = reply.value().get();
    if (_link.refusedAsReplica(r)) return false;
    if (replyIsError(r)) {
        _core.logger->error("reaction " + _name + ": dead-lettering " + entry.id + " refused: " + replyString(r));
        _held.at(entry.position).due = Clock::now() + std::chrono::milliseconds(kWaitMaxMs);
        return true;
    }
    settled(entry.position, event->orderId);
    if (replyInteger(r) == 1)
        _deliveries.gaveUp(transport::DeadLetterRecord{event->eventId, event->orderId, entry.position, deliveries,
                                                       reason, where, true});
    return true;
}

bool ReactionWorker::deadLetterExhausted(RedisConnection& c, uint64_t position) {
    Held& h = _held.at(position);
    ReplyPtr claimed;  // still ours? (RETRYCOUNT keeps its count)
    if (!claim(c, h, false, h.deliveries, &claimed)) return false;
    auto entries = replyIsError(claimed.get()) ? std::vector<StreamEntry>{} : parseEntries(claimed.get());
    if (entries.empty()) {
        _held.erase(position);
        return true;
    }
    h.touched = Clock::now();
    const std::string reason = h.lastError.empty() ? "delivery failed" : h.lastError;
    auto ev = eventOfEntry(entries.front());
    return deadLetter(c, entries.front(), ev ? &ev.value() : nullptr, h.deliveries, reason);
}

ReactionGroup::ReactionGroup(TransportCore& core, sdk::Reaction& reaction) : _core(core), _reaction(reaction) {}

void ReactionGroup::start() {
    const auto& settings = _core.settings;
    // The reaction's own policy (the [notifications] keys) wins; these are the defaults.
    _deliveries = std::make_unique<transport::ReactionDeliveries>(
        _reaction,
        transport::ReactionPolicy{settings.reactionMaxDeliveries, settings.reactionRetryMs,
                                  settings.reactionRetryMaxMs},
        *_core.logger, *_core.metrics);
    _store = std::make_unique<RedisDeadLetterStore>(_core, _deliveries->name());
    _retries = std::make_unique<transport::DeadLetterRetries>(*_deliveries, *_store, *_core.logger, _store->where());
    sdk::Counter& claims = _core.metrics->counter("ordersystem_redis_reaction_claims_total",
                                                  "Pending deliveries taken over from silent consumers",
                                                  {{"reaction", _deliveries->name()}});
    const size_t maxHeld = std::max<size_t>(100, kMaxHeldPerNode / static_cast<size_t>(settings.reactionWorkers));
    for (int i = 0; i < settings.reactionWorkers; ++i) {
        std::string consumer = i == 0 ? _core.nodeId : _core.nodeId + "#" + std::to_string(i);
        _workers.push_back(
            std::make_unique<ReactionWorker>(_core, *_deliveries, std::move(consumer), _stop, claims, maxHeld));
    }
    for (auto& w : _workers) _threads.emplace_back([worker = w.get()] { worker->run(); });
}

void ReactionGroup::stop() noexcept {
    _stop.raise();
    for (auto& t : _threads)
        if (t.joinable()) t.join();
    _threads.clear();
    if (_retries) _retries->stop();
}

Status ReactionGroup::retryDeadLetter(const std::string& eventId) {
    if (!_retries) return Status(StatusCode::Unavailable, "the reaction is not running on this node");
    return _retries->retry(eventId);
}

}  // namespace ordersystem::plugins::redis
