#include "HttpWire.h"

#include <algorithm>
#include <ctime>

#include "ordersystem/sdk/util.h"

namespace ordersystem::host::wire {

namespace {

HeadOutcome bad(int status, std::string why) {
    HeadOutcome o;
    o.status = HeadStatus::Bad;
    o.errorStatus = status;
    o.error = std::move(why);
    return o;
}

bool isTokenChar(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-': case '.':
    case '^': case '_': case '`': case '|': case '~': return true;
    default: return false;
    }
}

std::string_view trim(std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
}

/// The next line of text (without its CR LF or LF), advancing pos past it.
std::string_view nextLine(std::string_view text, size_t& pos) {
    const size_t lf = text.find('\n', pos);
    std::string_view line = text.substr(pos, lf - pos);
    pos = lf + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
}

bool parseRequestLine(std::string_view line, RequestHead& head) {
    const size_t sp1 = line.find(' ');
    const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp1 == 0 || sp2 == std::string_view::npos || sp2 == sp1 + 1) return false;
    const std::string_view method = line.substr(0, sp1);
    for (const char c : method)
        if (!isTokenChar(c)) return false;
    const std::string_view version = line.substr(sp2 + 1);
    if (version == "HTTP/1.1") head.http10 = false;
    else if (version == "HTTP/1.0") head.http10 = true;
    else return false;
    head.method.assign(method);
    head.target.assign(line.substr(sp1 + 1, sp2 - sp1 - 1));
    return head.target.find(' ') == std::string::npos;
}

bool containsToken(std::string_view list, std::string_view token) {
    size_t start = 0;
    while (start <= list.size()) {
        size_t comma = list.find(',', start);
        if (comma == std::string_view::npos) comma = list.size();
        if (sdk::equalsIgnoreCase(trim(list.substr(start, comma - start)), token)) return true;
        start = comma + 1;
    }
    return false;
}

/// Content-Length, Transfer-Encoding, Connection and Expect: the headers that shape the message.
HeadOutcome interpretHeaders(RequestHead& head) {
    bool haveLength = false;
    head.keepAlive = !head.http10;
    for (const auto& [name, value] : head.headers) {
        if (sdk::equalsIgnoreCase(name, "content-length")) {
            if (value.empty() || value.size() > 18) return bad(400, "Content-Length is not a valid length");
            int64_t n = 0;
            for (const char c : value) {
                if (c < '0' || c > '9') return bad(400, "Content-Length is not a valid length");
                n = n * 10 + (c - '0');
            }
            if (haveLength && n != head.contentLength) return bad(400, "Conflicting Content-Length headers");
            haveLength = true;
            head.contentLength = n;
        } else if (sdk::equalsIgnoreCase(name, "transfer-encoding")) {
            if (!sdk::equalsIgnoreCase(trim(value), "chunked"))
                return bad(400, "Only the chunked transfer coding is supported");
            head.chunked = true;
        } else if (sdk::equalsIgnoreCase(name, "connection")) {
            if (containsToken(value, "close")) head.keepAlive = false;
            else if (containsToken(value, "keep-alive")) head.keepAlive = true;
        } else if (sdk::equalsIgnoreCase(name, "expect")) {
            if (!sdk::equalsIgnoreCase(trim(value), "100-continue")) return bad(417, "Only Expect: 100-continue is supported");
            head.expectContinue = true;
        }
    }
    if (head.chunked && haveLength) return bad(400, "Content-Length and Transfer-Encoding must not be combined");
    if (head.chunked) head.contentLength = -1;
    return HeadOutcome{HeadStatus::Complete, 0, 0, {}};
}

}  // namespace

