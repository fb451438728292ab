// The single exported symbol of transport-inmemory.so: the plugin descriptor.
#include "InMemoryTransportPlugin.h"

namespace {

using ordersystem::plugins::inmemory::InMemoryTransportPlugin;
namespace sdk = ordersystem::sdk;

sdk::Plugin* createPlugin(const sdk::ConfigSection& config, sdk::Status* error) noexcept {
    try {
        auto created = InMemoryTransportPlugin::create(config);
        if (!created) {
            if (error) *error = created.status();
            return nullptr;
        }
        return created.value().release();
    } catch (const std::exception& e) {
        if (error) *error = sdk::Status(sdk::StatusCode::Internal, std::string("transport-inmemory create: ") + e.what());
    } catch (...) {
        if (error) *error = sdk::Status(sdk::StatusCode::Internal, "transport-inmemory create: unknown exception");
    }
    return nullptr;
}

void destroyPlugin(sdk::Plugin* plugin) noexcept {
    try {
        delete plugin;
    } catch (...) {
    }
}

const sdk::PluginDescriptor kDescriptor{
    ORDERSYSTEM_SDK_ABI_VERSION,
    "transport-inmemory",
    sdk::PluginKind::Transport,
    "transport.inmemory",
    ordersystem::plugins::inmemory::kConfigKeys,
    ordersystem::plugins::inmemory::kConfigKeyCount,
    &createPlugin,
    &destroyPlugin,
};

}  // namespace

ORDERSYSTEM_PLUGIN_EXPORT const ordersystem::sdk::PluginDescriptor* ordersystem_plugin_descriptor() {
    return &kDescriptor;
}
