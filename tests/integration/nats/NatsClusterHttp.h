// The multi-node HTTP tests of cluster mode: a throwaway nats-server -js and ordersystem nodes
// on it (shared fixture and helpers: ordersystem/testing/ClusterHttp.h).
#pragma once

#include "ordersystem/testing/ClusterHttp.h"

namespace ordersystem::natscluster {

using namespace ordersystem::clustertest;

class NatsCluster : public BrokerCluster<NatsServer> {
protected:
    NatsCluster() : BrokerCluster("transport-nats", "nats") {}
    /// The broker under the name the tests use.
    std::unique_ptr<NatsServer>& nats = broker;
};

}  // namespace ordersystem::natscluster
