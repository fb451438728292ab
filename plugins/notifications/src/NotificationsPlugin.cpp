// The webhook reaction: dedup lookup, one POST, remember on success, metrics and logs.
#include "NotificationsPlugin.h"

#include <algorithm>
#include <chrono>
#include <exception>

#include "DeadLetterRoutes.h"
#include "ordersystem/sdk/json.h"
#include "ordersystem/sdk/trace.h"
#include "ordersystem/sdk/util.h"

namespace ordersystem::plugins::notifications {

namespace {
/// A delivery continues the trace of the request that caused the event, as a new span.
std::string deliveryTraceparent(const sdk::EventRecord& event) {
    auto metadata = sdk::parseJson(event.metadataJson.empty() ? std::string_view("{}") : event.metadataJson);
    const sdk::JsonValue* parent = metadata ? metadata->find("traceparent") : nullptr;
    const std::string valid = parent && parent->isString() ? sdk::parseTraceparent(parent->asString()) : "";
    return valid.empty() ? sdk::newTraceparent() : sdk::childTraceparent(valid);
}
}  // namespace

using sdk::ConfigType;
using sdk::Result;
using sdk::Status;
using sdk::StatusCode;

const sdk::ConfigKeySpec kConfigKeys[] = {
    {"webhook_url", ConfigType::String, "",
     "http:// or https:// URL each event document is POSTed to, with Idempotency-Key: <eventId> (empty: events are "
     "only logged)"},
    {"timeout_ms", ConfigType::Int, "5000",
     "milliseconds one POST may take from connect to answer; a slower one counts as failed and is retried "
     "(1..600000)"},
    {"dedup_retention_hours", ConfigType::Int, "168",
     "hours this node remembers the eventIds it delivered, so an event handed over again is acknowledged without a "
     "second POST (1..8760)"},
    {"webhook_secret", ConfigType::String, "",
     "whsec_<base64 of a 16..512-byte key>, several separated by spaces while rotating: every delivery is then signed "
     "(Standard Webhooks headers webhook-id, webhook-timestamp, webhook-signature with one v1 signature per secret); "
     "empty: unsigned"},
    {"format", ConfigType::String, "native",
     "webhook body: native (the event document, application/json) or cloudevents (a CloudEvents 1.0 document with "
     "the event document as data, application/cloudevents+json); empty: native"},
    {"max_attempts", ConfigType::Int, "25",
     "deliveries of one event before it becomes a dead letter (GET /api/dead-letters), in every mode (1..1000)"},
    {"retry_initial_ms", ConfigType::Int, "200",
     "wait before the second delivery of a failing event; doubles on each failure up to retry_max_ms, each wait "
     "jittered between half and all of it, never shorter than the receiver's Retry-After (1..3600000)"},
    {"retry_max_ms", ConfigType::Int, "30000",
     "longest wait between two deliveries of one event (retry_initial_ms..86400000)"},
};
const uint32_t kConfigKeyCount = sizeof(kConfigKeys) / sizeof(kConfigKeys[0]);

namespace {
constexpr int64_t kPruneEveryMs = 3600LL * 1000;

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return {};
    const auto e = s.find_last_not_of(" \t\r\n");
    return s.substr(b, e - b + 1);
}

std::string describe(const sdk::EventRecord& e) {
    return "event " + e.type + " order " + std::to_string(e.orderId) + " v" + std::to_string(e.version);
}
}  // namespace

/// Looked up once at start (the Metrics contract), updated lock-free per delivery.
struct NotificationsPlugin::Instruments {
    sdk::Counter& success;
    sdk::Counter& failure;
    sdk::Counter& duplicate;
    sdk::Histogram& duration;

    explicit Instruments(sdk::Metrics& m)
        : success(counter(m, "success")),
          failure(counter(m, "failure")),
          duplicate(counter(m, "duplicate")),
          duration(m.histogram("ordersystem_webhook_delivery_duration_seconds",
                               "Time of one webhook POST attempt, answered or not")) {}

    static sdk::Counter& counter(sdk::Metrics& m, const char* outcome) {
        return m.counter("ordersystem_webhook_deliveries_total",
                         "Webhook deliveries by outcome (duplicate: acked without a POST)", {{"outcome", outcome}});
    }
};

