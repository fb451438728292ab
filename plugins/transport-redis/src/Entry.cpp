// The plugin's only exported symbol: its descriptor.
#include "RedisSettings.h"
#include "RedisTransportPlugin.h"
#include "ordersystem/sdk/plugin.h"

ORDERSYSTEM_PLUGIN_EXPORT const ordersystem::sdk::PluginDescriptor* ordersystem_plugin_descriptor() {
    using namespace ordersystem::plugins::redis;
    static const ordersystem::sdk::PluginDescriptor descriptor = {
        ORDERSYSTEM_SDK_ABI_VERSION,
        "transport-redis",
        ordersystem::sdk::PluginKind::Transport,
        "transport.redis",
        redisConfigKeys(),
        redisConfigKeyCount(),
        &createRedisTransport,
        &ordersystem::sdk::destroyPlugin,
    };
    return &descriptor;
}
