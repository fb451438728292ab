// The single exported symbol of transport-inmemory.so: the plugin descriptor.
#include "InMemoryTransportPlugin.h"

namespace {

using ordersystem::plugins::inmemory::InMemoryTransportPlugin;
namespace sdk = ordersystem::sdk;

sdk::Plugin* createPlugin(const sdk::ConfigSection& config, sdk::Status* error) noexcept {
    return sdk::guardedCreate("transport-inmemory", error, [&](sdk::Status* e) -> sdk::Plugin* {
        auto created = InMemoryTransportPlugin::create(config);
        if (!created) {
            *e = created.status();
            return nullptr;
        }
        return created.value().release();
    });
}

const sdk::PluginDescriptor kDescriptor{
    ORDERSYSTEM_SDK_ABI_VERSION,
    "transport-inmemory",
    sdk::PluginKind::Transport,
    "transport.inmemory",
    ordersystem::plugins::inmemory::kConfigKeys,
    ordersystem::plugins::inmemory::kConfigKeyCount,
    &createPlugin,
    &sdk::destroyPlugin,
};

}  // namespace

ORDERSYSTEM_PLUGIN_EXPORT const ordersystem::sdk::PluginDescriptor* ordersystem_plugin_descriptor() {
    return &kDescriptor;
}
