// The only exported symbol of analytics.so: its descriptor.
#include <exception>
#include <string>

#include "AnalyticsPlugin.h"

namespace {

using namespace ordersystem::sdk;
using ordersystem::plugins::analytics::AnalyticsPlugin;

Plugin* createPlugin(const ConfigSection& config, Status* error) noexcept {
    return ordersystem::sdk::guardedCreate("analytics", error,
                                           [&](Status* e) { return AnalyticsPlugin::create(config, e).release(); });
}

const PluginDescriptor kDescriptor{
    ORDERSYSTEM_SDK_ABI_VERSION,
    "analytics",
    PluginKind::Handler,
    "analytics",
    ordersystem::plugins::analytics::kConfigKeys,
    ordersystem::plugins::analytics::kConfigKeyCount,
    &createPlugin,
    &ordersystem::sdk::destroyPlugin,
};

}  // namespace

ORDERSYSTEM_PLUGIN_EXPORT const ordersystem::sdk::PluginDescriptor* ordersystem_plugin_descriptor() {
    return &kDescriptor;
}
