// A reaction's shared delivery state in KV buckets; see ReactionState.h.
#include "ReactionState.h"

#include <algorithm>
#include <cstdlib>

#include "CnatsGuards.h"
#include "KvBuckets.h"

namespace ordersystem::plugins::nats {

using sdk::Status;

namespace {

constexpr int64_t kNanosPerMs = 1000000;
/// Longer than any retry schedule: max_attempts waits of at most an hour (a capped Retry-After).
constexpr int64_t kAttemptsTtlMs = int64_t{7} * 24 * 3600 * 1000;
/// Compare-and-set rounds before advance() gives up (only a duplicate delivery races it).
constexpr int kAdvanceRounds = 5;

/// The decimal value of an entry; -1 when it is not one.
int64_t number(kvEntry* entry) {
    const char* text = kvEntry_ValueString(entry);
    if (text == nullptr || *text == '\0') return -1;
    char* end = nullptr;
    const long long n = std::strtoll(text, &end, 10);
    return *end == '\0' && n >= 0 ? n : -1;
}

sdk::Result<kvStore*> bucket(NatsClient& client, const std::string& name, int64_t ttlMs, const Settings& settings) {
    return openBucket(client, name, ttlMs * kNanosPerMs, settings);
}

}  // namespace

ReactionState::ReactionState(const Settings& settings, NatsClient& client, std::string consumer)
    : _settings(settings), _client(client), _consumer(std::move(consumer)) {}

ReactionState::~ReactionState() { close(); }

Status ReactionState::open() {
    auto done = bucket(_client, _settings.reactionsDoneBucket(), kDoneTtlMs, _settings);
    if (!done) return done.status();
    _done = *done;
    // Expiring like the done marks: an order's event after that goes by the stream's ack floor.
    auto progress = bucket(_client, _settings.reactionsProgressBucket(), kDoneTtlMs, _settings);
    if (!progress) return progress.status();
    _progress = *progress;
    auto attempts = bucket(_client, _settings.reactionsAttemptsBucket(), kAttemptsTtlMs, _settings);
    if (!attempts) return attempts.status();
    _attempts = *attempts;
    return Status::ok();
}

void ReactionState::close() noexcept {
    for (kvStore** kv : {&_done, &_progress, &_attempts}) {
        if (*kv != nullptr) kvStore_Destroy(*kv);
        *kv = nullptr;
    }
}

std::string ReactionState::eventKey(const std::string& eventId) const { return _consumer + "." + safeName(eventId); }

bool ReactionState::done(const std::string& eventId) {
    KvEntryGuard e;
    return kvStore_Get(&e.entry, _done, eventKey(eventId).c_str()) == NATS_OK;
}

void ReactionState::markDone(const std::string& eventId) {
    uint64_t rev = 0;
    (void)kvStore_PutString(&rev, _done, eventKey(eventId).c_str(), "1");  // a miss costs one dedup, no more
}

sdk::Result<int64_t> ReactionState::progress(int64_t orderId) {
    KvEntryGuard e;
    const natsStatus s = kvStore_Get(&e.entry, _progress, (_consumer + "." + std::to_string(orderId)).c_str());
    if (s == NATS_NOT_FOUND) return int64_t{0};
    if (s != NATS_OK)
        return toStatus(s, static_cast<jsErrCode>(0), "cannot read the progress of order " + std::to_string(orderId));
    return std::max<int64_t>(0, number(e.entry));
}

Status ReactionState::advance(int64_t orderId, int64_t version) {
    const std::string key = _consumer + "." + std::to_string(orderId);
    const std::string value = std::to_string(version);
    for (int round = 0; round < kAdvanceRounds; ++round) {
        KvEntryGuard e;
        natsStatus s = kvStore_Get(&e.entry, _progress, key.c_str());
        uint64_t rev = 0;
        if (s == NATS_NOT_FOUND) {
            s = kvStore_CreateString(&rev, _progress, key.c_str(), value.c_str());
        } else if (s == NATS_OK) {
            if (number(e.entry) >= version) return Status::ok();
            s = kvStore_UpdateString(&rev, _progress, key.c_str(), value.c_str(), kvEntry_Revision(e.entry));
        }
        if (s == NATS_OK) return Status::ok();
        if (s != NATS_ERR) break;  // NATS_ERR: another writer came first; look again
    }
    return Status(sdk::StatusCode::Unavailable, "cannot record the progress of order " + std::to_string(orderId));
}

sdk::Result<int64_t> ReactionState::failedAttempts(const std::string& eventId) {
    KvEntryGuard e;
    const natsStatus s = kvStore_Get(&e.entry, _attempts, eventKey(eventId).c_str());
    if (s == NATS_NOT_FOUND) return int64_t{0};
    if (s != NATS_OK) return toStatus(s, static_cast<jsErrCode>(0), "cannot read the attempts of event " + eventId);
    return std::max<int64_t>(0, number(e.entry));
}

Status ReactionState::recordFailedAttempts(const std::string& eventId, int64_t attempts) {
    uint64_t rev = 0;
    const natsStatus s =
        kvStore_PutString(&rev, _attempts, eventKey(eventId).c_str(), std::to_string(attempts).c_str());
    if (s != NATS_OK) return toStatus(s, static_cast<jsErrCode>(0), "cannot record the attempts of event " + eventId);
    return Status::ok();
}

void ReactionState::clearFailedAttempts(const std::string& eventId) {
    (void)kvStore_Delete(_attempts, eventKey(eventId).c_str());  // a leftover expires with the bucket's TTL
}

}  // namespace ordersystem::plugins::nats
