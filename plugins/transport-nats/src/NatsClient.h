// Contract: one NATS connection and its JetStream context, shared by every part of the plugin.
// - connect() runs in start() with every server of the url list (any may take the connection,
//   a lost one is replaced by another): the first attempt must succeed (no server reachable, or one
//   without JetStream is Unavailable "cannot reach NATS at <url>: ..."), after that the library
//   reconnects forever in the background and restores subscriptions. The library's own threads
//   (socket reader, timers, reconnects) are named "nats-io" (see connect()).
// - connection()/js() are valid from connect() to close(); cnats objects are thread-safe, so any
//   thread may use them. close() runs after every user of them has stopped.
// - connected() is a cheap, lock-free check used to fail writes fast while NATS is away.
// Errors: helpers below turn a natsStatus (+ JetStream error code) into an sdk::Status whose
// message names the operation and carries the library's own text.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include <nats/nats.h>

#include "NatsSettings.h"
#include "ordersystem/sdk/logger.h"
#include "ordersystem/sdk/metrics.h"
#include "ordersystem/sdk/status.h"
#include "ordersystem/sdk/util.h"

namespace ordersystem::plugins::nats {

/// Text of the last cnats error on this thread (falls back to the status name).
std::string natsErrorText(natsStatus status);

/// Maps a failed cnats call to our codes: timeouts -> Timeout, connection trouble and JetStream
/// refusals -> Unavailable (retryable, 503). `what` names the operation for the message.
sdk::Status toStatus(natsStatus status, jsErrCode jsError, const std::string& what);
/// The same with the library's text given (an asynchronous acknowledgement carries its own; the
/// thread's last error belongs to somebody else there).
sdk::Status toStatus(natsStatus status, jsErrCode jsError, const std::string& what, const std::string& detail);

/// true when a JetStream call (a publish among them) that failed this way may be repeated as it
/// was: no answer, nobody answering, the connection moving to another server, a leader being
/// elected. JetStream's other refusals (a failed version check among them) stay refusals.
bool worthRepeating(natsStatus status, jsErrCode jsError) noexcept;

/// Runs fn on a new thread named `name` and waits for it. cnats starts its own threads from the
/// thread that calls it first (connecting, the first asynchronous publish) and they inherit that
/// thread's name; calls that start one go through here, so `top -H` names them for their work.
template <class Fn>
void onThreadNamed(const char* name, Fn&& fn) {
    std::thread([&] {
        sdk::nameThisThread(name);
        fn();
    }).join();
}

class NatsClient {
public:
    NatsClient(const Settings& settings, sdk::Logger& logger, sdk::Metrics& metrics);
    ~NatsClient();
    NatsClient(const NatsClient&) = delete;
    NatsClient& operator=(const NatsClient&) = delete;

    sdk::Status connect(const std::string& clientName);
    void close() noexcept;

    natsConnection* connection() const noexcept { return _conn; }
    jsCtx* js() const noexcept { return _js; }
    bool connected() const noexcept;
    const std::string& url() const noexcept { return _settings.url; }

    /// jsOptions with the configured request timeout (for management and KV calls).
    jsOptions requestOptions() const;
    /// call(&jsError) again with back-off while it is worthRepeating, for up to append_timeout_ms:
    /// start-up's management calls ride over a leader election as appends do. Blocks.
    natsStatus untilLeader(const std::function<natsStatus(jsErrCode*)>& call, jsErrCode* jsError) const;
    /// A Status for "NATS is away right now", used before writes to fail fast.
    sdk::Status unavailable(const std::string& what) const;

private:
    /// connect() itself, on the calling thread.
    sdk::Status connectOnThisThread(const std::string& clientName);

    /// What the library's connection callbacks touch. cnats may run a callback after
    /// natsConnection_Destroy returned, so this block is deliberately never freed (a few bytes per
    /// connection) and callbacks check `closing` before touching the logger or metrics.
    struct CallbackState {
        std::string url;
        int64_t reconnectWaitMs = 0;
        sdk::Logger* logger = nullptr;
        sdk::Gauge* connectedGauge = nullptr;
        sdk::Counter* reconnects = nullptr;
        sdk::Counter* disconnects = nullptr;
        /// Set by the callbacks; read by writers to refuse work quickly while away.
        std::atomic<bool> up{false};
        std::atomic<bool> closing{false};
    };

    static void onDisconnected(natsConnection* nc, void* closure);
    static void onReconnected(natsConnection* nc, void* closure);
    static void onClosed(natsConnection* nc, void* closure);
    static void onAsyncError(natsConnection* nc, natsSubscription* sub, natsStatus err, void* closure);

    const Settings& _settings;
    CallbackState* _state;
    natsOptions* _options = nullptr;
    natsConnection* _conn = nullptr;
    jsCtx* _js = nullptr;
};

}  // namespace ordersystem::plugins::nats
