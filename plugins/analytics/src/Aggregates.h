// Contract: the analytics arithmetic, without I/O or threads (plain values; the caller locks).
// decide() says what one event does to one order; Totals holds the figures GET /api/analytics
// shows and moves an order's amount between statuses. Money is integer cents throughout.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ordersystem/sdk/events.h"

namespace ordersystem::plugins::analytics {

enum class OrderStatus : int { Pending = 0, Processing = 1, Completed = 2, Cancelled = 3 };
constexpr int kStatusCount = 4;

const char* statusName(OrderStatus status) noexcept;
std::optional<OrderStatus> statusFromName(std::string_view name) noexcept;

/// What analytics remembers of one order.
struct OrderState {
    OrderStatus status = OrderStatus::Pending;
    int64_t totalCents = 0;
    int64_t version = 0;  ///< the order's version after the last event applied
};

/// Counts and sums over all orders. Also used as a signed delta that merge() adds.
struct Totals {
    std::array<int64_t, kStatusCount> countByStatus{};
    std::array<int64_t, kStatusCount> centsByStatus{};

    int64_t totalOrders() const noexcept;
    int64_t totalCents() const noexcept;
    int64_t completedCents() const noexcept { return centsByStatus[static_cast<int>(OrderStatus::Completed)]; }
    void add(const OrderState& order) noexcept;
    void remove(const OrderState& order) noexcept;
    void merge(const Totals& delta) noexcept;
};

/// Exact cents from a JSON number's text ("15.99", "1059.9", "7"); none for more than 2
/// non-zero decimals, exponents, or values out of range.
std::optional<int64_t> parseCents(std::string_view numberText) noexcept;

/// sum / count rounded half-up to a cent; 0 when count is 0.
int64_t averageCents(int64_t sumCents, int64_t count) noexcept;

/// {"totalOrders", "ordersByStatus": {all four}, "completedRevenue", "averageOrderValue"}.
std::string renderAnalytics(const Totals& totals);

/// What one event does to its order.
struct Decision {
    enum class Kind { Ignore, Upsert };
    Kind kind = Kind::Ignore;
    OrderState next;   ///< when Upsert
    std::string note;  ///< why ignored, or what was odd (for a log line); empty when normal
    bool noteIsWarning = false;
};

/// Decides from the event and the order's current state (none: not seen yet).
Decision decide(const sdk::EventRecord& event, const std::optional<OrderState>& current);

}  // namespace ordersystem::plugins::analytics
