// The WAL-gathering VFS: what a user of an SQLite file opened through it observes (commits
// visible at once to other connections, nothing lost when the process dies after a commit, large
// transactions intact) and the one thing it is for: far fewer write syscalls per commit.
#include "ordersystem/sqlite/wal_gathering_vfs.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

namespace fs = std::filesystem;
constexpr const char* kVfs = "ordersystem-test-gather";

class WalGatheringVfsTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(ordersystem::sqlite::registerWalGatheringVfs(kVfs));
        char tmpl[] = "/tmp/ordersystem-vfs-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir = tmpl;
        path = dir + "/test.db";
    }
    void TearDown() override {
        for (sqlite3* db : open) sqlite3_close_v2(db);
        fs::remove_all(dir);
    }

    sqlite3* openDb(bool gathering, const std::string& file) {
        sqlite3* db = nullptr;
        const std::string name = gathering ? ordersystem::sqlite::uriWithVfs(file, kVfs) : file;
        const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI;
        EXPECT_EQ(sqlite3_open_v2(name.c_str(), &db, flags, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
        open.push_back(db);
        return db;
    }
    sqlite3* openDb(bool gathering) { return openDb(gathering, path); }

    static void exec(sqlite3* db, const std::string& sql) {
        char* err = nullptr;
        ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK)
            << (err ? err : "") << " in " << sql;
    }
    static int64_t scalar(sqlite3* db, const std::string& sql) {
        sqlite3_stmt* st = nullptr;
        EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
        int64_t v = -1;
        if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return v;
    }
    static std::string text(sqlite3* db, const std::string& sql) {
        sqlite3_stmt* st = nullptr;
        EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
        std::string v;
        if (sqlite3_step(st) == SQLITE_ROW) v = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        return v;
    }
    static void makeTable(sqlite3* db, const char* synchronous) {
        exec(db, "PRAGMA journal_mode=WAL");
        exec(db, std::string("PRAGMA synchronous=") + synchronous);
        exec(db, "CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, body BLOB NOT NULL)");
    }
    /// write syscalls (write, pwrite, ...) this process made so far (/proc/self/io "syscw").
    static long writeSyscalls() {
        std::ifstream io("/proc/self/io");
        std::string key;
        long value = 0;
        while (io >> key >> value)
            if (key == "syscw:") return value;
        return -1;
    }

    std::string dir, path;
    std::vector<sqlite3*> open;
};

TEST_F(WalGatheringVfsTest, EachCommitIsVisibleAtOnceToAnotherConnection) {
    for (const char* sync : {"NORMAL", "FULL"}) {
        fs::remove(path), fs::remove(path + "-wal"), fs::remove(path + "-shm");
        sqlite3* writer = openDb(true);
        makeTable(writer, sync);
        sqlite3* reader = openDb(false);
        for (int i = 1; i <= 50; ++i) {
            exec(writer, "BEGIN IMMEDIATE");
            exec(writer, "INSERT INTO t(body) VALUES (randomblob(3000))");
            exec(writer, "INSERT INTO t(body) VALUES (randomblob(3000))");
            exec(writer, "COMMIT");
            ASSERT_EQ(scalar(reader, "SELECT count(*) FROM t"), 2 * i) << "synchronous=" << sync;
        }
        EXPECT_EQ(text(reader, "PRAGMA journal_mode"), "wal");
        for (sqlite3* db : open) sqlite3_close_v2(db);
        open.clear();
    }
}

TEST_F(WalGatheringVfsTest, ACommitOfManyPagesCostsOneWriteInsteadOfTwoPerPage) {
    sqlite3* db = openDb(true);
    makeTable(db, "NORMAL");
    exec(db, "PRAGMA wal_autocheckpoint=0");
    exec(db, "INSERT INTO t(body) VALUES (x'00')");  // the WAL header is written once, before
    const long before = writeSyscalls();
    ASSERT_GE(before, 0) << "/proc/self/io has no syscw";
    exec(db, "BEGIN IMMEDIATE");
    for (int i = 0; i < 20; ++i) exec(db, "INSERT INTO t(body) VALUES (randomblob(3500))");
    exec(db, "COMMIT");
    // 20+ pages: the plain unix VFS makes two writes per page (frame header, page), 40+ here.
    EXPECT_LE(writeSyscalls() - before, 2);
    EXPECT_EQ(scalar(openDb(false), "SELECT count(*) FROM t"), 21);
}

TEST_F(WalGatheringVfsTest, AProcessKilledRightAfterItsCommitsKeepsThemAll) {
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        sqlite3* db = nullptr;
        const std::string uri = ordersystem::sqlite::uriWithVfs(path, kVfs);
        if (sqlite3_open_v2(uri.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, nullptr))
            _exit(2);
        bool ok = sqlite3_exec(db,
                               "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                               "CREATE TABLE t(id INTEGER PRIMARY KEY, body BLOB NOT NULL)",
                               nullptr, nullptr, nullptr) == SQLITE_OK;
        for (int i = 0; ok && i < 100; ++i)
            ok = sqlite3_exec(db, "INSERT INTO t(body) VALUES (randomblob(1000))", nullptr, nullptr, nullptr) ==
                 SQLITE_OK;
        // Dies without closing: whatever the VFS still buffered would be lost now.
        kill(getpid(), SIGKILL);
        _exit(ok ? 0 : 3);
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child failed before its kill, exit " << WEXITSTATUS(status);
    sqlite3* db = openDb(false);
    EXPECT_EQ(scalar(db, "SELECT count(*) FROM t"), 100);
    EXPECT_EQ(text(db, "PRAGMA integrity_check"), "ok");
}

TEST_F(WalGatheringVfsTest, ATransactionLargerThanCacheAndBufferReadsBackAndCommitsIntact) {
    const char* kIntact = "SELECT count(*) FROM t WHERE body = printf('%d:%s', id, hex(zeroblob(450)))";
    sqlite3* db = openDb(true);
    makeTable(db, "FULL");
    exec(db, "PRAGMA cache_size=16");  // 16 pages: SQLite spills to the WAL and reads pages back
    exec(db, "BEGIN IMMEDIATE");
    exec(db,
         "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 6000) "
         "INSERT INTO t(id, body) SELECT i, printf('%d:%s', i, hex(zeroblob(450))) FROM n");  // ~6 MB
    EXPECT_EQ(scalar(db, kIntact), 6000);
    exec(db, "COMMIT");
    sqlite3* other = openDb(false);
    EXPECT_EQ(scalar(other, kIntact), 6000);
    EXPECT_EQ(text(other, "PRAGMA integrity_check"), "ok");
    exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
    EXPECT_EQ(scalar(other, "SELECT count(*) FROM t"), 6000);
}

TEST_F(WalGatheringVfsTest, PathsWithUriCharactersOpenTheFileOfThatName) {
    const std::string odd = dir + "/a b?c#d%e.db";
    sqlite3* db = openDb(true, odd);
    makeTable(db, "NORMAL");
    exec(db, "INSERT INTO t(body) VALUES (x'01')");
    EXPECT_TRUE(fs::exists(odd));
    EXPECT_EQ(scalar(openDb(false, odd), "SELECT count(*) FROM t"), 1);
}

TEST(WalGatheringVfsRegistration, AnUnknownBaseVfsIsRefused) {
    // Registered already in this process under another name (by the fixture) or not: either way
    // a base that does not exist cannot be wrapped.
    EXPECT_FALSE(ordersystem::sqlite::registerWalGatheringVfs("ordersystem-test-other", "no-such-vfs"));
}

}  // namespace
