// The request head parser and the response head writer (see HttpWire.h).
#include "HttpWire.h"

#include <cstdio>
#include <cstring>
#include <ctime>

#include "ordersystem/sdk/util.h"

namespace ordersystem::host::wire {

int64_t maxHeadBytes(const Limits& limits) noexcept {
    return limits.maxUriBytes + static_cast<int64_t>(kMaxMethodBytes) + 16 + limits.maxHeaderBytes + 2;
}

namespace {

/// The request line's bytes around its target: method, two spaces, "HTTP/1.1", the line end.
constexpr int64_t kRequestLineOverhead = static_cast<int64_t>(kMaxMethodBytes) + 16;

HeadOutcome bad(int status, std::string why) {
    HeadOutcome o;
    o.status = HeadStatus::Bad;
    o.errorStatus = status;
    o.error = std::move(why);
    return o;
}

std::string_view trim(std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
}

bool startsWithIgnoreCase(std::string_view text, std::string_view prefix) {
    return text.size() >= prefix.size() && sdk::equalsIgnoreCase(text.substr(0, prefix.size()), prefix);
}

/// The next line (without CR LF or LF) of a block whose every line ends in LF.
std::string_view nextLine(std::string_view block, size_t& pos) {
    const size_t lf = block.find('\n', pos);
    std::string_view line = block.substr(pos, lf - pos);
    pos = lf + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
}

/// Origin form as is; absolute form ("http://host/path?q") reduced to its path and query.
bool splitTarget(std::string_view target, const std::string& method, RequestHead& head) {
    std::string_view pathAndQuery;
    if (target.front() == '/') {
        pathAndQuery = target;
    } else if (startsWithIgnoreCase(target, "http://") || startsWithIgnoreCase(target, "https://")) {
        const size_t authority = target.find("://") + 3;
        const size_t end = target.find_first_of("/?", authority);
        if (end == authority || authority == target.size()) return false;
        if (end == std::string_view::npos) {
            head.path = "/";
            return true;
        }
        pathAndQuery = target.substr(end);
        if (pathAndQuery.front() == '?') {
            head.path = "/";
            head.query.assign(pathAndQuery.substr(1));
            return true;
        }
    } else if (target == "*" && method == "OPTIONS") {
        head.path = "*";
        return true;
    } else {
        return false;
    }
    const size_t q = pathAndQuery.find('?');
    head.path.assign(pathAndQuery.substr(0, q));
    if (q != std::string_view::npos) head.query.assign(pathAndQuery.substr(q + 1));
    return true;
}

HeadOutcome parseRequestLine(std::string_view line, const Limits& limits, RequestHead& head) {
    const size_t sp1 = line.find(' ');
    const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp1 == 0 || sp2 == std::string_view::npos || sp2 == sp1 + 1 ||
        line.find(' ', sp2 + 1) != std::string_view::npos)
        return bad(400, "Malformed request line");
    const std::string_view method = line.substr(0, sp1);
    if (method.size() > kMaxMethodBytes) return bad(400, "Malformed request line: the method is too long");
    for (const char c : method)
        if (!isTokenChar(c)) return bad(400, "Malformed request line: invalid method");
    const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    if (static_cast<int64_t>(target.size()) > limits.maxUriBytes)
        return bad(414, "Request target exceeds the limit of " + std::to_string(limits.maxUriBytes) + " bytes");
    for (const char c : target) {
        const auto b = static_cast<unsigned char>(c);
        if (b <= 0x20 || b == 0x7F) return bad(400, "The request target contains a control character");
        if (b == '#') return bad(400, "The request target must not contain a fragment");
    }
    const std::string_view version = line.substr(sp2 + 1);
    if (version == "HTTP/1.1") head.http10 = false;
    else if (version == "HTTP/1.0") head.http10 = true;
    else if (version.size() == 8 && version.substr(0, 5) == "HTTP/" && version[5] >= '0' && version[5] <= '9' &&
             version[6] == '.' && version[7] >= '0' && version[7] <= '9')
        return bad(505, "Only HTTP/1.0 and HTTP/1.1 are supported");
    else return bad(400, "Malformed request line: unknown protocol version");
    head.method.assign(method);
    head.target.assign(target);
    if (!splitTarget(target, head.method, head))
        return bad(400, "The request target must be a path (/...) or an absolute http(s) URL");
    return HeadOutcome{HeadStatus::Complete, 0, 0, {}};
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

/// The codings of one Transfer-Encoding value, added to *chunkedCount; 501 for any but chunked.
HeadOutcome checkTransferCodings(std::string_view value, int* chunkedCount) {
    size_t start = 0;
    while (start <= value.size()) {
        size_t comma = value.find(',', start);
        if (comma == std::string_view::npos) comma = value.size();
        const std::string_view coding = trim(value.substr(start, comma - start));
        start = comma + 1;
        if (coding.empty()) continue;
        if (!sdk::equalsIgnoreCase(coding, "chunked"))
            return bad(501, "Transfer-Encoding " + std::string(coding) + " is not supported (only chunked)");
        ++*chunkedCount;
    }
    return HeadOutcome{HeadStatus::Complete, 0, 0, {}};
}

/// reg-name, IPv4 or [IPv6] with an optional port: no whitespace, delimiters or userinfo.
bool isValidHost(std::string_view host) {
    for (const char c : host) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        std::strchr("-._~%!$&'()*+,;=:[]", c) != nullptr;
        if (!ok || c == '\0') return false;
    }
    return true;
}

/// Content-Length, Transfer-Encoding, Host, Connection and Expect: the headers that shape the message.
HeadOutcome interpretHeaders(RequestHead& head) {
    bool haveLength = false;
    int hosts = 0;
    int chunkedCount = 0;
    bool haveTransferEncoding = false;
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
            haveTransferEncoding = true;
            if (HeadOutcome o = checkTransferCodings(value, &chunkedCount); o.status == HeadStatus::Bad) return o;
        } else if (sdk::equalsIgnoreCase(name, "host")) {
            if (++hosts > 1) return bad(400, "More than one Host header");
            if (!isValidHost(value)) return bad(400, "The Host header is not a valid host");
        } else if (sdk::equalsIgnoreCase(name, "connection")) {
            if (containsToken(value, "close")) head.keepAlive = false;
            else if (containsToken(value, "keep-alive")) head.keepAlive = true;
        } else if (sdk::equalsIgnoreCase(name, "expect")) {
            if (head.http10) continue;  // RFC 9110 10.1.1: ignored in HTTP/1.0
            if (!sdk::equalsIgnoreCase(value, "100-continue"))
                return bad(417, "Only Expect: 100-continue is supported");
            head.expectContinue = true;
        }
    }
    if (!head.http10 && hosts == 0) return bad(400, "An HTTP/1.1 request needs a Host header");
    if (haveTransferEncoding) {
        if (chunkedCount != 1) return bad(400, "Transfer-Encoding must name chunked exactly once");
        if (haveLength) return bad(400, "Content-Length and Transfer-Encoding must not be combined");
        head.chunked = true;
        head.contentLength = -1;
        // RFC 9112 6.1: in HTTP/1.0 the framing is suspect; answer, then close.
        if (head.http10) head.keepAlive = false;
    }
    return HeadOutcome{HeadStatus::Complete, 0, 0, {}};
}

