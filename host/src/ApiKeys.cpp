#include "ApiKeys.h"

#include <algorithm>
#include <fstream>

#include "Config.h"
#include "ordersystem/sdk/text.h"

namespace ordersystem::host {

using sdk::Status;
using sdk::StatusCode;

namespace {

bool parseHash(std::string_view text, Sha256& out) {
    if (text.size() != 64) return false;
    for (size_t i = 0; i < 32; ++i) {
        const int hi = sdk::hexDigitValue(text[2 * i]), lo = sdk::hexDigitValue(text[2 * i + 1]);
        if (hi < 0 || lo < 0) return false;
        out[i] = static_cast<unsigned char>(hi * 16 + lo);
    }
    return true;
}

constexpr size_t kMaxLabel = 64;

/// Splits off the first whitespace-separated word of t.
std::string_view firstWord(std::string_view& t) {
    const size_t end = std::min(t.find_first_of(" \t"), t.size());
    const std::string_view word = t.substr(0, end);
    t = trim(t.substr(end));
    return word;
}

/// The label rule of ApiKeys.h; "" when it holds, otherwise what is wrong.
std::string labelError(std::string_view label) {
    if (label.size() > kMaxLabel) return "a key label is at most " + std::to_string(kMaxLabel) + " characters";
    for (const char c : label)
        if (c < 0x21 || c > 0x7E) return "a key label is visible ASCII without spaces";
    return {};
}

}  // namespace

sdk::Result<ApiKeys> ApiKeys::load(const std::string& path) {
    std::ifstream in(path);
    if (!in) return Status(StatusCode::InvalidConfig, "[http] api_keys_file: cannot read " + path);
    std::vector<Sha256> hashes;
    std::vector<std::string> labels;
    std::string line;
    int lineNo = 0;
    while (std::getline(in, line)) {
        ++lineNo;
        std::string_view t = trim(line);
        if (t.empty() || t.front() == '#') continue;
        const std::string where = "[http] api_keys_file " + path + ":" + std::to_string(lineNo) + ": ";
        std::string_view token = firstWord(t);
        std::string label;
        Sha256 h{};
        if (!parseHash(token, h)) {
            if (std::string why = labelError(token); !why.empty())
                return Status(StatusCode::InvalidConfig, where + why);
            label.assign(token);
            token = firstWord(t);
            if (!parseHash(token, h))
                return Status(StatusCode::InvalidConfig,
                              where +
                                  "expected `sha256hex` or `label sha256hex`, the hash 64 hex digits "
                                  "(printf %s KEY | sha256sum)");
        }
        hashes.push_back(h);
        labels.push_back(std::move(label));
    }
    if (hashes.empty())
        return Status(StatusCode::InvalidConfig,
                      "[http] api_keys_file " + path + " holds no key hash: every /api request would be refused");
    return ApiKeys(std::move(hashes), std::move(labels));
}

const std::string* ApiKeys::match(std::string_view key) const {
    if (key.empty()) return nullptr;
    const Sha256 presented = sdk::sha256(key);
    const std::string* matched = nullptr;
    for (size_t k = 0; k < _hashes.size(); ++k) {
        unsigned diff = 0;
        for (size_t i = 0; i < _hashes[k].size(); ++i) diff |= static_cast<unsigned>(_hashes[k][i] ^ presented[i]);
        if (diff == 0) matched = &_labels[k];
    }
    return matched;
}

std::string presentedApiKey(std::string_view authorization, std::string_view xApiKey) {
    const std::string_view auth = trim(authorization);
    if (auth.size() > 7 && toLower(auth.substr(0, 7)) == "bearer ") return std::string(trim(auth.substr(7)));
    return std::string(trim(xApiKey));
}

}  // namespace ordersystem::host
