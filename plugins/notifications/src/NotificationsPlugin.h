// Contract: the "notifications" Handler plugin. create() (main thread, also for --check-config)
// parses [notifications] and refuses a bad value (webhook_url, webhook_secret, format...) naming the key. start() opens
// <data_dir>/notifications.db and subscribes the Reaction "notifications" to the host's event
// log; stop() unsubscribes (returns once no handle() runs) and closes the file.
// handle() is called by the transport on its delivery threads, possibly concurrently: it makes
// one POST attempt and answers Ok (ack) on a 2xx or for an event this node already delivered,
// non-Ok otherwise (with the receiver's Retry-After) so that the transport redelivers on the
// schedule of deliveryPolicy() (max_attempts, retry_initial_ms, retry_max_ms). It never sleeps or
// retries. start() also registers GET /api/dead-letters and POST /api/dead-letters/{eventId}/retry.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "DeliveredStore.h"
#include "WebhookClient.h"
#include "WebhookPayload.h"
#include "WebhookSigner.h"
#include "ordersystem/sdk/eventlog.h"
#include "ordersystem/sdk/plugin.h"

namespace ordersystem::plugins::notifications {

/// The keys of [notifications], as the descriptor declares them.
extern const sdk::ConfigKeySpec kConfigKeys[];
extern const uint32_t kConfigKeyCount;

struct NotificationsSettings {
    std::optional<WebhookTarget> webhook;  ///< none: log only
    int64_t timeoutMs = 5000;
    int64_t dedupRetentionMs = 7LL * 24 * 3600 * 1000;
    WebhookSigner signer;  ///< unsigned unless webhook_secret is set
    PayloadFormat format = PayloadFormat::Native;
    sdk::DeliveryPolicy policy{25, 200, 30000};  ///< max_attempts, retry_initial_ms, retry_max_ms
};

/// Reads and checks [notifications]; InvalidConfig naming the key on a bad value.
sdk::Result<NotificationsSettings> parseSettings(const sdk::ConfigSection& config);

class NotificationsPlugin final : public sdk::Plugin, public sdk::Reaction {
public:
    explicit NotificationsPlugin(NotificationsSettings settings);
    ~NotificationsPlugin() override;

    /// Descriptor entry: settings from config, or null with *error set.
    static std::unique_ptr<NotificationsPlugin> create(const sdk::ConfigSection& config, sdk::Status* error);

    sdk::Status start(sdk::Host& host) noexcept override;
    void stop() noexcept override;

    std::string_view reactionName() const noexcept override { return "notifications"; }
    sdk::Status handle(const sdk::EventRecord& event) noexcept override;
    sdk::DeliveryPolicy deliveryPolicy() const noexcept override { return _settings.policy; }

private:
    struct Instruments;
    sdk::Status deliver(const sdk::EventRecord& event);
    /// For the start line: the format and how many secrets sign (never the secrets).
    std::string deliveryDescription() const;
    /// Claims eventId for this thread; false when another thread is delivering it right now.
    bool claim(const std::string& eventId);
    void release(const std::string& eventId);
    void pruneIfDue(int64_t nowMs);

    NotificationsSettings _settings;
    std::unique_ptr<WebhookClient> _client;
    DeliveredStore _store;
    sdk::Host* _host = nullptr;
    std::unique_ptr<Instruments> _metrics;
    std::optional<sdk::SubscriptionId> _subscription;

    std::mutex _inFlightMutex;
    std::set<std::string> _inFlight;  ///< eventIds being POSTed on this node now
    std::atomic<int64_t> _lastPruneMs{0};
};

}  // namespace ordersystem::plugins::notifications
