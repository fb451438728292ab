// The multi-node HTTP tests of distributed mode: a throwaway redis-server and ordersystem
// nodes on it (shared fixture and helpers: ordersystem/testing/ClusterHttp.h).
#pragma once

#include "ordersystem/testing/ClusterHttp.h"

namespace ordersystem::clustertest {

class RedisCluster : public BrokerCluster<RedisServer> {
protected:
    RedisCluster() : BrokerCluster("transport-redis", "redis") {}
    /// The broker under the name the tests use.
    std::unique_ptr<RedisServer>& redis = broker;
};

}  // namespace ordersystem::clustertest
