// The transport-nats plugin's single exported entry point.
#include "NatsSettings.h"
#include "NatsTransportPlugin.h"
#include "ordersystem/sdk/plugin.h"

namespace {

using namespace ordersystem;

sdk::Plugin* create(const sdk::ConfigSection& config, sdk::Status* error) noexcept {
    try {
        auto settings = plugins::nats::readSettings(config);
        if (!settings) {
            if (error) *error = settings.status();
            return nullptr;
        }
        return new plugins::nats::NatsTransportPlugin(std::move(*settings));
    } catch (const std::exception& e) {
        if (error) *error = sdk::Status(sdk::StatusCode::Internal, std::string("transport-nats: create failed: ") + e.what());
    } catch (...) {
        if (error) *error = sdk::Status(sdk::StatusCode::Internal, "transport-nats: create failed");
    }
    return nullptr;
}

void destroy(sdk::Plugin* plugin) noexcept {
    try {
        delete plugin;
    } catch (...) {
    }
}

const sdk::PluginDescriptor kDescriptor{
    ORDERSYSTEM_SDK_ABI_VERSION,
    "transport-nats",
    sdk::PluginKind::Transport,
    "transport.nats",
    plugins::nats::configKeys(),
    plugins::nats::configKeyCount(),
    &create,
    &destroy,
};

}  // namespace

ORDERSYSTEM_PLUGIN_EXPORT const ordersystem::sdk::PluginDescriptor* ordersystem_plugin_descriptor() { return &kDescriptor; }
