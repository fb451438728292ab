#include "RequestDispatcher.h"

#include <algorithm>
#include <exception>

#include "ordersystem/sdk/text.h"
#include "ordersystem/sdk/trace.h"
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

bool parseQuery(std::string_view query, sdk::HeaderList& out) {
    size_t start = 0;
    while (start < query.size()) {
        size_t amp = query.find('&', start);
        if (amp == std::string_view::npos) amp = query.size();
        const std::string_view pair = query.substr(start, amp - start);
        start = amp + 1;
        if (pair.empty()) continue;
        const size_t eq = pair.find('=');
        std::string key, value;
        if (!percentDecode(pair.substr(0, eq), key, true) || !sdk::isCleanText(key)) return false;
        if (eq != std::string_view::npos &&
            (!percentDecode(pair.substr(eq + 1), value, true) || !sdk::isCleanText(value)))
            return false;
        out.emplace_back(std::move(key), std::move(value));
    }
    return true;
}

namespace {

const std::string* findHeader(const sdk::HeaderList& headers, std::string_view name) {
    for (const auto& kv : headers)
        if (sdk::equalsIgnoreCase(kv.first, name)) return &kv.second;
    return nullptr;
}

bool underApi(std::string_view path) { return path == "/api" || path.substr(0, 5) == "/api/"; }

}  // namespace

void RequestDispatcher::begin(RequestTrace& trace) noexcept {
    trace.started = Clock::now();
    _inFlight.fetch_add(1, std::memory_order_relaxed);
}

bool RequestDispatcher::needsKey(const Route* route, std::string_view decodedPath) const noexcept {
    if (!_settings.apiKeys || !_settings.apiKeys->enabled()) return false;
    if (_settings.apiKeysOnAllRoutes) return true;
    return underApi(route ? std::string_view(route->pattern) : decodedPath);
}

bool RequestDispatcher::authorized(sdk::HttpRequest& request, sdk::HttpResponse& refusal) const {
    const std::string* authorization = findHeader(request.headers, "Authorization");
    const std::string* xApiKey = findHeader(request.headers, "X-Api-Key");
    const std::string key =
        presentedApiKey(authorization ? *authorization : std::string_view(), xApiKey ? *xApiKey : std::string_view());
    if (const std::string* label = _settings.apiKeys->match(key)) {
        request.keyed = true;
        request.actor = *label;
        return true;
    }
    sdk::writeProblem(refusal, 401,
                      key.empty() ? "An API key is required: send Authorization: Bearer <key> or X-Api-Key"
                                  : "The API key is not valid");
    refusal.setHeader("WWW-Authenticate", "Bearer realm=\"ordersystem\"");
    return false;
}

