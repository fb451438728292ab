// Contract: the metric families every deployment mode reports, named once. A family that all
// modes share is defined here with its name, help text and labels, and registered only through
// these definitions, so /metrics reads the same on a standalone node, a Redis node and a NATS
// node. A family only one engine has is named after that engine (ordersystem_inmemory_...,
// ordersystem_redis_..., ordersystem_nats_...) and stays in that transport. docs/metrics.md
// lists every family; tests/e2e compares the families of the three modes.
#pragma once

#include <string>

#include "ordersystem/sdk/metrics.h"

namespace ordersystem::transport::families {

struct Family {
    const char* name;
    const char* help;
    const char* label;  ///< the one label this family carries, or nullptr
};

// The event log: every transport records its appends through AppendMeter.
inline constexpr Family kEventsAppended{"ordersystem_events_appended_total",
                                        "Events appended to the event log by this node", nullptr};
inline constexpr Family kAppendConflicts{"ordersystem_event_append_conflicts_total",
                                         "Appends refused because the order had moved past the expected version",
                                         nullptr};
inline constexpr Family kAppendFailures{"ordersystem_event_append_failures_total",
                                        "Appends that failed for another reason (engine unavailable, timeout)",
                                        nullptr};
inline constexpr Family kAppendSeconds{"ordersystem_event_append_seconds",
                                       "Time from asking for an append until it was durable or refused", nullptr};

// Projections (read models on every node), measured by the host.
inline constexpr Family kProjectionPosition{"ordersystem_projection_position",
                                            "Last event log position a projection applied", "projection"};
inline constexpr Family kEventsApplied{"ordersystem_events_applied_total", "Events applied by each projection",
                                       "projection"};
inline constexpr Family kProjectionLag{"ordersystem_projection_lag_events",
                                       "Events in the log a projection has not applied yet", "projection"};
inline constexpr Family kProjectionApplyFailures{"ordersystem_projection_apply_failures_total",
                                                 "Batches a projection failed to apply (retried with back-off)",
                                                 "projection"};

// Reactions (side effects once per cluster): handle() outcomes by the host, the rest by the
// transport through ReactionDeliveries.
inline constexpr Family kReactionEvents{"ordersystem_reaction_events_total",
                                        "Events handed to each reaction, by outcome (ok | failed)", "reaction"};
inline constexpr Family kReactionDeadLetters{"ordersystem_reaction_dead_letters_total",
                                             "Events a reaction gave up on after its maximum deliveries", "reaction"};
inline constexpr Family kReactionDuplicates{"ordersystem_reaction_duplicates_total",
                                            "Redeliveries skipped because the event was already handled", "reaction"};

inline sdk::Counter& counter(sdk::Metrics& m, const Family& f, const sdk::Labels& labels = {}) {
    return m.counter(f.name, f.help, labels);
}
inline sdk::Gauge& gauge(sdk::Metrics& m, const Family& f, const sdk::Labels& labels = {}) {
    return m.gauge(f.name, f.help, labels);
}
inline sdk::Histogram& histogram(sdk::Metrics& m, const Family& f, const sdk::Labels& labels = {}) {
    return m.histogram(f.name, f.help, labels);
}
/// The family's own label set to value (e.g. {"projection", "orders-read-model"}).
inline sdk::Labels labelled(const Family& f, const std::string& value) { return {{f.label, value}}; }

}  // namespace ordersystem::transport::families
