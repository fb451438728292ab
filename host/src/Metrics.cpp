#include "Metrics.h"

#include <cmath>

#include <fmt/format.h>

namespace ordersystem::host {

namespace {

void atomicAdd(std::atomic<double>& target, double amount) noexcept {
    double current = target.load(std::memory_order_relaxed);
    while (!target.compare_exchange_weak(current, current + amount, std::memory_order_relaxed)) {
    }
}

void appendEscaped(std::string& out, std::string_view value, bool help) {
    for (char c : value) {
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else if (c == '"' && !help) out += "\\\"";
        else out.push_back(c);
    }
}

std::string labelText(const sdk::Labels& labels) {
    std::string out;
    for (const auto& kv : labels) {
        if (!out.empty()) out.push_back(',');
        out += kv.first;
        out += "=\"";
        appendEscaped(out, kv.second, false);
        out.push_back('"');
    }
    return out;
}

}  // namespace

std::string formatMetricValue(double value) {
    if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
    if (std::isnan(value)) return "NaN";
    if (value == std::floor(value) && std::fabs(value) < 1e15) return fmt::format("{}", static_cast<int64_t>(value));
    return fmt::format("{}", value);
}

struct MetricsRegistry::Instrument final : sdk::Counter, sdk::Gauge, sdk::Histogram {
    std::string labels;  ///< rendered, without braces
    std::atomic<double> value{0.0};
    const std::vector<double>* bounds = nullptr;            ///< histogram only
    std::unique_ptr<std::atomic<uint64_t>[]> bucketCounts;  ///< per bucket, not cumulative (+Inf last)
    std::atomic<uint64_t> count{0};

    void inc(double amount) noexcept override { atomicAdd(value, amount); }
    void set(double v) noexcept override { value.store(v, std::memory_order_relaxed); }
    void add(double amount) noexcept override { atomicAdd(value, amount); }
    void observe(double v) noexcept override {
        size_t i = 0;
        const size_t n = bounds->size();
        while (i < n && v > (*bounds)[i]) ++i;
        bucketCounts[i].fetch_add(1, std::memory_order_relaxed);
        atomicAdd(value, v);
        count.fetch_add(1, std::memory_order_relaxed);
    }
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

const std::vector<double>& MetricsRegistry::defaultBuckets() {
    static const std::vector<double> buckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                0.1,    0.25,  0.5,    1.0,   2.5,  5.0,   10.0};
    return buckets;
}

MetricsRegistry::Instrument& MetricsRegistry::instrument(std::string_view name, std::string_view help,
                                                         const sdk::Labels& labels, Type type,
                                                         const std::vector<double>* buckets) {
    std::lock_guard<std::mutex> lock(_mutex);
    auto it = _families.find(name);
    if (it == _families.end()) {
        Family f;
        f.name = std::string(name);
        f.help = std::string(help);
        f.type = type;
        if (type == Type::Histogram) f.buckets = (buckets && !buckets->empty()) ? *buckets : defaultBuckets();
        it = _families.emplace(f.name, std::move(f)).first;
    } else if (it->second.type != type) {
        // Never throw at a plugin: hand out a working instrument that is simply not exported.
        _orphans.push_back(std::make_unique<Instrument>());
        Instrument& orphan = *_orphans.back();
        if (type == Type::Histogram) {
            orphan.bounds = &defaultBuckets();
            orphan.bucketCounts.reset(new std::atomic<uint64_t>[defaultBuckets().size() + 1]);
            for (size_t i = 0; i <= defaultBuckets().size(); ++i) orphan.bucketCounts[i].store(0);
        }
        _conflicts.push_back(std::string(name));
        return orphan;
    }
    Family& family = it->second;
    std::string key = labelText(labels);
    auto child = family.children.find(key);
    if (child != family.children.end()) return *child->second;
    auto inst = std::make_unique<Instrument>();
    inst->labels = key;
    if (type == Type::Histogram) {
        inst->bounds = &family.buckets;
        inst->bucketCounts.reset(new std::atomic<uint64_t>[family.buckets.size() + 1]);
        for (size_t i = 0; i <= family.buckets.size(); ++i) inst->bucketCounts[i].store(0);
    }
    Instrument& ref = *inst;
    family.children.emplace(std::move(key), std::move(inst));
    return ref;
}

sdk::Counter& MetricsRegistry::counter(std::string_view name, std::string_view help, const sdk::Labels& labels) {
    return instrument(name, help, labels, Type::Counter, nullptr);
}

sdk::Gauge& MetricsRegistry::gauge(std::string_view name, std::string_view help, const sdk::Labels& labels) {
    return instrument(name, help, labels, Type::Gauge, nullptr);
}

sdk::Histogram& MetricsRegistry::histogram(std::string_view name, std::string_view help, const sdk::Labels& labels,
                                           const std::vector<double>& buckets) {
    return instrument(name, help, labels, Type::Histogram, &buckets);
}

std::string MetricsRegistry::render() const {
    std::string out;
    out.reserve(8192);
    std::lock_guard<std::mutex> lock(_mutex);
    for (const auto& name : _conflicts)
        out += "# ordersystem: metric " + name + " was registered again with another type; that use is not exported\n";
    for (const auto& [name, family] : _families) {
        out += "# HELP " + name + " ";
        appendEscaped(out, family.help, true);
        out += "\n# TYPE " + name + " ";
        out += family.type == Type::Counter ? "counter" : family.type == Type::Gauge ? "gauge" : "histogram";
        out.push_back('\n');
        for (const auto& [labels, inst] : family.children) {
            if (family.type != Type::Histogram) {
                out += name;
                if (!labels.empty()) out += "{" + labels + "}";
                out += " " + formatMetricValue(inst->value.load(std::memory_order_relaxed)) + "\n";
                continue;
            }
            const std::string sep = labels.empty() ? "" : labels + ",";
            uint64_t cumulative = 0;
            for (size_t i = 0; i <= family.buckets.size(); ++i) {
                cumulative += inst->bucketCounts[i].load(std::memory_order_relaxed);
                const std::string le = i < family.buckets.size() ? formatMetricValue(family.buckets[i]) : "+Inf";
                out += name + "_bucket{" + sep + "le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
            }
            const std::string braces = labels.empty() ? "" : "{" + labels + "}";
            out += name + "_sum" + braces + " " + formatMetricValue(inst->value.load(std::memory_order_relaxed)) + "\n";
            out += name + "_count" + braces + " " + std::to_string(inst->count.load(std::memory_order_relaxed)) + "\n";
        }
    }
    return out;
}

}  // namespace ordersystem::host
