// --backup; see Backup.h.
#include "Backup.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "OperatorCommands.h"
#include "ordersystem/sqlite/db.h"

namespace ordersystem::host {

using sdk::Result;
using sdk::Status;
using sdk::StatusCode;
namespace fs = std::filesystem;

namespace {

/// A file that starts with SQLite's header string (not a -wal, -shm or journal file).
bool isSqliteDatabase(const fs::path& path) {
    static const char kMagic[16] = "SQLite format 3";  // with its terminating NUL: 16 bytes
    char head[16] = {};
    std::ifstream in(path, std::ios::binary);
    return in.read(head, sizeof head) && std::memcmp(head, kMagic, sizeof head) == 0;
}

Status copyDatabase(const fs::path& from, const fs::path& to) {
    sqlite::Db source;
    // Read-write: a WAL file without its -shm (no node running) needs recovery to be read.
    if (Status s = source.open(from.string(), false); !s) return s;
    return source.backupInto(to.string());
}

void removeAll(const fs::path& path) {
    std::error_code ec;
    fs::remove_all(path, ec);
}

}  // namespace

Result<std::string> backupDataFolder(const std::string& dataDir, const std::string& logFile, const std::string& dir) {
    std::error_code ec;
    if (fs::exists(dir, ec)) return Status(StatusCode::InvalidArgument, dir + " exists: name a folder that does not");
    const fs::path log = fs::weakly_canonical(logFile, ec);
    if (!fs::exists(log, ec))
        return Status(StatusCode::NotFound, "the event log " + logFile + " does not exist: nothing to back up");
    std::vector<fs::path> readModels;
    for (const auto& entry : fs::directory_iterator(dataDir, ec)) {
        if (!entry.is_regular_file() || fs::weakly_canonical(entry.path(), ec) == log) continue;
        if (isSqliteDatabase(entry.path())) readModels.push_back(entry.path());
    }
    if (ec) return Status(StatusCode::Unavailable, "cannot list " + dataDir + ": " + ec.message());
    std::sort(readModels.begin(), readModels.end());

    const auto started = std::chrono::steady_clock::now();
    const fs::path tmp = dir + ".tmp-" + std::to_string(::getpid());
    removeAll(tmp);
    if (!fs::create_directories(tmp, ec))
        return Status(StatusCode::Unavailable, "cannot create " + tmp.string() + ": " + ec.message());
    std::string names;
    std::vector<fs::path> order = readModels;
    order.push_back(log);  // last: it then holds every event the read models have applied
    for (const auto& file : order) {
        if (Status s = copyDatabase(file, tmp / file.filename()); !s) {
            removeAll(tmp);
            return Status(s.code, "backing up " + file.string() + ": " + s.message + "; no backup was made");
        }
        names += (names.empty() ? "" : ", ") + file.filename().string();
    }
    fs::rename(tmp, dir, ec);
    if (ec) {
        removeAll(tmp);
        return Status(StatusCode::Unavailable, "cannot rename " + tmp.string() + " to " + dir + ": " + ec.message());
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return "backed up " + std::to_string(order.size()) + " files (" + names + ") of " + dataDir + " to " + dir +
           " in " + formatSeconds(seconds);
}

}  // namespace ordersystem::host
