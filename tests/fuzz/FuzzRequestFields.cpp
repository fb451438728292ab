// libFuzzer target: the header and query values a request hands to the order routes - traceparent
// (sdk/trace.h), an RFC 3339 asOf (sdk/util.h) and If-Match / If-None-Match (orders'
// http/Preconditions.h). Invariants: an accepted traceparent is its own normal form, an accepted
// time formats and parses back to the same instant, and If-Match names a version or none.
#include <cstdint>
#include <string>
#include <string_view>

#include "FuzzCheck.h"
#include "http/Preconditions.h"
#include "ordersystem/sdk/trace.h"
#include "ordersystem/sdk/util.h"

namespace orders = ordersystem::plugins::orders::http;
namespace sdk = ordersystem::sdk;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);

    const std::string traceparent = sdk::parseTraceparent(text);
    if (!traceparent.empty()) {
        check(traceparent.size() == 55);
        check(sdk::parseTraceparent(traceparent) == traceparent);
        check(sdk::traceIdOf(sdk::childTraceparent(traceparent)) == sdk::traceIdOf(traceparent));
    }

    int64_t ms = 0;
    if (sdk::parseRfc3339(text, &ms) && ms >= 0 && ms < 253402300800000) {  // years 1970-9999
        int64_t again = -1;
        check(sdk::parseRfc3339(sdk::formatTimestamp(ms), &again));
        check(again == ms);
    }

    const orders::IfMatch ifMatch = orders::parseIfMatch(&text);
    if (ifMatch.valid) check(ifMatch.version >= -1);
    for (int64_t version : {int64_t{1}, int64_t{42}})
        if (orders::ifNoneMatchHolds(text, version))
            check(text.find('*') != std::string::npos || text.find(std::to_string(version)) != std::string::npos);
    return 0;
}
