// Contract: --backup (CONTRACT.md §5): a consistent copy of a standalone node's SQLite files taken
// from another process while the node serves. Main thread only.
#pragma once

#include <string>

#include "ordersystem/sdk/status.h"

namespace ordersystem::host {

/// Copies every SQLite database file directly inside dataDir, and logFile (the event log, which
/// may live elsewhere), into the new folder dir (refused when it exists): written into
/// dir.tmp-<pid> and renamed at the end. The read models are copied before the log, so none is
/// ahead of it (they catch up from the log when a node starts on the copy). The summary line.
sdk::Result<std::string> backupDataFolder(const std::string& dataDir, const std::string& logFile,
                                          const std::string& dir);

}  // namespace ordersystem::host
