// Contract: money as integer cents, parsed exactly from the JSON number text (never via double).
// Plain functions, no state, thread-safe; used by validation and by event replay.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace ordersystem::plugins::orders::domain {

/// Largest accepted price: 1,000,000,000.00 in cents.
inline constexpr int64_t kMaxPriceCents = 100000000000LL;

/// Parses a JSON number text like "15.99", "0", "1000000000" into cents. Rejects exponents, more
/// than two decimals, a sign, leading zeros and anything above kMaxPriceCents. nullopt = refused.
std::optional<int64_t> parseCents(std::string_view numberText) noexcept;

}  // namespace ordersystem::plugins::orders::domain
