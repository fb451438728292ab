// Contract: HTTP/1.1 on the wire (RFC 9112) as plain functions and small state machines over
// byte buffers (no sockets, no threads), so every framing rule is unit-tested and fuzzed.
// - HeadParser reads a request line and header block incrementally: each call looks only at the
//   bytes that arrived since the last one, and limits hold however the bytes are split. Lines end
//   in CRLF or a bare LF; a bare CR, NUL or other control character anywhere in the head, an
//   obsolete line fold, whitespace before a colon, a missing or second Host in HTTP/1.1,
//   Content-Length with Transfer-Encoding, differing Content-Lengths and a malformed request line
//   are 400; a transfer coding other than chunked is 501; an HTTP version other than 1.0 and 1.1
//   is 505; a target past maxUriBytes is 414, a header block past maxHeaderBytes (raw bytes) or
//   kMaxHeaderFields lines is 431.
// - ChunkedDecoder decodes a chunked body byte by byte (CRLF framing, strict), refuses a chunk
//   that would take the body past its limit as soon as its size line ends, and parses, checks and
//   limits trailers (which are then dropped).
// - writeResponseHead() writes the status line and headers; the caller appends the body.
//   writeStreamHead() and appendChunk() do the same for a streaming answer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ordersystem/sdk/http.h"

namespace ordersystem::host::wire {

/// After a refusal that leaves the body unread (413, 401, ...), at most this much of what the
/// client still sends is read and dropped before the connection closes, so a client that writes
/// its whole body before reading sees the answer instead of a reset.
inline constexpr int64_t kDiscardAfterRefusalBytes = 8 * 1024 * 1024;
inline constexpr size_t kMaxHeaderFields = 100;
inline constexpr size_t kMaxMethodBytes = 32;
/// A chunk's size line with its extensions.
inline constexpr size_t kMaxChunkLineBytes = 1024;
inline constexpr size_t kMaxTrailerFields = 32;
inline constexpr size_t kMaxTrailerBytes = 8192;

struct Limits {
    int64_t maxUriBytes = 8192;
    int64_t maxHeaderBytes = 16384;  ///< raw bytes of the header lines, line ends included
};

/// Longest a head may be: request line, header block and the blank line.
int64_t maxHeadBytes(const Limits& limits) noexcept;

struct RequestHead {
    std::string method;
    std::string target;  ///< as received (for logs)
    std::string path;    ///< of the origin form, still percent-encoded ("/api/orders")
    std::string query;   ///< after '?', still percent-encoded ("" when none)
    bool http10 = false;
    sdk::HeaderList headers;
    bool keepAlive = true;
    bool chunked = false;
    int64_t contentLength = 0;  ///< -1 when chunked
    bool expectContinue = false;
};

enum class HeadStatus { Incomplete, Complete, Bad };

struct HeadOutcome {
    HeadStatus status = HeadStatus::Incomplete;
    size_t consumed = 0;  ///< bytes of the head, from the buffer's start (Complete only)
    int errorStatus = 0;  ///< 400, 414, 431, 501, 505 (Bad only)
    std::string error;    ///< problem detail (Bad only)
};

class HeadParser {
public:
    /// buffer: the bytes from where this request starts, grown since the last call (never
    /// changed in front). Complete fills head (its header list's storage is reused).
    HeadOutcome parse(std::string_view buffer, const Limits& limits, RequestHead& head);
    /// For the next request.
    void reset() noexcept { *this = HeadParser{}; }

private:
    size_t _scanned = 0;      ///< bytes already looked at
    size_t _start = 0;        ///< the request line's first byte (blank lines before it are skipped)
    size_t _lineStart = 0;    ///< the current line's first byte
    size_t _headerStart = 0;  ///< first byte after the request line (0: not reached yet)
    size_t _lines = 0;
    bool _started = false;  ///< a byte other than a line end was seen
};

/// Decodes "size CRLF data CRLF ... 0 CRLF trailers CRLF" as it arrives.
class ChunkedDecoder {
public:
    enum class Result { NeedMore, Done, Bad, TooLarge };
    /// Consumes what it can of input (advancing consumed; never past the body's last byte, so
    /// what follows belongs to the next request) and appends chunk data to body. TooLarge as soon
    /// as a chunk's size would take body past maxBody.
    Result feed(std::string_view input, size_t& consumed, std::string& body, int64_t maxBody);
    /// Why the body was Bad.
    const char* error() const noexcept { return _error; }

private:
    enum class State {
        Size,
        Extension,
        SizeLf,
        Data,
        DataCr,
        DataLf,
        TrailerStart,
        TrailerName,
        TrailerValue,
        TrailerLf,
        LastLf,
        Done
    };
    Result bad(const char* why) {
        _error = why;
        return Result::Bad;
    }
    State _state = State::Size;
    uint64_t _size = 0;
    size_t _digits = 0;
    size_t _lineBytes = 0;
    size_t _trailerFields = 0;
    size_t _trailerBytes = 0;
    const char* _error = "";
};

/// Status line and headers (Content-Type when set, Cache-Control: no-store unless the handler set one,
/// X-Content-Type-Options: nosniff, response.headers without any that hold a line end,
/// Content-Length, Date, and Connection: close when keepAlive is false, or keep-alive for an
/// HTTP/1.0 client that asked for it) followed by the blank line.
void writeResponseHead(const sdk::HttpResponse& response, bool keepAlive, std::string& out, bool http10 = false);

/// The head of a streaming answer: as writeResponseHead, but Cache-Control: no-cache, no
/// Content-Length, Transfer-Encoding: chunked (HTTP/1.1; an HTTP/1.0 body ends with the
/// connection) and Connection: close.
void writeStreamHead(const sdk::HttpResponse& response, std::string& out, bool http10);
/// Appends data as one chunk (chunked) or as it is; nothing for empty data.
void appendChunk(std::string_view data, bool chunked, std::string& out);
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

/// tchar of RFC 9110 5.6.2: what a method and a header name are made of.
inline bool isTokenChar(char c) noexcept {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~': return true;
    default: return false;
    }
}
/// A header value's bytes: visible ASCII, obs-text (0x80-0xFF), space and tab.
inline bool isFieldValueChar(char c) noexcept {
    const auto b = static_cast<unsigned char>(c);
    return b == '\t' || (b >= 0x20 && b != 0x7F);
}

}  // namespace ordersystem::host::wire
