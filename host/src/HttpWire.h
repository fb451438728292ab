// Contract: HTTP/1.1 on the wire for the event-loop server, as plain functions over byte buffers
// (no sockets, no threads), so every parsing rule is unit-testable.
// - parseHead() reads a request line and header block (CRLF, or bare LF, line ends). It refuses
//   what would make the message ambiguous (obsolete line folding, whitespace before a colon,
//   Content-Length together with Transfer-Encoding, differing Content-Lengths, a transfer coding
//   other than chunked) with 400, and oversized parts with 414 / 431.
// - ChunkedDecoder decodes a chunked body incrementally (trailers are read and dropped).
// - writeResponseHead() writes the status line and headers; the caller appends the body.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ordersystem/sdk/http.h"

namespace ordersystem::host::wire {

/// After a refusal that leaves the body unread (413, 401, ...), at most this much of what the
/// client still sends is read and dropped before the connection closes, so a client that writes
/// its whole body before reading sees the answer instead of a reset. Both listeners apply it.
inline constexpr int64_t kDiscardAfterRefusalBytes = 8 * 1024 * 1024;

struct Limits {
    int64_t maxUriBytes = 8192;
    int64_t maxHeaderBytes = 16384;  ///< names + values
};

struct RequestHead {
    std::string method;
    std::string target;  ///< raw request target (path and query, still percent-encoded)
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
    size_t consumed = 0;     ///< bytes of the head (Complete only)
    int errorStatus = 0;     ///< 400, 414, 431 (Bad only)
    std::string error;       ///< problem detail (Bad only)
};

/// Parses the head at the start of buffer. Incomplete while the blank line has not arrived and
/// the part received is still within the limits.
HeadOutcome parseHead(std::string_view buffer, const Limits& limits, RequestHead& head);

/// Decodes "size CRLF data CRLF ... 0 CRLF trailers CRLF" as it arrives.
class ChunkedDecoder {
public:
    enum class Result { NeedMore, Done, Bad };
    /// Consumes what it can from input (advancing consumed) and appends data to body.
    Result feed(std::string_view input, size_t& consumed, std::string& body);

private:
    enum class State { Size, Data, DataEnd, Trailer };
    State _state = State::Size;
    uint64_t _remaining = 0;
};

/// Status line and headers (Content-Type when set, Cache-Control: no-store,
/// X-Content-Type-Options: nosniff, response.headers, Content-Length, Date, and Connection: close
/// when keepAlive is false) followed by the blank line.
void writeResponseHead(const sdk::HttpResponse& response, bool keepAlive, std::string& out);

}  // namespace ordersystem::host::wire
