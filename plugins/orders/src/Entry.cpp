// The orders plugin's single exported entry point.
#include "OrdersPlugin.h"
#include "ordersystem/sdk/plugin.h"

namespace {

using namespace ordersystem;

const sdk::ConfigKeySpec kKeys[] = {
    {"database", sdk::ConfigType::Path, "orders.db", "read model SQLite file, relative to [node] data_dir"},
    {"cache_entries", sdk::ConfigType::Int, "20000", "orders kept serialized in memory for fast GETs (0 = none)"},
    {"command_timeout_ms", sdk::ConfigType::Int, "5000", "how long a command waits for its own read model update"},
    {"idempotency_lease_ms", sdk::ConfigType::Int, "30000", "how long a running create holds its Idempotency-Key"},
    {"max_conflict_retries", sdk::ConfigType::Int, "5", "re-reads after a concurrent write before answering 409"},
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
    ORDERSYSTEM_SDK_ABI_VERSION, "orders", sdk::PluginKind::Domain, "orders",
    kKeys, static_cast<uint32_t>(sizeof kKeys / sizeof kKeys[0]), &create, &sdk::destroyPlugin,
};

}  // namespace

ORDERSYSTEM_PLUGIN_EXPORT const ordersystem::sdk::PluginDescriptor* ordersystem_plugin_descriptor() { return &kDescriptor; }
