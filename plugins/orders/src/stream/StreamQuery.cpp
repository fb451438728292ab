// Reading GET /api/events/stream's parameters (see StreamQuery.h).
#include "stream/StreamQuery.h"

namespace ordersystem::plugins::orders::stream {

namespace {
constexpr uint64_t kMaxPosition = (uint64_t{1} << 63) - 1;
constexpr uint64_t kMaxOrderId = (uint64_t{1} << 53) - 1;
}  // namespace

std::optional<uint64_t> parseDecimal(std::string_view text, uint64_t max) noexcept {
    if (text.empty() || text.size() > 20 || (text[0] == '0' && text.size() > 1)) return std::nullopt;
    uint64_t value = 0;
    for (const char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        const auto digit = static_cast<uint64_t>(c - '0');
        if (value > (max - digit) / 10) return std::nullopt;
        value = value * 10 + digit;
    }
    return value;
}

bool parseStreamQuery(const sdk::HttpRequest& request, StreamQuery* query, std::vector<sdk::FieldError>* errors) {
    const std::string* lastEventId = request.header("Last-Event-ID");
    const std::string* after = request.query("after");
    if (lastEventId && !lastEventId->empty()) {
        query->after = parseDecimal(*lastEventId, kMaxPosition);
        if (!query->after)
            errors->push_back({"Last-Event-ID", "Last-Event-ID must be an event's id: a decimal position"});
    }
    if (after) {
        const auto position = parseDecimal(*after, kMaxPosition);
        if (!position) errors->push_back({"after", "after must be an event's id: a decimal position"});
        else if (!query->after) query->after = position;
    }
    if (const std::string* orderId = request.query("orderId")) {
        const auto id = parseDecimal(*orderId, kMaxOrderId);
        if (!id || *id == 0) errors->push_back({"orderId", "orderId must be an integer from 1 to 2^53-1"});
        else query->orderId = static_cast<int64_t>(*id);
    }
    return errors->empty();
}

}  // namespace ordersystem::plugins::orders::stream
