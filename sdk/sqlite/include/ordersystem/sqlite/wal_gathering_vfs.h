// Contract: an SQLite VFS that writes a transaction's WAL frames with one write() instead of two
// per page. SQLite appends each WAL frame as two writes (24-byte header, then the page), so a
// commit costs two syscalls per page before its fsync.
// This VFS wraps another one (the default: "unix") and, for WAL files only, keeps contiguous
// appends in a buffer that it hands to the wrapped file in one write (one per 124 KiB):
//   - when the frame that commits a transaction (WAL format: header bytes 4-7 non-zero) has been
//     written, so a commit is in the operating system before SQLite publishes it in the
//     wal-index: other connections and processes read committed frames as before, and a crash of
//     the process after a commit loses nothing that the plain VFS would have kept;
//   - before sync, truncate, size queries, close, a read that overlaps the buffer (a page spilled
//     in a large transaction) and a write that is not contiguous; and when the buffer holds 4 MiB.
// Writes to database and journal files pass straight through. Reads of WAL and database files
// on a thread inside a NonBlockingReads scope come only from the page cache (nonblocking_reads.h).
// Everything else is the wrapped VFS.
// Registration is process-wide in SQLite; each plugin registers its own name (its own copy of
// this code, linked statically with hidden visibility); that copy unregisters itself when the
// plugin's shared object is unloaded (or at exit), after the plugin closed its connections.
#pragma once

#include <string>

namespace ordersystem::sqlite {

/// Registers the VFS `name` (not as the default) wrapping `base` (nullptr: SQLite's default VFS).
/// Idempotent for the same name. false: `base` does not exist or registration failed.
/// One gathering VFS per shared object: a second, different name replaces nothing and fails.
bool registerWalGatheringVfs(const char* name, const char* base = nullptr);

/// Unregisters the VFS registered above (no-op when none). Only after every connection that
/// uses it was closed.
void unregisterWalGatheringVfs();

/// An SQLite URI that opens `path` with `vfs` ("file:" + the percent-encoded path + "?vfs=").
/// Needs SQLITE_OPEN_URI (sqlite::Db sets it).
std::string uriWithVfs(const std::string& path, const char* vfs);

/// What this shared object opens `path` as (sqlite::Db does): through the gathering VFS it
/// registered, or `path` itself when it registered none (the plain VFS then). Needs
/// SQLITE_OPEN_URI.
std::string openNameThroughWalGathering(const std::string& path);

}  // namespace ordersystem::sqlite
