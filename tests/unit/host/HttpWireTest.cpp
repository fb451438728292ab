// The HTTP/1.1 framing rules (RFC 9112), on byte strings: the incremental head parser, the
// chunked decoder and the response head.
#include <gtest/gtest.h>

#include <vector>

#include "HttpWire.h"

namespace ordersystem::host::wire {
namespace {

HeadOutcome parse(const std::string& text, RequestHead& head, Limits limits = {}) {
    HeadParser parser;
    return parser.parse(text, limits, head);
}

/// The same head fed one byte more at a time, as a slow client sends it.
HeadOutcome parseByteByByte(const std::string& text, RequestHead& head, Limits limits = {}) {
    HeadParser parser;
    HeadOutcome o;
    for (size_t n = 1; n <= text.size(); ++n) {
        o = parser.parse(std::string_view(text).substr(0, n), limits, head);
        if (o.status != HeadStatus::Incomplete) return o;
    }
    return o;
}

int statusOf(const std::string& text, Limits limits = {}) {
    RequestHead head;
    const HeadOutcome o = parse(text, head, limits);
    return o.status == HeadStatus::Bad ? o.errorStatus : o.status == HeadStatus::Complete ? 200 : 0;
}

TEST(HttpWire, ACompleteHeadGivesMethodTargetPathQueryHeadersAndItsLength) {
    RequestHead head;
    const std::string text =
        "POST /api/orders?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\nX-Pad:  v  \r\n\r\nBODY";
    const HeadOutcome o = parse(text, head);
    ASSERT_EQ(o.status, HeadStatus::Complete) << o.error;
    EXPECT_EQ(o.consumed, text.size() - 4);
    EXPECT_EQ(head.method, "POST");
    EXPECT_EQ(head.target, "/api/orders?x=1");
    EXPECT_EQ(head.path, "/api/orders");
    EXPECT_EQ(head.query, "x=1");
    EXPECT_EQ(head.contentLength, 12);
    EXPECT_TRUE(head.keepAlive);
    ASSERT_EQ(head.headers.size(), 3u);
    EXPECT_EQ(head.headers[2].second, "v");
}

TEST(HttpWire, AHeadFedOneByteAtATimeParsesAsInOnePiece) {
    const std::string text = "\r\nGET /a/b?c=d HTTP/1.1\r\nHost: h\r\nX-One: 1\r\nX-Two: 2\r\n\r\n";
    RequestHead whole, pieces;
    const HeadOutcome a = parse(text, whole);
    const HeadOutcome b = parseByteByByte(text, pieces);
    ASSERT_EQ(a.status, HeadStatus::Complete);
    ASSERT_EQ(b.status, HeadStatus::Complete);
    EXPECT_EQ(a.consumed, b.consumed);
    EXPECT_EQ(whole.path, pieces.path);
    EXPECT_EQ(whole.headers, pieces.headers);
}

TEST(HttpWire, AHeadWithoutItsBlankLineIsIncomplete) {
    RequestHead head;
    EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\n", head).status, HeadStatus::Incomplete);
    EXPECT_EQ(parse("GET /fixture/ec", head).status, HeadStatus::Incomplete);
}

TEST(HttpWire, BareLineFeedsAreAcceptedAndAHeadEndingInLfCrLfIsComplete) {
    RequestHead head;
    HeadOutcome o = parse("GET /x HTTP/1.1\nHost: a\n\n", head);
    ASSERT_EQ(o.status, HeadStatus::Complete) << o.error;
    EXPECT_EQ(head.target, "/x");
    const std::string mixed = "GET /y HTTP/1.1\nHost: a\n\r\n";
    o = parse(mixed, head);
    ASSERT_EQ(o.status, HeadStatus::Complete) << o.error;
    EXPECT_EQ(o.consumed, mixed.size());
}

TEST(HttpWire, Http10ClosesUnlessItAsksForKeepAliveAndHttp11KeepsUnlessClose) {
    RequestHead head;
    ASSERT_EQ(parse("GET / HTTP/1.0\r\n\r\n", head).status, HeadStatus::Complete);
    EXPECT_FALSE(head.keepAlive);
    ASSERT_EQ(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", head).status, HeadStatus::Complete);
    EXPECT_TRUE(head.keepAlive);
    ASSERT_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", head).status, HeadStatus::Complete);
    EXPECT_FALSE(head.keepAlive);
}

TEST(HttpWire, Http10WithChunkedIsReadAndThenTheConnectionCloses) {
    RequestHead head;
    ASSERT_EQ(parse("POST / HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n", head).status,
              HeadStatus::Complete);
    EXPECT_TRUE(head.chunked);
    EXPECT_FALSE(head.keepAlive);
}

TEST(HttpWire, AmbiguousOrMalformedHeadsAre400) {
    for (const std::string& bad : std::vector<std::string>{
             "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
             "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
             "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
             "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\n",
             "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
             "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n folded\r\n\r\n",
             "GET / HTTP/1.1\r\n Host: a\r\n\r\n",
             "GET / HTTP/1.1\r\nHost: a\r\nX-A : 1\r\n\r\n",
             "GET /\r\n\r\n",
             "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
             "G(T / HTTP/1.1\r\nHost: a\r\n\r\n",
             "GET / HTTP/1.1\r\n\r\n",                        // no Host
             "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",  // two Hosts
             "GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
             "GET / HTTP/1.1\r\nHost: a\r\nX-A: x\ry\r\n\r\n",  // bare CR in a value
             "GET / HTTP/1.1\rHost: a\r\n\r\n",                 // bare CR ending a line
             std::string("GET / HTTP/1.1\r\nHost: a\r\nX-A: x\0y\r\n\r\n", 37),
             "GET / HTTP/1.1\r\nHost: a\r\nX-A: x\x01y\r\n\r\n",
             "GET / HTTP/1.1\r\nHost: a\r\nX-A: x\x7fy\r\n\r\n",
             "GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n",  // control in the target
             "GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n",
             "GET api/orders HTTP/1.1\r\nHost: a\r\n\r\n",  // neither a path nor a URL
             "GET * HTTP/1.1\r\nHost: a\r\n\r\n",
             "GET / HTTP/1.1x\r\nHost: a\r\n\r\n",
         }) {
        EXPECT_EQ(statusOf(bad), 400) << bad;
    }
}

TEST(HttpWire, AnotherHttpVersionIs505AndAnotherTransferCodingIs501) {
    EXPECT_EQ(statusOf("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), 505);
    EXPECT_EQ(statusOf("GET / HTTP/1.2\r\nHost: a\r\n\r\n"), 505);
    EXPECT_EQ(statusOf("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), 501);
    EXPECT_EQ(statusOf("POST / HTTP/1.1\r\nHost: a\r\nExpect: something\r\n\r\n"), 417);
}

TEST(HttpWire, AnAbsoluteUrlTargetIsReducedToItsPathAndQuery) {
    RequestHead head;
    ASSERT_EQ(parse("GET http://example.com:5000/api/orders?limit=2 HTTP/1.1\r\nHost: x\r\n\r\n", head).status,
              HeadStatus::Complete);
    EXPECT_EQ(head.path, "/api/orders");
    EXPECT_EQ(head.query, "limit=2");
    ASSERT_EQ(parse("GET HTTPS://example.com HTTP/1.1\r\nHost: x\r\n\r\n", head).status, HeadStatus::Complete);
    EXPECT_EQ(head.path, "/");
    EXPECT_EQ(statusOf("GET http:///api HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
}

TEST(HttpWire, LongTargetIs414AndLargeHeadersAre431EvenBeforeTheHeadEndsAndHoweverSplit) {
    const Limits limits{100, 200};
    EXPECT_EQ(statusOf("GET /" + std::string(200, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n", limits), 414);
    EXPECT_EQ(statusOf("GET /" + std::string(500, 'a'), limits), 414);
    EXPECT_EQ(statusOf("GET / HTTP/1.1\r\nHost: a\r\nX-A: " + std::string(300, 'h') + "\r\n\r\n", limits), 431);
    EXPECT_EQ(statusOf("GET / HTTP/1.1\r\nHost: a\r\nX-A: " + std::string(300, 'h'), limits), 431);
    std::string endless = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < 100; ++i) endless += "X-" + std::to_string(i) + ": vvvvvvvvvv\r\n";
    EXPECT_EQ(statusOf(endless, limits), 431);
    RequestHead head;
    const HeadOutcome slow =
        parseByteByByte("GET / HTTP/1.1\r\nHost: a\r\nX-A: " + std::string(300, 'h'), head, limits);
    EXPECT_EQ(slow.errorStatus, 431);
    std::string many = "GET / HTTP/1.1\r\nHost: a\r\n";
    for (size_t i = 0; i < kMaxHeaderFields; ++i) many += "X: 1\r\n";
    EXPECT_EQ(statusOf(many + "\r\n"), 431);
    EXPECT_EQ(statusOf(std::string(40000, '\n')), 400) << "endless blank lines before a request";
}

std::string decodeInPieces(const std::string& wireBody, size_t split, ChunkedDecoder::Result* result,
                           int64_t maxBody = 1 << 20) {
    ChunkedDecoder decoder;
    std::string body;
    size_t consumed = 0;
    *result = decoder.feed(std::string_view(wireBody).substr(0, split), consumed, body, maxBody);
    if (*result != ChunkedDecoder::Result::NeedMore) return body;
    EXPECT_EQ(consumed, split) << "the decoder leaves nothing for the next call";
    const std::string rest = wireBody.substr(split);
    size_t more = 0;
    *result = decoder.feed(rest, more, body, maxBody);
    return body;
}

TEST(HttpWire, ChunkedBodyIsDecodedAcrossArbitrarySplits) {
    const std::string wireBody =
        "4\r\nWiki\r\n5;ext=1\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nTrailer: x\r\n\r\nNEXT";
    for (size_t split = 1; split < wireBody.size(); ++split) {
        ChunkedDecoder::Result result;
        EXPECT_EQ(decodeInPieces(wireBody, split, &result), "Wikipedia in\r\n\r\nchunks.") << split;
        EXPECT_EQ(result, ChunkedDecoder::Result::Done) << split;
    }
    ChunkedDecoder decoder;
    std::string body;
    size_t consumed = 0;
    ASSERT_EQ(decoder.feed(wireBody, consumed, body, 1000), ChunkedDecoder::Result::Done);
    EXPECT_EQ(wireBody.substr(consumed), "NEXT") << "bytes after the body belong to the next request";
}

TEST(HttpWire, MalformedChunkedFramingIsBad) {
    for (const std::string bad :
         {"zz\r\nab\r\n", "\r\n", "2\nab\r\n0\r\n\r\n", "2\r\nabc\r\n", "2\r\nab\n0\r\n\r\n", "1;\x01\r\na\r\n",
          "0\r\nBad Name: x\r\n\r\n", "0\r\nX: a\x01\r\n\r\n", "0\r\n\n", "10000000000000000\r\n"}) {
        ChunkedDecoder decoder;
        std::string body;
        size_t consumed = 0;
        EXPECT_EQ(decoder.feed(bad, consumed, body, 1 << 20), ChunkedDecoder::Result::Bad) << bad;
    }
}

TEST(HttpWire, AChunkLargerThanTheLimitIsRefusedAsSoonAsItsSizeLineEnds) {
    ChunkedDecoder decoder;
    std::string body;
    size_t consumed = 0;
    EXPECT_EQ(decoder.feed("a\r\n0123456789\r\n10\r\n", consumed, body, 20), ChunkedDecoder::Result::TooLarge);
    EXPECT_EQ(body, "0123456789");
}

TEST(HttpWire, SizeLineAndTrailerLimitsHoldHoweverTheBytesAreSplit) {
    const std::string longExtension = "5;" + std::string(kMaxChunkLineBytes + 10, 'e') + "\r\nhello\r\n0\r\n\r\n";
    std::string manyTrailers = "0\r\n";
    for (size_t i = 0; i <= kMaxTrailerFields; ++i) manyTrailers += "X-T: v\r\n";
    manyTrailers += "\r\n";
    const std::string bigTrailer = "0\r\nX-T: " + std::string(kMaxTrailerBytes, 't') + "\r\n\r\n";
    for (const std::string* text : std::vector<const std::string*>{&longExtension, &manyTrailers, &bigTrailer}) {
        for (size_t split : {size_t{1}, size_t{3}, text->size() / 2, text->size() - 1}) {
            ChunkedDecoder::Result result;
            decodeInPieces(*text, split, &result);
            EXPECT_EQ(result, ChunkedDecoder::Result::Bad) << text->substr(0, 40) << " split at " << split;
        }
    }
}

TEST(HttpWire, ResponseHeadCarriesLengthStandardHeadersAndCloseWhenAsked) {
    sdk::HttpResponse r;
    r.status = 201;
    r.body = "{}";
    r.setHeader("Location", "/api/orders/1");
    r.setHeader("X-Injected", "a\r\nSet-Cookie: evil");
    std::string out;
    writeResponseHead(r, false, out);
    EXPECT_EQ(out.rfind("HTTP/1.1 201 Created\r\n", 0), 0u) << out;
    for (const char* h :
         {"Content-Type: application/json\r\n", "Cache-Control: no-store\r\n", "X-Content-Type-Options: nosniff\r\n",
          "Location: /api/orders/1\r\n", "Content-Length: 2\r\n", "Connection: close\r\n", "Date: "})
        EXPECT_NE(out.find(h), std::string::npos) << h << " missing in " << out;
    EXPECT_EQ(out.find("Set-Cookie"), std::string::npos) << "a header value with a line end split the response";
    EXPECT_EQ(out.substr(out.size() - 4), "\r\n\r\n");
}

}  // namespace
}  // namespace ordersystem::host::wire
