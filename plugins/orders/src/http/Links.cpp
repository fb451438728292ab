// The next-page Link header (see Links.h).
#include "http/Links.h"

namespace ordersystem::plugins::orders::http {

std::string percentEncode(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size());
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                                c == '-' || c == '.' || c == '_' || c == '~';
        if (unreserved) {
            out.push_back(ch);
        } else {
            out.push_back('%');
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 0xF]);
        }
    }
    return out;
}

std::string nextPageLink(const sdk::HttpRequest& request, std::string_view nextCursor) {
    std::string target = "<";
    // The decoded path's segments; "/" separates them and is never part of one.
    size_t start = 0;
    const std::string_view path(request.path);
    while (start < path.size()) {
        size_t slash = path.find('/', start + 1);
        if (slash == std::string_view::npos) slash = path.size();
        target.push_back('/');
        target += percentEncode(path.substr(start + 1, slash - start - 1));
        start = slash;
    }
    char separator = '?';
    for (const auto& [name, value] : request.queryParams) {
        if (name == "cursor") continue;
        target.push_back(separator);
        target += percentEncode(name);
        target.push_back('=');
        target += percentEncode(value);
        separator = '&';
    }
    target.push_back(separator);
    target += "cursor=";
    target += percentEncode(nextCursor);
    target += ">; rel=\"next\"";
    return target;
}

}  // namespace ordersystem::plugins::orders::http
