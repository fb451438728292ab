// Contract: HTTP as plain data, so plugins never see sockets or a library's types.
// - The host decides from a request's head alone, before it reads any byte of the body: the API
//   key (401, decided on the route that matched), the route (404; 405 with Allow; HEAD is served
//   by the GET route without the body), Content-Type for routes registered with
//   RouteOptions::jsonBody (415 unless application/json) and the route's body limit
//   (RouteOptions::maxBodyBytes, 413). Then it reads the whole body and calls the handler.
//   Path parameters and query values reach handlers percent-decoded, as valid UTF-8 without
//   control characters (anything else is 400 before any handler runs).
// - Handlers are called concurrently on the host's HTTP threads; they must be thread-safe,
//   must not throw (the host still catches and answers 500) and fill in the response.
//   A plain handler (add) may block: it runs on a worker thread. A non-blocking handler
//   (addNonBlocking) is called on an event-loop thread without a thread switch
//   (request.onEventLoop) and must not wait there: when it finds it would have to, it returns
//   HandlerOutcome::WouldBlock instead of answering, and the host calls it again on a worker
//   thread, where it may wait (WouldBlock there is a handler bug, answered 500).
// - Asynchronous handlers (addAsync) are called on an event-loop thread (request.onEventLoop)
//   and must not block. One that would have to wait first (a blocking call to a broker, say)
//   returns WouldBlock without calling the reply, and the host calls it again on a worker
//   thread. Otherwise it returns Handled and calls the HttpReply exactly once, from any thread
//   (a transport's commit thread, say); the host writes the reply on the connection's event
//   loop. The request lives until then. A request whose body is larger than the host's loop
//   limit (16 KiB) is never handled on an event loop: parsing it would hold up the loop's other
//   connections.
// - A request carries the client's W3C traceparent when it sent a valid one and, with API
//   keys configured, the actor: the label of the key that was accepted (empty for an unlabelled key).
// - Streaming handlers (addStream) are called on an event-loop thread and must not block. They
//   fill in the response's head; a status other than 200 is sent as a whole answer (a problem
//   document, say). A 200 starts a long-lived answer: the host sends the head (no length: chunked,
//   or ended by closing for HTTP/1.0; Connection: close), then whatever is pushed into the
//   StreamSink, from any thread, in push order. The host holds at most [http]
//   max_stream_buffer_bytes not yet taken by the client; a push beyond it closes the stream (a
//   slow client is dropped, never buffered without bound). Streams are exempt from the answer
//   and idle timeouts, count against max_connections and [http] max_streams (503 beyond, before
//   the handler runs). When the client goes, the server stops or the producer closes the sink,
//   onClose runs once (on an event-loop thread; it must not block). HEAD gets the head only.
// - The request and response are owned by the host and live for the duration of the call.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ordersystem::sdk {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

