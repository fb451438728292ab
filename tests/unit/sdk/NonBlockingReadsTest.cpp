// Reads that never wait for the disk (nonblocking_reads.h): what a caller on an event loop sees
// when the data it needs has left the kernel's page cache, and that nothing changes elsewhere.
// The page cache is emptied for one file with posix_fadvise(DONTNEED) after an fdatasync; where
// the file system cannot do that or has no RWF_NOWAIT for buffered reads (tmpfs), the tests say
// so and skip.
#include "ordersystem/sqlite/nonblocking_reads.h"
#include "ordersystem/sqlite/wal_gathering_vfs.h"
#include "ordersystem/testing/TestSupport.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>

namespace {

using ordersystem::sqlite::NonBlockingReads;
using ordersystem::testing::evictFromPageCache;
constexpr const char* kVfs = "ordersystem-test-gather";  // one gathering VFS per binary (WalGatheringVfsTest)
constexpr int kRows = 2000;                              // ~2.2 MB of rows: most leaf pages are far from the root's

class NonBlockingReadsTest : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_TRUE(ordersystem::sqlite::registerWalGatheringVfs(kVfs)); }
    void TearDown() override {
        if (db) sqlite3_close_v2(db);
    }

    sqlite3* openDb() {
        sqlite3* handle = nullptr;
        const std::string name = ordersystem::sqlite::uriWithVfs(path, kVfs);
        EXPECT_EQ(sqlite3_open_v2(name.c_str(), &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI,
                                  nullptr),
                  SQLITE_OK);
        return handle;
    }
    static void exec(sqlite3* handle, const std::string& sql) {
        char* err = nullptr;
        ASSERT_EQ(sqlite3_exec(handle, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "") << sql;
    }
    /// kRows rows of 1 KiB; checkpointed into the database file unless keepInWal.
    void fill(bool keepInWal) {
        sqlite3* w = openDb();
        exec(w, "PRAGMA journal_mode=WAL");
        if (keepInWal) exec(w, "PRAGMA wal_autocheckpoint=0");
        exec(w, "CREATE TABLE t(id INTEGER PRIMARY KEY, body BLOB NOT NULL)");
        exec(w, "BEGIN");
        exec(w, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " + std::to_string(kRows) +
                    ") INSERT INTO t SELECT i, randomblob(1024) FROM n");
        exec(w, "COMMIT");
        if (!keepInWal) exec(w, "PRAGMA wal_checkpoint(TRUNCATE)");
        db = w;  // stays open: the WAL (if any) must not be checkpointed away at close
    }
    /// Steps `sql` once: the SQLite result code, and the first column as text on a row.
    static int step(sqlite3* handle, const std::string& sql, std::string* text = nullptr) {
        sqlite3_stmt* st = nullptr;
        if (sqlite3_prepare_v2(handle, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) return sqlite3_errcode(handle);
        const int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW && text) *text = std::to_string(sqlite3_column_bytes(st, 0));
        sqlite3_finalize(st);
        return rc;
    }

    ordersystem::testing::TempDir dir;  // declared before db: removed after TearDown closed it
    std::string path = dir.file("test.db");
    sqlite3* db = nullptr;
};

TEST_F(NonBlockingReadsTest, ARowOutsideThePageCacheIsRefusedAtOnceOnALoopAndReadNormallyElsewhere) {
    fill(false);
    sqlite3_close_v2(db);
    db = nullptr;
    if (!evictFromPageCache(path))
        GTEST_SKIP() << "this file system keeps " << path << " in memory (or lacks RWF_NOWAIT)";
    db = openDb();
    // The schema (page 1) is read outside the scope, as a server's first query would.
    ASSERT_EQ(step(db, "SELECT count(*) FROM sqlite_master"), SQLITE_ROW);

    const std::string query = "SELECT body FROM t WHERE id = " + std::to_string(kRows - 7);
    {
        NonBlockingReads loop;
        {
            NonBlockingReads handler;  // a scope inside another passes its refusal outwards
            const int rc = step(db, query);
            EXPECT_EQ(rc & 0xff, SQLITE_IOERR) << "a read that needs the disk must fail at once on the loop";
            EXPECT_TRUE(handler.refused());
        }
        EXPECT_TRUE(loop.refused());
    }
    {
        NonBlockingReads next;
        EXPECT_FALSE(next.refused()) << "a refusal belongs to the scope it happened in";
    }

    std::string bytes;
    ASSERT_EQ(step(db, query, &bytes), SQLITE_ROW) << "the same connection, off the loop, reads it";
    EXPECT_EQ(bytes, "1024");
    {
        NonBlockingReads loop;
        ASSERT_EQ(step(db, query, &bytes), SQLITE_ROW) << "now cached: the loop reads it without help";
        EXPECT_FALSE(loop.refused());
    }
}

TEST_F(NonBlockingReadsTest, FramesOfTheWalOutsideThePageCacheAreRefusedToo) {
    fill(true);  // rows only in the WAL, the writer connection keeps it
    if (!evictFromPageCache(path + "-wal"))
        GTEST_SKIP() << "this file system keeps the WAL in memory (or lacks RWF_NOWAIT)";
    sqlite3* reader = openDb();
    ASSERT_EQ(step(reader, "SELECT count(*) FROM sqlite_master"), SQLITE_ROW);
    const std::string query = "SELECT body FROM t WHERE id = " + std::to_string(kRows / 2);
    {
        NonBlockingReads loop;
        EXPECT_EQ(step(reader, query) & 0xff, SQLITE_IOERR);
        EXPECT_TRUE(loop.refused());
    }
    std::string bytes;
    EXPECT_EQ(step(reader, query, &bytes), SQLITE_ROW);
    EXPECT_EQ(bytes, "1024");
    sqlite3_close_v2(reader);
}

TEST_F(NonBlockingReadsTest, OutsideAScopeEvictedDataIsReadAsAlways) {
    fill(false);
    sqlite3_close_v2(db);
    db = nullptr;
    if (!evictFromPageCache(path))
        GTEST_SKIP() << "this file system keeps " << path << " in memory (or lacks RWF_NOWAIT)";
    db = openDb();
    std::string count;
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT count(*), sum(length(body)) FROM t", -1, &st, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    EXPECT_EQ(sqlite3_column_int64(st, 0), kRows);
    EXPECT_EQ(sqlite3_column_int64(st, 1), int64_t{kRows} * 1024);
    sqlite3_finalize(st);
}

}  // namespace