Result<NotificationsSettings> parseSettings(const sdk::ConfigSection& config) {
    NotificationsSettings s;
    const std::string url = trim(config.getString("webhook_url"));
    if (!url.empty()) {
        auto target = parseWebhookUrl(url);
        if (!target) return target.status();
        s.webhook = std::move(target.value());
    }
    s.timeoutMs = config.getInt("timeout_ms");
    if (s.timeoutMs <= 0 || s.timeoutMs > 600000)
        return Status(StatusCode::InvalidConfig,
                      "notifications.timeout_ms = " + std::to_string(s.timeoutMs) + " must be between 1 and 600000");
    const int64_t hours = config.getInt("dedup_retention_hours");
    if (hours <= 0 || hours > 24 * 365)
        return Status(StatusCode::InvalidConfig,
                      "notifications.dedup_retention_hours = " + std::to_string(hours) + " must be between 1 and 8760");
    s.dedupRetentionMs = hours * 3600 * 1000;
    s.policy.maxAttempts = config.getInt("max_attempts");
    if (s.policy.maxAttempts < 1 || s.policy.maxAttempts > 1000)
        return Status(
            StatusCode::InvalidConfig,
            "notifications.max_attempts = " + std::to_string(s.policy.maxAttempts) + " must be between 1 and 1000");
    s.policy.retryInitialMs = config.getInt("retry_initial_ms");
    if (s.policy.retryInitialMs < 1 || s.policy.retryInitialMs > 3600000)
        return Status(StatusCode::InvalidConfig,
                      "notifications.retry_initial_ms = " + std::to_string(s.policy.retryInitialMs) +
                          " must be between 1 and 3600000");
    s.policy.retryMaxMs = config.getInt("retry_max_ms");
    if (s.policy.retryMaxMs < s.policy.retryInitialMs || s.policy.retryMaxMs > 86400000)
        return Status(StatusCode::InvalidConfig, "notifications.retry_max_ms = " + std::to_string(s.policy.retryMaxMs) +
                                                     " must be between retry_initial_ms (" +
                                                     std::to_string(s.policy.retryInitialMs) + ") and 86400000");
    auto signer = WebhookSigner::parse(config.getString("webhook_secret"));
    if (!signer) return signer.status();
    s.signer = std::move(signer.value());
    auto format = parsePayloadFormat(trim(config.getString("format")));
    if (!format) return format.status();
    s.format = format.value();
    return s;
}

NotificationsPlugin::NotificationsPlugin(NotificationsSettings settings) : _settings(std::move(settings)) {
    if (_settings.webhook) _client = std::make_unique<WebhookClient>(*_settings.webhook, _settings.timeoutMs);
}

NotificationsPlugin::~NotificationsPlugin() { stop(); }

std::unique_ptr<NotificationsPlugin> NotificationsPlugin::create(const sdk::ConfigSection& config, Status* error) {
    auto settings = parseSettings(config);
    if (!settings) {
        if (error) *error = settings.status();
        return nullptr;
    }
    return std::make_unique<NotificationsPlugin>(std::move(settings.value()));
}

Status NotificationsPlugin::start(sdk::Host& host) noexcept {
    try {
        _host = &host;
        sdk::EventLog* log = host.eventLog();
        if (!log)
            return Status(StatusCode::Internal, "notifications: no event log (a transport plugin must start first)");
        _metrics = std::make_unique<Instruments>(host.metrics());
        const std::string path = host.dataPath("notifications.db");
        if (_client) {
            Status opened = _store.open(path);
            if (!opened) return Status(opened.code, "notifications: " + opened.message);
            pruneIfDue(sdk::nowMs());
        }
        auto sub = log->subscribe(static_cast<sdk::Reaction&>(*this));
        if (!sub) {
            _store.close();
            return Status(sub.status().code,
                          "notifications: cannot subscribe to the event log: " + sub.status().message);
        }
        _subscription = sub.value();
        addDeadLetterRoutes(host.router(), *log, reactionName());
        if (_client)
            host.logger().info("notifications: POSTing every event to " + _client->target().display + " (" +
                               deliveryDescription() + ", timeout " + std::to_string(_settings.timeoutMs) +
                               " ms, up to " + std::to_string(_settings.policy.maxAttempts) +
                               " attempts; delivered eventIds kept in " + path + ")");
        else host.logger().info("notifications: no webhook_url configured, events are only logged");
        return Status::ok();
    } catch (const std::exception& e) {
        return Status(StatusCode::Internal, std::string("notifications: start failed: ") + e.what());
    } catch (...) {
        return Status(StatusCode::Internal, "notifications: start failed");
    }
}

