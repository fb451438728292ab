// Contract: delivers events to one Reaction once per cluster, through ONE durable pull consumer
// named after the reaction and shared by every node (explicit acks, AckWait), keeping the
// delivery rules of sdk::Reaction with the shared state of ReactionState.h:
// - Order: before event v of order X is handled, X's progress decides: v <= progress -> already
//   done (acked); progress == v-1 -> handled; else it waits: NakWithDelay a short, growing delay
//   that is not an attempt (one throttled log line says so). Progress is raised before the ack
//   (a crash in between is caught by the done-bucket), so handle() sees one order's events in
//   version order, one at a time cluster-wide, while other orders flow past a failing event.
//   An order without progress whose event v > 1 arrives (events from before progress was kept)
//   takes its previous event as done when its eventId is in the done-bucket, its log position is
//   at or below the consumer's ack floor (acked or terminated), or it is older than the
//   done-bucket's 24 h.
// - Attempts are counted in the attempts bucket (JetStream's delivery count includes the waits),
//   so the consumer's MaxDeliver is unlimited and our policy decides. Failure -> NakWithDelay
//   with the jittered wait ReactionDeliveries answers (Retry-After included).
// - Last attempt failed -> the dead letter is stored in the shared KvDeadLetterStore first, then
//   archived to <deadletter_prefix>.<reaction> (the <stream>_DEADLETTER stream, best effort), the
//   order's progress raised and the message terminated; a store that fails means a redelivery,
//   never a lost event. retryDeadLetter() hands one to this node's DeadLetterRetries.
// - Memory: each worker holds the one message it fetched; the server holds the rest. MaxAckPending
//   (kMaxAckPending) bounds what is out at once cluster-wide, waiting messages included; when it is
//   full the server hands out no new events until some are acked. AckWait still hands the
//   messages of a node that died (or hangs) to the others.
// - Threads: reaction_workers threads per node call handle(), possibly concurrently (other orders).
//   stop() stops the retries, joins the workers and destroys the subscriptions (the durable stays).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "KvDeadLetterStore.h"
#include "NatsClient.h"
#include "NatsEventLog.h"
#include "ReactionState.h"
#include "ordersystem/sdk/host.h"
#include "ordersystem/transport/dead_letters.h"
#include "ordersystem/transport/reaction_deliveries.h"
#include "ordersystem/transport/stop_signal.h"

namespace ordersystem::plugins::nats {

/// Messages out at once per reaction, cluster-wide, waiting ones included.
inline constexpr int64_t kMaxAckPending = 10000;

class ReactionWorker final : public Subscription {
public:
    /// deadLetters: the <stream>_DEADLETTERS bucket, owned by log and outliving this worker.
    ReactionWorker(const Settings& settings, NatsClient& client, NatsEventLog& log, kvStore* deadLetters,
                   sdk::Reaction& reaction, sdk::Host& host);
    ~ReactionWorker() override;

    /// Creates or updates the shared durable, opens the buckets and starts the threads.
    sdk::Status start();
    void stop() noexcept override;
    const std::string& name() const noexcept { return _name; }
    /// See EventLog::retryDeadLetter().
    sdk::Status retryDeadLetter(const std::string& eventId);

private:
    enum class Gate { Deliver, Done, Wait, Unknown };

    sdk::Status ensureConsumer();
    void run(size_t worker);
    void deliver(natsMsg* msg);
    /// Whether event may be handled now (see the order rule above).
    Gate gate(const sdk::EventRecord& event);
    /// For an order without progress: whether its event before event counts as done.
    bool previousDone(const sdk::EventRecord& event);
    void handleAndSettle(natsMsg* msg, const sdk::EventRecord& event, int64_t failed);
    /// Stores the dead letter, archives it, raises the progress and terminates; not stored: redelivered.
    void giveUp(natsMsg* msg, const sdk::DeadLetter& letter);
    /// A dead letter stored: progress raised, attempts forgotten, message terminated.
    void settleDeadLetter(natsMsg* msg, const sdk::EventRecord& event, int64_t failed);
    /// The copy in <stream>_DEADLETTER; false when the publish failed.
    bool archive(natsMsg* msg, const transport::DeadLetterRecord& record);
    void noteWaiting(const sdk::EventRecord& event, int64_t progress);
    /// A wait that is not an attempt: a short delay growing with the message's deliveries.
    void waitAgain(natsMsg* msg, uint64_t deliveries);

    const Settings& _settings;
    NatsClient& _client;
    NatsEventLog& _log;
    sdk::Logger& _logger;
    transport::ReactionDeliveries _deliveries;
    std::string _name;
    std::string _consumer;
    std::string _filter;
    ReactionState _state;
    KvDeadLetterStore _store;
    std::unique_ptr<transport::DeadLetterRetries> _retries;
    std::vector<natsSubscription*> _subs;
    std::vector<std::thread> _threads;
    transport::StopSignal _stop;
    std::atomic<int64_t> _waitLoggedMs{0};
};

}  // namespace ordersystem::plugins::nats
