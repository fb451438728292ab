// Internal to sdk/sqlite: what the VFS asks of the non-blocking read scope (nonblocking_reads.h).
#pragma once

#include "ordersystem/sqlite/nonblocking_reads.h"

namespace ordersystem::sqlite::detail {

enum class CachedRead {
    Done,       ///< all `amount` bytes came from the page cache
    WouldWait,  ///< some are not in the page cache: refused, and the scope knows
    NotServed,  ///< end of file, an error, or no RWF_NOWAIT here: use the ordinary read
};

/// This thread is in a NonBlockingReads scope (and the kernel supports RWF_NOWAIT so far).
bool nonBlockingReadsWanted() noexcept;
/// Reads from the page cache only (preadv2 with RWF_NOWAIT).
CachedRead readFromPageCache(int fd, void* out, int amount, long long offset) noexcept;

}  // namespace ordersystem::sqlite::detail
