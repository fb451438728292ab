// Test doubles for the SDK's Host: lets a plugin be started and driven in a unit test without
// the ordersystem executable. Header-only; thread-safe where the SDK promises thread safety.
// FakeRouter runs every route on the caller's thread; non-blocking and asynchronous ones see
// onEventLoop, as on the host's event loop, and one that answers WouldBlock there is called again
// on a "worker" (a non-blocking one on the same thread, an asynchronous one on its own); call()
// waits (bounded) for an asynchronous reply, start() returns a RouteCall to watch a reply that has
// not come yet.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ordersystem/sdk/host.h"
#include "ordersystem/sdk/plugin.h"

namespace ordersystem::testing {

using namespace ordersystem::sdk;

/// A ConfigSection from a map; missing keys read as "" / 0 / false.
class FakeConfig final : public ConfigSection {
public:
    FakeConfig(std::string name = "test", std::map<std::string, std::string> values = {})
        : _name(std::move(name)), _values(std::move(values)) {}
    void set(const std::string& key, std::string value) { _values[key] = std::move(value); }
    /// Gives every key of specs that is not set yet its declared default, as the host's validation does.
    FakeConfig& withDefaults(const ConfigKeySpec* specs, uint32_t count) {
        for (uint32_t i = 0; i < count; ++i) _values.emplace(specs[i].name, specs[i].defaultValue);
        return *this;
    }
    std::string_view name() const noexcept override { return _name; }
    std::string getString(std::string_view key) const override {
        auto it = _values.find(std::string(key));
        return it == _values.end() ? std::string() : it->second;
    }
    int64_t getInt(std::string_view key) const override { return std::atoll(getString(key).c_str()); }
    bool getBool(std::string_view key) const override {
        const std::string v = getString(key);
        return v == "true" || v == "1" || v == "yes" || v == "on";
    }
    double getDouble(std::string_view key) const override { return std::atof(getString(key).c_str()); }

private:
    std::string _name;
    std::map<std::string, std::string> _values;
};

/// Keeps every line so tests can assert on what an operator would read.
class FakeLogger final : public Logger {
public:
    void log(LogLevel level, std::string_view message) noexcept override {
        std::lock_guard<std::mutex> lock(_mutex);
        _lines.emplace_back(level, std::string(message));
    }
    bool enabled(LogLevel) const noexcept override { return true; }
    std::vector<std::pair<LogLevel, std::string>> lines() const {
        std::lock_guard<std::mutex> lock(_mutex);
        return _lines;
    }
    bool contains(std::string_view text) const {
        std::lock_guard<std::mutex> lock(_mutex);
        for (const auto& l : _lines)
            if (l.second.find(text) != std::string::npos) return true;
        return false;
    }

private:
    mutable std::mutex _mutex;
    std::vector<std::pair<LogLevel, std::string>> _lines;
};

/// Instruments that remember their value, looked up by name and labels.
class FakeMetrics final : public Metrics {
public:
    struct Instrument final : Counter, Gauge, Histogram {
        std::atomic<double> value{0.0};
        std::atomic<uint64_t> count{0};
        void inc(double amount) noexcept override { add(amount); }
        void set(double v) noexcept override { value.store(v); }
        void add(double amount) noexcept override {
            double cur = value.load();
            while (!value.compare_exchange_weak(cur, cur + amount)) {
            }
        }
        void observe(double v) noexcept override {
            add(v);
            ++count;
        }
    };
    Counter& counter(std::string_view name, std::string_view, const Labels& labels = {}) override {
        return get(name, labels);
    }
    Gauge& gauge(std::string_view name, std::string_view, const Labels& labels = {}) override {
        return get(name, labels);
    }
    Histogram& histogram(std::string_view name, std::string_view, const Labels& labels = {},
                         const std::vector<double>& = {}) override {
        return get(name, labels);
    }
    /// Current value (sum for histograms); 0 when never registered.
    double value(std::string_view name, const Labels& labels = {}) {
        std::lock_guard<std::mutex> lock(_mutex);
        auto it = _instruments.find(keyOf(name, labels));
        return it == _instruments.end() ? 0.0 : it->second->value.load();
    }

private:
    static std::string keyOf(std::string_view name, const Labels& labels) {
        std::string k(name);
        for (const auto& l : labels) k += "|" + l.first + "=" + l.second;
        return k;
    }
    Instrument& get(std::string_view name, const Labels& labels) {
        std::lock_guard<std::mutex> lock(_mutex);
        auto& slot = _instruments[keyOf(name, labels)];
        if (!slot) slot = std::make_unique<Instrument>();
        return *slot;
    }
    std::mutex _mutex;
    std::map<std::string, std::unique_ptr<Instrument>> _instruments;
};

/// One request sent through FakeRouter: owns the request until the handler replied (an
/// asynchronous route may reply later, from another thread), then holds the response.
class RouteCall {
public:
    const HttpRequest& request() const { return _request; }
    /// true once the handler replied (at once for plain routes and unmatched paths).
    bool replied() const {
        std::lock_guard<std::mutex> lock(_mutex);
        return _replies > 0;
    }
    /// Waits up to timeoutMs for the reply; false when none came.
    bool waitForReply(int64_t timeoutMs) const {
        std::unique_lock<std::mutex> lock(_mutex);
        return _cv.wait_for(lock, std::chrono::milliseconds(timeoutMs), [this] { return _replies > 0; });
    }
    /// The first reply; status 0 while there is none.
    HttpResponse response() const {
        std::lock_guard<std::mutex> lock(_mutex);
        return _response;
    }
    /// How often the handler replied (the contract: exactly once).
    int replyCount() const {
        std::lock_guard<std::mutex> lock(_mutex);
        return _replies;
    }
    /// The handler answered WouldBlock on the "event loop" and was called again on a "worker".
    bool ranOnWorker() const { return _calledAgain.load(); }

private:
    friend class FakeRouter;
    void finish(HttpResponse&& response) {
        std::lock_guard<std::mutex> lock(_mutex);
        if (_replies++ == 0) _response = std::move(response);
        _cv.notify_all();
    }
    HttpRequest _request;
    /// The handler answered WouldBlock and was called again.
    std::atomic<bool> _calledAgain{false};
    mutable std::mutex _mutex;
    mutable std::condition_variable _cv;
    int _replies = 0;
    HttpResponse _response;
};

/// A sink whose client has gone: what FakeRouter hands a streaming route.
class ClosedStreamSink final : public StreamSink {
public:
    bool push(std::string_view) noexcept override { return false; }
    void close() noexcept override {}
    bool closed() const noexcept override { return true; }
    size_t room() const noexcept override { return 0; }
    void onClose(std::function<void()> callback) override { callback(); }
};

/// Records routes and dispatches requests to them with the host's matching rules
/// (literal segments win over "{name}" segments). Non-blocking (addNonBlocking) and asynchronous
/// routes (addAsync) are called on the caller's thread like the others; an asynchronous reply may
/// come from any thread.
class FakeRouter final : public Router {
public:
    struct Route {
        std::string method;
        std::vector<std::string> segments;
        RouteHandler handler;  ///< set for a plain route
        RouteOptions options;
        AsyncRouteHandler asyncHandler = {};              ///< set for an asynchronous route
        NonBlockingRouteHandler nonBlockingHandler = {};  ///< set for a non-blocking route
        StreamRouteHandler streamHandler = {};            ///< set for a streaming route
        bool isAsync() const { return static_cast<bool>(asyncHandler); }
        /// The host may run it on an event loop without a thread switch.
        bool isNonBlocking() const { return static_cast<bool>(nonBlockingHandler); }
    };
    /// How long call() waits for an asynchronous route's reply.
    static constexpr int64_t kReplyTimeoutMs = 5000;

