// Contract: the `Link: <...>; rel="next"` header of the list routes (RFC 8288). The target is the
// request's own path and query with the cursor replaced by the next page's, every path segment and
// query name and value percent-encoded (RFC 3986: all but unreserved characters), so decoding it
// gives back what the request decoded to. Pure functions.
#pragma once

#include <string>
#include <string_view>

#include "ordersystem/sdk/http.h"

namespace ordersystem::plugins::orders::http {

/// Percent-encodes every byte except ALPHA / DIGIT / "-" / "." / "_" / "~".
std::string percentEncode(std::string_view text);

/// `<path?query&cursor=next>; rel="next"` for request (its decoded path and query parameters).
std::string nextPageLink(const sdk::HttpRequest& request, std::string_view nextCursor);

}  // namespace ordersystem::plugins::orders::http
