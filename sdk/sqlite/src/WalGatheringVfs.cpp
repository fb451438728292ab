#include "ordersystem/sqlite/wal_gathering_vfs.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include "NonBlockingReads.h"

namespace ordersystem::sqlite {
namespace {

constexpr int kFrameHeaderBytes = 24;           // WAL format: a frame header
constexpr size_t kMaxBufferedBytes = 4u << 20;  // flush early beyond this (huge transactions)
// The unix VFS writes at most 128 KiB - 1 per call (os_unix.c masks the length with 0x1ffff):
// larger buffers go down in chunks of whole 4 KiB pages below that.
constexpr size_t kMaxWriteBytes = 0x1ffff & ~size_t(4095);

/// A WAL or main database file: the wrapped file follows this struct in the same allocation
/// (szOsFile). Only WAL files gather their writes; both may read without waiting.
struct GatherFile {
    sqlite3_file base;  // pMethods: one of the kMethodsV* tables, by the wrapped file's version
    sqlite3_file* real;
    char* buf;
    size_t len;
    size_t cap;
    sqlite3_int64 start;  // file offset of buf[0]
    int fd;               // the wrapped file's descriptor for reads that must not wait; -1: none
    bool gather;          // a WAL: contiguous appends are buffered
    bool flushAfterNextWrite;
};
static_assert(sizeof(GatherFile) % 8 == 0, "the wrapped file follows GatherFile and must stay aligned");

GatherFile* gf(sqlite3_file* f) { return reinterpret_cast<GatherFile*>(f); }
sqlite3_file* real(sqlite3_file* f) { return gf(f)->real; }

int flush(GatherFile* g) {
    int rc = SQLITE_OK;
    for (size_t done = 0; done < g->len && rc == SQLITE_OK; done += kMaxWriteBytes) {
        const size_t n = std::min(kMaxWriteBytes, g->len - done);
        rc = g->real->pMethods->xWrite(g->real, g->buf + done, static_cast<int>(n),
                                       g->start + static_cast<sqlite3_int64>(done));
    }
    g->len = 0;
    return rc;
}

bool reserve(GatherFile* g, size_t extra) {
    if (g->len + extra <= g->cap) return true;
    size_t cap = g->cap ? g->cap : 64 * 1024;
    while (cap < g->len + extra) cap *= 2;
    char* grown = static_cast<char*>(std::realloc(g->buf, cap));
    if (!grown) return false;
    g->buf = grown;
    g->cap = cap;
    return true;
}

/// A frame header's bytes 4-7 (big-endian): the database size after a commit, zero otherwise.
bool isCommitFrame(const void* header) {
    const auto* p = static_cast<const unsigned char*>(header) + 4;
    return (p[0] | p[1] | p[2] | p[3]) != 0;
}

int xClose(sqlite3_file* f) {
    GatherFile* g = gf(f);
    const int flushed = flush(g);
    const int rc = g->real->pMethods->xClose(g->real);
    std::free(g->buf);
    g->buf = nullptr;
    g->cap = 0;
    return flushed != SQLITE_OK ? flushed : rc;
}

int xRead(sqlite3_file* f, void* out, int amount, sqlite3_int64 offset) {
    GatherFile* g = gf(f);
    // A page SQLite spilled earlier in this transaction may be read back: make it visible.
    if (g->len > 0 && offset < g->start + static_cast<sqlite3_int64>(g->len) && offset + amount > g->start) {
        if (const int rc = flush(g); rc != SQLITE_OK) return rc;
    }
    if (g->fd >= 0 && g->len == 0 && detail::nonBlockingReadsWanted()) {
        switch (detail::readFromPageCache(g->fd, out, amount, offset)) {
        case detail::CachedRead::Done: return SQLITE_OK;
        case detail::CachedRead::WouldWait: return SQLITE_IOERR_READ;
        case detail::CachedRead::NotServed: break;
        }
    }
    return g->real->pMethods->xRead(g->real, out, amount, offset);
}

int xWrite(sqlite3_file* f, const void* data, int amount, sqlite3_int64 offset) {
    GatherFile* g = gf(f);
    if (!g->gather) return g->real->pMethods->xWrite(g->real, data, amount, offset);
    const size_t n = static_cast<size_t>(amount);
    if (g->len > 0 && (offset != g->start + static_cast<sqlite3_int64>(g->len) || g->len + n > kMaxBufferedBytes)) {
        if (const int rc = flush(g); rc != SQLITE_OK) return rc;
    }
    if (!reserve(g, n)) {
        // No memory for the buffer: write through (after what is buffered, to keep the order).
        if (const int rc = flush(g); rc != SQLITE_OK) return rc;
        g->flushAfterNextWrite = amount == kFrameHeaderBytes && isCommitFrame(data);
        return g->real->pMethods->xWrite(g->real, data, amount, offset);
    }
    if (g->len == 0) g->start = offset;
    std::memcpy(g->buf + g->len, data, n);
    g->len += n;
    if (amount == kFrameHeaderBytes) {
        // The page that follows completes the commit frame; then the commit goes to the OS.
        if (isCommitFrame(data)) g->flushAfterNextWrite = true;
        return SQLITE_OK;
    }
    if (g->flushAfterNextWrite) {
        g->flushAfterNextWrite = false;
        return flush(g);
    }
    return SQLITE_OK;
}

int xTruncate(sqlite3_file* f, sqlite3_int64 size) {
    if (const int rc = flush(gf(f)); rc != SQLITE_OK) return rc;
    return real(f)->pMethods->xTruncate(real(f), size);
}

int xSync(sqlite3_file* f, int flags) {
    if (const int rc = flush(gf(f)); rc != SQLITE_OK) return rc;
    return real(f)->pMethods->xSync(real(f), flags);
}

int xFileSize(sqlite3_file* f, sqlite3_int64* size) {
    if (const int rc = flush(gf(f)); rc != SQLITE_OK) return rc;
    return real(f)->pMethods->xFileSize(real(f), size);
}

int xLock(sqlite3_file* f, int level) { return real(f)->pMethods->xLock(real(f), level); }
int xUnlock(sqlite3_file* f, int level) { return real(f)->pMethods->xUnlock(real(f), level); }
int xCheckReservedLock(sqlite3_file* f, int* out) { return real(f)->pMethods->xCheckReservedLock(real(f), out); }

int xFileControl(sqlite3_file* f, int op, void* arg) { return real(f)->pMethods->xFileControl(real(f), op, arg); }

int xSectorSize(sqlite3_file* f) { return real(f)->pMethods->xSectorSize(real(f)); }
int xDeviceCharacteristics(sqlite3_file* f) { return real(f)->pMethods->xDeviceCharacteristics(real(f)); }

int xShmMap(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
    return real(f)->pMethods->xShmMap(real(f), region, size, extend, out);
}
int xShmLock(sqlite3_file* f, int offset, int n, int flags) {
    return real(f)->pMethods->xShmLock(real(f), offset, n, flags);
}
void xShmBarrier(sqlite3_file* f) { real(f)->pMethods->xShmBarrier(real(f)); }
int xShmUnmap(sqlite3_file* f, int deleteFlag) { return real(f)->pMethods->xShmUnmap(real(f), deleteFlag); }

int xFetch(sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
    if (const int rc = flush(gf(f)); rc != SQLITE_OK) return rc;
    return real(f)->pMethods->xFetch(real(f), offset, amount, out);
}
int xUnfetch(sqlite3_file* f, sqlite3_int64 offset, void* p) { return real(f)->pMethods->xUnfetch(real(f), offset, p); }

/// Methods for WAL files whose wrapped file has io_methods version >= 3 (unix has 3).
// clang-format off
const sqlite3_io_methods kMethodsV3 = {3, xClose, xRead, xWrite, xTruncate, xSync, xFileSize, xLock, xUnlock,
    xCheckReservedLock, xFileControl, xSectorSize, xDeviceCharacteristics, xShmMap, xShmLock, xShmBarrier,
    xShmUnmap, xFetch, xUnfetch};
// clang-format on
/// Version 2 has no memory-mapped reads: the same methods without xFetch/xUnfetch.
const sqlite3_io_methods kMethodsV2 = [] {
    sqlite3_io_methods m = kMethodsV3;
    m.iVersion = 2;
    m.xFetch = nullptr;
    m.xUnfetch = nullptr;
    return m;
}();
/// Version 1 has no shared-memory methods either.
const sqlite3_io_methods kMethodsV1 = [] {
    sqlite3_io_methods m = kMethodsV2;
    m.iVersion = 1;
    m.xShmMap = nullptr;
    m.xShmLock = nullptr;
    m.xShmBarrier = nullptr;
    m.xShmUnmap = nullptr;
    return m;
}();

sqlite3_vfs* baseOf(sqlite3_vfs* vfs) { return static_cast<sqlite3_vfs*>(vfs->pAppData); }

/// The file descriptor of a file opened by SQLite's unix VFS, or -1. SQLite has no interface for
/// it; its unixFile has begun with these four members since 2008 (os_unix.c). Trusted only when
/// the descriptor is open on the very file of that name (same device and inode): a layout
/// change, or another base VFS, then turns non-blocking reads off for the file, nothing else.
/// The descriptor stays SQLite's: never closed here (closing any descriptor of a file drops
/// the process's POSIX locks on it).
int unixDescriptor(const sqlite3_vfs* base, const sqlite3_file* file, const char* name) {
    struct UnixFileHead {
        const sqlite3_io_methods* methods;
        sqlite3_vfs* vfs;
        void* inode;
        int h;
    };
    if (name == nullptr || base->zName == nullptr || std::strncmp(base->zName, "unix", 4) != 0) return -1;
    const int fd = reinterpret_cast<const UnixFileHead*>(file)->h;
    struct stat byFd {
    }, byName{};
    if (fd < 0 || fstat(fd, &byFd) != 0 || stat(name, &byName) != 0) return -1;
    const bool same = S_ISREG(byFd.st_mode) && byFd.st_dev == byName.st_dev && byFd.st_ino == byName.st_ino;
    return same ? fd : -1;
}

int vfsOpen(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* file, int flags, int* outFlags) {
    sqlite3_vfs* base = baseOf(vfs);
    // Neither a WAL nor a main database (journals, temporary files): the wrapped file lives at
    // the start of our (larger) allocation, with its own methods.
    if ((flags & (SQLITE_OPEN_WAL | SQLITE_OPEN_MAIN_DB)) == 0) return base->xOpen(base, name, file, flags, outFlags);
    GatherFile* g = gf(file);
    std::memset(g, 0, sizeof(GatherFile));
    g->real = reinterpret_cast<sqlite3_file*>(g + 1);
    g->gather = (flags & SQLITE_OPEN_WAL) != 0;
    g->fd = -1;
    const int rc = base->xOpen(base, name, g->real, flags, outFlags);
    if (rc == SQLITE_OK && g->real->pMethods != nullptr) g->fd = unixDescriptor(base, g->real, name);
    const sqlite3_io_methods* inner = g->real->pMethods;
    if (inner == nullptr) {
        g->base.pMethods = nullptr;
    } else {
        g->base.pMethods = inner->iVersion >= 3 ? &kMethodsV3 : inner->iVersion == 2 ? &kMethodsV2 : &kMethodsV1;
    }
    return rc;
}

int vfsDelete(sqlite3_vfs* v, const char* n, int sync) { return baseOf(v)->xDelete(baseOf(v), n, sync); }
int vfsAccess(sqlite3_vfs* v, const char* n, int f, int* out) { return baseOf(v)->xAccess(baseOf(v), n, f, out); }
int vfsFullPathname(sqlite3_vfs* v, const char* n, int size, char* out) {
    return baseOf(v)->xFullPathname(baseOf(v), n, size, out);
}
void* vfsDlOpen(sqlite3_vfs* v, const char* n) { return baseOf(v)->xDlOpen(baseOf(v), n); }
void vfsDlError(sqlite3_vfs* v, int n, char* out) { baseOf(v)->xDlError(baseOf(v), n, out); }
void (*vfsDlSym(sqlite3_vfs* v, void* h, const char* s))(void) { return baseOf(v)->xDlSym(baseOf(v), h, s); }
void vfsDlClose(sqlite3_vfs* v, void* h) { baseOf(v)->xDlClose(baseOf(v), h); }
int vfsRandomness(sqlite3_vfs* v, int n, char* out) { return baseOf(v)->xRandomness(baseOf(v), n, out); }
int vfsSleep(sqlite3_vfs* v, int us) { return baseOf(v)->xSleep(baseOf(v), us); }
int vfsCurrentTime(sqlite3_vfs* v, double* out) { return baseOf(v)->xCurrentTime(baseOf(v), out); }
int vfsGetLastError(sqlite3_vfs* v, int n, char* out) { return baseOf(v)->xGetLastError(baseOf(v), n, out); }
int vfsCurrentTimeInt64(sqlite3_vfs* v, sqlite3_int64* out) { return baseOf(v)->xCurrentTimeInt64(baseOf(v), out); }

std::mutex gMutex;
sqlite3_vfs gVfs;
std::string gName;
bool gRegistered = false;

/// A plugin's copy is unregistered when its shared object is unloaded (or at exit).
struct UnregisterAtUnload {
    ~UnregisterAtUnload() { unregisterWalGatheringVfs(); }
} gUnregisterAtUnload;
}  // namespace

bool registerWalGatheringVfs(const char* name, const char* baseName) {
    std::lock_guard<std::mutex> lock(gMutex);
    if (gRegistered) return gName == name;
    if (sqlite3_initialize() != SQLITE_OK) return false;
    sqlite3_vfs* base = sqlite3_vfs_find(baseName);
    if (base == nullptr) return false;
    gName = name;
    std::memset(&gVfs, 0, sizeof(gVfs));
    // Version 2 at most: the system-call overrides of version 3 are the wrapped VFS's business.
    gVfs.iVersion = base->iVersion >= 2 ? 2 : 1;
    gVfs.szOsFile = static_cast<int>(sizeof(GatherFile)) + base->szOsFile;
    gVfs.mxPathname = base->mxPathname;
    gVfs.zName = gName.c_str();
    gVfs.pAppData = base;
    gVfs.xOpen = vfsOpen;
    gVfs.xDelete = vfsDelete;
    gVfs.xAccess = vfsAccess;
    gVfs.xFullPathname = vfsFullPathname;
    gVfs.xDlOpen = base->xDlOpen ? vfsDlOpen : nullptr;
    gVfs.xDlError = base->xDlError ? vfsDlError : nullptr;
    gVfs.xDlSym = base->xDlSym ? vfsDlSym : nullptr;
    gVfs.xDlClose = base->xDlClose ? vfsDlClose : nullptr;
    gVfs.xRandomness = vfsRandomness;
    gVfs.xSleep = vfsSleep;
    gVfs.xCurrentTime = vfsCurrentTime;
    gVfs.xGetLastError = vfsGetLastError;
    if (gVfs.iVersion >= 2) gVfs.xCurrentTimeInt64 = base->xCurrentTimeInt64 ? vfsCurrentTimeInt64 : nullptr;
    if (sqlite3_vfs_register(&gVfs, 0) != SQLITE_OK) return false;
    gRegistered = true;
    return true;
}

void unregisterWalGatheringVfs() {
    std::lock_guard<std::mutex> lock(gMutex);
    if (!gRegistered) return;
    sqlite3_vfs_unregister(&gVfs);
    gRegistered = false;
}

std::string openNameThroughWalGathering(const std::string& path) {
    std::lock_guard<std::mutex> lock(gMutex);
    return gRegistered ? uriWithVfs(path, gName.c_str()) : path;
}

std::string uriWithVfs(const std::string& path, const char* vfs) {
    static const char* kHex = "0123456789ABCDEF";
    std::string uri = "file:";
    for (unsigned char c : path) {
        // RFC 3986 unreserved characters and '/' pass; everything else is percent-encoded.
        if (std::isalnum(c) || c == '/' || c == '-' || c == '_' || c == '.' || c == '~') {
            uri += static_cast<char>(c);
        } else {
            uri += '%';
            uri += kHex[c >> 4];
            uri += kHex[c & 15];
        }
    }
    uri += "?vfs=";
    uri += vfs;
    return uri;
}

}  // namespace ordersystem::sqlite
