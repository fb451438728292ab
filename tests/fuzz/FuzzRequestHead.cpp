// libFuzzer target: the request head parser (host/src/HttpWire.h). Invariants: a head fed in two
// pieces parses as in one; a parsed head stays within its limits; and a parsed head, written out
// again, parses to an equivalent head.
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "FuzzCheck.h"
#include "HttpWire.h"

using namespace ordersystem::host::wire;

namespace {

const Limits kLimits{256, 1024};

HeadOutcome parseInTwoPieces(std::string_view text, size_t split, RequestHead& head) {
    HeadParser parser;
    if (split > 0 && split < text.size()) {
        const HeadOutcome first = parser.parse(text.substr(0, split), kLimits, head);
        if (first.status != HeadStatus::Incomplete) return first;
    }
    return parser.parse(text, kLimits, head);
}

/// The shortest spelling of a head (bare LF line ends, no optional whitespace), so it is within
/// any limit the original met.
std::string serialize(const RequestHead& head) {
    std::string out = head.method + " " + head.target + (head.http10 ? " HTTP/1.0\n" : " HTTP/1.1\n");
    for (const auto& [name, value] : head.headers) out += name + ":" + value + "\n";
    return out + "\n";
}

bool sameHead(const RequestHead& a, const RequestHead& b) {
    return a.method == b.method && a.target == b.target && a.path == b.path && a.query == b.query &&
           a.http10 == b.http10 && a.headers == b.headers && a.keepAlive == b.keepAlive && a.chunked == b.chunked &&
           a.contentLength == b.contentLength && a.expectContinue == b.expectContinue;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const size_t split = data[0];
    const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
    RequestHead whole, pieces;
    HeadParser parser;
    const HeadOutcome a = parser.parse(text, kLimits, whole);
    const HeadOutcome b = parseInTwoPieces(text, split, pieces);
    check(a.status == b.status && a.errorStatus == b.errorStatus && a.consumed == b.consumed);
    if (a.status == HeadStatus::Bad) {
        const int s = a.errorStatus;
        check(s == 400 || s == 414 || s == 417 || s == 431 || s == 501 || s == 505);
        return 0;
    }
    if (a.status != HeadStatus::Complete) return 0;
    check(sameHead(whole, pieces));
    check(a.consumed <= text.size());
    check(static_cast<int64_t>(whole.target.size()) <= kLimits.maxUriBytes);
    check(whole.headers.size() <= kMaxHeaderFields);
    int64_t headerBytes = 0;
    for (const auto& [name, value] : whole.headers) {
        headerBytes += static_cast<int64_t>(name.size() + value.size() + 2);  // "name:value\n" at least
        check(!name.empty());
        for (const char c : name) check(isTokenChar(c));
        for (const char c : value) check(isFieldValueChar(c));
    }
    check(headerBytes <= kLimits.maxHeaderBytes);
    check(!whole.path.empty() && (whole.path[0] == '/' || whole.path == "*"));
    check(!whole.chunked || whole.contentLength == -1);
    RequestHead again;
    HeadParser reparser;
    const std::string written = serialize(whole);
    const HeadOutcome c = reparser.parse(written, kLimits, again);
    check(c.status == HeadStatus::Complete && c.consumed == written.size());
    check(sameHead(whole, again));
    return 0;
}
