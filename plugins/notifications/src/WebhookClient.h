// Contract: one HTTP POST of one event document to the configured webhook.
// parseWebhookUrl() runs once in create() on the main thread; WebhookClient::post() is called
// concurrently from the transport's delivery threads (it keeps no shared mutable state: a fresh
// Poco session per call). post() never throws and makes exactly one attempt, bounded by the
// timeout: retries and back-off belong to the transport that redelivers the event.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "WebhookSigner.h"
#include "ordersystem/sdk/status.h"

namespace ordersystem::plugins::notifications {

/// A parsed webhook URL: everything post() needs, checked once at create().
struct WebhookTarget {
    std::string scheme;  ///< "http" or "https"
    std::string host;
    uint16_t port = 0;
    std::string pathAndQuery;  ///< at least "/"
    /// Safe to log: scheme://host:port/path, without user info or query (they may hold secrets).
    std::string display;
};

/// Parses [notifications] webhook_url. InvalidConfig naming the key on anything unusable.
sdk::Result<WebhookTarget> parseWebhookUrl(std::string_view url);

/// True when this build can POST to https:// URLs (Poco NetSSL was found at build time).
bool httpsSupported() noexcept;

/// What one attempt did.
struct DeliveryOutcome {
    bool delivered = false;  ///< a 2xx answer
    int httpStatus = 0;      ///< 0 when no answer came (connection error, timeout)
    std::string error;       ///< empty when delivered; otherwise what went wrong, for the log
    bool timedOut = false;
    /// A 429 or 503 with a valid Retry-After: the wait it asks for in ms; -1 otherwise.
    int64_t retryAfterMs = -1;
};

class WebhookClient {
public:
    WebhookClient(WebhookTarget target, int64_t timeoutMs);
    ~WebhookClient();
    WebhookClient(const WebhookClient&) = delete;
    WebhookClient& operator=(const WebhookClient&) = delete;

    const WebhookTarget& target() const noexcept { return _target; }

    /// POSTs body as contentType with Idempotency-Key: idempotencyKey and the extra headers
    /// (the signature's). One attempt.
    DeliveryOutcome post(const std::string& body, const std::string& idempotencyKey,
                         const char* contentType = "application/json", const WebhookHeaders& extra = {}) const noexcept;

private:
    WebhookTarget _target;
    int64_t _timeoutMs;
};

}  // namespace ordersystem::plugins::notifications
