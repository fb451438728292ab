// Contract: what every part of the Redis transport shares: settings, keys, scripts, the command
// pool, the host's logger and instruments. Built in the plugin's start() and destroyed after its
// stop(); every member is either immutable or thread-safe.
// Also what background threads need: StopSignal (the toolkit's interruptible sleep) and
// ThreadLink (a thread's own connection, reconnected with back-off and logged once per outage).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ConnectionPool.h"
#include "RedisKeys.h"
#include "RedisSettings.h"
#include "ordersystem/sdk/events.h"
#include "ordersystem/sdk/logger.h"
#include "ordersystem/sdk/metrics.h"
#include "ordersystem/transport/stop_signal.h"

namespace ordersystem::plugins::redis {

struct TransportCore {
    RedisSettings settings;
    RedisKeys keys;
    RedisScripts scripts;
    std::string nodeId;
    std::string address;  ///< advertised http://host:port
    sdk::Logger* logger = nullptr;
    sdk::Metrics* metrics = nullptr;
    RedisInstruments instruments;
    std::unique_ptr<PrimaryLocator> locator;  ///< before pool: every connection comes from it
    std::unique_ptr<ConnectionPool> pool;

    TransportCore(RedisSettings s, std::string node, std::string addr, sdk::Logger& log, sdk::Metrics& m);
};

using transport::StopSignal;

/// A background thread's own Redis connection. Used by that thread only.
class ThreadLink {
public:
    ThreadLink(TransportCore& core, StopSignal& stop, std::string owner, int readTimeoutMs);
    /// The live connection to the primary, reconnecting with back-off (100 ms doubling to 500 ms)
    /// until it works and replacing one opened before the primary moved; null once stop is raised.
    /// *fresh is set when a new connection was opened.
    RedisConnection* get(bool* fresh = nullptr);
    /// Drops a connection whose command failed and logs the outage once.
    void drop(const sdk::Status& why);
    /// true (and the connection dropped, the primary looked up again) when r is a replica's READONLY.
    bool refusedAsReplica(const redisReply* r);

private:
    TransportCore& _core;
    StopSignal& _stop;
    std::string _owner;
    int _readTimeoutMs;
    std::unique_ptr<RedisConnection> _conn;
    bool _lost = false;
};

/// One entry of an XREAD / XREADGROUP / XCLAIM reply.
struct StreamEntry {
    std::string id;  ///< "<position>-0"
    uint64_t position = 0;
    std::string json;  ///< field "event"; empty when the entry was deleted
};
/// Entries of reply element list (an array of [id, [field, value, ...]]).
std::vector<StreamEntry> parseEntries(const redisReply* list);
/// Position from a stream id "<ms>-<seq>" (its first part).
uint64_t positionOfId(const std::string& id) noexcept;
/// Parses a stored event document and sets its position.
sdk::Result<sdk::EventRecord> eventOfEntry(const StreamEntry& entry);
/// Parses an item of an order's event list ("<position> <event JSON>").
sdk::Result<sdk::EventRecord> eventOfOrderItem(int64_t orderId, const std::string& item);

}  // namespace ordersystem::plugins::redis
