// The event-loop server's HTTP/1.1 parsing rules, on byte strings.
#include <gtest/gtest.h>

#include "HttpWire.h"

namespace ordersystem::host::wire {
namespace {

HeadOutcome parse(const std::string& text, RequestHead& head, Limits limits = {}) {
    return parseHead(text, limits, head);
}

TEST(HttpWire, ACompleteHeadGivesMethodTargetHeadersAndItsLength) {
    RequestHead head;
    const std::string text = "POST /api/orders?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\nX-Pad:  v  \r\n\r\nBODY";
    const HeadOutcome o = parse(text, head);
    ASSERT_EQ(o.status, HeadStatus::Complete) << o.error;
    EXPECT_EQ(o.consumed, text.size() - 4);
    EXPECT_EQ(head.method, "POST");
    EXPECT_EQ(head.target, "/api/orders?x=1");
    EXPECT_EQ(head.contentLength, 12);
    EXPECT_TRUE(head.keepAlive);
    ASSERT_EQ(head.headers.size(), 3u);
    EXPECT_EQ(head.headers[2].second, "v");
}

TEST(HttpWire, AHeadWithoutItsBlankLineIsIncomplete) {
    RequestHead head;
    EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\n", head).status, HeadStatus::Incomplete);
    EXPECT_EQ(parse("GET /fixture/ec", head).status, HeadStatus::Incomplete);
}

TEST(HttpWire, BareLineFeedsAreAccepted) {
    RequestHead head;
    const HeadOutcome o = parse("GET /x HTTP/1.1\nHost: a\n\n", head);
    ASSERT_EQ(o.status, HeadStatus::Complete) << o.error;
    EXPECT_EQ(head.target, "/x");
}

TEST(HttpWire, Http10ClosesUnlessItAsksForKeepAliveAndHttp11KeepsUnlessClose) {
    RequestHead head;
    ASSERT_EQ(parse("GET / HTTP/1.0\r\n\r\n", head).status, HeadStatus::Complete);
    EXPECT_FALSE(head.keepAlive);
    ASSERT_EQ(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", head).status, HeadStatus::Complete);
    EXPECT_TRUE(head.keepAlive);
    ASSERT_EQ(parse("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", head).status, HeadStatus::Complete);
    EXPECT_FALSE(head.keepAlive);
}

TEST(HttpWire, AmbiguousMessagesAre400) {
    RequestHead head;
    for (const std::string bad : {
             "GET / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
             "GET / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
             "GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
             "GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
             "GET / HTTP/1.1\r\nX-A: 1\r\n folded\r\n\r\n",
             "GET / HTTP/1.1\r\nX-A : 1\r\n\r\n",
             "GET /\r\n\r\n",
             "GET / HTTP/2.0\r\n\r\n",
             "G(T / HTTP/1.1\r\n\r\n",
         }) {
        const HeadOutcome o = parse(bad, head);
        EXPECT_EQ(o.status, HeadStatus::Bad) << bad;
        EXPECT_EQ(o.errorStatus, 400) << bad;
    }
}

TEST(HttpWire, LongTargetIs414AndLargeHeadersAre431EvenBeforeTheHeadEnds) {
    RequestHead head;
    const Limits limits{100, 200};
    EXPECT_EQ(parse("GET /" + std::string(200, 'a') + " HTTP/1.1\r\n\r\n", head, limits).errorStatus, 414);
    EXPECT_EQ(parse("GET /" + std::string(500, 'a'), head, limits).errorStatus, 414);
    EXPECT_EQ(parse("GET / HTTP/1.1\r\nX-A: " + std::string(300, 'h') + "\r\n\r\n", head, limits).errorStatus, 431);
    std::string endless = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < 100; ++i) endless += "X-" + std::to_string(i) + ": vvvvvvvvvv\r\n";
    EXPECT_EQ(parse(endless, head, limits).errorStatus, 431);
}

TEST(HttpWire, ChunkedBodyIsDecodedAcrossArbitrarySplits) {
    const std::string wireBody = "4\r\nWiki\r\n5;ext=1\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nTrailer: x\r\n\r\n";
    for (size_t split = 1; split < wireBody.size(); ++split) {
        ChunkedDecoder decoder;
        std::string body;
        size_t consumed = 0;
        std::string first = wireBody.substr(0, split);
        EXPECT_NE(decoder.feed(first, consumed, body), ChunkedDecoder::Result::Bad);
        std::string rest = first.substr(consumed) + wireBody.substr(split);
        consumed = 0;
        ASSERT_EQ(decoder.feed(rest, consumed, body), ChunkedDecoder::Result::Done) << split;
        EXPECT_EQ(consumed, rest.size());
        EXPECT_EQ(body, "Wikipedia in\r\n\r\nchunks.") << split;
    }
}

TEST(HttpWire, MalformedChunkSizeIsBad) {
    ChunkedDecoder decoder;
    std::string body;
    size_t consumed = 0;
    EXPECT_EQ(decoder.feed("zz\r\nab\r\n", consumed, body), ChunkedDecoder::Result::Bad);
}

TEST(HttpWire, ResponseHeadCarriesLengthStandardHeadersAndCloseWhenAsked) {
    sdk::HttpResponse r;
    r.status = 201;
    r.body = "{}";
    r.setHeader("Location", "/api/orders/1");
    std::string out;
    writeResponseHead(r, false, out);
    EXPECT_EQ(out.rfind("HTTP/1.1 201 Created\r\n", 0), 0u) << out;
    for (const char* h : {"Content-Type: application/json\r\n", "Cache-Control: no-store\r\n",
                          "X-Content-Type-Options: nosniff\r\n", "Location: /api/orders/1\r\n",
                          "Content-Length: 2\r\n", "Connection: close\r\n", "Date: "})
        EXPECT_NE(out.find(h), std::string::npos) << h << " missing in " << out;
    EXPECT_EQ(out.substr(out.size() - 4), "\r\n\r\n");
}

}  // namespace
}  // namespace ordersystem::host::wire