Admission RequestDispatcher::admit(RequestTrace& trace, const wire::RequestHead& head, sdk::HttpRequest& request,
                                   sdk::HttpResponse& refusal) const {
    thread_local RouteMatch match;
    _router.match(head.method, head.path, match);
    if (match.kind == RouteMatch::Kind::Malformed) {
        sdk::writeProblem(refusal, 400, match.malformed);
        return {};
    }
    const Route* route = match.kind == RouteMatch::Kind::Found ? match.route : nullptr;
    if (needsKey(route, match.decodedPath) && !authorized(request, refusal)) return {};
    if (match.kind == RouteMatch::Kind::NotFound) {
        sdk::writeProblem(refusal, 404, "No resource at " + match.decodedPath);
        return {};
    }
    if (match.kind == RouteMatch::Kind::MethodNotAllowed) {
        sdk::writeProblem(refusal, 405, "Method " + head.method + " is not allowed on " + match.decodedPath);
        refusal.setHeader("Allow", match.allow);
        return {};
    }
    trace.stats = route->stats.get();
    trace.routeLabel = route->pattern.c_str();
    const std::string* traceparent = findHeader(request.headers, "traceparent");
    // Without a valid one there is no trace context to keep: events stay without it.
    request.traceparent = traceparent ? sdk::parseTraceparent(*traceparent) : std::string();
    trace.traceId = sdk::traceIdOf(request.traceparent);
    if (!head.query.empty() && !parseQuery(head.query, request.queryParams)) {
        sdk::writeProblem(refusal, 400, "The query string must be valid UTF-8 without control characters");
        return {};
    }
    if (route->options.jsonBody) {
        const std::string* type = findHeader(request.headers, "Content-Type");
        if (!type || !isJsonContentType(*type)) {
            sdk::writeProblem(refusal, 415,
                              "Content-Type must be application/json" + (type ? ", got " + *type : std::string()));
            return {};
        }
    }
    const int64_t declared = route->options.maxBodyBytes;
    const int64_t limit = std::min(_settings.maxBodyBytes, declared >= 0             ? declared
                                                           : route->options.jsonBody ? _settings.maxBodyBytes
                                                                                     : sdk::kSmallBodyBytes);
    if (head.contentLength > limit) {
        sdk::writeProblem(refusal, 413, "Request body exceeds the limit of " + std::to_string(limit) + " bytes");
        return {};
    }
    request.path = std::move(match.decodedPath);
    request.pathParams.reserve(route->paramNames.size());
    for (size_t i = 0; i < route->paramNames.size() && i < match.values.size(); ++i)
        request.pathParams.emplace_back(route->paramNames[i], std::move(match.values[i]));
    return Admission{route, limit};
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

sdk::HandlerOutcome RequestDispatcher::runPlain(const Route& route, const RequestTrace& trace,
                                                const sdk::HttpRequest& request,
                                                sdk::HttpResponse& response) const noexcept {
    try {
        if (!route.nonBlockingHandler) {
            route.handler(request, response);
        } else if (route.nonBlockingHandler(request, response) == sdk::HandlerOutcome::WouldBlock) {
            if (request.onEventLoop) return sdk::HandlerOutcome::WouldBlock;
            internalError(trace, response, "answered WouldBlock on a worker thread, where it may wait");
        }
    } catch (const std::exception& e) {
        internalError(trace, response, (std::string("threw: ") + e.what()).c_str());
    } catch (...) {
        internalError(trace, response, "threw a non-standard exception");
    }
    check(trace, response);
    return sdk::HandlerOutcome::Handled;
}

sdk::HandlerOutcome RequestDispatcher::runAsync(const Route& route, const RequestTrace& trace,
                                                const sdk::HttpRequest& request, sdk::HttpReply reply) const noexcept {
    // The handler may throw before or after handing the reply on: only the first answer counts.
    auto answered = std::make_shared<std::atomic<bool>>(false);
    sdk::HttpReply once = [answered, reply](sdk::HttpResponse&& response) {
        if (!answered->exchange(true)) reply(std::move(response));
    };
    try {
        if (route.asyncHandler(request, once) == sdk::HandlerOutcome::Handled) return sdk::HandlerOutcome::Handled;
        // Closed to a late reply: the run on a worker (or the 500 below) gives the only answer.
        if (answered->exchange(true)) return sdk::HandlerOutcome::Handled;  // it replied all the same
        if (request.onEventLoop) return sdk::HandlerOutcome::WouldBlock;
        answered->store(false);
        asyncFailed(trace, once, "answered WouldBlock on a worker thread, where it may wait");
    } catch (const std::exception& e) {
        asyncFailed(trace, once, (std::string("threw: ") + e.what()).c_str());
    } catch (...) {
        asyncFailed(trace, once, "threw a non-standard exception");
    }
    return sdk::HandlerOutcome::Handled;
}

void RequestDispatcher::runStream(const Route& route, const RequestTrace& trace, const sdk::HttpRequest& request,
                                  sdk::HttpResponse& response,
                                  const std::shared_ptr<sdk::StreamSink>& sink) const noexcept {
    try {
        route.streamHandler(request, response, sink);
    } catch (const std::exception& e) {
        internalError(trace, response, (std::string("threw: ") + e.what()).c_str());
    } catch (...) {
        internalError(trace, response, "threw a non-standard exception");
    }
    check(trace, response);
}

void RequestDispatcher::asyncFailed(const RequestTrace& trace, const sdk::HttpReply& reply,
                                    const char* what) const noexcept {
    try {
        _log->error("{} {} (route {}) {}", trace.method, trace.uri, trace.routeLabel, what);
        sdk::HttpResponse failed;
        sdk::writeProblem(failed, 500, "Internal server error");
        reply(std::move(failed));
    } catch (...) {
    }
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
    const std::string_view traceId = trace.traceId.empty() ? std::string_view("-") : std::string_view(trace.traceId);
    try {
        if (status >= 500) {
            _log->warn("{} {} (route {}) -> {} in {:.3f} ms trace-id {}", trace.method, trace.uri, trace.routeLabel,
                       status, seconds * 1000.0, traceId);
        } else if (_log->should_log(spdlog::level::debug)) {
            _log->debug("{} {} (route {}) -> {} in {:.3f} ms from {} trace-id {}", trace.method, trace.uri,
                        trace.routeLabel, status, seconds * 1000.0, trace.remote, traceId);
        }
    } catch (...) {
    }
}

}  // namespace ordersystem::host
