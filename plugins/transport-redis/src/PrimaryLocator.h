// Contract: where the Redis primary is, for every connection the transport opens (pool, append
// pipeline, projection readers, reaction workers). Thread-safe.
// - Without sentinels: always settings.endpoint, nothing is checked (a replica there answers
//   READONLY to writes, which fail with 503).
// - With sentinels: asks each Sentinel in turn (connect timeout each; every lookup starts at the
//   next one, so one that has not yet heard of a failover does not hold the node back) for
//   `SENTINEL get-master-addr-by-name <master_name>`, connects there with url's password and
//   database, and hands out the connection only when `ROLE` says master. A caller whose
//   connection failed or answered READONLY calls suspect(); the next open() asks again, at most
//   as often as a back-off allows (50 ms doubling to 1 s while the answers do not work).
// - epoch() changes whenever the primary moved or was seen demoted; connections tagged with an older epoch are
//   dropped by their owners, so every connection follows a failover someone noticed.
// - One log line per move: "primary is now host:port (was host:port)".
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "RedisConnection.h"
#include "RedisSettings.h"
#include "ordersystem/sdk/logger.h"
#include "ordersystem/transport/backoff.h"

namespace ordersystem::plugins::redis {

class PrimaryLocator {
public:
    PrimaryLocator(const RedisSettings& settings, sdk::Logger& logger);

    /// A connection to the primary (read timeout readTimeoutMs), tagged with the current epoch;
    /// Unavailable with the reason otherwise.
    sdk::Result<std::unique_ptr<RedisConnection>> open(int readTimeoutMs);
    /// A connection to the primary failed: look it up again before the next connect.
    void suspect() noexcept;
    /// The server answered READONLY (it was demoted): look it up again and retire every
    /// connection opened so far, idle ones included.
    void demoted() noexcept;
    /// A write reached fewer replicas than required: the primary may have been replaced while this
    /// one still runs (Sentinel switched, the old primary is not demoted yet). Asks the Sentinels
    /// now (within the back-off); epoch() changes when they name another server.
    void recheck() noexcept;
    /// Counts the primary's moves.
    uint64_t epoch() const noexcept { return _epoch.load(); }
    /// The primary's URL (password masked) for messages, or the Sentinels asked while none is known.
    std::string where() const;
    bool viaSentinel() const noexcept { return !_settings.sentinels.empty(); }

private:
    /// Asks the Sentinels unless another thread just did or the back-off says wait (lookup mutex held).
    sdk::Status lookUp();
    /// The primary's address according to one Sentinel.
    sdk::Result<RedisEndpoint> ask(const SentinelAddress& sentinel);
    /// Ok when connection's server says ROLE master.
    sdk::Status checkMaster(RedisConnection& connection, const RedisEndpoint& endpoint);
    void adopt(const RedisEndpoint& primary);

    const RedisSettings& _settings;
    sdk::Logger& _logger;
    std::mutex _lookupMutex;  ///< one lookup at a time; the others use its answer
    mutable std::mutex _mutex;
    RedisEndpoint _primary;  ///< guarded by _mutex
    bool _known = false;     ///< guarded by _mutex: _primary came from a Sentinel
    bool _stale = true;      ///< guarded by _mutex: ask again before the next connect
    std::string _lastError;  ///< guarded by _lookupMutex
    transport::Backoff _backoff{50, 1000};
    std::chrono::steady_clock::time_point _nextLookup{};  ///< guarded by _lookupMutex
    size_t _firstAsked = 0;  ///< guarded by _lookupMutex: lookups start at the next Sentinel each time
    std::atomic<uint64_t> _epoch{0};
};

}  // namespace ordersystem::plugins::redis
