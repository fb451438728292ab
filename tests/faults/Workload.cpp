// The client workload (see Workload.h).
#include "Workload.h"

#include <random>

#include "ordersystem/testing/TestSupport.h"

namespace ordersystem::faults {

namespace {

// Longer than the nodes' command timeouts, so a node that answers at all is heard.
constexpr auto kRequestTimeout = std::chrono::seconds(4);

std::string orderJson(const std::string& customer) {
    return R"({"customerName":")" + customer + R"(","items":[{"productName":"Laptop","quantity":1,"price":12.5}]})";
}

}  // namespace

int64_t perform(History& history, const Target& target, OpKind kind, int64_t orderId, const std::string& customer) {
    Op op;
    op.kind = kind;
    op.node = target.node;
    op.orderId = orderId;
    op.customer = customer;
    op.startMs = history.nowMs();
    testing::HttpResult r;
    if (kind == OpKind::Create) {
        r = testing::httpRequest(target.host, target.port, "POST", "/api/orders", orderJson(customer),
                                 {{"Content-Type", "application/json"}}, kRequestTimeout);
    } else {
        std::string path = "/api/orders/" + std::to_string(orderId) + "/" + kindName(kind);
        if (kind == OpKind::Cancel) path += "?reason=fault-test";
        r = testing::httpRequest(target.host, target.port, "POST", path, {}, {}, kRequestTimeout);
    }
    op.endMs = history.nowMs();
    op.status = r.status;
    op.outcome = r.status >= 200 && r.status < 300   ? Outcome::Ok
                 : r.status >= 400 && r.status < 500 ? Outcome::Failed
                                                     : Outcome::Unknown;
    if (kind == OpKind::Create && op.outcome == Outcome::Ok) {
        const sdk::JsonValue* id = r.json().find("orderId");
        if (!id || !id->asInt64(&op.orderId)) op.outcome = Outcome::Unknown;
    }
    history.record(op);
    return op.outcome == Outcome::Ok && kind == OpKind::Create ? op.orderId : -1;
}

Workload::Workload(History& history, std::vector<Target> targets, int clients)
    : _history(history), _targets(std::move(targets)), _clients(clients) {}

Workload::~Workload() { stop(); }

void Workload::start() {
    _running = true;
    for (int i = 0; i < _clients; ++i) _threads.emplace_back([this, i] { client(i); });
}

void Workload::stop() {
    _running = false;
    for (auto& t : _threads) t.join();
    _threads.clear();
}

void Workload::client(int index) {
    std::mt19937 rng(static_cast<unsigned>(index) * 7919u + 17u);
    int sequence = 0;
    while (_running) {
        // Each client keeps to one node, as Jepsen's do: a frozen node stalls only its own clients.
        const Target& target = _targets[static_cast<size_t>(index) % _targets.size()];
        const unsigned roll = rng() % 100;
        int64_t id = -1;
        {
            std::lock_guard<std::mutex> lock(_mutex);
            if (!_known.empty()) id = _known[rng() % _known.size()];
        }
        if (roll < 40 || id < 0) {
            const std::string customer = "c" + std::to_string(index) + "-" + std::to_string(++sequence);
            const int64_t created = perform(_history, target, OpKind::Create, -1, customer);
            std::lock_guard<std::mutex> lock(_mutex);
            if (created > 0) _known.push_back(created);
        } else {
            const OpKind kind = roll < 70 ? OpKind::Process : roll < 85 ? OpKind::Complete : OpKind::Cancel;
            perform(_history, target, kind, id, {});
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a steady load two cores can carry
    }
}

}  // namespace ordersystem::faults
