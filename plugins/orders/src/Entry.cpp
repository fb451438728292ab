// The orders plugin's single exported entry point.
#include "OrdersPlugin.h"
#include "ordersystem/sdk/plugin.h"

namespace {

using namespace ordersystem;

const sdk::ConfigKeySpec kKeys[] = {
    {"database", sdk::ConfigType::Path, "orders.db",
     "read model SQLite file, relative to [node] data_dir; created if missing, migrated in place, rebuilt from the "
     "event log if deleted"},
    {"cache_entries", sdk::ConfigType::Int, "20000",
     "recently written orders kept in memory with their document, so reading one is a lookup (0: no cache); "
     "memory does not grow with the number of stored orders"},
    {"command_timeout_ms", sdk::ConfigType::Int, "5000",
     "milliseconds a read waits for this node's own writes to reach the read model (read-your-writes) before it "
     "reads anyway and logs a warning; also how long stopping waits for creates in flight (at least 1)"},
    {"idempotency_lease_ms", sdk::ConfigType::Int, "30000",
     "milliseconds a create in progress holds its Idempotency-Key (a repeat meanwhile gets 409); a crashed request "
     "frees it after this (at least 1)"},
    {"max_conflict_retries", sdk::ConfigType::Int, "5",
     "times a command re-reads an order another writer changed at the same moment before it answers 409 (0..100)"},
    {"stream_replay_events", sdk::ConfigType::Int, "10000",
     "newest events each node keeps in memory while GET /api/events/stream clients are open; a client resuming "
     "from an older position (Last-Event-ID or ?after) is served from the log (1000..1000000)"},
    {"stream_keepalive_ms", sdk::ConfigType::Int, "15000",
     "milliseconds after which an idle event stream gets a comment line (: keep-alive) (10..15000)"},
};

sdk::Plugin* create(const sdk::ConfigSection& config, sdk::Status* error) noexcept {
    return sdk::guardedCreate("orders", error, [&](sdk::Status* e) -> sdk::Plugin* {
        auto settings = plugins::orders::readSettings(config);
        if (!settings) {
            *e = settings.status();
            return nullptr;
        }
        return new plugins::orders::OrdersPlugin(std::move(*settings));
    });
}

const sdk::PluginDescriptor kDescriptor{
    ORDERSYSTEM_SDK_ABI_VERSION,
    "orders",
    sdk::PluginKind::Domain,
    "orders",
    kKeys,
    static_cast<uint32_t>(sizeof kKeys / sizeof kKeys[0]),
    &create,
    &sdk::destroyPlugin,
};

}  // namespace

ORDERSYSTEM_PLUGIN_EXPORT const ordersystem::sdk::PluginDescriptor* ordersystem_plugin_descriptor() {
    return &kDescriptor;
}
