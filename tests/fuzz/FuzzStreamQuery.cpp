// libFuzzer target: the parameters of GET /api/events/stream (plugins/orders/src/stream/StreamQuery.h).
// The input is split at the first two NUL bytes into Last-Event-ID, after and orderId.
// Invariants: an accepted position or id is digits only without a leading zero and prints back
// as the text it came from; the header wins over after; orderId is in 1..2^53-1.
#include <cstdint>
#include <string>
#include <string_view>

#include "FuzzCheck.h"
#include "stream/StreamQuery.h"

using namespace ordersystem;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const size_t first = input.find('\0');
    const size_t second = first == std::string_view::npos ? first : input.find('\0', first + 1);
    sdk::HttpRequest request;
    const std::string header(input.substr(0, first));
    const std::string after =
        first == std::string_view::npos ? "" : std::string(input.substr(first + 1, second - first - 1));
    const std::string orderId = second == std::string_view::npos ? "" : std::string(input.substr(second + 1));
    request.headers.emplace_back("Last-Event-ID", header);
    if (first != std::string_view::npos) request.queryParams.emplace_back("after", after);
    if (second != std::string_view::npos) request.queryParams.emplace_back("orderId", orderId);

    plugins::orders::stream::StreamQuery query;
    std::vector<sdk::FieldError> errors;
    const bool ok = plugins::orders::stream::parseStreamQuery(request, &query, &errors);
    check(ok == errors.empty());
    if (!ok) return 0;
    if (!header.empty()) check(query.after && std::to_string(*query.after) == header);
    else if (first != std::string_view::npos) check(query.after && std::to_string(*query.after) == after);
    else check(!query.after);
    if (second != std::string_view::npos) {
        check(query.orderId >= 1 && query.orderId < (int64_t{1} << 53));
        check(std::to_string(query.orderId) == orderId);
    }
    return 0;
}
