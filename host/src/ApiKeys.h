// Contract: the optional API keys of [http] api_keys_file. A line is `sha256hex` or
// `label sha256hex`: the hash is 64 hex digits; when the line's first word is not one, it is the
// key's label and the second word must be the hash. `#` lines and blank lines are skipped and
// anything after the hash is ignored, so `sha256sum` output can be appended as is. A label is 1-64
// visible ASCII characters (no spaces, not starting with `#`) and names the actor of the key's
// requests. Loaded once on the main thread at start-up (InvalidConfig names file:line); match()
// and accepts() are read-only and thread-safe afterwards.
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
    explicit ApiKeys(std::vector<Sha256> hashes, std::vector<std::string> labels = {})
        : _hashes(std::move(hashes)), _labels(std::move(labels)) {
        _labels.resize(_hashes.size());
    }

    bool enabled() const { return !_hashes.empty(); }
    size_t size() const { return _hashes.size(); }
    /// True when key hashes to one of the configured hashes. Time does not depend on which hash
    /// matched or where the first differing byte is: every hash is compared in full.
    bool accepts(std::string_view key) const { return match(key) != nullptr; }
    /// The label of the key's line ("" when unlabelled); null when no hash matches. Timed like accepts().
    const std::string* match(std::string_view key) const;

private:
    std::vector<Sha256> _hashes;
    std::vector<std::string> _labels;  ///< one per hash
};

/// The key a request presents: `Authorization: Bearer <key>` (scheme case-insensitive) or else
/// `X-Api-Key: <key>`; "" when neither is there.
std::string presentedApiKey(std::string_view authorization, std::string_view xApiKey);

}  // namespace ordersystem::host