HeadOutcome parseHead(std::string_view buffer, const Limits& limits, RequestHead& head) {
    // Tolerate blank lines before a request (RFC 9112 2.2).
    size_t start = 0;
    while (start < buffer.size() && (buffer[start] == '\r' || buffer[start] == '\n')) ++start;
    const std::string_view text = buffer.substr(start);
    size_t end = text.find("\r\n\r\n");
    size_t endLen = 4;
    if (const size_t lf = text.find("\n\n"); lf != std::string_view::npos && lf < end) { end = lf; endLen = 2; }
    const size_t firstLf = text.find('\n');
    const int64_t lineLimit = limits.maxUriBytes + 32;  // method, spaces and version around the target
    if (end == std::string_view::npos) {
        if (firstLf == std::string_view::npos && static_cast<int64_t>(text.size()) > lineLimit)
            return bad(414, "Request target exceeds the limit of " + std::to_string(limits.maxUriBytes) + " bytes");
        if (static_cast<int64_t>(text.size()) > lineLimit + limits.maxHeaderBytes * 2 + 1024)
            return bad(431, "Request headers exceed the limit of " + std::to_string(limits.maxHeaderBytes) + " bytes");
        return HeadOutcome{};
    }
    // The header list keeps its capacity across the reset (the event loop hands each request's
    // list back for the next head), so a request with a few headers allocates no new vector.
    sdk::HeaderList headers = std::move(head.headers);
    headers.clear();
    if (headers.capacity() < 8) headers.reserve(8);
    head = RequestHead{};
    head.headers = std::move(headers);
    const std::string_view block = text.substr(0, end + endLen);
    size_t pos = 0;
    if (!parseRequestLine(nextLine(block, pos), head)) return bad(400, "Malformed request line");
    if (static_cast<int64_t>(head.target.size()) > limits.maxUriBytes)
        return bad(414, "Request target exceeds the limit of " + std::to_string(limits.maxUriBytes) + " bytes");
    int64_t headerBytes = 0;
    while (pos < block.size()) {
        const std::string_view line = nextLine(block, pos);
        if (line.empty()) break;
        if (line.front() == ' ' || line.front() == '\t') return bad(400, "Folded header lines are not accepted");
        const size_t colon = line.find(':');
        if (colon == 0 || colon == std::string_view::npos) return bad(400, "Malformed header line");
        const std::string_view name = line.substr(0, colon);
        for (const char c : name)
            if (!isTokenChar(c)) return bad(400, "Malformed header name");
        const std::string_view value = trim(line.substr(colon + 1));
        headerBytes += static_cast<int64_t>(name.size() + value.size() + 4);
        if (headerBytes > limits.maxHeaderBytes)
            return bad(431, "Request headers exceed the limit of " + std::to_string(limits.maxHeaderBytes) + " bytes");
        head.headers.emplace_back(std::string(name), std::string(value));
    }
    HeadOutcome outcome = interpretHeaders(head);
    if (outcome.status == HeadStatus::Complete) outcome.consumed = start + end + endLen;
    return outcome;
}

ChunkedDecoder::Result ChunkedDecoder::feed(std::string_view input, size_t& consumed, std::string& body) {
    while (consumed < input.size()) {
        const std::string_view rest = input.substr(consumed);
        switch (_state) {
        case State::Size: {
            const size_t lf = rest.find('\n');
            if (lf == std::string_view::npos) return rest.size() > 1024 ? Result::Bad : Result::NeedMore;
            std::string_view line = rest.substr(0, lf);
            if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
            line = line.substr(0, line.find(';'));  // chunk extensions are ignored
            line = trim(line);
            if (line.empty() || line.size() > 15) return Result::Bad;
            uint64_t size = 0;
            for (const char c : line) {
                int digit;
                if (c >= '0' && c <= '9') digit = c - '0';
                else if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
                else if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
                else return Result::Bad;
                size = size * 16 + static_cast<uint64_t>(digit);
            }
            consumed += lf + 1;
            _remaining = size;
            _state = size == 0 ? State::Trailer : State::Data;
            break;
        }
        case State::Data: {
            const size_t take = static_cast<size_t>(std::min<uint64_t>(_remaining, rest.size()));
            body.append(rest.data(), take);
            consumed += take;
            _remaining -= take;
            if (_remaining == 0) _state = State::DataEnd;
            break;
        }
        case State::DataEnd: {
            if (rest[0] == '\n') { consumed += 1; _state = State::Size; break; }
            if (rest.size() < 2) return Result::NeedMore;
            if (rest[0] != '\r' || rest[1] != '\n') return Result::Bad;
            consumed += 2;
            _state = State::Size;
            break;
        }
        case State::Trailer: {
            const size_t lf = rest.find('\n');
            if (lf == std::string_view::npos) return rest.size() > 8192 ? Result::Bad : Result::NeedMore;
            const bool blank = lf == 0 || (lf == 1 && rest[0] == '\r');
            consumed += lf + 1;
            if (blank) return Result::Done;
            break;
        }
        }
    }
    return Result::NeedMore;
}

namespace {

/// "Date: <IMF-fixdate>\r\n", formatted once per second per thread.
const std::string& dateHeader() {
    thread_local std::time_t cachedAt = 0;
    thread_local std::string cached;
    const std::time_t now = std::time(nullptr);
    if (now != cachedAt) {
        std::tm tm{};
        gmtime_r(&now, &tm);
        char buf[64];
        const size_t n = std::strftime(buf, sizeof buf, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
        cached.assign(buf, n);
        cachedAt = now;
    }
    return cached;
}

}  // namespace

void writeResponseHead(const sdk::HttpResponse& response, bool keepAlive, std::string& out) {
    out.append("HTTP/1.1 ");
    out.append(std::to_string(response.status));
    out.push_back(' ');
    out.append(sdk::reasonPhrase(response.status));
    out.append("\r\n");
    if (!response.contentType.empty()) {
        out.append("Content-Type: ");
        out.append(response.contentType);
        out.append("\r\n");
    }
    out.append("Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n");
    for (const auto& [name, value] : response.headers) {
        out.append(name);
        out.append(": ");
        out.append(value);
        out.append("\r\n");
    }
    out.append("Content-Length: ");
    out.append(std::to_string(response.body.size()));
    out.append("\r\n");
    out.append(dateHeader());
    if (!keepAlive) out.append("Connection: close\r\n");
    out.append("\r\n");
}

}  // namespace ordersystem::host::wire
