// Idempotency keys in a JetStream KV bucket; see KvIdempotencyStore.h.
#include "KvIdempotencyStore.h"

#include "KvBuckets.h"
#include "ordersystem/sdk/json.h"
#include "ordersystem/sdk/util.h"

namespace ordersystem::plugins::nats {

namespace {

constexpr int64_t kTtlNs = int64_t{24} * 3600 * 1000 * 1000000;

/// {"state":"inflight"|"done","fingerprint":"..","response":"..","leaseUntil":ms}
std::string encode(bool done, const std::string& fingerprint, const std::string& response, int64_t leaseUntilMs) {
    std::string out;
    sdk::JsonWriter w(out);
    w.beginObject();
    w.key("state").value(done ? "done" : "inflight");
    w.key("fingerprint").value(fingerprint);
    w.key("response").value(response);
    w.key("leaseUntil").value(leaseUntilMs);
    w.endObject();
    return out;
}

struct Stored {
    bool done = false;
    std::string fingerprint;
    std::string response;
    int64_t leaseUntilMs = 0;
};

bool decode(const char* data, int len, Stored* out) {
    auto doc = sdk::parseJson(std::string_view(data, static_cast<size_t>(len)));
    if (!doc || !doc->isObject()) return false;
    const auto* state = doc->find("state");
    const auto* fp = doc->find("fingerprint");
    const auto* resp = doc->find("response");
    const auto* lease = doc->find("leaseUntil");
    if (state == nullptr || fp == nullptr || resp == nullptr || lease == nullptr) return false;
    out->done = state->asString() == "done";
    out->fingerprint = fp->asString();
    out->response = resp->asString();
    return lease->asInt64(&out->leaseUntilMs);
}

}  // namespace

KvIdempotencyStore::KvIdempotencyStore(const Settings& settings, NatsClient& client)
    : _settings(settings), _client(client) {}

KvIdempotencyStore::~KvIdempotencyStore() { close(); }

sdk::Status KvIdempotencyStore::open() {
    auto kv = openBucket(_client, _settings.idempotencyBucket(), kTtlNs, _settings);
    if (!kv) return kv.status();
    _kv = *kv;
    return sdk::Status::ok();
}

void KvIdempotencyStore::close() noexcept {
    if (_kv != nullptr) kvStore_Destroy(_kv);
    _kv = nullptr;
}

sdk::Result<sdk::IdempotencyClaim> KvIdempotencyStore::claimOnce(const std::string& kvKey,
                                                                 const std::string& fingerprint, int64_t leaseMs,
                                                                 bool* retry) {
    *retry = false;
    const std::string mine = encode(false, fingerprint, "", sdk::nowMs() + leaseMs);
    uint64_t rev = 0;
    natsStatus s = kvStore_Create(&rev, _kv, kvKey.c_str(), mine.data(), static_cast<int>(mine.size()));
    if (s == NATS_OK) return sdk::IdempotencyClaim{};  // Claimed
    if (s != NATS_ERR) return toStatus(s, static_cast<jsErrCode>(0), "cannot claim an Idempotency-Key");

    // Create refused: somebody holds or finished the key. Look at it.
    kvEntry* entry = nullptr;
    s = kvStore_Get(&entry, _kv, kvKey.c_str());
    if (s == NATS_NOT_FOUND) {
        *retry = true;  // released or expired in between
        return sdk::Status(sdk::StatusCode::Conflict, "Idempotency-Key changed concurrently");
    }
    if (s != NATS_OK) return toStatus(s, static_cast<jsErrCode>(0), "cannot read an Idempotency-Key");
    Stored stored;
    const bool ok = decode(static_cast<const char*>(kvEntry_Value(entry)), kvEntry_ValueLen(entry), &stored);
    const uint64_t revision = kvEntry_Revision(entry);
    kvEntry_Destroy(entry);
    if (!ok) return sdk::Status(sdk::StatusCode::Internal, "an Idempotency-Key entry is unreadable");

    sdk::IdempotencyClaim claim;
    if (stored.done) {
        claim.state = sdk::IdempotencyClaim::State::Completed;
        claim.fingerprint = stored.fingerprint;
        claim.response = stored.response;
        return claim;
    }
    if (stored.leaseUntilMs > sdk::nowMs()) {
        claim.state = sdk::IdempotencyClaim::State::InFlight;
        claim.fingerprint = stored.fingerprint;
        return claim;
    }
    // The holder's lease ran out (it crashed or gave up): take over, unless someone beat us to it.
    s = kvStore_Update(&rev, _kv, kvKey.c_str(), mine.data(), static_cast<int>(mine.size()), revision);
    if (s == NATS_OK) return sdk::IdempotencyClaim{};
    if (s != NATS_ERR) return toStatus(s, static_cast<jsErrCode>(0), "cannot take over an Idempotency-Key");
    *retry = true;
    return sdk::Status(sdk::StatusCode::Conflict, "Idempotency-Key changed concurrently");
}

sdk::Result<sdk::IdempotencyClaim> KvIdempotencyStore::claim(const std::string& key, const std::string& fingerprint,
                                                             int64_t leaseMs) noexcept {
    try {
        if (!_client.connected() || _kv == nullptr) return _client.unavailable("cannot claim an Idempotency-Key");
        const std::string kvKey = kvKeyFor(key);
        for (int attempt = 0; attempt < 3; ++attempt) {
            bool retry = false;
            auto result = claimOnce(kvKey, fingerprint, leaseMs, &retry);
            if (!retry) return result;
        }
        sdk::IdempotencyClaim busy;
        busy.state = sdk::IdempotencyClaim::State::InFlight;
        busy.fingerprint = fingerprint;
        return busy;
    } catch (const std::exception& e) {
        return sdk::Status(sdk::StatusCode::Internal, std::string("claim: ") + e.what());
    }
}

sdk::Status KvIdempotencyStore::complete(const sdk::IdempotencyCompletion& completion) noexcept {
    try {
        if (!_client.connected() || _kv == nullptr) return _client.unavailable("cannot complete an Idempotency-Key");
        const std::string value = encode(true, completion.fingerprint, completion.response, 0);
        uint64_t rev = 0;
        const natsStatus s =
            kvStore_Put(&rev, _kv, kvKeyFor(completion.key).c_str(), value.data(), static_cast<int>(value.size()));
        return s == NATS_OK ? sdk::Status::ok()
                            : toStatus(s, static_cast<jsErrCode>(0), "cannot complete an Idempotency-Key");
    } catch (const std::exception& e) {
        return sdk::Status(sdk::StatusCode::Internal, std::string("complete: ") + e.what());
    }
}

sdk::Status KvIdempotencyStore::release(const std::string& key) noexcept {
    try {
        if (!_client.connected() || _kv == nullptr) return _client.unavailable("cannot release an Idempotency-Key");
        const natsStatus s = kvStore_Delete(_kv, kvKeyFor(key).c_str());
        return s == NATS_OK ? sdk::Status::ok()
                            : toStatus(s, static_cast<jsErrCode>(0), "cannot release an Idempotency-Key");
    } catch (const std::exception& e) {
        return sdk::Status(sdk::StatusCode::Internal, std::string("release: ") + e.what());
    }
}

}  // namespace ordersystem::plugins::nats
