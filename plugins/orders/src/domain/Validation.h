// Contract: the 400 rules of CONTRACT.md §3 for create and cancel requests. Pure functions over
// the SDK's JSON DOM; every problem found is reported with its field path (e.g.
// "items[0].price"), not just the first. Names and reasons must be clean text (valid UTF-8, no
// control characters) and not blank in the Unicode sense. Thread-safe (no state).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "domain/Order.h"
#include "ordersystem/sdk/json.h"
#include "ordersystem/sdk/text.h"
#include "ordersystem/sdk/util.h"

namespace ordersystem::plugins::orders::domain {

inline constexpr size_t kMaxNameChars = 200;
inline constexpr size_t kMaxItems = 100;
inline constexpr int64_t kMaxQuantity = 10000;
inline constexpr size_t kMaxReasonChars = 500;

/// Number of Unicode code points in valid UTF-8 text.
size_t codePointCount(std::string_view utf8) noexcept;

/// Fills *out from a parsed create body; returns false and appends to *errors when invalid.
bool validateNewOrder(const sdk::JsonValue& body, NewOrder* out, std::vector<sdk::FieldError>* errors);

/// Checks a cancel reason (null = missing); returns false and appends to *errors when invalid.
bool validateCancelReason(const std::string* reason, std::vector<sdk::FieldError>* errors);

}  // namespace ordersystem::plugins::orders::domain
