// The plugin's NATS connection; see NatsClient.h.
#include "NatsClient.h"

#include <chrono>
#include <vector>

#include "ordersystem/transport/backoff.h"

namespace ordersystem::plugins::nats {

namespace {
constexpr int64_t kLockSpinCount = 0;
}  // namespace

std::string natsErrorText(natsStatus status) {
    const char* last = nats_GetLastError(nullptr);
    std::string text = (last != nullptr && *last != '\0') ? last : natsStatus_GetText(status);
    // cnats prefixes "(file.c:123): "; an operator does not need the library's line numbers.
    if (!text.empty() && text.front() == '(') {
        const auto close = text.find("): ");
        if (close != std::string::npos) text = text.substr(close + 3);
    }
    return text;
}

sdk::Status toStatus(natsStatus status, jsErrCode jsError, const std::string& what) {
    return toStatus(status, jsError, what, natsErrorText(status));
}

sdk::Status toStatus(natsStatus status, jsErrCode jsError, const std::string& what, const std::string& detail) {
    const std::string text =
        what + ": " + detail +
        (jsError != 0 ? " (JetStream error " + std::to_string(static_cast<int>(jsError)) + ")" : "");
    switch (status) {
    case NATS_OK: return sdk::Status::ok();
    case NATS_TIMEOUT: return sdk::Status(sdk::StatusCode::Timeout, text);
    case NATS_NOT_FOUND: return sdk::Status(sdk::StatusCode::NotFound, text);
    case NATS_INVALID_ARG: return sdk::Status(sdk::StatusCode::Internal, text);
    default: return sdk::Status(sdk::StatusCode::Unavailable, text);
    }
}

bool worthRepeating(natsStatus status, jsErrCode jsError) noexcept {
    switch (jsError) {
    case JSClusterNotAvailErr:
    case JSClusterNotLeaderErr:
    // A cluster still forming has a meta leader before it knows every server's JetStream.
    case JSClusterNoPeersErr:
    case JSStreamOfflineErr: return true;
    default: break;
    }
    switch (status) {
    // cnats reports "no responders" with JSNotEnabledErr; in a cluster it means no leader now.
    case NATS_NO_RESPONDERS: return true;
    case NATS_TIMEOUT:
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_NOT_YET_CONNECTED:
    case NATS_IO_ERROR: return jsError == 0;
    default: return false;
    }
}

NatsClient::NatsClient(const Settings& settings, sdk::Logger& logger, sdk::Metrics& metrics)
    : _settings(settings), _state(new CallbackState()) {
    _state->url = settings.url;
    _state->reconnectWaitMs = settings.reconnectWaitMs;
    _state->logger = &logger;
    _state->connectedGauge = &metrics.gauge("ordersystem_nats_connected", "1 while the NATS connection is up");
    _state->reconnects = &metrics.counter("ordersystem_nats_reconnects_total", "times the NATS connection came back");
    _state->disconnects = &metrics.counter("ordersystem_nats_disconnects_total", "times the NATS connection was lost");
}

NatsClient::~NatsClient() { close(); }

sdk::Status NatsClient::connect(const std::string& clientName) {
    // Named nats-io so cnats's threads (its busy socket reader first, its timers and callbacks,
    // the reconnect thread) are told apart from the host's in top -H.
    sdk::Status result;
    onThreadNamed("nats-io", [&] { result = connectOnThisThread(clientName); });
    return result;
}

sdk::Status NatsClient::connectOnThisThread(const std::string& clientName) {
    // The library spins on its locks before sleeping (2000 tries by default): with dozens of HTTP
    // threads sharing one connection on a few cores that burns the CPU the writes need. Only the
    // first call in the process counts; a later one (another connection) is a harmless no-op.
    nats_Open(kLockSpinCount);
    natsStatus s = natsOptions_Create(&_options);
    // Every server of the list: the first connection goes to any that answers, a lost one moves
    // to another (in random order, so the nodes of a cluster spread over the servers).
    std::vector<const char*> servers;
    for (const auto& server : _settings.servers) servers.push_back(server.c_str());
    if (s == NATS_OK) s = natsOptions_SetServers(_options, servers.data(), static_cast<int>(servers.size()));
    if (s == NATS_OK) s = natsOptions_SetName(_options, clientName.c_str());
    if (s == NATS_OK) s = natsOptions_SetTimeout(_options, _settings.connectTimeoutMs);
    // The first attempt must succeed (start-up refuses an unreachable broker); later losses are
    // retried forever so a restarted server is picked up without restarting the node.
    if (s == NATS_OK) s = natsOptions_SetRetryOnFailedConnect(_options, false, nullptr, nullptr);
    if (s == NATS_OK) s = natsOptions_SetAllowReconnect(_options, true);
    if (s == NATS_OK) s = natsOptions_SetMaxReconnect(_options, -1);
    if (s == NATS_OK) s = natsOptions_SetReconnectWait(_options, _settings.reconnectWaitMs);
    if (s == NATS_OK) s = natsOptions_SetReconnectJitter(_options, 100, 1000);
    // Requests in flight when the connection drops fail at once instead of waiting for timeout.
    if (s == NATS_OK) s = natsOptions_SetFailRequestsOnDisconnect(_options, true);
    // Buffer what is published (SendAsap off): a create's publish is written together with the
    // others of the moment by AsyncPublisher's flusher, one write for several (nats-server reads
    // and handles them as one). Requests (KV, JetStream API, blocking publishes) are written at
    // once by the library anyway; other publishes (pull requests, reaction acks) wait at most
    // the library's 1 ms flush delay, which is off every create's path.
    if (s == NATS_OK) s = natsOptions_SetSendAsap(_options, false);
    if (s == NATS_OK) s = natsOptions_SetPingInterval(_options, 2000);
    if (s == NATS_OK) s = natsOptions_SetMaxPingsOut(_options, 2);
    if (s == NATS_OK) s = natsOptions_SetDisconnectedCB(_options, &NatsClient::onDisconnected, _state);
    if (s == NATS_OK) s = natsOptions_SetReconnectedCB(_options, &NatsClient::onReconnected, _state);
    if (s == NATS_OK) s = natsOptions_SetClosedCB(_options, &NatsClient::onClosed, _state);
    if (s == NATS_OK) s = natsOptions_SetErrorHandler(_options, &NatsClient::onAsyncError, _state);
    if (s != NATS_OK) return sdk::Status(sdk::StatusCode::Internal, "cannot set up NATS options: " + natsErrorText(s));

    s = natsConnection_Connect(&_conn, _options);
    if (s != NATS_OK) {
        const std::string why = natsErrorText(s);
        close();
        return sdk::Status(sdk::StatusCode::Unavailable, "cannot reach NATS at " + _settings.url + ": " + why);
    }
    _state->up = true;
    _state->connectedGauge->set(1);

    jsOptions jo = requestOptions();
    s = natsConnection_JetStream(&_js, _conn, &jo);
    if (s != NATS_OK) {
        const std::string why = natsErrorText(s);
        close();
        return sdk::Status(sdk::StatusCode::Unavailable, "cannot reach NATS at " + _settings.url + ": " + why);
    }
    jsAccountInfo* info = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    // Answered by the JetStream meta leader: wait while one is elected (a server just went).
    s = untilLeader([&](jsErrCode* e) { return js_GetAccountInfo(&info, _js, &jo, e); }, &jerr);
    jsAccountInfo_Destroy(info);
    if (s != NATS_OK) {
        std::string why = natsErrorText(s);
        if (s == NATS_NO_RESPONDERS || jerr == JSNotEnabledErr || jerr == JSNotEnabledForAccountErr)
            why = "JetStream is not enabled there (start nats-server with -js)";
        close();
        return sdk::Status(sdk::StatusCode::Unavailable, "cannot reach NATS at " + _settings.url + ": " + why);
    }
    return sdk::Status::ok();
}

void NatsClient::close() noexcept {
    _state->closing = true;
    if (_js != nullptr) {
        jsCtx_Destroy(_js);
        _js = nullptr;
    }
    if (_conn != nullptr) {
        natsConnection_Close(_conn);
        natsConnection_Destroy(_conn);
        _conn = nullptr;
    }
    if (_options != nullptr) {
        natsOptions_Destroy(_options);
        _options = nullptr;
    }
    _state->up = false;
}

bool NatsClient::connected() const noexcept {
    return _state->up.load(std::memory_order_acquire) && _conn != nullptr &&
           natsConnection_Status(_conn) == NATS_CONN_STATUS_CONNECTED;
}

jsOptions NatsClient::requestOptions() const {
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = _settings.requestTimeoutMs;
    return jo;
}

natsStatus NatsClient::untilLeader(const std::function<natsStatus(jsErrCode*)>& call, jsErrCode* jsError) const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(_settings.appendTimeoutMs);
    transport::Backoff backoff(100, 1000);
    while (true) {
        *jsError = static_cast<jsErrCode>(0);
        const natsStatus s = call(jsError);
        if (!worthRepeating(s, *jsError)) return s;
        const int64_t delayMs = backoff.next();
        if (std::chrono::steady_clock::now() + std::chrono::milliseconds(delayMs) >= deadline) return s;
        std::this_thread::sleep_for(std::chrono::milliseconds(delayMs));
    }
}

