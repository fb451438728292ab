// Contract: a reaction's dead letters, the same way in every transport.
// - DeadLetterStore is what a transport keeps them in (a table, a Redis structure, a JetStream
//   bucket): shared by every node of the cluster, keyed by eventId. Methods are thread-safe and
//   bounded by the transport's own timeouts.
// - DeadLetterRetries delivers dead letters again on request (POST /api/dead-letters/{id}/retry)
//   on one background thread per reaction, each with the whole retry schedule of the reaction's
//   policy: a success removes the dead letter; after the last attempt it is stored again with the
//   attempts added up, the last error and the time, and logged like any give-up. A letter stays in
//   the store while it is retried, so a node that dies meanwhile loses nothing.
// - Events of one order are not held back by a retried dead letter (it is already past).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "ordersystem/sdk/eventlog.h"
#include "ordersystem/sdk/logger.h"
#include "ordersystem/transport/reaction_deliveries.h"

namespace ordersystem::transport {

class DeadLetterStore {
public:
    virtual ~DeadLetterStore() = default;
    /// Up to limit dead letters, oldest failure first.
    virtual sdk::Result<std::vector<sdk::DeadLetter>> list(size_t limit) noexcept = 0;
    /// The dead letter of eventId, or none.
    virtual sdk::Result<std::optional<sdk::DeadLetter>> find(const std::string& eventId) noexcept = 0;
    /// Inserts the dead letter of letter.event.eventId, or replaces it.
    virtual sdk::Status put(const sdk::DeadLetter& letter) noexcept = 0;
    /// Ok also when there was none.
    virtual sdk::Status remove(const std::string& eventId) noexcept = 0;
};

/// At most this many dead letters are listed by one request.
inline constexpr size_t kMaxDeadLettersListed = 1000;

/// How a store that keeps text keeps a dead letter:
/// {"event":<the event document>,"position":N,"attempts":N,"lastError":"...","failedAtMs":N}.
std::string deadLetterToJson(const sdk::DeadLetter& letter);
/// The same back; InvalidArgument on anything else.
sdk::Result<sdk::DeadLetter> deadLetterFromJson(std::string_view json);

class DeadLetterRetries {
public:
    /// movedTo names the store in the give-up log line (e.g. "dead_letters").
    DeadLetterRetries(ReactionDeliveries& deliveries, DeadLetterStore& store, sdk::Logger& logger, std::string movedTo);
    ~DeadLetterRetries();
    DeadLetterRetries(const DeadLetterRetries&) = delete;
    DeadLetterRetries& operator=(const DeadLetterRetries&) = delete;

    /// Queues eventId's dead letter for delivery: NotFound without one, Conflict while it is being
    /// retried already, Unavailable once stopped or when the store cannot be read.
    sdk::Status retry(const std::string& eventId);
    /// Joins the thread; a retry in progress stays a dead letter.
    void stop() noexcept;

private:
    using Clock = std::chrono::steady_clock;
    struct Pending {
        sdk::DeadLetter letter;
        int64_t delivery = 1;
        Clock::time_point due;
    };
    void run();
    void attempt(Pending& pending);

    ReactionDeliveries& _deliveries;
    DeadLetterStore& _store;
    sdk::Logger& _logger;
    const std::string _movedTo;
    std::mutex _mutex;
    std::condition_variable _cv;
    std::map<std::string, Pending> _pending;  ///< by eventId
    bool _stopped = false;
    std::thread _thread;
};

}  // namespace ordersystem::transport
