// Heartbeat membership in a JetStream KV bucket; see KvMembership.h.
#include "KvMembership.h"

#include <algorithm>

#include "KvBuckets.h"
#include "ordersystem/sdk/json.h"
#include "ordersystem/sdk/util.h"

namespace ordersystem::plugins::nats {

KvMembership::KvMembership(const Settings& settings, NatsClient& client, sdk::Host& host)
    : _settings(settings),
      _client(client),
      _host(host),
      _key(safeName(host.node().nodeId)),
      _heartbeat(
          host.node().nodeId, settings.heartbeatIntervalMs, [this] { return beat(); }, host.logger()) {}

KvMembership::~KvMembership() { stop(); }

sdk::Status KvMembership::start() {
    // Entries of dead nodes also vanish from the bucket itself after a while.
    const int64_t ttlNs = std::max<int64_t>(_settings.nodeTtlMs * 6, 60000) * 1000000;
    auto kv = openBucket(_client, _settings.membershipBucket(), ttlNs, _settings);
    if (!kv) return kv.status();
    _kv = *kv;
    // The bucket may be electing a leader (a server just came back): the first beat, which
    // Heartbeat::start() sends on this thread, waits it out.
    _starting = true;
    const sdk::Status started = _heartbeat.start();
    _starting = false;
    return started;
}

void KvMembership::stop() noexcept {
    // Leave cleanly so the others stop listing this node at once.
    if (_heartbeat.stop() && _client.connected()) kvStore_Delete(_kv, _key.c_str());
    if (_kv != nullptr) kvStore_Destroy(_kv);
    _kv = nullptr;
}

sdk::Status KvMembership::beat() {
    if (!_client.connected()) return _client.unavailable("cannot send a heartbeat");
    jsErrCode jerr = static_cast<jsErrCode>(0);
    const natsStatus s = _starting ? _client.untilLeader([this](jsErrCode*) { return putBeat(); }, &jerr) : putBeat();
    return s == NATS_OK ? sdk::Status::ok() : toStatus(s, static_cast<jsErrCode>(0), "cannot send a heartbeat");
}

natsStatus KvMembership::putBeat() {
    std::string value;
    sdk::JsonWriter w(value);
    w.beginObject();
    const sdk::NodeSettings& node = _host.node();
    w.key("nodeId").value(node.nodeId);
    w.key("address").value(node.httpAddress);
    w.key("mode").value("cluster");
    w.key("lastSeen").value(sdk::nowMs());
    w.endObject();
    uint64_t rev = 0;
    return kvStore_Put(&rev, _kv, _key.c_str(), value.data(), static_cast<int>(value.size()));
}

sdk::Result<std::vector<sdk::NodeInfo>> KvMembership::liveNodes() noexcept {
    try {
        if (!_client.connected() || _kv == nullptr) return _client.unavailable("cannot list cluster nodes");
        kvKeysList keys;
        natsStatus s = kvStore_Keys(&keys, _kv, nullptr);
        std::vector<sdk::NodeInfo> nodes;
        if (s == NATS_NOT_FOUND) return nodes;
        if (s != NATS_OK) return toStatus(s, static_cast<jsErrCode>(0), "cannot list cluster nodes");
        const int64_t now = sdk::nowMs();
        for (int i = 0; i < keys.Count; ++i) {
            kvEntry* entry = nullptr;
            if (kvStore_Get(&entry, _kv, keys.Keys[i]) != NATS_OK) continue;
            auto doc = sdk::parseJson(std::string_view(static_cast<const char*>(kvEntry_Value(entry)),
                                                       static_cast<size_t>(kvEntry_ValueLen(entry))));
            kvEntry_Destroy(entry);
            if (!doc || !doc->isObject()) continue;
            sdk::NodeInfo node;
            const auto* id = doc->find("nodeId");
            const auto* address = doc->find("address");
            const auto* mode = doc->find("mode");
            const auto* seen = doc->find("lastSeen");
            if (id == nullptr || seen == nullptr || !seen->asInt64(&node.lastSeenMs)) continue;
            if (now - node.lastSeenMs > _settings.nodeTtlMs) continue;
            node.nodeId = id->asString();
            node.address = address != nullptr ? address->asString() : std::string();
            node.mode = mode != nullptr ? mode->asString() : std::string("cluster");
            nodes.push_back(std::move(node));
        }
        kvKeysList_Destroy(&keys);
        std::sort(nodes.begin(), nodes.end(),
                  [](const sdk::NodeInfo& a, const sdk::NodeInfo& b) { return a.nodeId < b.nodeId; });
        return nodes;
    } catch (const std::exception& e) {
        return sdk::Status(sdk::StatusCode::Internal, std::string("liveNodes: ") + e.what());
    }
}

}  // namespace ordersystem::plugins::nats
