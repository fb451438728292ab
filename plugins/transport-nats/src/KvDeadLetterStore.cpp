// A reaction's dead letters in a JetStream KV bucket; see KvDeadLetterStore.h.
#include "KvDeadLetterStore.h"

#include "CnatsGuards.h"
#include "NatsSettings.h"
#include "ordersystem/sdk/json.h"

namespace ordersystem::plugins::nats {

using sdk::Status;
using sdk::StatusCode;

using transport::deadLetterFromJson;
using transport::deadLetterToJson;

KvDeadLetterStore::KvDeadLetterStore(NatsClient& client, kvStore* bucket, const std::string& reaction)
    : _client(client), _bucket(bucket), _prefix(safeName(reaction) + ".") {}

std::string KvDeadLetterStore::key(const std::string& eventId) const { return _prefix + safeName(eventId); }

sdk::Result<std::vector<sdk::DeadLetter>> KvDeadLetterStore::list(size_t limit) noexcept {
    if (!_client.connected()) return _client.unavailable("cannot list dead letters");
    kvWatchOptions opts;
    kvWatchOptions_Init(&opts);
    opts.IgnoreDeletes = true;
    KvWatcherGuard w;
    natsStatus s = kvStore_Watch(&w.watcher, _bucket, (_prefix + ">").c_str(), &opts);
    if (s != NATS_OK) return toStatus(s, static_cast<jsErrCode>(0), "cannot list dead letters");
    std::vector<sdk::DeadLetter> out;
    const int64_t timeoutMs = _client.requestOptions().Wait;
    while (out.size() < limit) {
        KvEntryGuard e;
        s = kvWatcher_Next(&e.entry, w.watcher, timeoutMs);
        if (s != NATS_OK) return toStatus(s, static_cast<jsErrCode>(0), "cannot list dead letters");
        if (e.entry == nullptr) break;  // every stored one was seen
        if (kvEntry_Operation(e.entry) != kvOp_Put) continue;
        auto letter = deadLetterFromJson(std::string_view(static_cast<const char*>(kvEntry_Value(e.entry)),
                                                          static_cast<size_t>(kvEntry_ValueLen(e.entry))));
        if (letter) out.push_back(std::move(*letter));
    }
    return out;
}

sdk::Result<std::optional<sdk::DeadLetter>> KvDeadLetterStore::find(const std::string& eventId) noexcept {
    if (!_client.connected()) return _client.unavailable("cannot read dead letters");
    KvEntryGuard e;
    const natsStatus s = kvStore_Get(&e.entry, _bucket, key(eventId).c_str());
    if (s == NATS_NOT_FOUND) return std::optional<sdk::DeadLetter>();
    if (s != NATS_OK) return toStatus(s, static_cast<jsErrCode>(0), "cannot read dead letters");
    auto letter = deadLetterFromJson(std::string_view(static_cast<const char*>(kvEntry_Value(e.entry)),
                                                      static_cast<size_t>(kvEntry_ValueLen(e.entry))));
    // safeName folds characters, so the stored eventId decides (another id may share the key).
    if (!letter || letter->event.eventId != eventId) return std::optional<sdk::DeadLetter>();
    return std::optional<sdk::DeadLetter>(std::move(*letter));
}

Status KvDeadLetterStore::put(const sdk::DeadLetter& letter) noexcept {
    if (!_client.connected()) return _client.unavailable("cannot store a dead letter");
    try {
        const std::string value = deadLetterToJson(letter);
        uint64_t rev = 0;
        const natsStatus s =
            kvStore_Put(&rev, _bucket, key(letter.event.eventId).c_str(), value.data(), static_cast<int>(value.size()));
        if (s != NATS_OK) return toStatus(s, static_cast<jsErrCode>(0), "cannot store a dead letter");
        return Status::ok();
    } catch (const std::exception& ex) {
        return Status(StatusCode::Internal, std::string("cannot store a dead letter: ") + ex.what());
    }
}

Status KvDeadLetterStore::remove(const std::string& eventId) noexcept {
    if (!_client.connected()) return _client.unavailable("cannot remove a dead letter");
    const natsStatus s = kvStore_Delete(_bucket, key(eventId).c_str());
    if (s != NATS_OK && s != NATS_NOT_FOUND)
        return toStatus(s, static_cast<jsErrCode>(0), "cannot remove a dead letter");
    return Status::ok();
}

}  // namespace ordersystem::plugins::nats
