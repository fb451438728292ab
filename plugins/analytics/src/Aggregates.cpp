// Pure analytics arithmetic: exact cents, status moves, the JSON answer.
#include "Aggregates.h"

#include <cctype>

#include <limits>

#include "ordersystem/sdk/json.h"

namespace ordersystem::plugins::analytics {

namespace {
constexpr std::array<const char*, kStatusCount> kNames = {"Pending", "Processing", "Completed", "Cancelled"};

int idx(OrderStatus s) noexcept { return static_cast<int>(s); }

bool isDigit(char c) noexcept { return c >= '0' && c <= '9'; }

/// Total from the items when totalAmount is unusable: sum of price x quantity, exact.
std::optional<int64_t> totalFromItems(const sdk::JsonValue& data) {
    const sdk::JsonValue* items = data.find("items");
    if (!items || !items->isArray()) return std::nullopt;
    __int128 sum = 0;
    for (const auto& item : items->items()) {
        const sdk::JsonValue* price = item.find("price");
        const sdk::JsonValue* quantity = item.find("quantity");
        int64_t q = 0;
        if (!price || !price->isNumber() || !quantity || !quantity->asInt64(&q)) return std::nullopt;
        const auto cents = parseCents(price->numberText());
        if (!cents) return std::nullopt;
        sum += static_cast<__int128>(*cents) * q;
        if (sum > std::numeric_limits<int64_t>::max()) return std::nullopt;
    }
    return static_cast<int64_t>(sum);
}

std::optional<OrderStatus> targetOf(std::string_view type) noexcept {
    if (type == "OrderProcessing") return OrderStatus::Processing;
    if (type == "OrderCompleted") return OrderStatus::Completed;
    if (type == "OrderCancelled") return OrderStatus::Cancelled;
    return std::nullopt;
}

std::string orderText(const sdk::EventRecord& e) {
    return e.type + " of order " + std::to_string(e.orderId) + " v" + std::to_string(e.version) + " at position " +
           std::to_string(e.position);
}

/// Fast path for the orders plugin's own OrderCreated data: the number after the one
/// "totalAmount": in the text. A raw quote cannot occur inside a JSON string (it is escaped), so
/// a single match is the member itself; anything unusual falls back to the full parse. Saves a
/// DOM build per order on the projection thread.
std::optional<int64_t> topLevelTotalAmount(const std::string& json) {
    static constexpr std::string_view kKey = "\"totalAmount\":";
    const size_t at = json.find(kKey);
    if (at == std::string::npos || json.find(kKey, at + 1) != std::string::npos) return std::nullopt;
    size_t begin = at + kKey.size();
    while (begin < json.size() && json[begin] == ' ') ++begin;
    size_t end = begin;
    while (end < json.size() &&
           (std::isdigit(static_cast<unsigned char>(json[end])) || json[end] == '.' || json[end] == '-'))
        ++end;
    if (end == begin || end >= json.size() || (json[end] != ',' && json[end] != '}' && json[end] != ' '))
        return std::nullopt;
    return parseCents(std::string_view(json).substr(begin, end - begin));
}

Decision created(const sdk::EventRecord& event, const std::optional<OrderState>& current) {
    Decision d;
    if (current) {
        d.note = orderText(event) + " ignored: the order is already known";
        return d;
    }
    d.kind = Decision::Kind::Upsert;
    d.next = OrderState{OrderStatus::Pending, 0, event.version};
    if (const auto fast = topLevelTotalAmount(event.dataJson)) {
        d.next.totalCents = *fast;
        return d;
    }
    auto parsed = sdk::parseJson(event.dataJson);
    if (!parsed || !parsed.value().isObject()) {
        d.note = orderText(event) + " has unreadable data; counted with a total of 0";
        d.noteIsWarning = true;
        return d;
    }
    const sdk::JsonValue& data = parsed.value();
    const sdk::JsonValue* amount = data.find("totalAmount");
    std::optional<int64_t> cents;
    if (amount && amount->isNumber()) cents = parseCents(amount->numberText());
    if (!cents) {
        cents = totalFromItems(data);
        d.note = orderText(event) + (cents ? " has no exact totalAmount; total computed from its items"
                                           : " has no usable totalAmount or items; counted with a total of 0");
        d.noteIsWarning = true;
    }
    d.next.totalCents = cents.value_or(0);
    return d;
}
}  // namespace

const char* statusName(OrderStatus status) noexcept { return kNames[static_cast<size_t>(idx(status))]; }

std::optional<OrderStatus> statusFromName(std::string_view name) noexcept {
    for (int i = 0; i < kStatusCount; ++i)
        if (name == kNames[static_cast<size_t>(i)]) return static_cast<OrderStatus>(i);
    return std::nullopt;
}

int64_t Totals::totalOrders() const noexcept {
    int64_t n = 0;
    for (auto c : countByStatus) n += c;
    return n;
}

int64_t Totals::totalCents() const noexcept {
    int64_t n = 0;
    for (auto c : centsByStatus) n += c;
    return n;
}

void Totals::add(const OrderState& o) noexcept {
    countByStatus[static_cast<size_t>(idx(o.status))] += 1;
    centsByStatus[static_cast<size_t>(idx(o.status))] += o.totalCents;
}

void Totals::remove(const OrderState& o) noexcept {
    countByStatus[static_cast<size_t>(idx(o.status))] -= 1;
    centsByStatus[static_cast<size_t>(idx(o.status))] -= o.totalCents;
}

void Totals::merge(const Totals& delta) noexcept {
    for (size_t i = 0; i < kStatusCount; ++i) {
        countByStatus[i] += delta.countByStatus[i];
        centsByStatus[i] += delta.centsByStatus[i];
    }
}

std::optional<int64_t> parseCents(std::string_view t) noexcept {
    size_t i = 0;
    const bool negative = i < t.size() && t[i] == '-';
    if (negative) ++i;
    if (i >= t.size() || !isDigit(t[i])) return std::nullopt;
    constexpr int64_t kMaxWhole = std::numeric_limits<int64_t>::max() / 100 - 1;
    int64_t whole = 0;
    for (; i < t.size() && isDigit(t[i]); ++i) {
        whole = whole * 10 + (t[i] - '0');
        if (whole > kMaxWhole) return std::nullopt;
    }
    int64_t fraction = 0;
    if (i < t.size() && t[i] == '.') {
        ++i;
        int digits = 0;
        for (; i < t.size() && isDigit(t[i]); ++i, ++digits) {
            if (digits < 2) fraction = fraction * 10 + (t[i] - '0');
            else if (t[i] != '0') return std::nullopt;  // a third non-zero decimal is not money
        }
        if (digits == 0) return std::nullopt;
        if (digits == 1) fraction *= 10;
    }
    if (i != t.size()) return std::nullopt;  // exponent or junk
    const int64_t cents = whole * 100 + fraction;
    return negative ? -cents : cents;
}

int64_t averageCents(int64_t sumCents, int64_t count) noexcept {
    if (count <= 0) return 0;
    const __int128 sum = sumCents;
    // Half-up on the magnitude (half away from zero), exact for any int64 sum.
    const __int128 magnitude = (2 * (sum < 0 ? -sum : sum) + count) / (2 * static_cast<__int128>(count));
    return static_cast<int64_t>(sum < 0 ? -magnitude : magnitude);
}

std::string renderAnalytics(const Totals& totals) {
    std::string out;
    out.reserve(192);
    sdk::JsonWriter w(out);
    w.beginObject();
    w.key("totalOrders").value(totals.totalOrders());
    w.key("ordersByStatus").beginObject();
    for (int i = 0; i < kStatusCount; ++i)
        w.key(kNames[static_cast<size_t>(i)]).value(totals.countByStatus[static_cast<size_t>(i)]);
    w.endObject();
    w.key("completedRevenue").cents(totals.completedCents());
    w.key("averageOrderValue").cents(averageCents(totals.totalCents(), totals.totalOrders()));
    w.endObject();
    return out;
}

Decision decide(const sdk::EventRecord& event, const std::optional<OrderState>& current) {
    if (event.type == "OrderCreated") return created(event, current);
    Decision d;
    const auto target = targetOf(event.type);
    if (!target) {
        d.note = orderText(event) + " ignored: not an event analytics counts";
        return d;
    }
    if (!current) {
        d.note = orderText(event) + " ignored: the order was never created in the log";
        d.noteIsWarning = true;
        return d;
    }
    if (event.version <= current->version) {
        d.note = orderText(event) + " ignored: analytics already has version " + std::to_string(current->version);
        return d;
    }
    d.kind = Decision::Kind::Upsert;
    d.next = OrderState{*target, current->totalCents, event.version};
    return d;
}

}  // namespace ordersystem::plugins::analytics
