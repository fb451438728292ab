// Contract: the transport-inmemory plugin object. The host calls create (via the descriptor in
// Entry.cpp), start and stop on its main thread. start() opens the standalone event log and hands
// it to the host; stop() closes it (subscribers have stopped before, by the start order).
#pragma once

#include <memory>

#include "InMemoryEventLog.h"
#include "ordersystem/sdk/plugin.h"

namespace ordersystem::plugins::inmemory {

/// Declared keys of [transport.inmemory]; the descriptor points at them.
extern const sdk::ConfigKeySpec kConfigKeys[];
extern const uint32_t kConfigKeyCount;

class InMemoryTransportPlugin final : public sdk::Plugin {
public:
    /// Reads the validated section; InvalidConfig for values out of range.
    static sdk::Result<std::unique_ptr<InMemoryTransportPlugin>> create(const sdk::ConfigSection& config);

    sdk::Status start(sdk::Host& host) noexcept override;
    void stop() noexcept override;

    /// The log after a successful start (tests drive it directly).
    InMemoryEventLog* log() noexcept { return _log.get(); }

private:
    std::string _database;
    int64_t _maxBatch = 512;
    int64_t _projectionLingerMs = 2;
    ReactionSettings _reaction;
    std::unique_ptr<InMemoryEventLog> _log;
};

}  // namespace ordersystem::plugins::inmemory
