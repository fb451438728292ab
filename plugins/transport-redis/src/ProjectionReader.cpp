// One projection fed from the Redis stream.
#include "ProjectionReader.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <cstdint>

#include "ordersystem/sdk/util.h"

namespace ordersystem::plugins::redis {

using sdk::Status;

ProjectionReader::ProjectionReader(TransportCore& core, sdk::Projection& projection)
    : _core(core),
      _applier(projection, *core.logger),
      _name(projection.projectionName()),
      _link(core, _stop, "projection " + _name, core.settings.blockMs + core.settings.commandTimeoutMs) {}

void ProjectionReader::start() {
    _cursor = _applier.checkpoint();
    _thread = std::thread([this] { run(); });
}

void ProjectionReader::stop() noexcept {
    _stop.raise();
    if (_thread.joinable()) _thread.join();
}

void ProjectionReader::run() {
    // Niced only while it keeps up: creates do not wait for the read models, but a reader niced
    // for good starves under load when nodes and Redis share the cores (docs/performance.md).
    // A full batch says more is waiting: then it runs at normal priority until it reads a short one.
    sdk::CatchUpPriority priority(1, 0);
    sdk::nameThisThread("proj:" + _name);
    _core.logger->debug("projection " + _name + " reads the log after position " + std::to_string(_cursor));
    while (!_stop.raised()) {
        bool fresh = false;
        RedisConnection* c = _link.get(&fresh);
        if (!c) break;
        if (fresh) checkNotAhead(*c);
        if (c->broken()) continue;
        step(*c);
        priority.update(_lastBatchFull ? 1 : 0);
    }
}

void ProjectionReader::checkNotAhead(RedisConnection& c) {
    auto reply = c.command({"GET", _core.keys.position});
    if (!reply) {
        _link.drop(reply.status());
        return;
    }
    const uint64_t head = static_cast<uint64_t>(replyInteger(reply.value().get(), 0));
    if (head < _cursor)
        _core.logger->error("projection " + _name + " has applied position " + std::to_string(_cursor) +
                            " but the Redis log ends at " + std::to_string(head) +
                            ": Redis lost data (is appendonly yes set?); new events stay invisible until "
                            "the read model is rebuilt");
}

bool ProjectionReader::step(RedisConnection& c) {
    // With min_replicas_ack the GET right after the read says how far replicas hold the log.
    const bool gated = _core.settings.minReplicasAck > 0;
    const std::string count = std::to_string(_core.settings.readBatch), block = std::to_string(_core.settings.blockMs),
                      from = std::to_string(_cursor) + "-0";
    std::vector<CommandArgs> commands(gated ? 2 : 1);
    for (const char* a : {"XREAD", "COUNT"}) commands[0].add(a);
    commands[0].add(count);
    commands[0].add("BLOCK");
    commands[0].add(block);
    commands[0].add("STREAMS");
    commands[0].add(_core.keys.log);
    commands[0].add(from);
    if (gated) {
        commands[1].add("GET");
        commands[1].add(_core.keys.replicated);
    }
    auto replies = c.pipeline(commands);
    if (!replies) {
        _link.drop(replies.status());
        return false;
    }
    const uint64_t replicated = gated ? static_cast<uint64_t>(replyInteger(replies.value()[1].get(), 0)) : UINT64_MAX;
    const redisReply* r = replies.value()[0].get();
    if (replyIsError(r)) {
        // e.g. LOADING while Redis replays its AOF after a restart: wait and read again.
        const std::string text = replyString(r);
        if (text.rfind("LOADING", 0) == 0) _core.logger->debug("projection " + _name + ": " + text);
        else _core.logger->error("projection " + _name + ": XREAD refused: " + text);
        _stop.sleepFor(std::chrono::milliseconds(250));
        return true;
    }
    if (replyIsNil(r)) {
        _lastBatchFull = false;
        return true;  // BLOCK timed out: nothing new
    }
    return applyUpTo(parseEntries(replyAt(replyAt(r, 0), 1)), replicated);
}

bool ProjectionReader::applyUpTo(std::vector<StreamEntry> entries, uint64_t replicated) {
    _lastBatchFull = static_cast<int64_t>(entries.size()) >= _core.settings.readBatch;
    // Entries replicas do not hold yet could vanish in a failover: wait for their WAIT.
    const size_t before = entries.size();
    while (!entries.empty() && entries.back().position > replicated) entries.pop_back();
    if (entries.size() < before) {
        _lastBatchFull = false;
        if (entries.empty()) {
            _stop.sleepFor(std::chrono::milliseconds(2));
            return true;
        }
    }
    if (entries.empty()) return true;
    std::vector<sdk::EventRecord> batch;
    batch.reserve(entries.size());
    for (const auto& entry : entries) {
        auto ev = eventOfEntry(entry);
        if (!ev) {
            // A foreign or damaged entry cannot be applied; skipping it keeps the projection alive.
            _core.logger->error("projection " + _name + " skips " + ev.status().message);
            continue;
        }
        batch.push_back(std::move(ev.value()));
    }
    const uint64_t last = entries.back().position;
    if (batch.empty()) {
        _cursor = last;
        return true;
    }
    if (_applier.apply(batch)) {
        _cursor = last;
        return true;
    }
    _stop.sleepFor(std::chrono::milliseconds(_applier.retryDelayMs()));
    _cursor = _applier.checkpoint();
    return true;
}

}  // namespace ordersystem::plugins::redis
