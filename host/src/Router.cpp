#include "Router.h"

#include <algorithm>

#include "ordersystem/sdk/text.h"

namespace ordersystem::host {

namespace {

/// Splits "/a/b" into "a","b" ("/" gives one empty segment); reuses out's capacity.
void splitRaw(std::string_view path, std::vector<std::string_view>& out) {
    out.clear();
    if (!path.empty() && path.front() == '/') path.remove_prefix(1);
    size_t start = 0;
    while (true) {
        const size_t slash = path.find('/', start);
        if (slash == std::string_view::npos) {
            out.push_back(path.substr(start));
            return;
        }
        out.push_back(path.substr(start, slash - start));
        start = slash + 1;
    }
}

bool isParam(std::string_view segment) {
    return segment.size() >= 3 && segment.front() == '{' && segment.back() == '}';
}

}  // namespace

bool percentDecode(std::string_view text, std::string& out, bool plusAsSpace) {
    out.clear();
    out.reserve(text.size());
    bool ok = true;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '%' && i + 2 < text.size() && sdk::hexDigitValue(text[i + 1]) >= 0 &&
            sdk::hexDigitValue(text[i + 2]) >= 0) {
            out.push_back(static_cast<char>(sdk::hexDigitValue(text[i + 1]) * 16 + sdk::hexDigitValue(text[i + 2])));
            i += 2;
        } else if (c == '%') {
            ok = false;
            out.push_back(c);
        } else if (c == '+' && plusAsSpace) {
            out.push_back(' ');
        } else {
            out.push_back(c);
        }
    }
    return ok;
}

struct Router::Node {
    std::vector<std::pair<std::string, std::unique_ptr<Node>>> literals;
    std::unique_ptr<Node> param;
    std::vector<Route*> routes;  ///< one per method
    std::string allow;           ///< "GET, POST" for 405
};

RouteStats::RouteStats(sdk::Metrics& metrics, std::string method, std::string route)
    : _metrics(metrics), _method(std::move(method)), _route(std::move(route)) {}

const RouteStats::Instruments* RouteStats::instrumentsFor(int status) noexcept {
    if (status < 100 || status >= 600) status = 500;
    const Instruments* found = _byStatus[status].load(std::memory_order_acquire);
    if (found) return found;
    try {
        std::lock_guard<std::mutex> lock(_mutex);
        found = _byStatus[status].load(std::memory_order_acquire);
        if (found) return found;
        const sdk::Labels labels = {{"method", _method}, {"route", _route}, {"status", std::to_string(status)}};
        auto inst = std::make_unique<Instruments>();
        inst->requests = &_metrics.counter("ordersystem_http_requests_total",
                                           "HTTP requests by method, route pattern and status", labels);
        inst->duration =
            &_metrics.histogram("ordersystem_http_request_duration_seconds",
                                "HTTP request duration in seconds by method, route pattern and status", labels);
        found = inst.get();
        _owned.push_back(std::move(inst));
    } catch (...) {
        return nullptr;
    }
    _byStatus[status].store(found, std::memory_order_release);
    return found;
}

void RouteStats::record(int status, double seconds) noexcept {
    if (const Instruments* i = instrumentsFor(status)) {
        i->requests->inc(1.0);
        i->duration->observe(seconds);
    }
}

Router::Router(sdk::Metrics* metrics) : _metrics(metrics), _root(std::make_unique<Node>()) {
    if (_metrics) _unmatched = std::make_unique<RouteStats>(*_metrics, "any", "unmatched");
}

Router::~Router() = default;

std::vector<std::pair<std::string, std::string>> Router::routes() const {
    std::vector<std::pair<std::string, std::string>> out;
    out.reserve(_routes.size());
    for (const auto& r : _routes) out.emplace_back(r->method, r->pattern);
    return out;
}

std::string Router::takeError() {
    std::string e;
    e.swap(_error);
    return e;
}

void Router::add(std::string method, std::string pattern, sdk::RouteHandler handler, sdk::RouteOptions options) {
    Route handlers;
    handlers.handler = std::move(handler);
    addRoute(std::move(method), std::move(pattern), std::move(handlers), std::move(options));
}

void Router::addNonBlocking(std::string method, std::string pattern, sdk::NonBlockingRouteHandler handler,
                            sdk::RouteOptions options) {
    Route handlers;
    handlers.nonBlockingHandler = std::move(handler);
    addRoute(std::move(method), std::move(pattern), std::move(handlers), std::move(options));
}

void Router::addAsync(std::string method, std::string pattern, sdk::AsyncRouteHandler handler,
                      sdk::RouteOptions options) {
    Route handlers;
    handlers.asyncHandler = std::move(handler);
    addRoute(std::move(method), std::move(pattern), std::move(handlers), std::move(options));
}

void Router::addStream(std::string method, std::string pattern, sdk::StreamRouteHandler handler,
                       sdk::RouteOptions options) {
    Route handlers;
    handlers.streamHandler = std::move(handler);
    addRoute(std::move(method), std::move(pattern), std::move(handlers), std::move(options));
}

