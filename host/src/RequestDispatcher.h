// Contract: what every HTTP request goes through once its bytes are in, whichever listener read
// it (the event loop for plain HTTP, Poco's HTTPServer for TLS): the API key check, the route
// match (404/405 problem documents), 415 for JSON routes, running the handler (an exception or an
// invalid status becomes a 500 problem document), and counting and logging the outcome.
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
#include "Router.h"

namespace ordersystem::host {

/// One request's bookkeeping from its head to its answer.
struct RequestTrace {
    std::chrono::steady_clock::time_point started;
    std::string method;
    std::string uri;
    std::string remote;
    RouteStats* stats = nullptr;
    const char* routeLabel = "unmatched";
};

class RequestDispatcher {
public:
    RequestDispatcher(HttpSettings settings, Router& router, std::shared_ptr<spdlog::logger> log)
        : _settings(std::move(settings)), _router(router), _log(std::move(log)) {}

    const HttpSettings& settings() const noexcept { return _settings; }
    spdlog::logger& log() const noexcept { return *_log; }

    /// Counts the request as in flight; pair with finish().
    void begin(RequestTrace& trace) noexcept;
    /// The API key check on the head alone. false: refusal holds the 401.
    bool admit(std::string_view rawPath, const sdk::HeaderList& headers, sdk::HttpResponse& refusal) const;
    /// Matches the route and fills request.path, pathParams and queryParams (and the trace's
    /// labels). Null: response holds the 404, 405 or 415.
    const Route* route(RequestTrace& trace, sdk::HttpRequest& request, sdk::HttpResponse& response) const;
    /// Runs a plain handler; never throws.
    void runPlain(const Route& route, const RequestTrace& trace, const sdk::HttpRequest& request,
                  sdk::HttpResponse& response) const noexcept;
    /// Starts an asynchronous handler; reply gets the (checked) response exactly once.
    void runAsync(const Route& route, const RequestTrace& trace, const sdk::HttpRequest& request,
                  sdk::HttpReply reply) const noexcept;
    /// An invalid status (handler bug) becomes a 500.
    void check(const RequestTrace& trace, sdk::HttpResponse& response) const noexcept;
    /// Records metrics and logs the answer; ends the in-flight count.
    void finish(const RequestTrace& trace, int status) noexcept;

    int inFlight() const noexcept { return _inFlight.load(std::memory_order_relaxed); }

private:
    void internalError(const RequestTrace& trace, sdk::HttpResponse& response, const char* what) const noexcept;

    HttpSettings _settings;
    Router& _router;
    std::shared_ptr<spdlog::logger> _log;
    std::atomic<int> _inFlight{0};
};

/// True for "application/json", with or without parameters, in any letter case.
bool isJsonContentType(std::string_view value);

}  // namespace ordersystem::host
