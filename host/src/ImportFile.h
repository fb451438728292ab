// Contract: the two passes of --import over a JSON-lines export (OperatorCommands.h): a check of
// the whole file before anything is written, then the appends. Main thread only.
#pragma once

#include <cstdint>
#include <string>

#include "OperatorCommands.h"
#include "ordersystem/sdk/eventlog.h"

namespace ordersystem::host {

/// One line of an export at most (an event document is far smaller).
inline constexpr size_t kMaxImportLineBytes = 1u << 20;
/// Appends in flight at once: enough to fill the transports' batches.
inline constexpr size_t kImportWindow = 1024;

struct ImportSummary {
    uint64_t events = 0;
    uint64_t orders = 0;
    int64_t highestOrderId = 0;
};

/// Every line is an event document (sdk::eventFromJson) with an order id in 1..2^53-1 and an
/// eventId seen nowhere else, and each order's versions run 1, 2, ... in file order. The first
/// bad line is named by its number; an empty file is refused too.
sdk::Result<ImportSummary> checkImportFile(const std::string& file);

/// Appends the checked file event by event, in file order, keeping several appends in flight but
/// never two of one order. On a failure stops and names how many were imported.
sdk::Status appendImportFile(sdk::EventLog& log, const std::string& file, const ImportSummary& summary,
                             Progress& progress);

}  // namespace ordersystem::host
