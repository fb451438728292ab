// Version order per order for a reaction, from the progress hash and the order's previous event.
#include "OrderGate.h"

#include <hiredis/hiredis.h>

#include "ordersystem/sdk/util.h"

namespace ordersystem::plugins::redis {

using sdk::Result;
using sdk::Status;
using sdk::StatusCode;

OrderGate::OrderGate(TransportCore& core, std::string reaction) : _core(core), _name(std::move(reaction)) {}

Result<OrderGate::Verdict> OrderGate::check(RedisConnection& c, const sdk::EventRecord& event) {
    auto reply = c.command({"GET", _core.keys.reactionProgress(_name, event.orderId)});
    if (!reply) return reply.status();
    const redisReply* r = reply.value().get();
    if (replyIsError(r)) return Status(StatusCode::Unavailable, "reading order progress: " + replyString(r));
    const long long done = replyIsNil(r) ? 0 : replyInteger(r, 0);
    if (event.version <= done) return Verdict::Done;
    if (event.version == done + 1) return Verdict::Go;
    return byPreviousEvent(c, event);
}

Result<OrderGate::Verdict> OrderGate::byPreviousEvent(RedisConnection& c, const sdk::EventRecord& event) {
    auto item = c.command({"LINDEX", _core.keys.orderEvents(event.orderId), std::to_string(event.version - 2)});
    if (!item) return item.status();
    if (replyIsNil(item.value().get()) || replyIsError(item.value().get())) return Verdict::Go;  // nothing to wait for
    auto previous = eventOfOrderItem(event.orderId, replyString(item.value().get()));
    if (!previous) return Verdict::Go;
    const sdk::EventRecord& p = previous.value();
    auto marked = c.command({"EXISTS", _core.keys.reactionDone(_name, p.eventId)});
    if (!marked) return marked.status();
    if (replyInteger(marked.value().get()) == 1) return Verdict::Go;
    const std::string id = std::to_string(p.position) + "-0";
    auto pending = c.command({"XPENDING", _core.keys.log, _name, id, id, "1"});
    if (!pending) return pending.status();
    if (!replyIsError(pending.value().get()) && replySize(pending.value().get()) == 0) return Verdict::Go;
    const int64_t markerLifetimeMs = int64_t{_core.settings.idempotencyTtlSeconds} * 1000;
    if (p.occurredAtMs < sdk::nowMs() - markerLifetimeMs) return Verdict::Go;
    return Verdict::Wait;
}

}  // namespace ordersystem::plugins::redis