inline bool equalsIgnoreCase(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

struct HttpRequest {
    std::string method;      ///< "GET", "POST", ...
    std::string path;        ///< decoded path without query, e.g. "/api/orders/customer/John Doe"
    std::string body;        ///< whole body (already size-checked)
    HeaderList headers;      ///< as received; names compared case-insensitively
    HeaderList queryParams;  ///< percent-decoded, in order of appearance
    HeaderList pathParams;   ///< from "{name}" segments of the route pattern, percent-decoded
    std::string remoteAddress;
    /// "00-<32 hex trace-id>-<16 hex parent-id>-<2 hex flags>": the client's traceparent header
    /// when it is valid (sdk/trace.h); empty when it sent none or an invalid one.
    std::string traceparent;
    /// True when the route required an API key and one was accepted; actor is then its label
    /// ("" for an unlabelled key).
    bool keyed = false;
    std::string actor;
    /// The handler runs on an event-loop thread: it must not wait (see HandlerOutcome::WouldBlock).
    bool onEventLoop = false;

    const std::string* header(std::string_view name) const noexcept { return find(headers, name, true); }
    const std::string* query(std::string_view name) const noexcept { return find(queryParams, name, false); }
    const std::string* param(std::string_view name) const noexcept { return find(pathParams, name, false); }

private:
    static const std::string* find(const HeaderList& list, std::string_view name, bool ci) noexcept {
        for (const auto& kv : list)
            if (ci ? equalsIgnoreCase(kv.first, name) : kv.first == name) return &kv.second;
        return nullptr;
    }
};

struct HttpResponse {
    int status = 200;
    std::string contentType = "application/json";
    HeaderList headers;  ///< extra headers (Location, Allow, ...)
    std::string body;

    void setHeader(std::string name, std::string value) {
        for (auto& kv : headers)
            if (equalsIgnoreCase(kv.first, name)) {
                kv.second = std::move(value);
                return;
            }
        headers.emplace_back(std::move(name), std::move(value));
    }
};

/// What a handler that may be called on an event loop tells the host.
enum class HandlerOutcome {
    Handled,     ///< it answered (or, asynchronous, will reply)
    WouldBlock,  ///< on an event loop only: it would have to wait; it did not answer, run it on a worker
};

/// A plain handler: runs on a worker thread and may block.
using RouteHandler = std::function<void(const HttpRequest&, HttpResponse&)>;
/// A handler the host may run on an event-loop thread (see the contract above).
using NonBlockingRouteHandler = std::function<HandlerOutcome(const HttpRequest&, HttpResponse&)>;
/// Finishes an asynchronous request; call exactly once, from any thread.
using HttpReply = std::function<void(HttpResponse&&)>;
/// The request stays valid until reply has been called.
using AsyncRouteHandler = std::function<HandlerOutcome(const HttpRequest&, HttpReply reply)>;

/// The body of a streaming answer (see the contract above). Thread-safe.
class StreamSink {
public:
    virtual ~StreamSink() = default;
    /// Queues bytes for the client; false when the stream is closed, or is closed now because
    /// the client has not taken what was queued before and this would exceed the bound.
    virtual bool push(std::string_view bytes) noexcept = 0;
    /// Ends the stream once what was pushed went out.
    virtual void close() noexcept = 0;
    virtual bool closed() const noexcept = 0;
    /// Bytes a push may still add before the bound: a producer with much to send (a replay)
    /// pushes what fits and waits for room instead of running into the bound.
    virtual size_t room() const noexcept = 0;
    /// Runs callback once when the stream ends (at once, on this thread, if it has ended already).
    virtual void onClose(std::function<void()> callback) = 0;
};

/// A streaming handler (see the contract above); it keeps the sink for as long as it streams.
using StreamRouteHandler =
    std::function<void(const HttpRequest&, HttpResponse&, const std::shared_ptr<StreamSink>& sink)>;

struct RouteOptions {
    /// The route takes a JSON body: the host answers 415 unless Content-Type is application/json.
    bool jsonBody = false;
    /// Short operation name used for metrics labels and logs, e.g. "createOrder".
    std::string operationId;
    /// The largest body the route takes (413 beyond, before the body is read); never more than
    /// [http] max_body_bytes. -1: [http] max_body_bytes for jsonBody routes, kSmallBodyBytes for
    /// the others.
    int64_t maxBodyBytes = -1;
};

/// What a route without a declared body limit and without jsonBody accepts: enough for the
/// small bodies clients send along with a command, too little to hold memory with.
inline constexpr int64_t kSmallBodyBytes = 4096;

/// Route registration. Patterns are literal segments and "{name}" segments, e.g.
/// "/api/orders/{id}/process". A literal segment wins over a "{name}" segment at the same place.
/// Call only from Plugin::start() (before the HTTP listener opens); not thread-safe.
class Router {
public:
    virtual ~Router() = default;
    virtual void add(std::string method, std::string pattern, RouteHandler handler, RouteOptions options = {}) = 0;
    /// A route whose handler the host may run directly on an event-loop thread (see the contract
    /// above): for handlers that read memory or local data and know when they would wait.
    virtual void addNonBlocking(std::string method, std::string pattern, NonBlockingRouteHandler handler,
                                RouteOptions options = {}) = 0;
    /// A route answered asynchronously (see the contract above).
    virtual void addAsync(std::string method, std::string pattern, AsyncRouteHandler handler,
                          RouteOptions options = {}) = 0;
    /// A route answered with a long-lived stream (see the contract above).
    virtual void addStream(std::string method, std::string pattern, StreamRouteHandler handler,
                           RouteOptions options = {}) = 0;
};

}  // namespace ordersystem::sdk
