// The run of one fault scenario (see FaultRun.h).
#include "FaultRun.h"

#include <signal.h>

#include <algorithm>
#include <iostream>
#include <sstream>
#include <thread>

namespace ordersystem::faults {

using testing::httpRequest;
using testing::waitUntil;

namespace {

constexpr auto kConverge = std::chrono::seconds(40);
constexpr auto kRead = std::chrono::seconds(5);

std::string stringField(const sdk::JsonValue& v, const char* name) {
    const sdk::JsonValue* f = v.find(name);
    return f && f->isString() ? f->asString() : std::string();
}
int64_t intField(const sdk::JsonValue& v, const char* name) {
    int64_t out = -1;
    const sdk::JsonValue* f = v.find(name);
    if (f) f->asInt64(&out);
    return out;
}

/// Every order a node lists (all pages), without their events; false when a page fails.
bool listOrders(const Target& t, std::map<int64_t, OrderSeen>& out) {
    std::string cursor;
    for (int page = 0; page < 1000; ++page) {
        auto r = httpRequest(t.host, t.port, "GET",
                             "/api/orders?limit=1000" + (cursor.empty() ? "" : "&cursor=" + testing::urlEncode(cursor)),
                             {}, {}, kRead);
        if (r.status != 200) return false;
        const sdk::JsonValue doc = r.json();
        const sdk::JsonValue* items = doc.find("items");
        if (!items || !items->isArray()) return false;
        for (const auto& item : items->items()) {
            OrderSeen o;
            o.id = intField(item, "id");
            o.customer = stringField(item, "customerName");
            o.status = stringField(item, "status");
            o.version = intField(item, "version");
            out[o.id] = o;
        }
        cursor = stringField(doc, "nextCursor");
        if (cursor.empty()) return true;
    }
    return false;
}

bool readEvents(const Target& t, OrderSeen& order) {
    auto r = httpRequest(t.host, t.port, "GET", "/api/orders/" + std::to_string(order.id) + "/events", {}, {}, kRead);
    const sdk::JsonValue doc = r.json();
    if (r.status != 200 || !doc.isArray()) return false;
    for (const auto& e : doc.items())
        order.events.push_back({stringField(e, "eventId"), stringField(e, "type"), intField(e, "version")});
    return true;
}

/// (id, status, version) of every order plus the analytics: equal on all nodes = converged.
std::string summary(const Target& t) {
    std::map<int64_t, OrderSeen> orders;
    if (!listOrders(t, orders)) return "unreadable";
    std::ostringstream out;
    for (const auto& [id, o] : orders) out << id << ':' << o.status << ':' << o.version << ' ';
    return out.str() + httpRequest(t.host, t.port, "GET", "/api/analytics", {}, {}, kRead).body;
}

}  // namespace

FaultRun::FaultRun(std::string scenario) : _scenario(std::move(scenario)) {
    skipReason = Topology::unavailableReason();
    if (!skipReason.empty()) return;
    _net = std::make_unique<Topology>();
    _hooks = std::make_unique<clustertest::HookReceiver>(Topology::gateway());
}

FaultRun::~FaultRun() {
    _workload.reset();
    if (_net) _net->heal();
    _nodes.clear();  // SIGTERM (and SIGCONT) each node before the brokers go
    _nats.reset();
    _redis.reset();
}

bool FaultRun::startNats(int servers, int replicas) {
    _natsReplicas = replicas;
    _nats = std::make_unique<NatsServers>(*_net, _dir.file("nats"), servers);
    return _nats->start();
}

bool FaultRun::startRedis(int replicas, int sentinels, int minReplicasAck) {
    _minReplicasAck = minReplicasAck;
    _redis = std::make_unique<RedisServers>(*_net, _dir.file("redis"), replicas, sentinels);
    return _redis->start();
}

std::map<std::string, std::map<std::string, std::string>> FaultRun::nodeKeys() const {
    // Timeouts well below the faults' length, so every fault is seen as one.
    std::map<std::string, std::map<std::string, std::string>> keys;
    keys["orders"] = {{"command_timeout_ms", "2000"}};
    keys["notifications"] = {{"timeout_ms", "1000"}, {"retry_initial_ms", "100"}, {"retry_max_ms", "1000"}};
    if (_nats) {
        keys["transport.nats"] = {{"url", _nats->urls()},       {"heartbeat_interval_ms", "200"},
                                  {"node_ttl_ms", "1000"},      {"request_timeout_ms", "1000"},
                                  {"reconnect_wait_ms", "100"}, {"reaction_ack_wait_ms", "3000"}};
        if (_natsReplicas > 1) keys["transport.nats"]["stream_replicas"] = std::to_string(_natsReplicas);
    } else {
        keys["transport.redis"] = {{"url", _redis->primaryUrl()},  {"connect_timeout_ms", "500"},
                                   {"command_timeout_ms", "1000"}, {"heartbeat_interval_ms", "200"},
                                   {"node_ttl_ms", "1000"},        {"reaction_claim_idle_ms", "2000"}};
        if (!_redis->sentinels().empty()) {
            keys["transport.redis"]["sentinels"] = _redis->sentinels();
            keys["transport.redis"]["master_name"] = RedisServers::masterName();
            keys["transport.redis"]["min_replicas_ack"] = std::to_string(_minReplicasAck);
        }
    }
    return keys;
}

namespace {

/// The skip reason when a node's start-up refusal names an HA key of CONTRACT.md section 5.
std::string haKeyRefused(const std::string& output) {
    for (const char* key : {"'sentinels'", "'master_name'", "'min_replicas_ack'", "transport.nats.url"}) {
        const size_t at = output.find(key);
        if (at == std::string::npos) continue;
        const size_t from = output.rfind('\n', at) == std::string::npos ? 0 : output.rfind('\n', at) + 1;
        const size_t to = std::min(output.find('\n', at), output.find(" (known", at));
        return "waits for the HA merge (CONTRACT.md section 5): the node refuses " + std::string(key) + ": " +
               output.substr(from, to - from);
    }
    return {};
}

}  // namespace

bool FaultRun::startNode(const std::string& id) {
    testing::OrderNode::Options o;
    o.nodeId = id;
    o.transport = _nats ? "transport-nats" : "transport-redis";
    o.webhookUrl = _hooks->url();
    o.extraKeys = nodeKeys();
    o.host = _net->add(id);
    o.netns = _net->netns(id);
    auto& node = _nodes[id] = std::make_unique<testing::OrderNode>(_dir.file(id), o, 8080);
    return node->start(std::chrono::seconds(30)) && node->waitReady(std::chrono::seconds(30));
}

bool FaultRun::startNodes(int count) {
    for (int i = 0; i < count; ++i) {
        const std::string id = std::string("node-") + static_cast<char>('a' + i);
        if (startNode(id)) continue;
        skipReason = haKeyRefused(_nodes[id]->output());
        return false;
    }
    return true;
}

std::vector<Target> FaultRun::targets() const {
    std::vector<Target> out;
    for (const auto& [id, node] : _nodes) out.push_back({id, node->host(), node->port()});
    return out;
}

std::vector<std::string> FaultRun::brokerHosts() const {
    std::vector<std::string> out = _nats ? _nats->hosts() : _redis->dataHosts();
    if (_redis)
        for (const auto& s : _redis->sentinelHosts()) out.push_back(s);
    return out;
}

void FaultRun::startWorkload(int clients) {
    _workload = std::make_unique<Workload>(_history, targets(), clients);
    _workload->start();
}

void FaultRun::fault(const std::string& label, const std::function<void()>& action) {
    _history.mark(label);
    action();
}

void FaultRun::hold(std::chrono::milliseconds duration) { std::this_thread::sleep_for(duration); }

void FaultRun::killNode(const std::string& node) { _nodes.at(node)->kill9(); }
bool FaultRun::restartNode(const std::string& node) { return _nodes.at(node)->start(std::chrono::seconds(30)); }
void FaultRun::pauseNode(const std::string& node) { _nodes.at(node)->process()->signal(SIGSTOP); }
void FaultRun::resumeNode(const std::string& node) { _nodes.at(node)->process()->signal(SIGCONT); }
void FaultRun::partitionFromBrokers(const std::string& node) { _net->isolate(node, brokerHosts()); }

void FaultRun::partitionBroker(const std::string& host) {
    std::vector<std::string> others;
    for (const auto& b : brokerHosts())
        if (b != host) others.push_back(b);
    _net->isolate(host, others);
}

void FaultRun::heal() {
    _history.mark("heal");
    _net->heal();
}

bool FaultRun::converge(std::chrono::milliseconds timeout) {
    const auto all = targets();
    return waitUntil(
        [&] {
            const std::string first = summary(all.front());
            if (first == "unreadable") return false;
            for (size_t i = 1; i < all.size(); ++i)
                if (summary(all[i]) != first) return false;
            return true;
        },
        timeout, std::chrono::milliseconds(250));
}

void FaultRun::quietPhase(Observed& observed) {
    for (const auto& t : targets()) {
        const int64_t done = perform(_history, t, OpKind::Create, -1, "quiet-done-" + t.node);
        const int64_t dropped = perform(_history, t, OpKind::Create, -1, "quiet-cancelled-" + t.node);
        perform(_history, t, OpKind::Process, done, {});
        perform(_history, t, OpKind::Complete, done, {});
        perform(_history, t, OpKind::Cancel, dropped, {});
        observed.quietOrders.insert({done, dropped});
    }
}

Observed FaultRun::observe() const {
    Observed seen;
    for (const auto& t : targets()) {
        NodeView view;
        view.node = t.node;
        view.readable = listOrders(t, view.orders);
        for (auto& entry : view.orders) view.readable = readEvents(t, entry.second) && view.readable;
        view.analytics = httpRequest(t.host, t.port, "GET", "/api/analytics", {}, {}, kRead).body;
        seen.nodes.push_back(std::move(view));
    }
    seen.deliveries = _hooks->received();
    return seen;
}

Verdict FaultRun::finish() {
    _workload->stop();
    _workloadEndMs = _history.nowMs();
    _net->heal();
    const int64_t healedAt = _history.nowMs();
    const bool converged = converge(kConverge);
    const int64_t convergeMs = converged ? _history.nowMs() - healedAt : -1;
    // A node that joins now replays the log itself: an acknowledged write the log lost shows
    // there even when the older nodes' read models still hold it.
    const bool lateJoined = startNode("node-late");

    Observed quiet;
    quietPhase(quiet);
    converge(kConverge);
    Observed seen = observe();
    // Every event delivered, then a little longer so a redelivery would still be seen.
    waitUntil(
        [&] {
            seen = observe();
            return check(_history.ops(), seen).undelivered == 0;
        },
        kConverge, std::chrono::milliseconds(500));
    hold(std::chrono::milliseconds(1500));
    seen = observe();
    seen.quietOrders = quiet.quietOrders;
    Verdict verdict = check(_history.ops(), seen);
    if (!converged) verdict.problems.insert(verdict.problems.begin(), "the nodes did not converge after the heal");
    if (!lateJoined) verdict.problems.insert(verdict.problems.begin(), "a node started after the heal was not ready");
    print(verdict, convergeMs);
    return verdict;
}

::testing::AssertionResult FaultRun::finishesClean() {
    const Verdict v = finish();
    if (v.ok() && v.problems.empty() && v.acknowledged > 0) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << (v.acknowledged == 0 ? "no write was acknowledged\n" : "") << describe(v)
                                         << logs();
}

void FaultRun::nodeFaults() {
    using namespace std::chrono_literals;
    hold(3s);
    fault("kill -9 node-a", [&] { killNode("node-a"); });
    hold(3s);
    fault("restart node-a", [&] { EXPECT_TRUE(restartNode("node-a")) << logs(); });
    hold(3s);
    fault("SIGSTOP node-b", [&] { pauseNode("node-b"); });
    hold(3s);  // three membership TTLs
    fault("SIGCONT node-b", [&] { resumeNode("node-b"); });
    hold(3s);
    fault("partition node-a from the brokers", [&] { partitionFromBrokers("node-a"); });
    hold(4s);
    heal();
    hold(2s);
}

void FaultRun::print(const Verdict& v, int64_t convergeMs) const {
    const auto ops = _history.ops();
    int failed = 0, unknown = 0, creates = 0;
    for (const auto& op : ops) {
        failed += op.outcome == Outcome::Failed;
        unknown += op.outcome == Outcome::Unknown;
        creates += op.kind == OpKind::Create;
    }
    std::ostringstream out;
    out << "==== faults: " << _scenario << " ====\n"
        << "  operations attempted " << v.attempted << " (" << creates << " creates), acknowledged " << v.acknowledged
        << ", refused (4xx) " << failed << ", indeterminate " << unknown << "\n"
        << "  lost " << v.lost << ", duplicated " << v.duplicated << ", two winners " << v.twoWinners
        << ", version gaps " << v.versionGaps << ", reused ids " << v.reusedIds << ", diverged " << v.diverged << "\n"
        << "  webhooks: undelivered " << v.undelivered << ", quiet-phase redelivered " << v.redelivered << "\n";
    // Cluster-wide (no node acknowledged a write) and per node (that node's clients saw none).
    const auto faults = _history.faults();
    const auto cluster = writeOutages(ops, faults, _workloadEndMs);
    std::map<std::string, std::vector<std::pair<std::string, int64_t>>> perNode;
    for (const auto& [id, node] : _nodes) {
        std::vector<Op> mine;
        for (const auto& op : ops)
            if (op.node == id) mine.push_back(op);
        perNode[id] = writeOutages(mine, faults, _workloadEndMs);
    }
    for (size_t i = 0; i < cluster.size(); ++i) {
        out << "  longest write outage after '" << cluster[i].first << "': cluster " << cluster[i].second << " ms;";
        for (const auto& [id, outages] : perNode)
            if (id != "node-late") out << " " << id << " " << outages[i].second << " ms";
        out << "\n";
    }
    out << "  converged " << (convergeMs < 0 ? std::string("NOT") : std::to_string(convergeMs) + " ms")
        << " after the heal\n";
    for (size_t i = 0; i < v.problems.size() && i < 20; ++i) out << "  ! " << v.problems[i] << "\n";
    std::cout << out.str() << std::flush;
}

std::string describe(const Verdict& v) {
    std::string out;
    for (const auto& p : v.problems) out += p + "\n";
    return out;
}

std::string FaultRun::logs() const {
    std::string out;
    for (const auto& [id, node] : _nodes) {
        const std::string text = node->output();
        out += "---- " + id + " (last lines)\n" + text.substr(text.size() > 4000 ? text.size() - 4000 : 0) + "\n";
    }
    return out + (_nats ? _nats->outputs() : std::string()) + (_redis ? _redis->outputs() : std::string());
}

}  // namespace ordersystem::faults
