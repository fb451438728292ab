// The only exported symbol of analytics.so: its descriptor.
#include <exception>
#include <string>

#include "AnalyticsPlugin.h"

namespace {

using namespace ordersystem::sdk;
using ordersystem::plugins::analytics::AnalyticsPlugin;

Plugin* createPlugin(const ConfigSection& config, Status* error) noexcept {
    try {
        return AnalyticsPlugin::create(config, error).release();
    } catch (const std::exception& e) {
        if (error) *error = Status(StatusCode::Internal, std::string("analytics: create failed: ") + e.what());
    } catch (...) {
        if (error) *error = Status(StatusCode::Internal, "analytics: create failed");
    }
    return nullptr;
}

void destroyPlugin(Plugin* plugin) noexcept { delete plugin; }

const PluginDescriptor kDescriptor{
    ORDERSYSTEM_SDK_ABI_VERSION,
    "analytics",
    PluginKind::Handler,
    "analytics",
    ordersystem::plugins::analytics::kConfigKeys,
    ordersystem::plugins::analytics::kConfigKeyCount,
    &createPlugin,
    &destroyPlugin,
};

}  // namespace

ORDERSYSTEM_PLUGIN_EXPORT const ordersystem::sdk::PluginDescriptor* ordersystem_plugin_descriptor() {
    return &kDescriptor;
}
