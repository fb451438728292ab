// Contract: entity tags of orders (RFC 9110 8.8.3, 13.1). An order's ETag is its version as a
// strong tag, "3". If-Match on a command is `*` or one entity tag: the version it names, or a
// tag that can never match (a weak tag, since If-Match compares strongly, or one that is not a
// version); anything else is malformed (400). If-None-Match on a read is `*` or a list of tags
// compared weakly; a malformed one matches nothing. Pure functions over header text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ordersystem::plugins::orders::http {

/// The ETag header value of an order at `version`: "\"<version>\"".
std::string etagOf(int64_t version);

/// A header longer than this is refused (If-Match) or ignored (If-None-Match).
inline constexpr size_t kMaxPreconditionBytes = 4096;

/// What If-Match asks for.
struct IfMatch {
    bool valid = true;
    /// 0: any version (absent or `*`); -1: a tag no version matches; otherwise that version.
    int64_t version = 0;
};
IfMatch parseIfMatch(const std::string* header);

/// True when If-None-Match (`*` or a list of tags, weak or strong) names `version`.
bool ifNoneMatchHolds(std::string_view header, int64_t version);

}  // namespace ordersystem::plugins::orders::http
