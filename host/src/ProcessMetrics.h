// Contract: the standard Prometheus process metrics every exporter offers, read from /proc on
// each scrape: process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_open_fds, process_max_fds, process_start_time_seconds.
// Registered once on the main thread; collect() runs on HTTP worker threads (serialised by a
// mutex so concurrent scrapes never double-count CPU time). Never throws; a value /proc does
// not give keeps its last reading.
#pragma once

#include <mutex>

#include "ordersystem/sdk/metrics.h"

namespace ordersystem::host {

class ProcessMetrics {
public:
    explicit ProcessMetrics(sdk::Metrics& metrics);
    void collect() noexcept;

private:
    sdk::Counter& _cpu;
    sdk::Gauge& _rss;
    sdk::Gauge& _virtual;
    sdk::Gauge& _openFds;
    sdk::Gauge& _maxFds;
    sdk::Gauge& _startTime;
    std::mutex _mutex;
    double _cpuReported = 0.0;  ///< what _cpu holds (a counter only goes up by increments)
};

}  // namespace ordersystem::host
