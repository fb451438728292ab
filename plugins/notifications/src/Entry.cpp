// The only exported symbol of notifications.so: its descriptor.
#include <exception>
#include <string>

#include "NotificationsPlugin.h"

namespace {

using namespace ordersystem::sdk;
using ordersystem::plugins::notifications::NotificationsPlugin;

Plugin* createPlugin(const ConfigSection& config, Status* error) noexcept {
    try {
        return NotificationsPlugin::create(config, error).release();
    } catch (const std::exception& e) {
        if (error) *error = Status(StatusCode::Internal, std::string("notifications: create failed: ") + e.what());
    } catch (...) {
        if (error) *error = Status(StatusCode::Internal, "notifications: create failed");
    }
    return nullptr;
}

void destroyPlugin(Plugin* plugin) noexcept { delete plugin; }

const PluginDescriptor kDescriptor{
    ORDERSYSTEM_SDK_ABI_VERSION,
    "notifications",
    PluginKind::Handler,
    "notifications",
    ordersystem::plugins::notifications::kConfigKeys,
    ordersystem::plugins::notifications::kConfigKeyCount,
    &createPlugin,
    &destroyPlugin,
};

}  // namespace

ORDERSYSTEM_PLUGIN_EXPORT const ordersystem::sdk::PluginDescriptor* ordersystem_plugin_descriptor() {
    return &kDescriptor;
}
