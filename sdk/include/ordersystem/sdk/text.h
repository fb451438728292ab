// Contract: what counts as acceptable text wherever a client's bytes become stored text (JSON
// strings, decoded path segments and query values): well-formed UTF-8, no control characters,
// and "blank" in the Unicode sense. Pure functions, thread-safe, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ordersystem::sdk {

/// Decodes the UTF-8 sequence at text[pos]: its length (1..4) with *codePoint set, or 0 when it
/// is malformed (a stray continuation byte, a truncated sequence, an overlong form, a surrogate
/// or a code point past U+10FFFF).
inline size_t decodeUtf8(std::string_view text, size_t pos, uint32_t* codePoint) noexcept {
    const auto c = static_cast<unsigned char>(text[pos]);
    if (c < 0x80) {
        *codePoint = c;
        return 1;
    }
    size_t extra;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
        extra = 1;
        cp = c & 0x1Fu;
    } else if ((c & 0xF0) == 0xE0) {
        extra = 2;
        cp = c & 0x0Fu;
    } else if ((c & 0xF8) == 0xF0) {
        extra = 3;
        cp = c & 0x07u;
    } else return 0;
    if (pos + extra >= text.size()) return 0;
    for (size_t i = 1; i <= extra; ++i) {
        const auto cc = static_cast<unsigned char>(text[pos + i]);
        if ((cc & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (cc & 0x3Fu);
    }
    static constexpr uint32_t kMinimum[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMinimum[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    *codePoint = cp;
    return extra + 1;
}

/// The value of a hexadecimal digit (either case), or -1.
inline int hexDigitValue(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/// Control characters (Unicode category Cc): U+0000-U+001F and U+007F-U+009F.
inline bool isControlCharacter(uint32_t codePoint) noexcept {
    return codePoint < 0x20 || (codePoint >= 0x7F && codePoint <= 0x9F);
}

/// Unicode White_Space (the ASCII spaces, U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028,
/// U+2029, U+202F, U+205F, U+3000) and the zero-width spaces U+180E, U+200B, U+2060 and U+FEFF.
bool isUnicodeSpace(uint32_t codePoint) noexcept;

/// Well-formed UTF-8 throughout.
bool isValidUtf8(std::string_view text) noexcept;
/// Well-formed UTF-8 without any control character: what a name, a reason or a decoded URL part
/// must be before it is stored or routed.
bool isCleanText(std::string_view text) noexcept;
/// Empty, or only Unicode white space (text is assumed to be UTF-8; malformed bytes count as
/// not blank).
bool isBlankText(std::string_view text) noexcept;

}  // namespace ordersystem::sdk