    void add(std::string method, std::string pattern, RouteHandler handler, RouteOptions options) override {
        _routes.push_back(Route{std::move(method), split(pattern), std::move(handler), std::move(options)});
    }
    void addNonBlocking(std::string method, std::string pattern, NonBlockingRouteHandler handler,
                        RouteOptions options) override {
        _routes.push_back(Route{std::move(method), split(pattern), {}, std::move(options), {}, std::move(handler)});
    }
    void addAsync(std::string method, std::string pattern, AsyncRouteHandler handler, RouteOptions options) override {
        _routes.push_back(Route{std::move(method), split(pattern), {}, std::move(options), std::move(handler)});
    }
    void addStream(std::string method, std::string pattern, StreamRouteHandler handler, RouteOptions options) override {
        _routes.push_back(Route{std::move(method), split(pattern), {}, std::move(options), {}, {}, std::move(handler)});
    }
    const std::vector<Route>& routes() const { return _routes; }
    /// The route registered for exactly this method and pattern; nullptr when none.
    const Route* route(const std::string& method, const std::string& pattern) const {
        const auto segments = split(pattern);
        for (const auto& r : _routes)
            if (r.method == method && r.segments == segments) return &r;
        return nullptr;
    }

    /// Calls the route matching method+path and returns its response (404 problem-free stub when
    /// none matches). Waits up to kReplyTimeoutMs for an asynchronous route; status 0 if no reply.
    HttpResponse call(const std::string& method, const std::string& path, std::string body = {},
                      HeaderList headers = {}, HeaderList query = {}) const {
        auto pending = start(method, path, std::move(body), std::move(headers), std::move(query));
        pending->waitForReply(kReplyTimeoutMs);
        return pending->response();
    }