std::string NotificationsPlugin::deliveryDescription() const {
    std::string text = _settings.format == PayloadFormat::CloudEvents ? "cloudevents" : "native";
    const size_t secrets = _settings.signer.secretCount();
    if (secrets == 0) return text + ", unsigned";
    return text + ", signed with " + std::to_string(secrets) + (secrets == 1 ? " secret" : " secrets");
}

void NotificationsPlugin::stop() noexcept {
    if (_subscription && _host && _host->eventLog()) _host->eventLog()->unsubscribe(*_subscription);
    _subscription.reset();
    _store.close();
}

Status NotificationsPlugin::handle(const sdk::EventRecord& event) noexcept {
    try {
        if (!_client) {
            if (_host) _host->logger().info(describe(event) + " (no webhook_url configured)");
            return Status::ok();
        }
        if (!claim(event.eventId))
            return Status(StatusCode::Unavailable, "event " + event.eventId + " is being delivered by another thread");
        Status result = deliver(event);
        release(event.eventId);
        return result;
    } catch (const std::exception& e) {
        release(event.eventId);
        return Status(StatusCode::Internal, std::string("notifications: ") + e.what());
    } catch (...) {
        release(event.eventId);
        return Status(StatusCode::Internal, "notifications: unexpected failure");
    }
}

Status NotificationsPlugin::deliver(const sdk::EventRecord& event) {
    sdk::Logger& log = _host->logger();
    auto seen = _store.contains(event.eventId);
    if (!seen) {
        // At least once: a broken delivery log must not lose the event, so POST anyway.
        log.warn("notifications: cannot check " + event.eventId + " in the delivery log (" + seen.status().message +
                 "), delivering anyway");
    } else if (seen.value()) {
        if (_metrics) _metrics->duplicate.inc();
        log.debug("notifications: " + describe(event) + " id " + event.eventId +
                  " already delivered by this node, acked");
        return Status::ok();
    }

    const std::string body = payloadBody(event, _settings.format);
    WebhookHeaders headers = _settings.signer.headers(event.eventId, sdk::nowMs() / 1000, body);
    if (std::string traceparent = deliveryTraceparent(event); !traceparent.empty())
        headers.emplace_back("traceparent", std::move(traceparent));
    const auto started = std::chrono::steady_clock::now();
    const DeliveryOutcome outcome = _client->post(body, event.eventId, payloadContentType(_settings.format), headers);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (_metrics) _metrics->duration.observe(seconds);

    if (!outcome.delivered) {
        if (_metrics) _metrics->failure.inc();
        log.warn("notifications: delivery of " + describe(event) + " id " + event.eventId + " to " +
                 _client->target().display + " failed: " + outcome.error + " (the transport will redeliver)");
        const StatusCode code = outcome.timedOut ? StatusCode::Timeout : StatusCode::Unavailable;
        Status failed(code, "webhook " + _client->target().display + ": " + outcome.error);
        failed.retryAfterMs = std::max<int64_t>(0, outcome.retryAfterMs);
        return failed;
    }
    if (_metrics) _metrics->success.inc();
    const int64_t now = sdk::nowMs();
    Status remembered = _store.markDelivered(event.eventId, now);
    if (!remembered)
        log.warn("notifications: delivered " + event.eventId + " but could not remember it (" + remembered.message +
                 "); a redelivery would POST it again");
    log.debug("notifications: delivered " + describe(event) + " id " + event.eventId + " (HTTP " +
              std::to_string(outcome.httpStatus) + ")");
    pruneIfDue(now);
    return Status::ok();
}

bool NotificationsPlugin::claim(const std::string& eventId) {
    std::lock_guard<std::mutex> lock(_inFlightMutex);
    return _inFlight.insert(eventId).second;
}

void NotificationsPlugin::release(const std::string& eventId) {
    std::lock_guard<std::mutex> lock(_inFlightMutex);
    _inFlight.erase(eventId);
}

void NotificationsPlugin::pruneIfDue(int64_t nowMs) {
    int64_t last = _lastPruneMs.load();
    if (nowMs - last < kPruneEveryMs || !_lastPruneMs.compare_exchange_strong(last, nowMs)) return;
    auto removed = _store.pruneOlderThan(nowMs - _settings.dedupRetentionMs);
    if (!removed) _host->logger().warn("notifications: pruning the delivery log failed: " + removed.status().message);
    else if (removed.value() > 0)
        _host->logger().info("notifications: forgot " + std::to_string(removed.value()) +
                             " delivered eventIds older than the retention");
}

}  // namespace ordersystem::plugins::notifications
