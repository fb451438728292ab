// libFuzzer target: the chunked body decoder (host/src/HttpWire.h). Invariants: the body never
// exceeds its limit; bytes fed in two pieces decode as in one; a decoded body, chunked again,
// decodes to itself.
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "FuzzCheck.h"
#include "HttpWire.h"

using namespace ordersystem::host::wire;

namespace {

constexpr int64_t kMaxBody = 4096;

struct Decoded {
    ChunkedDecoder::Result result;
    size_t consumed = 0;
    std::string body;
};

Decoded decode(std::string_view input, size_t split) {
    ChunkedDecoder decoder;
    Decoded d;
    if (split > 0 && split < input.size()) {
        size_t used = 0;
        d.result = decoder.feed(input.substr(0, split), used, d.body, kMaxBody);
        d.consumed = used;
        if (d.result != ChunkedDecoder::Result::NeedMore) return d;
        check(used == split);  // nothing is left for the next call
    }
    size_t used = 0;
    d.result = decoder.feed(input.substr(d.consumed), used, d.body, kMaxBody);
    d.consumed += used;
    return d;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
    const Decoded whole = decode(input, 0);
    const Decoded pieces = decode(input, data[0] * 4u);
    check(static_cast<int64_t>(whole.body.size()) <= kMaxBody);
    check(whole.consumed <= input.size());
    check(whole.result == pieces.result);
    if (whole.result == ChunkedDecoder::Result::Done || whole.result == ChunkedDecoder::Result::NeedMore) {
        check(whole.body == pieces.body);
        check(whole.consumed == pieces.consumed);
    }
    if (whole.result != ChunkedDecoder::Result::Done) return 0;
    char size_line[32];
    std::snprintf(size_line, sizeof size_line, "%zx\r\n", whole.body.size());
    const std::string again = whole.body.empty() ? "0\r\n\r\n" : size_line + whole.body + "\r\n0\r\n\r\n";
    const Decoded round = decode(again, 0);
    check(round.result == ChunkedDecoder::Result::Done && round.body == whole.body && round.consumed == again.size());
    return 0;
}
