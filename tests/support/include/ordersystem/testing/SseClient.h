// Test support: a client of a Server-Sent Events stream (GET over RawClient, plain or TLS):
// reads the head, undoes chunked framing, and splits the text/event-stream body into messages
// (id/event/data fields; comment lines as messages of their own). Blocking with timeouts; one
// thread. SseParser is the pure part, for unit tests.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ordersystem/testing/RawClient.h"

namespace ordersystem::testing {

struct SseMessage {
    std::string id;
    std::string event;
    std::string data;     ///< data lines joined by "\n"
    std::string comment;  ///< a comment line's text after ':' (then the fields are empty)
    bool isComment() const { return !comment.empty(); }
};

/// text/event-stream to messages, fed in pieces as they arrive.
class SseParser {
public:
    /// Appends the messages complete after text to out.
    void feed(const std::string& text, std::vector<SseMessage>& out);

private:
    std::string _line;
    SseMessage _current;
    bool _hasField = false;
};

/// Undoes chunked framing as bytes arrive.
class ChunkReader {
public:
    /// Appends chunk data to out; false once the body has ended (the last chunk) or is malformed.
    bool feed(const std::string& bytes, std::string& out);
    bool ended() const { return _ended; }

private:
    std::string _buffer;
    bool _ended = false;
};

class SseClient {
public:
    /// Sends GET pathAndQuery with the extra header lines ("Name: value") and reads the head.
    SseClient(int port, const std::string& pathAndQuery, const std::vector<std::string>& headers = {}, bool tls = false,
              std::chrono::milliseconds timeout = std::chrono::seconds(10));
    const RawResponse& head() const { return _head; }
    /// The next message (comments too when withComments) within timeout; nullopt on timeout, close
    /// or the end of the stream.
    std::optional<SseMessage> next(std::chrono::milliseconds timeout, bool withComments = false);
    /// Up to count messages (no comments), as many as arrive before the deadline.
    std::vector<SseMessage> take(size_t count, std::chrono::milliseconds timeout);
    /// True when the stream ends (last chunk or close) within timeout; what arrives meanwhile is kept.
    bool endsWithin(std::chrono::milliseconds timeout);
    bool ended() const { return _ended; }

private:
    bool pull(std::chrono::steady_clock::time_point deadline);

    std::unique_ptr<RawClient> _raw;
    RawResponse _head;
    ChunkReader _chunks;
    SseParser _parser;
    std::vector<SseMessage> _ready;
    size_t _nextReady = 0;
    bool _chunked = false;
    bool _ended = false;
};

}  // namespace ordersystem::testing
