// Contract: the host's Prometheus registry (implements sdk::Metrics). Registration takes a mutex
// and returns a reference valid until the registry dies (the host outlives every plugin);
// instrument updates are lock-free atomics. render() writes text format 0.0.4 (HELP/TYPE lines,
// histograms as cumulative _bucket{le}/_sum/_count). Never throws at a caller: registering one
// name with two types hands out a working but unexported instrument and notes it in render().
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ordersystem/sdk/metrics.h"

namespace ordersystem::host {

class MetricsRegistry final : public sdk::Metrics {
public:
    MetricsRegistry();
    ~MetricsRegistry() override;
    sdk::Counter& counter(std::string_view name, std::string_view help, const sdk::Labels& labels = {}) override;
    sdk::Gauge& gauge(std::string_view name, std::string_view help, const sdk::Labels& labels = {}) override;
    sdk::Histogram& histogram(std::string_view name, std::string_view help, const sdk::Labels& labels = {},
                              const std::vector<double>& buckets = {}) override;

    /// The whole registry in Prometheus text format 0.0.4.
    std::string render() const;

    /// The default latency buckets in seconds.
    static const std::vector<double>& defaultBuckets();

private:
    enum class Type { Counter, Gauge, Histogram };
    struct Instrument;
    struct Family {
        std::string name;
        std::string help;
        Type type;
        std::vector<double> buckets;
        std::map<std::string, std::unique_ptr<Instrument>> children;  ///< by rendered label text
    };
    Instrument& instrument(std::string_view name, std::string_view help, const sdk::Labels& labels, Type type,
                           const std::vector<double>* buckets);

    mutable std::mutex _mutex;
    std::map<std::string, Family, std::less<>> _families;
    std::vector<std::unique_ptr<Instrument>> _orphans;  ///< from type conflicts; work but are not rendered
    std::vector<std::string> _conflicts;
};

/// Formats a double the way Prometheus expects ("+Inf", integers without a fraction).
std::string formatMetricValue(double value);

}  // namespace ordersystem::host
