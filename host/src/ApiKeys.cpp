#include "ApiKeys.h"

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

}  // namespace

sdk::Result<ApiKeys> ApiKeys::load(const std::string& path) {
    std::ifstream in(path);
    if (!in) return Status(StatusCode::InvalidConfig, "[http] api_keys_file: cannot read " + path);
    std::vector<Sha256> hashes;
    std::string line;
    int lineNo = 0;
    while (std::getline(in, line)) {
        ++lineNo;
        const std::string_view t = trim(line);
        if (t.empty() || t.front() == '#') continue;
        const std::string_view token = t.substr(0, t.find_first_of(" \t"));
        Sha256 h{};
        if (!parseHash(token, h))
            return Status(StatusCode::InvalidConfig,
                          "[http] api_keys_file " + path + ":" + std::to_string(lineNo) +
                              ": expected a SHA-256 hash of 64 hex digits (printf %s KEY | sha256sum)");
        hashes.push_back(h);
    }
    if (hashes.empty())
        return Status(StatusCode::InvalidConfig,
                      "[http] api_keys_file " + path + " holds no key hash: every /api request would be refused");
    return ApiKeys(std::move(hashes));
}

bool ApiKeys::accepts(std::string_view key) const {
    if (key.empty()) return false;
    const Sha256 presented = sdk::sha256(key);
    unsigned matched = 0;
    for (const Sha256& h : _hashes) {
        unsigned diff = 0;
        for (size_t i = 0; i < h.size(); ++i) diff |= static_cast<unsigned>(h[i] ^ presented[i]);
        matched |= static_cast<unsigned>(diff == 0);
    }
    return matched != 0;
}

std::string presentedApiKey(std::string_view authorization, std::string_view xApiKey) {
    const std::string_view auth = trim(authorization);
    if (auth.size() > 7 && toLower(auth.substr(0, 7)) == "bearer ") return std::string(trim(auth.substr(7)));
    return std::string(trim(xApiKey));
}

}  // namespace ordersystem::host
