// Contract: the node's memory of which eventIds it already delivered, in its own SQLite file
// (<data_dir>/notifications.db), so a redelivered event is acknowledged without a second POST.
// Opened in start() on the main thread, then used from the transport's delivery threads: every
// method locks one internal mutex (the one connection is never shared unlocked). Methods throw
// nothing; failures come back as Status and the caller decides (a failed lookup means "deliver").
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "ordersystem/sdk/status.h"

namespace ordersystem::sqlite {
class Db;
}

namespace ordersystem::plugins::notifications {

class DeliveredStore {
public:
    DeliveredStore();
    ~DeliveredStore();
    DeliveredStore(const DeliveredStore&) = delete;
    DeliveredStore& operator=(const DeliveredStore&) = delete;

    /// Creates the folder and the file if missing; WAL, schema migrated via PRAGMA user_version.
    sdk::Status open(const std::string& path);
    void close() noexcept;

    /// Ok(true) when eventId was delivered before.
    sdk::Result<bool> contains(const std::string& eventId);
    /// Remembers eventId as delivered at nowMs (a repeat keeps the first time).
    sdk::Status markDelivered(const std::string& eventId, int64_t nowMs);
    /// Forgets deliveries older than cutoffMs; returns how many rows went.
    sdk::Result<int64_t> pruneOlderThan(int64_t cutoffMs);
    /// Rows currently remembered (for logs and tests).
    sdk::Result<int64_t> size();

private:
    struct Statements;
    /// Not Ok while the file is not open.
    sdk::Status ready() const;

    std::mutex _mutex;
    std::unique_ptr<sqlite::Db> _db;
    std::unique_ptr<Statements> _statements;  ///< prepared once, finalized before _db closes
    std::string _path;
};

}  // namespace ordersystem::plugins::notifications
