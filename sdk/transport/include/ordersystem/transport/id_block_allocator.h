// Contract: order ids handed out from blocks reserved durably, so that a node allocates from
// memory between reservations and never hands out an id twice, across nodes and restarts.
// - reserve() (the engine's part) durably reserves the next block for this node and returns its
//   first id; the block is [first, first + blockSize). It must be bounded by the engine's timeout.
// - next() hands out the next id. When the current block is used up it waits for a reservation:
//   the one already under way (started ahead, or by another caller), or one it makes itself.
// - With a runAhead (e.g. posting to a task executor, or running inline on the caller after its
//   id is handed out), the next block is reserved once half of the current one is used, so callers
//   rarely wait for a round trip; without one, blocks are reserved only when needed.
// - Ids on one node only increase: a reserved block below the current one is dropped.
// Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>

#include "ordersystem/sdk/status.h"

namespace ordersystem::transport {

class IdBlockAllocator {
public:
    using Reserve = std::function<sdk::Result<int64_t>()>;
    /// Runs work now or later on some thread; work(cancelled) must run exactly once when accepted.
    /// false: refused (nothing is reserved ahead this time).
    using RunAhead = std::function<bool(std::function<void(bool cancelled)> work)>;

    IdBlockAllocator(int64_t blockSize, Reserve reserve, RunAhead runAhead = {});

    sdk::Result<int64_t> next();

private:
    /// Takes a reserved block as the current or the spare one (lock held).
    void accept(int64_t first);
    sdk::Result<int64_t> reserveNoThrow() noexcept;
    /// false: the reservation ahead did not start.
    bool startAhead() noexcept;
    void reserveAhead(bool cancelled) noexcept;

    const int64_t _blockSize;
    const Reserve _reserve;
    const RunAhead _runAhead;
    std::mutex _mutex;
    std::condition_variable _settled;
    int64_t _next = 1;
    int64_t _end = 1;         ///< one past the current block
    int64_t _spare = 0;       ///< first id of a block reserved ahead, 0 = none
    bool _reserving = false;  ///< a reservation is under way
};

}  // namespace ordersystem::transport
