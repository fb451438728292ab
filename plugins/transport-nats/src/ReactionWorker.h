// Contract: delivers events to one Reaction once per cluster, through ONE durable pull consumer
// named after the reaction and shared by every node (explicit acks, AckWait, MaxDeliver).
// - handle() Ok -> the event id is recorded in a KV bucket (dedup across nodes for 24 h) and the
//   message is acked. Non-Ok -> NakWithDelay with exponential back-off. A message not acked within
//   reaction_ack_wait_ms (node died or hung) is redelivered by the server, usually to another node.
// - On delivery number reaction_max_deliveries a failing event is published to the dead-letter
//   subject <deadletter_prefix>.<reaction> (captured by the <stream>_DEADLETTER stream), terminated,
//   and reported through transport::ReactionDeliveries (the same log line and counter in every mode).
//   The consumer's own MaxDeliver is a few deliveries higher so a dead-letter publish that fails
//   can still be retried.
// - Threads: reaction_workers threads per node call handle(), possibly concurrently.
//   stop() joins them and destroys the subscriptions (never unsubscribes: the durable stays).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "NatsClient.h"
#include "NatsEventLog.h"
#include "ordersystem/sdk/host.h"
#include "ordersystem/transport/reaction_deliveries.h"
#include "ordersystem/transport/stop_signal.h"

namespace ordersystem::plugins::nats {

class ReactionWorker final : public Subscription {
public:
    ReactionWorker(const Settings& settings, NatsClient& client, sdk::Reaction& reaction, sdk::Host& host);
    ~ReactionWorker() override;

    /// Creates or updates the shared durable, opens the done-bucket and starts the threads.
    sdk::Status start();
    void stop() noexcept override;

private:
    sdk::Status ensureConsumer();
    void run(size_t worker);
    void deliver(natsMsg* msg);
    /// True when this event was already handled successfully somewhere in the cluster.
    bool alreadyDone(const std::string& eventId);
    void markDone(const std::string& eventId);
    void deadLetter(natsMsg* msg, transport::DeadLetterRecord record);

    const Settings& _settings;
    NatsClient& _client;
    sdk::Logger& _logger;
    transport::ReactionDeliveries _deliveries;
    std::string _name;
    std::string _consumer;
    std::string _filter;
    kvStore* _done = nullptr;
    std::vector<natsSubscription*> _subs;
    std::vector<std::thread> _threads;
    transport::StopSignal _stop;
};

}  // namespace ordersystem::plugins::nats
