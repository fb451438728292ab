// Contract: what every HTTP request goes through, plain or TLS alike (both are served by the
// event loops). admit() decides from the head alone, before any byte of the body is read: the
// target's decoded path and query must be clean text (400), the route is matched (404/405), the
// API key is checked on the route that matched (401; on the same decoded path when none did, so
// no spelling of a path reaches a route its check did not see), JSON routes need their Content-Type
// (415) and a declared body must fit the route's limit (413). The request gets its traceparent (the
// client's when valid, else a new trace) and the accepted key's label as its actor. Then runPlain/runAsync run the
// handler (an exception or an invalid status becomes a 500 problem document), and finish()
// counts and logs the outcome. They are the one place a handler's HandlerOutcome::WouldBlock is
// judged: on an event loop (request.onEventLoop) it comes back to the caller, which runs the
// handler again on a worker; anywhere else it is a handler bug and answered 500.
// Read-only after construction and thread-safe; inFlight counts requests between begin and finish
// so a shutdown can wait for them.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include <spdlog/logger.h>

#include "HttpSettings.h"
#include "HttpWire.h"
#include "Router.h"

namespace ordersystem::host {

/// One request's bookkeeping from its head to its answer.
struct RequestTrace {
    std::chrono::steady_clock::time_point started;
    std::string method;
    std::string uri;
    std::string remote;
    std::string traceId;  ///< of the request's traceparent, for its log line ("-" before admission)
    RouteStats* stats = nullptr;
    const char* routeLabel = "unmatched";
};

/// What the head alone decided.
struct Admission {
    const Route* route = nullptr;  ///< null: the refusal holds the answer
    int64_t bodyLimit = 0;         ///< the route's largest body
};

class RequestDispatcher {
public:
    RequestDispatcher(HttpSettings settings, Router& router, std::shared_ptr<spdlog::logger> log)
        : _settings(std::move(settings)), _router(router), _log(std::move(log)) {}

    const HttpSettings& settings() const noexcept { return _settings; }
    spdlog::logger& log() const noexcept { return *_log; }

    /// Counts the request as in flight; pair with finish().
    void begin(RequestTrace& trace) noexcept;
    /// Admits a request by its head (see the contract above). request.headers must already hold
    /// the head's headers; fills request.path, pathParams and queryParams and the trace's labels.
    Admission admit(RequestTrace& trace, const wire::RequestHead& head, sdk::HttpRequest& request,
                    sdk::HttpResponse& refusal) const;
    /// Runs a plain or non-blocking handler; never throws. WouldBlock (on an event loop only):
    /// response holds nothing to send.
    sdk::HandlerOutcome runPlain(const Route& route, const RequestTrace& trace, const sdk::HttpRequest& request,
                                 sdk::HttpResponse& response) const noexcept;
    /// Starts an asynchronous handler; reply gets the (checked) response exactly once, unless
    /// this returns WouldBlock (on an event loop only): then reply is never called.
    sdk::HandlerOutcome runAsync(const Route& route, const RequestTrace& trace, const sdk::HttpRequest& request,
                                 sdk::HttpReply reply) const noexcept;
    /// Runs a streaming handler; never throws (an exception becomes a 500 and the sink is not used).
    void runStream(const Route& route, const RequestTrace& trace, const sdk::HttpRequest& request,
                   sdk::HttpResponse& response, const std::shared_ptr<sdk::StreamSink>& sink) const noexcept;
    /// An invalid status (handler bug) becomes a 500.
    void check(const RequestTrace& trace, sdk::HttpResponse& response) const noexcept;
    /// Records metrics and logs the answer; ends the in-flight count.
    void finish(const RequestTrace& trace, int status) noexcept;

    int inFlight() const noexcept { return _inFlight.load(std::memory_order_relaxed); }

private:
    bool needsKey(const Route* route, std::string_view decodedPath) const noexcept;
    /// Checks the key and, when accepted, names its label as the request's actor.
    bool authorized(sdk::HttpRequest& request, sdk::HttpResponse& refusal) const;
    void internalError(const RequestTrace& trace, sdk::HttpResponse& response, const char* what) const noexcept;
    /// Logs why an asynchronous handler failed and replies 500 (unless it had replied).
    void asyncFailed(const RequestTrace& trace, const sdk::HttpReply& reply, const char* what) const noexcept;

    HttpSettings _settings;
    Router& _router;
    std::shared_ptr<spdlog::logger> _log;
    std::atomic<int> _inFlight{0};
};

/// True for "application/json", with or without parameters, in any letter case.
bool isJsonContentType(std::string_view value);

/// Splits and decodes a query string ("a=1&b=x+y") into out; false when a part has a malformed
/// escape or is not clean text.
bool parseQuery(std::string_view query, sdk::HeaderList& out);

}  // namespace ordersystem::host
