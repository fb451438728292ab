// Contract: the operator commands --export and --import (CONTRACT.md §5 "Operator commands") over
// an event log the Runtime opened with openEventLog(), and the progress/summary rules they share
// with --backup. Run on the main thread; each returns the one summary line for stdout, or a
// Status whose message is the reason (exit 1). Progress goes to the given stream (stderr), at
// most once a second.
#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

#include "ordersystem/sdk/eventlog.h"

namespace ordersystem::host {

/// "<what>: N events, R/s" on err at most once a second while a long run goes on.
class Progress {
public:
    Progress(std::ostream& err, std::string what);
    /// done so far; prints when a second has passed since the last line.
    void update(uint64_t done);
    double seconds() const;
    /// Events per second over the whole run so far.
    double rate(uint64_t done) const;

private:
    using Clock = std::chrono::steady_clock;
    std::ostream& _err;
    std::string _what;
    Clock::time_point _start = Clock::now();
    Clock::time_point _last = _start;
};

/// The seconds of a run as printed in summaries ("1.2 s").
std::string formatSeconds(double seconds);

/// Writes every event up to the head at start, in log order, as JSON lines to file (via
/// file.tmp, renamed at the end). An existing file is refused; on failure no file is left.
sdk::Result<std::string> exportLog(sdk::EventLog& log, const std::string& file, std::ostream& progress);

/// Checks the whole file, then appends it to log, which must be empty; then moves the id
/// allocator past the highest imported order id.
sdk::Result<std::string> importLog(sdk::EventLog& log, const std::string& file, std::ostream& progress);

}  // namespace ordersystem::host
