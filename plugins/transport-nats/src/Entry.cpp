// The transport-nats plugin's single exported entry point.
#include "NatsSettings.h"
#include "NatsTransportPlugin.h"
#include "ordersystem/sdk/plugin.h"

namespace {

using namespace ordersystem;

sdk::Plugin* create(const sdk::ConfigSection& config, sdk::Status* error) noexcept {
    return sdk::guardedCreate("transport-nats", error, [&](sdk::Status* e) -> sdk::Plugin* {
        auto settings = plugins::nats::readSettings(config);
        if (!settings) {
            *e = settings.status();
            return nullptr;
        }
        return new plugins::nats::NatsTransportPlugin(std::move(*settings));
    });
}

const sdk::PluginDescriptor kDescriptor{
    ORDERSYSTEM_SDK_ABI_VERSION,
    "transport-nats",
    sdk::PluginKind::Transport,
    "transport.nats",
    plugins::nats::configKeys(),
    plugins::nats::configKeyCount(),
    &create,
    &sdk::destroyPlugin,
};

}  // namespace

ORDERSYSTEM_PLUGIN_EXPORT const ordersystem::sdk::PluginDescriptor* ordersystem_plugin_descriptor() {
    return &kDescriptor;
}
