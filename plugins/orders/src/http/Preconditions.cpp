// Entity tags and the conditional request headers (see Preconditions.h).
#include "http/Preconditions.h"

namespace ordersystem::plugins::orders::http {

namespace {

/// Largest version a tag may name (ids and versions stay exact in JSON doubles).
constexpr int64_t kVersionLimit = int64_t{1} << 53;

bool isSpace(char c) { return c == ' ' || c == '\t'; }

void skipSpace(std::string_view text, size_t* pos) {
    while (*pos < text.size() && isSpace(text[*pos])) ++*pos;
}

struct Tag {
    bool weak = false;
    std::string_view opaque;  ///< between the quotes
};

/// Reads one entity-tag at *pos; false when there is none well-formed there.
bool readTag(std::string_view text, size_t* pos, Tag* tag) {
    size_t i = *pos;
    tag->weak = text.substr(i, 2) == "W/";
    if (tag->weak) i += 2;
    if (i >= text.size() || text[i] != '"') return false;
    const size_t start = ++i;
    // etagc: %x21 / %x23-7E / obs-text
    while (i < text.size() && text[i] != '"') {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x21 || c == 0x7F) return false;
        ++i;
    }
    if (i >= text.size()) return false;
    tag->opaque = text.substr(start, i - start);
    *pos = i + 1;
    return true;
}

/// The version an opaque tag names; -1 when it names none.
int64_t versionOf(std::string_view opaque) {
    if (opaque.empty() || opaque.size() > 16 || opaque[0] == '0') return -1;
    int64_t v = 0;
    for (const char c : opaque) {
        if (c < '0' || c > '9') return -1;
        v = v * 10 + (c - '0');
    }
    return v < kVersionLimit ? v : -1;
}

std::string_view trimmed(std::string_view v) {
    size_t b = 0, e = v.size();
    while (b < e && isSpace(v[b])) ++b;
    while (e > b && isSpace(v[e - 1])) --e;
    return v.substr(b, e - b);
}

}  // namespace

std::string etagOf(int64_t version) { return "\"" + std::to_string(version) + "\""; }

IfMatch parseIfMatch(const std::string* header) {
    if (!header) return {};
    const std::string_view v = trimmed(*header);
    if (v.size() > kMaxPreconditionBytes) return {false, 0};
    if (v == "*") return {};
    size_t pos = 0;
    Tag tag;
    if (!readTag(v, &pos, &tag) || pos != v.size()) return {false, 0};
    if (tag.weak) return {true, -1};
    return {true, versionOf(tag.opaque)};
}

bool ifNoneMatchHolds(std::string_view header, int64_t version) {
    const std::string_view v = trimmed(header);
    if (v.size() > kMaxPreconditionBytes || version <= 0) return false;
    if (v == "*") return true;
    size_t pos = 0;
    bool matched = false;
    while (pos < v.size()) {
        Tag tag;
        if (!readTag(v, &pos, &tag)) return false;
        matched = matched || versionOf(tag.opaque) == version;
        skipSpace(v, &pos);
        if (pos == v.size()) break;
        if (v[pos] != ',') return false;
        ++pos;
        // Empty list elements are allowed (RFC 9110 5.6.1).
        while (pos < v.size() && (isSpace(v[pos]) || v[pos] == ',')) ++pos;
    }
    return matched;
}

}  // namespace ordersystem::plugins::orders::http
