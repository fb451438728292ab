// W3C Trace Context, https://www.w3.org/TR/trace-context/#traceparent-header (see trace.h).
#include "ordersystem/sdk/trace.h"

#include "Random.h"
#include "ordersystem/sdk/util.h"

namespace ordersystem::sdk {

namespace {

constexpr size_t kLength = 55;  // "00-" + 32 + "-" + 16 + "-" + 2

/// Lower-case hex of exactly `field`'s length; with nonZero, not all '0'.
bool hexField(std::string_view field, bool nonZero) noexcept {
    bool zero = true;
    for (const char c : field) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
        zero = zero && c == '0';
    }
    return !field.empty() && !(nonZero && zero);
}

/// Appends 16 random lower-case hex digits, none of them a format call: every request without a
/// traceparent gets a new one.
void appendRandomHex16(std::string& out) {
    static constexpr char kHex[] = "0123456789abcdef";
    uint64_t word = detail::randomWord();
    for (int i = 0; i < 16; ++i, word >>= 4) out.push_back(kHex[word & 0xF]);
}

}  // namespace

std::string parseTraceparent(std::string_view v) {
    if (v.size() < kLength || v[2] != '-' || v[35] != '-' || v[52] != '-') return {};
    const std::string_view version = v.substr(0, 2);
    if (!hexField(version, false) || version == "ff") return {};
    // Version 00 is exactly 55 characters; a later version may append "-<more>".
    if (version == "00" ? v.size() != kLength : (v.size() > kLength && v[kLength] != '-')) return {};
    if (!hexField(v.substr(3, 32), true) || !hexField(v.substr(36, 16), true) || !hexField(v.substr(53, 2), false))
        return {};
    std::string out("00");
    out.append(v.substr(2, kLength - 2));
    return out;
}

std::string newTraceparent() {
    std::string out;
    out.reserve(kLength);
    out.append("00-");
    appendRandomHex16(out);
    appendRandomHex16(out);
    out.push_back('-');
    appendRandomHex16(out);
    out.append("-01");
    return out;
}

std::string childTraceparent(std::string_view parent) {
    if (traceIdOf(parent).empty()) return newTraceparent();
    std::string out(parent.substr(0, 36));
    appendRandomHex16(out);
    out.append(parent.substr(52, 3));
    return out;
}

std::string_view traceIdOf(std::string_view traceparent) noexcept {
    if (traceparent.size() != kLength || traceparent[2] != '-' || traceparent[35] != '-') return {};
    return traceparent.substr(3, 32);
}

}  // namespace ordersystem::sdk
