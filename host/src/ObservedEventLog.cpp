#include "ObservedEventLog.h"

#include "ordersystem/transport/metric_families.h"

namespace ordersystem::host {

namespace families = transport::families;

class ObservedEventLog::ObservedProjection final : public sdk::Projection {
public:
    ObservedProjection(sdk::Projection& inner, sdk::Metrics& metrics)
        : _inner(inner),
          _name(inner.projectionName()),
          _applied(families::counter(metrics, families::kEventsApplied,
                                     families::labelled(families::kEventsApplied, _name))),
          _failures(families::counter(metrics, families::kProjectionApplyFailures,
                                      families::labelled(families::kProjectionApplyFailures, _name))),
          _positionGauge(families::gauge(metrics, families::kProjectionPosition,
                                         families::labelled(families::kProjectionPosition, _name))),
          _lag(families::gauge(metrics, families::kProjectionLag,
                               families::labelled(families::kProjectionLag, _name))) {}

    std::string_view projectionName() const noexcept override { return _inner.projectionName(); }
    uint64_t checkpoint() noexcept override {
        const uint64_t c = _inner.checkpoint();
        _position.store(c, std::memory_order_relaxed);
        _positionGauge.set(static_cast<double>(c));
        return c;
    }
    sdk::Status apply(const std::vector<sdk::EventRecord>& batch) noexcept override {
        sdk::Status s = _inner.apply(batch);
        if (!s.isOk()) {
            _failures.inc();
        } else if (!batch.empty()) {
            _applied.inc(static_cast<double>(batch.size()));
            _position.store(batch.back().position, std::memory_order_relaxed);
            _positionGauge.set(static_cast<double>(batch.back().position));
        }
        return s;
    }
    void updateLag(uint64_t head) noexcept {
        const uint64_t at = _position.load(std::memory_order_relaxed);
        _lag.set(head > at ? static_cast<double>(head - at) : 0.0);
    }

private:
    sdk::Projection& _inner;
    std::string _name;
    sdk::Counter& _applied;
    sdk::Counter& _failures;
    sdk::Gauge& _positionGauge;
    sdk::Gauge& _lag;
    std::atomic<uint64_t> _position{0};
};

class ObservedEventLog::ObservedReaction final : public sdk::Reaction {
public:
    ObservedReaction(sdk::Reaction& inner, sdk::Metrics& metrics)
        : _inner(inner),
          _name(inner.reactionName()),
          _ok(families::counter(metrics, families::kReactionEvents, {{"reaction", _name}, {"outcome", "ok"}})),
          _failed(families::counter(metrics, families::kReactionEvents, {{"reaction", _name}, {"outcome", "failed"}})) {
    }

    std::string_view reactionName() const noexcept override { return _inner.reactionName(); }
    sdk::DeliveryPolicy deliveryPolicy() const noexcept override { return _inner.deliveryPolicy(); }
    sdk::Status handle(const sdk::EventRecord& event) noexcept override {
        sdk::Status s = _inner.handle(event);
        (s.isOk() ? _ok : _failed).inc(1.0);
        return s;
    }

private:
    sdk::Reaction& _inner;
    std::string _name;
    sdk::Counter& _ok;
    sdk::Counter& _failed;
};

ObservedEventLog::ObservedEventLog(sdk::EventLog& inner, sdk::Metrics& metrics) : _inner(inner), _metrics(metrics) {}

ObservedEventLog::~ObservedEventLog() = default;

sdk::Result<sdk::SubscriptionId> ObservedEventLog::subscribe(sdk::Projection& projection) noexcept {
    std::unique_ptr<ObservedProjection> wrapper;
    try {
        wrapper = std::make_unique<ObservedProjection>(projection, _metrics);
    } catch (...) {
        return _inner.subscribe(projection);  // unobserved rather than refused
    }
    // The wrapper exists before subscribing: the inner log may call it before subscribe() returns.
    auto id = _inner.subscribe(*wrapper);
    if (id) {
        std::lock_guard<std::mutex> lock(_mutex);
        _projections[id.value()] = std::move(wrapper);
    }
    return id;
}

sdk::Result<sdk::SubscriptionId> ObservedEventLog::subscribe(sdk::Reaction& reaction) noexcept {
    std::unique_ptr<ObservedReaction> wrapper;
    try {
        wrapper = std::make_unique<ObservedReaction>(reaction, _metrics);
    } catch (...) {
        return _inner.subscribe(reaction);
    }
    auto id = _inner.subscribe(*wrapper);
    if (id) {
        std::lock_guard<std::mutex> lock(_mutex);
        _reactions[id.value()] = std::move(wrapper);
    }
    return id;
}

void ObservedEventLog::unsubscribe(sdk::SubscriptionId id) noexcept {
    _inner.unsubscribe(id);  // returns once no callback runs: the wrapper may go now
    std::lock_guard<std::mutex> lock(_mutex);
    _projections.erase(id);
    _reactions.erase(id);
}

void ObservedEventLog::collect() noexcept {
    std::lock_guard<std::mutex> lock(_mutex);
    if (_projections.empty()) return;
    auto head = _inner.headPosition();
    if (!head) return;  // keep the last values; /health/ready reports the log's trouble
    for (auto& [id, p] : _projections) p->updateLag(head.value());
}

}  // namespace ordersystem::host
