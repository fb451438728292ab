// Contract: Standard Webhooks signatures (https://www.standardwebhooks.com). parse() reads
// [notifications] webhook_secret once in create() on the main thread: empty means unsigned;
// otherwise one or more `whsec_<standard base64 with padding>` separated by spaces or tabs
// (several while a secret is rotated), each decoding to kMinKeyBytes..kMaxKeyBytes bytes, at most
// kMaxSecrets of them. A refusal names the key and the secret's position, never its text.
// The signer is immutable afterwards: headers() may be called from any thread at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ordersystem/sdk/status.h"

namespace ordersystem::plugins::notifications {

/// Header name and value pairs added to one POST.
using WebhookHeaders = std::vector<std::pair<std::string, std::string>>;

class WebhookSigner {
public:
    /// A shorter key is guessable; Standard Webhooks generates 24 to 64 bytes.
    static constexpr size_t kMinKeyBytes = 16;
    static constexpr size_t kMaxKeyBytes = 512;
    /// Rotation needs two; more only makes every delivery longer.
    static constexpr size_t kMaxSecrets = 8;

    /// Unsigned: headers() adds nothing.
    WebhookSigner() = default;
    /// InvalidConfig naming notifications.webhook_secret and which secret is wrong.
    static sdk::Result<WebhookSigner> parse(std::string_view configValue);

    bool enabled() const noexcept { return !_keys.empty(); }
    size_t secretCount() const noexcept { return _keys.size(); }

    /// "v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">", one per secret in configured
    /// order, separated by single spaces.
    std::string signature(std::string_view id, int64_t unixSeconds, std::string_view body) const;
    /// webhook-id, webhook-timestamp and webhook-signature for one attempt; empty when unsigned.
    WebhookHeaders headers(const std::string& id, int64_t unixSeconds, std::string_view body) const;

private:
    std::vector<std::string> _keys;  ///< decoded key bytes; never logged
};

}  // namespace ordersystem::plugins::notifications