void Router::addRoute(std::string method, std::string pattern, Route handlers, sdk::RouteOptions options) {
    auto refuse = [this](std::string why) {
        if (_error.empty()) _error = std::move(why);
    };
    if (!handlers.handler && !handlers.nonBlockingHandler && !handlers.asyncHandler && !handlers.streamHandler)
        return refuse("route " + method + " " + pattern + " has no handler");
    if (_frozen) return refuse("route " + method + " " + pattern + " added after the HTTP listener opened");
    if (pattern.empty() || pattern.front() != '/') return refuse("route pattern must start with '/': " + pattern);
    std::vector<std::string_view> segments;
    splitRaw(pattern, segments);
    // Check for a duplicate before creating any node, so a refused route leaves no trace.
    if (const Node* existing = findNode(segments))
        for (const Route* r : existing->routes)
            if (r->method == method) return refuse("route " + method + " " + pattern + " is registered twice");
    auto route = std::make_unique<Route>();
    Node* node = _root.get();
    for (std::string_view seg : segments) {
        if (isParam(seg)) {
            route->paramNames.emplace_back(seg.substr(1, seg.size() - 2));
            if (!node->param) node->param = std::make_unique<Node>();
            node = node->param.get();
            continue;
        }
        auto it =
            std::find_if(node->literals.begin(), node->literals.end(), [&](const auto& kv) { return kv.first == seg; });
        if (it == node->literals.end()) {
            node->literals.emplace_back(std::string(seg), std::make_unique<Node>());
            it = node->literals.end() - 1;
        }
        node = it->second.get();
    }
    route->method = std::move(method);
    route->pattern = std::move(pattern);
    route->handler = std::move(handlers.handler);
    route->nonBlockingHandler = std::move(handlers.nonBlockingHandler);
    route->asyncHandler = std::move(handlers.asyncHandler);
    route->streamHandler = std::move(handlers.streamHandler);
    route->options = std::move(options);
    if (_metrics) route->stats = std::make_unique<RouteStats>(*_metrics, route->method, route->pattern);
    node->routes.push_back(route.get());
    std::vector<std::string> methods;
    for (const Route* r : node->routes) methods.push_back(r->method);
    if (std::find(methods.begin(), methods.end(), "GET") != methods.end() &&
        std::find(methods.begin(), methods.end(), "HEAD") == methods.end())
        methods.emplace_back("HEAD");
    std::sort(methods.begin(), methods.end());
    node->allow.clear();
    for (const auto& m : methods) node->allow += (node->allow.empty() ? "" : ", ") + m;
    _routes.push_back(std::move(route));
}

const Router::Node* Router::findNode(const std::vector<std::string_view>& segments) const {
    const Node* node = _root.get();
    for (std::string_view seg : segments) {
        if (isParam(seg)) {
            node = node->param.get();
        } else {
            const Node* next = nullptr;
            for (const auto& [literal, child] : node->literals)
                if (literal == seg) next = child.get();
            node = next;
        }
        if (!node) return nullptr;
    }
    return node;
}

bool Router::walk(const Node& node, const std::vector<std::string>& segments, size_t index,
                  std::vector<std::string>& values, const Node** terminal) const {
    if (index == segments.size()) {
        if (node.routes.empty()) return false;
        *terminal = &node;
        return true;
    }
    const std::string& seg = segments[index];
    for (const auto& [literal, child] : node.literals)
        if (literal == seg && walk(*child, segments, index + 1, values, terminal)) return true;
    if (node.param && !seg.empty()) {
        values.push_back(seg);
        if (walk(*node.param, segments, index + 1, values, terminal)) return true;
        values.pop_back();
    }
    return false;
}

void Router::match(std::string_view method, std::string_view rawPath, RouteMatch& m) const {
    thread_local std::vector<std::string_view> raw;
    thread_local std::vector<std::string> decoded;
    splitRaw(rawPath, raw);
    decoded.resize(raw.size());
    m.values.clear();
    m.route = nullptr;
    m.allow.clear();
    m.kind = RouteMatch::Kind::Malformed;
    for (size_t i = 0; i < raw.size(); ++i) {
        if (!percentDecode(raw[i], decoded[i], false)) {
            m.malformed = "The request path has a malformed percent escape";
            return;
        }
        if (!sdk::isCleanText(decoded[i])) {
            m.malformed = "The request path must be valid UTF-8 without control characters";
            return;
        }
        if (decoded[i] == "." || decoded[i] == "..") {
            m.malformed = "The request path must not contain . or .. segments";
            return;
        }
    }
    percentDecode(rawPath, m.decodedPath, false);
    const Node* terminal = nullptr;
    if (!walk(*_root, decoded, 0, m.values, &terminal)) {
        m.kind = RouteMatch::Kind::NotFound;
        return;
    }
    const Route* get = nullptr;
    for (const Route* r : terminal->routes) {
        if (r->method.size() == method.size() && r->method == method) {
            m.kind = RouteMatch::Kind::Found;
            m.route = r;
            return;
        }
        if (r->method == "GET") get = r;
    }
    if (get && method == "HEAD") {  // the GET answer without its body (RFC 9110 9.3.2)
        m.kind = RouteMatch::Kind::Found;
        m.route = get;
        return;
    }
    m.kind = RouteMatch::Kind::MethodNotAllowed;
    m.allow = terminal->allow;
}

}  // namespace ordersystem::host