sdk::Status NatsClient::unavailable(const std::string& what) const {
    return sdk::Status(sdk::StatusCode::Unavailable,
                       what + ": NATS at " + _settings.url + " is not connected (reconnecting)");
}

void NatsClient::onDisconnected(natsConnection*, void* closure) {
    auto* st = static_cast<CallbackState*>(closure);
    st->up = false;
    if (st->closing) return;
    st->connectedGauge->set(0);
    st->disconnects->inc();
    st->logger->warn("lost the connection to NATS at " + st->url +
                     "; writes answer 503 until it is back, reconnecting every " + std::to_string(st->reconnectWaitMs) +
                     " ms");
}

void NatsClient::onReconnected(natsConnection* nc, void* closure) {
    auto* st = static_cast<CallbackState*>(closure);
    if (st->closing) return;
    st->up = true;
    st->connectedGauge->set(1);
    st->reconnects->inc();
    char server[256] = {0};
    if (natsConnection_GetConnectedUrl(nc, server, sizeof server) != NATS_OK) server[0] = '\0';
    st->logger->info("reconnected to NATS at " + std::string(server[0] != '\0' ? server : st->url.c_str()));
}

void NatsClient::onClosed(natsConnection*, void* closure) {
    auto* st = static_cast<CallbackState*>(closure);
    st->up = false;
    if (st->closing) return;
    st->connectedGauge->set(0);
    st->logger->error("the NATS connection to " + st->url + " was closed");
}

void NatsClient::onAsyncError(natsConnection*, natsSubscription*, natsStatus err, void* closure) {
    auto* st = static_cast<CallbackState*>(closure);
    if (st->closing) return;
    st->logger->warn(std::string("NATS asynchronous error: ") + natsStatus_GetText(err));
}

}  // namespace ordersystem::plugins::nats
