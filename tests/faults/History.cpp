// The operation history and the outage figure (see History.h).
#include "History.h"

#include <algorithm>
#include <chrono>

namespace ordersystem::faults {

namespace {
int64_t steadyMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}
}  // namespace

const char* kindName(OpKind kind) {
    switch (kind) {
    case OpKind::Create: return "create";
    case OpKind::Process: return "process";
    case OpKind::Complete: return "complete";
    case OpKind::Cancel: return "cancel";
    }
    return "?";
}

const char* outcomeName(Outcome outcome) {
    switch (outcome) {
    case Outcome::Ok: return "ok";
    case Outcome::Failed: return "failed";
    case Outcome::Unknown: return "unknown";
    }
    return "?";
}

History::History() : _origin(steadyMs()) {}
int64_t History::nowMs() const { return steadyMs() - _origin; }

void History::record(const Op& op) {
    std::lock_guard<std::mutex> lock(_mutex);
    _ops.push_back(op);
}

void History::mark(const std::string& fault) {
    std::lock_guard<std::mutex> lock(_mutex);
    _faults.push_back({fault, nowMs()});
}

std::vector<Op> History::ops() const {
    std::lock_guard<std::mutex> lock(_mutex);
    return _ops;
}

std::vector<FaultMark> History::faults() const {
    std::lock_guard<std::mutex> lock(_mutex);
    return _faults;
}

std::vector<std::pair<std::string, int64_t>> writeOutages(const std::vector<Op>& ops,
                                                          const std::vector<FaultMark>& faults, int64_t endMs) {
    std::vector<int64_t> acks;
    for (const auto& op : ops)
        if (op.outcome == Outcome::Ok) acks.push_back(op.endMs);
    std::sort(acks.begin(), acks.end());
    std::vector<std::pair<std::string, int64_t>> out;
    for (size_t i = 0; i < faults.size(); ++i) {
        const int64_t from = faults[i].atMs, to = i + 1 < faults.size() ? faults[i + 1].atMs : endMs;
        int64_t last = from, longest = 0;
        for (auto it = std::upper_bound(acks.begin(), acks.end(), from); it != acks.end() && *it <= to; ++it) {
            longest = std::max(longest, *it - last);
            last = *it;
        }
        out.emplace_back(faults[i].label, std::max(longest, to - last));
    }
    return out;
}

}  // namespace ordersystem::faults
