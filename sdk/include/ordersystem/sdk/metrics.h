// Contract: Prometheus-style instruments owned by the host. Registration (counter/gauge/
// histogram) may be called from any thread, is idempotent for the same name+labels and returns
// a reference valid until the host exits: look instruments up once at start, not per request.
// The instruments' update methods are lock-free and thread-safe.
// Names follow Prometheus conventions: ordersystem_<what>_total, ..._seconds, base units.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ordersystem::sdk {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
public:
    virtual ~Counter() = default;
    virtual void inc(double amount = 1.0) noexcept = 0;
};

class Gauge {
public:
    virtual ~Gauge() = default;
    virtual void set(double value) noexcept = 0;
    virtual void add(double amount) noexcept = 0;
};

class Histogram {
public:
    virtual ~Histogram() = default;
    virtual void observe(double value) noexcept = 0;
};

class Metrics {
public:
    virtual ~Metrics() = default;
    virtual Counter& counter(std::string_view name, std::string_view help, const Labels& labels = {}) = 0;
    virtual Gauge& gauge(std::string_view name, std::string_view help, const Labels& labels = {}) = 0;
    /// Buckets in the metric's unit, ascending; empty = default latency buckets in seconds.
    virtual Histogram& histogram(std::string_view name, std::string_view help, const Labels& labels = {},
                                 const std::vector<double>& buckets = {}) = 0;
};

}  // namespace ordersystem::sdk
