// Contract: the optional API keys of [http] api_keys_file. The file holds one SHA-256 hash (64
// hex digits) per line; `#` lines and blank lines are skipped and anything after the hash is
// ignored, so `sha256sum` output can be appended as is. Loaded once on the main thread at
// start-up (InvalidConfig names file:line); accepts() is read-only and thread-safe afterwards.
// The key itself is never stored: only its hash, so the file is not a secret worth stealing.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ordersystem/sdk/status.h"
#include "ordersystem/sdk/util.h"

namespace ordersystem::host {

using sdk::Sha256;

class ApiKeys {
public:
    ApiKeys() = default;
    /// Reads the hash file; an empty or unreadable file, or a malformed line, is refused.
    static sdk::Result<ApiKeys> load(const std::string& path);
    explicit ApiKeys(std::vector<Sha256> hashes) : _hashes(std::move(hashes)) {}

    bool enabled() const { return !_hashes.empty(); }
    size_t size() const { return _hashes.size(); }
    /// True when key hashes to one of the configured hashes. Time does not depend on which hash
    /// matched or where the first differing byte is: every hash is compared in full.
    bool accepts(std::string_view key) const;

private:
    std::vector<Sha256> _hashes;
};

/// The key a request presents: `Authorization: Bearer <key>` (scheme case-insensitive) or else
/// `X-Api-Key: <key>`; "" when neither is there.
std::string presentedApiKey(std::string_view authorization, std::string_view xApiKey);

}  // namespace ordersystem::host
