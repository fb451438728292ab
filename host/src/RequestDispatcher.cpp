#include "RequestDispatcher.h"

#include <exception>

#include "ordersystem/sdk/util.h"

namespace ordersystem::host {

using Clock = std::chrono::steady_clock;

bool isJsonContentType(std::string_view v) {
    const size_t semi = v.find(';');
    if (semi != std::string_view::npos) v = v.substr(0, semi);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    return sdk::equalsIgnoreCase(v, "application/json");
}

namespace {

void parseQuery(std::string_view query, sdk::HeaderList& out) {
    size_t start = 0;
    while (start < query.size()) {
        size_t amp = query.find('&', start);
        if (amp == std::string_view::npos) amp = query.size();
        const std::string_view pair = query.substr(start, amp - start);
        if (!pair.empty()) {
            const size_t eq = pair.find('=');
            std::string key, value;
            percentDecode(pair.substr(0, eq), key, true);
            if (eq != std::string_view::npos) percentDecode(pair.substr(eq + 1), value, true);
            out.emplace_back(std::move(key), std::move(value));
        }
        start = amp + 1;
    }
}

const std::string* findHeader(const sdk::HeaderList& headers, std::string_view name) {
    for (const auto& kv : headers)
        if (sdk::equalsIgnoreCase(kv.first, name)) return &kv.second;
    return nullptr;
}

}  // namespace

void RequestDispatcher::begin(RequestTrace& trace) noexcept {
    trace.started = Clock::now();
    _inFlight.fetch_add(1, std::memory_order_relaxed);
}

bool RequestDispatcher::admit(std::string_view rawPath, const sdk::HeaderList& headers,
                              sdk::HttpResponse& refusal) const {
    if (!_settings.apiKeys || !_settings.apiKeys->enabled()) return true;
    if (!_settings.apiKeysOnAllRoutes && rawPath != "/api" && rawPath.substr(0, 5) != "/api/") return true;
    const std::string* authorization = findHeader(headers, "Authorization");
    const std::string* xApiKey = findHeader(headers, "X-Api-Key");
    const std::string key = presentedApiKey(authorization ? *authorization : std::string_view(),
                                            xApiKey ? *xApiKey : std::string_view());
    if (_settings.apiKeys->accepts(key)) return true;
    sdk::writeProblem(refusal, 401,
                      key.empty() ? "An API key is required: send Authorization: Bearer <key> or X-Api-Key"
                                  : "The API key is not valid");
    refusal.setHeader("WWW-Authenticate", "Bearer realm=\"ordersystem\"");
    return false;
}

const Route* RequestDispatcher::route(RequestTrace& trace, sdk::HttpRequest& request,
                                      sdk::HttpResponse& response) const {
    thread_local RouteMatch match;
    const size_t qmark = trace.uri.find('?');
    const std::string_view rawPath = std::string_view(trace.uri).substr(0, qmark);
    _router.match(request.method, rawPath, match);
    if (match.kind == RouteMatch::Kind::NotFound) {
        sdk::writeProblem(response, 404, "No resource at " + match.decodedPath);
        return nullptr;
    }
    if (match.kind == RouteMatch::Kind::MethodNotAllowed) {
        sdk::writeProblem(response, 405, "Method " + request.method + " is not allowed on " + match.decodedPath);
        response.setHeader("Allow", match.allow);
        return nullptr;
    }
    const Route& route = *match.route;
    trace.stats = route.stats.get();
    trace.routeLabel = route.pattern.c_str();
    if (route.options.jsonBody) {
        const std::string* type = findHeader(request.headers, "Content-Type");
        if (!type || !isJsonContentType(*type)) {
            sdk::writeProblem(response, 415,
                              "Content-Type must be application/json" + (type ? ", got " + *type : std::string()));
            return nullptr;
        }
    }
    request.path = std::move(match.decodedPath);
    request.pathParams.reserve(route.paramNames.size());
    for (size_t i = 0; i < route.paramNames.size() && i < match.values.size(); ++i)
        request.pathParams.emplace_back(route.paramNames[i], std::move(match.values[i]));
    if (qmark != std::string::npos) parseQuery(std::string_view(trace.uri).substr(qmark + 1), request.queryParams);
    return &route;
}

void RequestDispatcher::internalError(const RequestTrace& trace, sdk::HttpResponse& response,
                                      const char* what) const noexcept {
    try {
        _log->error("{} {} (route {}) {}", trace.method, trace.uri, trace.routeLabel, what);
        response = sdk::HttpResponse{};
        sdk::writeProblem(response, 500, "Internal server error");
    } catch (...) {
        response.status = 500;
    }
}

void RequestDispatcher::runPlain(const Route& route, const RequestTrace& trace, const sdk::HttpRequest& request,
                                 sdk::HttpResponse& response) const noexcept {
    try {
        route.handler(request, response);
    } catch (const std::exception& e) {
        internalError(trace, response, (std::string("threw: ") + e.what()).c_str());
    } catch (...) {
        internalError(trace, response, "threw a non-standard exception");
    }
    check(trace, response);
}

void RequestDispatcher::runAsync(const Route& route, const RequestTrace& trace, const sdk::HttpRequest& request,
                                 sdk::HttpReply reply) const noexcept {
    // The handler may throw before or after handing the reply on: only the first answer counts.
    auto answered = std::make_shared<std::atomic<bool>>(false);
    sdk::HttpReply once = [answered, reply](sdk::HttpResponse&& response) {
        if (!answered->exchange(true)) reply(std::move(response));
    };
    try {
        route.asyncHandler(request, once);
        return;
    } catch (const std::exception& e) {
        _log->error("{} {} (route {}) threw: {}", trace.method, trace.uri, trace.routeLabel, e.what());
    } catch (...) {
        _log->error("{} {} (route {}) threw a non-standard exception", trace.method, trace.uri, trace.routeLabel);
    }
    sdk::HttpResponse failed;
    sdk::writeProblem(failed, 500, "Internal server error");
    once(std::move(failed));
}

void RequestDispatcher::check(const RequestTrace& trace, sdk::HttpResponse& response) const noexcept {
    if (response.status >= 100 && response.status <= 599) return;
    internalError(trace, response, ("answered invalid status " + std::to_string(response.status)).c_str());
}

void RequestDispatcher::finish(const RequestTrace& trace, int status) noexcept {
    _inFlight.fetch_sub(1, std::memory_order_relaxed);
    const double seconds = std::chrono::duration<double>(Clock::now() - trace.started).count();
    RouteStats* stats = trace.stats ? trace.stats : _router.unmatchedStats();
    if (stats) stats->record(status, seconds);
    try {
        if (status >= 500) {
            _log->warn("{} {} (route {}) -> {} in {:.3f} ms", trace.method, trace.uri, trace.routeLabel, status,
                       seconds * 1000.0);
        } else if (_log->should_log(spdlog::level::debug)) {
            _log->debug("{} {} (route {}) -> {} in {:.3f} ms from {}", trace.method, trace.uri, trace.routeLabel,
                        status, seconds * 1000.0, trace.remote);
        }
    } catch (...) {
    }
}

}  // namespace ordersystem::host
