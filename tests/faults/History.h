// What the clients did and saw: one record per operation, the faults with their times, and the
// figures drawn from them. Times are milliseconds since the run's start (steady clock).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace ordersystem::faults {

enum class OpKind { Create, Process, Complete, Cancel };
/// ok: 2xx | failed: a definite refusal (4xx), nothing changed | unknown: timeout, 5xx, no answer.
enum class Outcome { Ok, Failed, Unknown };

const char* kindName(OpKind kind);
const char* outcomeName(Outcome outcome);

struct Op {
    OpKind kind = OpKind::Create;
    std::string node;      ///< node id the request went to
    int64_t orderId = -1;  ///< a create's id once acknowledged
    std::string customer;  ///< a create's customer name, unique per create attempt
    int64_t startMs = 0;
    int64_t endMs = 0;
    Outcome outcome = Outcome::Unknown;
    int status = 0;  ///< HTTP status, 0 = no answer
};

struct FaultMark {
    std::string label;
    int64_t atMs = 0;
};

/// Thread-safe append-only log of operations and faults.
class History {
public:
    History();
    int64_t nowMs() const;
    void record(const Op& op);
    void mark(const std::string& fault);
    std::vector<Op> ops() const;
    std::vector<FaultMark> faults() const;

private:
    int64_t _origin;
    mutable std::mutex _mutex;
    std::vector<Op> _ops;
    std::vector<FaultMark> _faults;
};

/// For each fault: the longest stretch, from the fault until the next one (or endMs), in which no
/// write was acknowledged.
std::vector<std::pair<std::string, int64_t>> writeOutages(const std::vector<Op>& ops,
                                                          const std::vector<FaultMark>& faults, int64_t endMs);

}  // namespace ordersystem::faults
