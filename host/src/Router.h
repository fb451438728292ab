// Contract: the host's route table (implements sdk::Router). add() is called on the main thread
// while plugins start (before the listener opens; not thread-safe); match() is called
// concurrently from HTTP worker threads afterwards and is read-only and lock-free.
// Patterns are "/"-separated literal or "{name}" segments; a literal wins over a parameter at the
// same place (with backtracking). Matching splits the RAW path and percent-decodes each segment,
// so "%2F" inside a segment never creates a new segment. No regex. A path whose decoded segments
// are not clean text (a malformed escape, invalid UTF-8, a control character) or are dot segments
// ("." or "..") is Malformed: it never reaches a route, and the one decoded path that routing used
// is what the API key check looks at. HEAD matches wherever GET does.
// Each route carries its metric instruments, looked up once (RouteStats) instead of per request.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "ordersystem/sdk/http.h"
#include "ordersystem/sdk/metrics.h"

namespace ordersystem::host {

/// Per-route instruments: requests_total and the duration histogram per status (cached on first use).
class RouteStats {
public:
    RouteStats(sdk::Metrics& metrics, std::string method, std::string route);
    /// Counts one request and observes its duration. Lock-free after the first request per status.
    void record(int status, double seconds) noexcept;

private:
    struct Instruments {
        sdk::Counter* requests;
        sdk::Histogram* duration;
    };
    /// Null when registration failed (then the request is simply not counted).
    const Instruments* instrumentsFor(int status) noexcept;
    sdk::Metrics& _metrics;
    std::string _method;
    std::string _route;
    std::mutex _mutex;  ///< only while a status is seen for the first time
    std::vector<std::unique_ptr<Instruments>> _owned;
    std::array<std::atomic<const Instruments*>, 600> _byStatus{};
};

struct Route {
    std::string method;
    std::string pattern;
    /// Exactly one of the four is set: plain (add), non-blocking (addNonBlocking),
    /// asynchronous (addAsync) or streaming (addStream).
    sdk::RouteHandler handler;
    sdk::NonBlockingRouteHandler nonBlockingHandler;
    sdk::AsyncRouteHandler asyncHandler;
    sdk::StreamRouteHandler streamHandler;
    sdk::RouteOptions options;
    std::vector<std::string> paramNames;  ///< in segment order
    std::unique_ptr<RouteStats> stats;    ///< null when the router has no metrics
};

/// Result of a lookup; reused per request to avoid allocations.
struct RouteMatch {
    enum class Kind { Found, NotFound, MethodNotAllowed, Malformed };
    Kind kind = Kind::NotFound;
    const Route* route = nullptr;
    std::string allow;                ///< for 405: "GET, HEAD, POST"
    const char* malformed = "";       ///< why (Malformed)
    std::string decodedPath;          ///< the whole path, percent-decoded
    std::vector<std::string> values;  ///< decoded parameter values, in order
};

/// Percent-decodes text; plusAsSpace for query strings. Returns false on a malformed escape.
/// Decoded path segments and query parts must then pass sdk::isCleanText.
bool percentDecode(std::string_view text, std::string& out, bool plusAsSpace);

class Router final : public sdk::Router {
public:
    /// metrics may be null (unit tests); then no per-route instruments are made.
    explicit Router(sdk::Metrics* metrics = nullptr);
    ~Router() override;

    /// Never throws (plugins call it from noexcept start()): a refused route is remembered in
    /// takeError(), which the plugin manager checks after each start() and turns into a start failure.
    void add(std::string method, std::string pattern, sdk::RouteHandler handler,
             sdk::RouteOptions options = {}) override;
    void addNonBlocking(std::string method, std::string pattern, sdk::NonBlockingRouteHandler handler,
                        sdk::RouteOptions options = {}) override;
    void addAsync(std::string method, std::string pattern, sdk::AsyncRouteHandler handler,
                  sdk::RouteOptions options = {}) override;
    void addStream(std::string method, std::string pattern, sdk::StreamRouteHandler handler,
                   sdk::RouteOptions options = {}) override;
    /// The first refusal since the last call ("" = none), e.g. a route registered twice.
    std::string takeError();

    /// Matches method and raw path (no query). Found: params filled into match.values.
    void match(std::string_view method, std::string_view rawPath, RouteMatch& match) const;
    /// Pseudo-route for requests that matched nothing (metrics label "unmatched").
    RouteStats* unmatchedStats() const { return _unmatched.get(); }
    /// Every registered (method, pattern), in registration order (for documentation checks).
    std::vector<std::pair<std::string, std::string>> routes() const;
    /// Stops further add() calls (the listener is open now).
    void freeze() { _frozen = true; }

private:
    struct Node;
    /// Files `handlers` (a Route with one handler set) under method and pattern.
    void addRoute(std::string method, std::string pattern, Route handlers, sdk::RouteOptions options);
    /// The node a pattern's segments lead to, or null.
    const Node* findNode(const std::vector<std::string_view>& patternSegments) const;
    bool walk(const Node& node, const std::vector<std::string>& segments, size_t index,
              std::vector<std::string>& values, const Node** terminal) const;

    sdk::Metrics* _metrics;
    std::unique_ptr<Node> _root;
    std::vector<std::unique_ptr<Route>> _routes;
    std::unique_ptr<RouteStats> _unmatched;
    bool _frozen = false;
    std::string _error;
};

}  // namespace ordersystem::host
