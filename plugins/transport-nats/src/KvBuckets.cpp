// Key-value bucket helpers; see KvBuckets.h.
#include "KvBuckets.h"

#include <algorithm>

#include "CnatsGuards.h"
#include "ordersystem/sdk/util.h"

namespace ordersystem::plugins::nats {

namespace {

/// An existing bucket must have the configured replica count (its stream is KV_<bucket>); one
/// created by a version with another TTL gets this one's (best effort: the old TTL still works).
sdk::Result<kvStore*> checkedBucket(NatsClient& client, kvStore* kv, const std::string& bucket, int64_t ttlNs,
                                    const Settings& settings) {
    jsOptions jo = client.requestOptions();
    jsErrCode jerr = static_cast<jsErrCode>(0);
    StreamInfoGuard info;
    const std::string stream = "KV_" + bucket;
    const natsStatus s = client.untilLeader(
        [&](jsErrCode* e) { return js_GetStreamInfo(&info.info, client.js(), stream.c_str(), &jo, e); }, &jerr);
    sdk::Status st = s == NATS_OK ? checkReplicas(settings, "key-value bucket", bucket, info.info->Config->Replicas)
                                  : toStatus(s, jerr, "cannot read key-value bucket " + bucket);
    if (st && info.info->Config->MaxAge != ttlNs) {
        jsStreamConfig* cfg = info.info->Config;
        cfg->MaxAge = ttlNs;
        if (ttlNs > 0 && cfg->Duplicates > ttlNs) cfg->Duplicates = ttlNs;  // the server refuses a longer window
        (void)js_UpdateStream(nullptr, client.js(), cfg, &jo, nullptr);
    }
    if (st) return kv;
    kvStore_Destroy(kv);
    return st;
}

}  // namespace

sdk::Result<kvStore*> openBucket(NatsClient& client, const std::string& bucket, int64_t ttlNs,
                                 const Settings& settings) {
    const int64_t replicas = settings.streamReplicas;
    kvStore* kv = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s = client.untilLeader([&](jsErrCode*) { return js_KeyValue(&kv, client.js(), bucket.c_str()); }, &jerr);
    if (s == NATS_OK) return checkedBucket(client, kv, bucket, ttlNs, settings);
    if (s != NATS_NOT_FOUND) return toStatus(s, static_cast<jsErrCode>(0), "cannot open key-value bucket " + bucket);
    kvConfig cfg;
    kvConfig_Init(&cfg);
    cfg.Bucket = bucket.c_str();
    cfg.History = 1;
    cfg.TTL = ttlNs;  // nanoseconds: cnats hands it to the server untouched
    cfg.StorageType = js_FileStorage;
    cfg.Replicas = static_cast<int>(replicas);
    s = client.untilLeader([&](jsErrCode*) { return js_CreateKeyValue(&kv, client.js(), &cfg); }, &jerr);
    if (s == NATS_OK) return kv;
    // Another node may have created it a moment ago with the same settings.
    if (js_KeyValue(&kv, client.js(), bucket.c_str()) == NATS_OK)
        return checkedBucket(client, kv, bucket, ttlNs, settings);
    return toStatus(s, static_cast<jsErrCode>(0), "cannot create key-value bucket " + bucket);
}

std::string kvKeyFor(const std::string& text) {
    static const char* hex = "0123456789abcdef";
    if (text.size() <= 120) {
        std::string out = "x";
        out.reserve(1 + text.size() * 2);
        for (unsigned char c : text) {
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
        return out;
    }
    std::string reversed(text.rbegin(), text.rend());
    return "h" + sdk::fnv1aHex(text) + sdk::fnv1aHex(reversed) + std::to_string(text.size());
}

}  // namespace ordersystem::plugins::nats
