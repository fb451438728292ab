// Contract: what a client asks of GET /api/events/stream, read from the request alone (pure,
// thread-safe, fuzzed): `Last-Event-ID` (header) or `?after=` is the position to start after
// (the header wins: a reconnecting EventSource sends it with the URL it first opened); `?orderId=`
// keeps one order's events. Positions are decimal 0..2^63-1, ids 1..2^53-1, digits only, no
// leading zeros. An empty Last-Event-ID counts as absent (EventSource sends none before the first id).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "ordersystem/sdk/http.h"
#include "ordersystem/sdk/util.h"

namespace ordersystem::plugins::orders::stream {

struct StreamQuery {
    std::optional<uint64_t> after;  ///< none: from the next new event
    int64_t orderId = 0;            ///< 0: every order
};

/// Decimal digits without a leading zero (or "0") up to max; nullopt otherwise.
std::optional<uint64_t> parseDecimal(std::string_view text, uint64_t max) noexcept;

/// Fills query; false with one FieldError per bad parameter.
bool parseStreamQuery(const sdk::HttpRequest& request, StreamQuery* query, std::vector<sdk::FieldError>* errors);

}  // namespace ordersystem::plugins::orders::stream
