#include "ordersystem/testing/SseClient.h"

#include <cstdlib>

namespace ordersystem::testing {

using Clock = std::chrono::steady_clock;

void SseParser::feed(const std::string& text, std::vector<SseMessage>& out) {
    for (const char c : text) {
        if (c != '\n') {
            _line.push_back(c);
            continue;
        }
        if (!_line.empty() && _line.back() == '\r') _line.pop_back();
        if (_line.empty()) {
            if (_hasField) out.push_back(std::move(_current));
            _current = SseMessage{};
            _hasField = false;
        } else if (_line[0] == ':') {
            SseMessage comment;
            comment.comment = _line.substr(1);
            if (comment.comment.empty()) comment.comment = " ";
            out.push_back(std::move(comment));
        } else {
            const size_t colon = _line.find(':');
            const std::string name = _line.substr(0, colon);
            std::string value = colon == std::string::npos ? std::string() : _line.substr(colon + 1);
            if (!value.empty() && value[0] == ' ') value.erase(0, 1);
            if (name == "id") _current.id = value;
            else if (name == "event") _current.event = value;
            else if (name == "data") _current.data += (_current.data.empty() ? "" : "\n") + value;
            _hasField = true;
        }
        _line.clear();
    }
}

bool ChunkReader::feed(const std::string& bytes, std::string& out) {
    _buffer += bytes;
    while (!_ended) {
        const size_t lineEnd = _buffer.find("\r\n");
        if (lineEnd == std::string::npos) return true;
        char* end = nullptr;
        const unsigned long size = std::strtoul(_buffer.c_str(), &end, 16);
        if (end == _buffer.c_str()) return false;
        if (size == 0) {
            _ended = true;
            return false;
        }
        if (_buffer.size() < lineEnd + 2 + size + 2) return true;
        out.append(_buffer, lineEnd + 2, size);
        _buffer.erase(0, lineEnd + 2 + size + 2);
    }
    return false;
}

SseClient::SseClient(int port, const std::string& pathAndQuery, const std::vector<std::string>& headers, bool tls,
                     std::chrono::milliseconds timeout)
    : _raw(std::make_unique<RawClient>(port, tls, timeout)) {
    std::string request = "GET " + pathAndQuery + " HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n";
    for (const auto& line : headers) request += line + "\r\n";
    request += "\r\n";
    if (!_raw->ok() || !_raw->send(request)) return;
    _head = _raw->readResponse(false, false, timeout);
    _chunked = _head.header("transfer-encoding") == "chunked";
    if (_head.status != 200) _ended = true;
}

bool SseClient::pull(Clock::time_point deadline) {
    if (_ended) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    const std::string bytes = _raw->takeArrived(left);
    if (bytes.empty()) {
        if (_raw->closed()) _ended = true;
        return false;
    }
    std::string text;
    if (_chunked) {
        if (!_chunks.feed(bytes, text)) _ended = true;
    } else {
        text = bytes;
    }
    _parser.feed(text, _ready);
    return true;
}

std::optional<SseMessage> SseClient::next(std::chrono::milliseconds timeout, bool withComments) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        while (_nextReady < _ready.size()) {
            SseMessage m = std::move(_ready[_nextReady++]);
            if (withComments || !m.isComment()) return m;
        }
        _ready.clear();
        _nextReady = 0;
        if (!pull(deadline) && (_ended || Clock::now() >= deadline)) return std::nullopt;
    }
}

std::vector<SseMessage> SseClient::take(size_t count, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    std::vector<SseMessage> out;
    while (out.size() < count) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) break;
        auto m = next(left);
        if (!m) break;
        out.push_back(std::move(*m));
    }
    return out;
}

bool SseClient::endsWithin(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!_ended && Clock::now() < deadline) pull(deadline);
    return _ended;
}

}  // namespace ordersystem::testing
