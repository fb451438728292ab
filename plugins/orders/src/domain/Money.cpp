// Exact money parsing (see Money.h).
#include "domain/Money.h"

namespace ordersystem::plugins::orders::domain {

std::optional<int64_t> parseCents(std::string_view text) noexcept {
    if (text.empty()) return std::nullopt;
    size_t i = 0;
    int64_t whole = 0;
    size_t wholeDigits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        if (wholeDigits >= 10) return std::nullopt;  // more than 10 digits is above the maximum
        whole = whole * 10 + (text[i] - '0');
        ++wholeDigits;
        ++i;
    }
    if (wholeDigits == 0) return std::nullopt;                   // "-1", ".5", "+1"
    if (wholeDigits > 1 && text[0] == '0') return std::nullopt;  // JSON forbids leading zeros
    int64_t frac = 0;
    if (i < text.size() && text[i] == '.') {
        ++i;
        size_t fracDigits = 0;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
            if (fracDigits >= 2) return std::nullopt;  // more than 2 decimals
            frac = frac * 10 + (text[i] - '0');
            ++fracDigits;
            ++i;
        }
        if (fracDigits == 0) return std::nullopt;
        if (fracDigits == 1) frac *= 10;
    }
    if (i != text.size()) return std::nullopt;  // exponent or junk
    const int64_t cents = whole * 100 + frac;
    if (cents > kMaxPriceCents) return std::nullopt;
    return cents;
}

}  // namespace ordersystem::plugins::orders::domain