    /// Sends the request without waiting for an asynchronous route's reply.
    std::shared_ptr<RouteCall> start(const std::string& method, const std::string& path, std::string body = {},
                                     HeaderList headers = {}, HeaderList query = {}) const {
        auto pending = std::make_shared<RouteCall>();
        HttpRequest& req = pending->_request;
        req.method = method;
        req.path = path;
        req.body = std::move(body);
        req.headers = std::move(headers);
        req.queryParams = std::move(query);
        const Route* best = match(method, path, &req.pathParams);
        HttpResponse res;
        if (!best) {
            res.status = 404;
            pending->finish(std::move(res));
        } else if (best->isAsync()) {
            // As the host does: called as on an event loop; one that answers WouldBlock is called
            // again on another thread (the "worker") with onEventLoop false.
            req.onEventLoop = true;
            AsyncRouteHandler handler = best->asyncHandler;
            if (handler(req, [pending](HttpResponse&& r) { pending->finish(std::move(r)); }) ==
                HandlerOutcome::WouldBlock) {
                pending->_calledAgain = true;
                pending->_request.onEventLoop = false;
                std::thread([pending, handler] {
                    handler(pending->_request,
                            [pending](HttpResponse&& answer) { pending->finish(std::move(answer)); });
                }).detach();
            }
        } else if (best->streamHandler) {
            // Only the head: a stream's body is the host's business (tests/e2e stream it).
            best->streamHandler(req, res, std::make_shared<ClosedStreamSink>());
            pending->finish(std::move(res));
        } else if (best->isNonBlocking()) {
            req.onEventLoop = true;
            if (best->nonBlockingHandler(req, res) == HandlerOutcome::WouldBlock) {
                pending->_calledAgain = true;
                req.onEventLoop = false;
                res = HttpResponse{};
                best->nonBlockingHandler(req, res);
            }
            pending->finish(std::move(res));
        } else {
            best->handler(req, res);
            pending->finish(std::move(res));
        }
        return pending;
    }

private:
    const Route* match(const std::string& method, const std::string& path, HeaderList* bestParams) const {
        const auto parts = split(path);
        const Route* best = nullptr;
        int bestLiterals = -1;
        for (const auto& r : _routes) {
            if (r.method != method || r.segments.size() != parts.size()) continue;
            HeaderList params;
            int literals = 0;
            bool ok = true;
            for (size_t i = 0; i < parts.size() && ok; ++i) {
                const auto& s = r.segments[i];
                if (s.size() > 2 && s.front() == '{' && s.back() == '}')
                    params.emplace_back(s.substr(1, s.size() - 2), parts[i]);
                else if (s == parts[i]) ++literals;
                else ok = false;
            }
            if (ok && literals > bestLiterals) {
                best = &r;
                bestLiterals = literals;
                *bestParams = params;
            }
        }
        return best;
    }
    static std::vector<std::string> split(const std::string& path) {
        std::vector<std::string> out;
        std::string cur;
        for (char c : path) {
            if (c == '/') {
                if (!cur.empty()) out.push_back(cur);
                cur.clear();
            } else cur.push_back(c);
        }
        if (!cur.empty()) out.push_back(cur);
        return out;
    }
    std::vector<Route> _routes;
};

/// A Host for one plugin under test. Share one EventLog between several FakeHosts by calling
/// provideEventLog on each (or construct them with the same log).
class FakeHost final : public Host {
public:
    explicit FakeHost(std::string dataDir, std::string nodeId = "node-test") : _config("test") {
        _node.nodeId = std::move(nodeId);
        _node.dataDir = std::move(dataDir);
        _node.durability = Durability::Normal;
        _node.httpAddress = "http://127.0.0.1:0";
        _node.version = "test";
    }
    NodeSettings& mutableNode() { return _node; }
    FakeConfig& mutableConfig() { return _config; }
    FakeLogger& fakeLogger() { return _logger; }
    FakeMetrics& fakeMetrics() { return _metrics; }
    FakeRouter& fakeRouter() { return _router; }
    const std::map<std::string, HealthCheck>& healthChecks() const { return _checks; }

    const NodeSettings& node() const noexcept override { return _node; }
    const ConfigSection& config() const noexcept override { return _config; }
    std::string resolvePath(std::string_view path) const override {
        if (!path.empty() && path.front() == '/') return std::string(path);
        return _node.dataDir + "/" + std::string(path);
    }
    std::string dataPath(std::string_view fileName) const override { return resolvePath(fileName); }
    Logger& logger() noexcept override { return _logger; }
    Metrics& metrics() noexcept override { return _metrics; }
    Router& router() noexcept override { return _router; }
    void addHealthCheck(std::string name, HealthCheck check) override { _checks[std::move(name)] = std::move(check); }
    EventLog* eventLog() noexcept override { return _log; }
    void provideEventLog(EventLog* log) override { _log = log; }

private:
    NodeSettings _node;
    FakeConfig _config;
    FakeLogger _logger;
    FakeMetrics _metrics;
    FakeRouter _router;
    std::map<std::string, HealthCheck> _checks;
    EventLog* _log = nullptr;
};

}  // namespace ordersystem::testing
