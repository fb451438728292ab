// The only exported symbol of notifications.so: its descriptor.
#include <exception>
#include <string>

#include "NotificationsPlugin.h"

namespace {

using namespace ordersystem::sdk;
using ordersystem::plugins::notifications::NotificationsPlugin;

Plugin* createPlugin(const ConfigSection& config, Status* error) noexcept {
    return ordersystem::sdk::guardedCreate("notifications", error,
                                           [&](Status* e) { return NotificationsPlugin::create(config, e).release(); });
}

const PluginDescriptor kDescriptor{
    ORDERSYSTEM_SDK_ABI_VERSION,
    "notifications",
    PluginKind::Handler,
    "notifications",
    ordersystem::plugins::notifications::kConfigKeys,
    ordersystem::plugins::notifications::kConfigKeyCount,
    &createPlugin,
    &ordersystem::sdk::destroyPlugin,
};

}  // namespace

ORDERSYSTEM_PLUGIN_EXPORT const ordersystem::sdk::PluginDescriptor* ordersystem_plugin_descriptor() {
    return &kDescriptor;
}
