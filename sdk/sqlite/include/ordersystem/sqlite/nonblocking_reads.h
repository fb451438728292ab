// Contract: reads that never wait for the disk, for threads that must not block (the HTTP event
// loops). Inside a NonBlockingReads scope, a read of a database or WAL file opened through this
// plugin's gathering VFS (wal_gathering_vfs.h) is served only from the kernel's page cache
// (preadv2 with RWF_NOWAIT): when the data is not there, the read fails at once
// (SQLITE_IOERR_READ from sqlite3_step) instead of waiting for the disk, and the scope records
// it. The kernel starts reading the data in meanwhile, so the caller's next try, on a thread
// where waiting is fine, finds it on its way. A refused read ends only the statement it was in:
// the connection stays usable.
// Reads outside a scope, and every read on a file system without RWF_NOWAIT for buffered reads,
// behave exactly as without this. Per thread, so a scope belongs around the statements it is
// for, in the code that runs them, which asks refused() afterwards; per plugin (each plugin has
// its own copy).
#pragma once

namespace ordersystem::sqlite {

class NonBlockingReads {
public:
    NonBlockingReads() noexcept;
    ~NonBlockingReads();
    NonBlockingReads(const NonBlockingReads&) = delete;
    NonBlockingReads& operator=(const NonBlockingReads&) = delete;

    /// A read in this scope was refused: what needed it must run again where it may wait.
    bool refused() const noexcept;

private:
    bool _outerActive;
    bool _outerRefused;
};

}  // namespace ordersystem::sqlite
