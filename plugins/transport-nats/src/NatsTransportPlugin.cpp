// The transport-nats plugin's lifecycle; see NatsTransportPlugin.h.
#include "NatsTransportPlugin.h"

namespace ordersystem::plugins::nats {

NatsTransportPlugin::NatsTransportPlugin(Settings settings) : _settings(std::move(settings)) {}

NatsTransportPlugin::~NatsTransportPlugin() {
    // stop() is only called after a successful start(); a failed start() cleans up itself.
    _log.reset();
    _membership.reset();
    _idempotency.reset();
    _client.reset();
}

sdk::Status NatsTransportPlugin::start(sdk::Host& host) noexcept {
    try {
        sdk::Status st = startUnchecked(host);
        if (!st) {
            if (_log) _log->stopAppends();
            if (_log) _log->stopSubscriptions();
            if (_membership) _membership->stop();
            if (_idempotency) _idempotency->close();
            if (_client) _client->close();
        }
        return st;
    } catch (const std::exception& e) {
        return sdk::Status(sdk::StatusCode::Internal, std::string("transport-nats: start failed: ") + e.what());
    }
}

sdk::Status NatsTransportPlugin::startUnchecked(sdk::Host& host) {
    _host = &host;
    sdk::Logger& log = host.logger();
    _client = std::make_unique<NatsClient>(_settings, log, host.metrics());
    if (auto st = _client->connect("ordersystem " + host.node().nodeId); !st) return st;
    _idempotency = std::make_unique<KvIdempotencyStore>(_settings, *_client);
    _membership = std::make_unique<KvMembership>(_settings, *_client, host);
    _log = std::make_unique<NatsEventLog>(_settings, *_client, host, *_idempotency, *_membership);
    if (auto st = _log->ensureStreams(); !st) return st;
    if (auto st = _log->startAppends(); !st) return st;
    if (auto st = _idempotency->open(); !st) return st;
    if (auto st = host.node().joinsMembership ? _membership->start() : sdk::Status::ok(); !st) return st;
    auto head = _log->headPosition();
    if (!head) return head.status();

    host.provideEventLog(_log.get());
    host.addHealthCheck("nats", [this] { return checkHealth(); });
    log.info("cluster mode: connected to NATS at " + _settings.url + ", JetStream stream " + _settings.stream +
             " (subjects " + _settings.eventsFilter() + ", file storage, " + std::to_string(_settings.streamReplicas) +
             " replica(s)) at position " + std::to_string(*head) + ", node " + host.node().nodeId);
    return sdk::Status::ok();
}

void NatsTransportPlugin::stop() noexcept {
    try {
        if (_log) _log->stopAppends();  // needs the client and the idempotency store still open
        if (_log) _log->stopSubscriptions();
        if (_membership) _membership->stop();
        if (_idempotency) _idempotency->close();
        if (_client) _client->close();
        if (_host != nullptr) _host->logger().info("disconnected from NATS; durable consumers are kept");
    } catch (...) {
    }
}

sdk::HealthCheckResult NatsTransportPlugin::checkHealth() {
    if (!_client || !_client->connected())
        return {false, "not connected to NATS at " + _settings.url + " (reconnecting)"};
    std::lock_guard<std::mutex> lock(_healthMutex);
    const auto now = std::chrono::steady_clock::now();
    if (now - _healthCheckedAt < std::chrono::seconds(1)) return _health;
    jsOptions jo = _client->requestOptions();
    jo.Wait = std::min<int64_t>(_settings.requestTimeoutMs, 1000);
    jsStreamInfo* info = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    const natsStatus s = js_GetStreamInfo(&info, _client->js(), _settings.stream.c_str(), &jo, &jerr);
    if (s == NATS_OK) {
        _health = {true, "connected to " + _settings.url + ", stream " + _settings.stream + " at position " +
                             std::to_string(info->State.LastSeq)};
    } else {
        _health = {false, "JetStream at " + _settings.url + " does not answer: " + natsErrorText(s)};
    }
    jsStreamInfo_Destroy(info);
    _healthCheckedAt = now;
    return _health;
}

}  // namespace ordersystem::plugins::nats
