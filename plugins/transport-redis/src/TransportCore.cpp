// Shared state and background-thread helpers of the Redis transport.
#include "TransportCore.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "ordersystem/transport/backoff.h"

namespace ordersystem::plugins::redis {

using sdk::Result;
using sdk::Status;
using sdk::StatusCode;

TransportCore::TransportCore(RedisSettings s, std::string node, std::string addr, sdk::Logger& log, sdk::Metrics& m)
    : settings(std::move(s)),
      keys(settings.keyPrefix),
      nodeId(std::move(node)),
      address(std::move(addr)),
      logger(&log),
      metrics(&m) {
    instruments.reconnects =
        &m.counter("ordersystem_redis_reconnects_total", "Connections to Redis re-established after a failure");
    instruments.commandErrors = &m.counter("ordersystem_redis_command_errors_total",
                                           "Redis commands that failed (connection lost or timed out)");
    locator = std::make_unique<PrimaryLocator>(settings, log);
    pool = std::make_unique<ConnectionPool>(settings, *locator, log, instruments);
}

ThreadLink::ThreadLink(TransportCore& core, StopSignal& stop, std::string owner, int readTimeoutMs)
    : _core(core), _stop(stop), _owner(std::move(owner)), _readTimeoutMs(readTimeoutMs) {}

RedisConnection* ThreadLink::get(bool* fresh) {
    if (fresh) *fresh = false;
    if (_conn && !_conn->broken() && _conn->epoch() == _core.locator->epoch()) return _conn.get();
    _conn.reset();
    transport::Backoff backoff(100, 500);
    while (!_stop.raised()) {
        auto c = _core.locator->open(_readTimeoutMs);
        if (c) {
            _conn = std::move(c.value());
            if (_lost) {
                _lost = false;
                _core.instruments.reconnects->inc();
                _core.logger->info(_owner + ": reconnected to Redis at " + _core.locator->where());
            }
            if (fresh) *fresh = true;
            return _conn.get();
        }
        if (!_lost) {
            _lost = true;
            _core.logger->warn(_owner + ": cannot reach Redis at " + _core.locator->where() + ": " +
                               c.status().message + "; retrying");
        }
        if (!_stop.sleepFor(std::chrono::milliseconds(backoff.next()))) break;
    }
    return nullptr;
}

void ThreadLink::drop(const Status& why) {
    _conn.reset();
    _core.locator->suspect();  // the primary may have failed over
    _core.instruments.commandErrors->inc();
    if (!_lost && !_stop.raised()) {
        _lost = true;
        _core.logger->warn(_owner + ": lost Redis at " + _core.locator->where() + ": " + why.message +
                           "; reconnecting");
    }
}

bool ThreadLink::refusedAsReplica(const redisReply* r) {
    if (!replyIsReadOnly(r)) return false;
    _core.logger->info(_owner + ": " + _core.locator->where() + " is a replica now; looking for the primary");
    _conn.reset();
    _core.locator->demoted();
    return true;
}

uint64_t positionOfId(const std::string& id) noexcept { return std::strtoull(id.c_str(), nullptr, 10); }

std::vector<StreamEntry> parseEntries(const redisReply* list) {
    std::vector<StreamEntry> out;
    out.reserve(replySize(list));
    for (size_t i = 0; i < replySize(list); ++i) {
        const redisReply* e = replyAt(list, i);
        StreamEntry entry;
        entry.id = replyString(replyAt(e, 0));
        entry.position = positionOfId(entry.id);
        const redisReply* fields = replyAt(e, 1);
        for (size_t f = 0; f + 1 < replySize(fields); f += 2)
            if (replyString(replyAt(fields, f)) == "event") entry.json = replyString(replyAt(fields, f + 1));
        out.push_back(std::move(entry));
    }
    return out;
}

Result<sdk::EventRecord> eventOfEntry(const StreamEntry& entry) {
    if (entry.json.empty()) return Status(StatusCode::InvalidArgument, "log entry " + entry.id + " has no event");
    auto ev = sdk::eventFromJson(entry.json);
    if (!ev) return Status(StatusCode::InvalidArgument, "log entry " + entry.id + ": " + ev.status().message);
    ev.value().position = entry.position;
    return ev;
}

Result<sdk::EventRecord> eventOfOrderItem(int64_t orderId, const std::string& item) {
    const auto space = item.find(' ');
    if (space == std::string::npos)
        return Status(StatusCode::Internal, "order " + std::to_string(orderId) + " has a malformed event entry");
    auto ev = sdk::eventFromJson(std::string_view(item).substr(space + 1));
    if (!ev) return Status(StatusCode::Internal, "order " + std::to_string(orderId) + ": " + ev.status().message);
    ev.value().position = positionOfId(item.substr(0, space));
    return ev;
}

}  // namespace ordersystem::plugins::redis
