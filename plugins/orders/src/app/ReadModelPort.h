// Contract: what the application layer needs of the read model, and the types it speaks in
// (implemented by store::ReadModel; the plugin wires the two). Reads are thread-safe and noexcept;
// failures come back as Status. A read that may not wait (WaitPolicy::MustNotWait, asked on an
// event-loop thread) never waits - not for the projection to apply this node's writes, nor for a
// reader session, nor for the disk - and answers StatusCode::WouldBlock where it would have had
// to; the read model decides that on the same state a wait would wait for, so no write
// acknowledged in between can make it wait after all.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "domain/Order.h"
#include "ordersystem/sdk/status.h"

namespace ordersystem::plugins::orders::app {

/// Whether the calling thread may wait for a read (a worker) or must not (an event loop).
enum class WaitPolicy { MayWait, MustNotWait };

struct ListFilter {
    std::optional<domain::OrderStatus> status;
    std::optional<std::string> customer;
    /// Keyset cursor: orders strictly after (afterCreatedAtMs, afterId) in the chosen direction
    /// (afterId 0 = from the start). Lists are ordered by creation time, then id: ids come in
    /// per-node blocks in the distributed modes, so id order is not creation order across nodes.
    int64_t afterCreatedAtMs = 0;
    int64_t afterId = 0;
    bool newestFirst = false;
    int64_t limit = 100;
};

/// One listed order: the aggregate plus the items exactly as stored (JSON array text).
struct OrderRow {
    domain::Order order;  ///< items left empty; itemsJson holds them
    std::string itemsJson;
};

/// An order with its document JSON, rendered once and shared by the cache and its readers.
struct RenderedOrder {
    domain::Order order;
    std::string document;
};

/// Renders the order document of `order`. Throws only std::bad_alloc.
std::shared_ptr<const RenderedOrder> renderOrder(domain::Order order);

class ReadModelPort {
public:
    virtual ~ReadModelPort() = default;

    /// Appends the order document of `id` to *out (nothing on failure). NotFound: no such order.
    virtual sdk::Status appendDocument(int64_t id, std::string* out, WaitPolicy wait) noexcept = 0;
    virtual sdk::Result<std::vector<OrderRow>> list(const ListFilter& filter, WaitPolicy wait) noexcept = 0;
    /// The current order, for a command (on a worker: it may wait). NotFound: no such order.
    virtual sdk::Result<domain::Order> loadOrder(int64_t id) noexcept = 0;

    /// A command's append at `position` succeeded and `order` is its new state: later reads see
    /// it (read-your-writes) without the command waiting for the projection.
    virtual void acknowledge(const domain::Order& order, uint64_t position) noexcept = 0;
    /// The same with the order rendered beforehand (a create renders it before its append).
    virtual void acknowledge(std::shared_ptr<const RenderedOrder> order, uint64_t position) noexcept = 0;
};

}  // namespace ordersystem::plugins::orders::app