HeadOutcome parseHeaderLine(std::string_view line, RequestHead& head) {
    if (line.front() == ' ' || line.front() == '\t') return bad(400, "Folded header lines are not accepted");
    const size_t colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos) return bad(400, "Malformed header line");
    const std::string_view name = line.substr(0, colon);
    for (const char c : name)
        if (!isTokenChar(c)) return bad(400, "Malformed header name");
    const std::string_view value = trim(line.substr(colon + 1));
    for (const char c : value)
        if (!isFieldValueChar(c)) return bad(400, "Header " + std::string(name) + " contains a control character");
    head.headers.emplace_back(std::string(name), std::string(value));
    return HeadOutcome{HeadStatus::Complete, 0, 0, {}};
}

}  // namespace

HeadOutcome HeadParser::parse(std::string_view buffer, const Limits& limits, RequestHead& head) {
    const int64_t headLimit = maxHeadBytes(limits);
    if (_scanned == 0) {  // a new request: nothing of the last one's head may show in a refusal
        head.method.clear();
        head.target.clear();
    }
    // Tolerate blank lines before a request (RFC 9112 2.2); they count towards the head's size.
    while (!_started && _scanned < buffer.size()) {
        const char c = buffer[_scanned];
        if (c == '\n') {
            ++_scanned;
        } else if (c == '\r') {
            if (_scanned + 1 == buffer.size()) break;
            if (buffer[_scanned + 1] != '\n') return bad(400, "A bare CR in the request head");
            _scanned += 2;
        } else {
            _started = true;
            _start = _lineStart = _scanned;
        }
        if (static_cast<int64_t>(_scanned) > headLimit) return bad(400, "Too many blank lines before the request");
    }
    if (!_started) return HeadOutcome{};
    bool complete = false;
    while (_scanned < buffer.size()) {
        const void* lf = std::memchr(buffer.data() + _scanned, '\n', buffer.size() - _scanned);
        if (!lf) {
            _scanned = buffer.size();
            break;
        }
        const size_t newline = static_cast<size_t>(static_cast<const char*>(lf) - buffer.data());
        size_t lineEnd = newline;
        if (lineEnd > _lineStart && buffer[lineEnd - 1] == '\r') --lineEnd;
        _scanned = newline + 1;
        if (_headerStart == 0) {
            if (static_cast<int64_t>(lineEnd - _lineStart) > limits.maxUriBytes + kRequestLineOverhead)
                return bad(414, "Request target exceeds the limit of " + std::to_string(limits.maxUriBytes) + " bytes");
            _headerStart = _scanned;
        } else if (lineEnd == _lineStart) {
            complete = true;  // the blank line
            break;
        } else if (++_lines > kMaxHeaderFields) {
            return bad(431, "More than " + std::to_string(kMaxHeaderFields) + " header fields");
        }
        _lineStart = _scanned;
        if (static_cast<int64_t>(_scanned - _headerStart) > limits.maxHeaderBytes)
            return bad(431, "Request headers exceed the limit of " + std::to_string(limits.maxHeaderBytes) + " bytes");
    }
    if (!complete) {
        if (_headerStart == 0) {
            if (static_cast<int64_t>(buffer.size() - _lineStart) > limits.maxUriBytes + kRequestLineOverhead)
                return bad(414, "Request target exceeds the limit of " + std::to_string(limits.maxUriBytes) + " bytes");
        } else if (static_cast<int64_t>(buffer.size() - _headerStart) > limits.maxHeaderBytes + 2) {
            return bad(431, "Request headers exceed the limit of " + std::to_string(limits.maxHeaderBytes) + " bytes");
        }
        return HeadOutcome{};
    }

    // The whole head is here: parse it once. The header list keeps its capacity across the
    // reset (the event loop hands each request's list back), so a few headers allocate nothing.
    sdk::HeaderList headers = std::move(head.headers);
    headers.clear();
    if (headers.capacity() < 8) headers.reserve(8);
    head = RequestHead{};
    head.headers = std::move(headers);
    // A CR left inside a line, a NUL or any other control byte is refused by the character
    // rules of the request line (method token, target, exact version) and of the header fields
    // (name token, value characters), so no separate scan for them is needed.
    const std::string_view block = buffer.substr(_start, _scanned - _start);
    size_t pos = 0;
    if (HeadOutcome o = parseRequestLine(nextLine(block, pos), limits, head); o.status == HeadStatus::Bad) return o;
    while (pos < block.size()) {
        const std::string_view line = nextLine(block, pos);
        if (line.empty()) break;
        if (HeadOutcome o = parseHeaderLine(line, head); o.status == HeadStatus::Bad) return o;
    }
    HeadOutcome outcome = interpretHeaders(head);
    if (outcome.status == HeadStatus::Complete) outcome.consumed = _scanned;
    return outcome;
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

namespace {

/// Status line, Content-Type, Cache-Control (the handler's, else the default), nosniff and the
/// handler's other headers.
void writeHeadStart(const sdk::HttpResponse& response, std::string_view cacheControl, std::string& out) {
    for (const auto& [name, value] : response.headers)
        if (sdk::equalsIgnoreCase(name, "Cache-Control")) cacheControl = value;
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
    if (cacheControl.find_first_of("\r\n") != std::string_view::npos) cacheControl = "no-store";
    out.append("Cache-Control: ");
    out.append(cacheControl);
    out.append("\r\nX-Content-Type-Options: nosniff\r\n");
    for (const auto& [name, value] : response.headers) {
        // A line end inside a header would let a handler's value split the response.
        if (name.find_first_of("\r\n") != std::string::npos || value.find_first_of("\r\n") != std::string::npos)
            continue;
        if (sdk::equalsIgnoreCase(name, "Cache-Control")) continue;
        out.append(name);
        out.append(": ");
        out.append(value);
        out.append("\r\n");
    }
}

}  // namespace

void writeResponseHead(const sdk::HttpResponse& response, bool keepAlive, std::string& out, bool http10) {
    writeHeadStart(response, "no-store", out);
    // A 304 has no body and must not claim the length of one (RFC 9110 8.6).
    if (response.status != 304) {
        out.append("Content-Length: ");
        out.append(std::to_string(response.body.size()));
        out.append("\r\n");
    }
    out.append(dateHeader());
    if (!keepAlive) out.append("Connection: close\r\n");
    else if (http10) out.append("Connection: keep-alive\r\n");
    out.append("\r\n");
}

void writeStreamHead(const sdk::HttpResponse& response, std::string& out, bool http10) {
    writeHeadStart(response, "no-cache", out);
    if (!http10) out.append("Transfer-Encoding: chunked\r\n");
    out.append(dateHeader());
    out.append("Connection: close\r\n\r\n");
}

void appendChunk(std::string_view data, bool chunked, std::string& out) {
    if (data.empty()) return;  // an empty chunk would end the body
    if (chunked) {
        char size[24];
        const int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
        out.append(size, static_cast<size_t>(n));
    }
    out.append(data);
    if (chunked) out.append("\r\n");
}

}  // namespace ordersystem::host::wire
