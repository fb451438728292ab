// UTF-8 and text checks (see ordersystem/sdk/text.h).
#include "ordersystem/sdk/text.h"

namespace ordersystem::sdk {

bool isUnicodeSpace(uint32_t cp) noexcept {
    if (cp == ' ' || (cp >= 0x09 && cp <= 0x0D)) return true;
    if (cp < 0x85) return false;
    switch (cp) {
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000: return true;
    case 0x180E:
    case 0x200B:
    case 0x2060:
    case 0xFEFF: return true;  // zero-width: show as nothing
    default: return cp >= 0x2000 && cp <= 0x200A;
    }
}

namespace {
/// Whether text is well-formed UTF-8 and every code point in it passes accept.
template <class Accept>
bool everyCodePoint(std::string_view text, Accept accept) noexcept {
    uint32_t cp;
    for (size_t pos = 0; pos < text.size();) {
        const size_t n = decodeUtf8(text, pos, &cp);
        if (n == 0 || !accept(cp)) return false;
        pos += n;
    }
    return true;
}
}  // namespace

bool isValidUtf8(std::string_view text) noexcept {
    return everyCodePoint(text, [](uint32_t) { return true; });
}

bool isCleanText(std::string_view text) noexcept {
    return everyCodePoint(text, [](uint32_t cp) { return !isControlCharacter(cp); });
}

bool isBlankText(std::string_view text) noexcept { return everyCodePoint(text, isUnicodeSpace); }

}  // namespace ordersystem::sdk
