// What operator commands need of the cluster log: reading it by position (--export) and moving
// the id stream past imported ids (--import); see NatsEventLog.h.
#include "CnatsGuards.h"
#include "NatsEventLog.h"

namespace ordersystem::plugins::nats {

sdk::Result<std::vector<sdk::EventRecord>> NatsEventLog::readRange(uint64_t afterPosition, size_t maxEvents) noexcept {
    try {
        auto head = headPosition();
        if (!head) return head.status();
        std::vector<sdk::EventRecord> events;
        jsOptions jo = _client.requestOptions();
        // The stream holds only events and denies deletes, so every sequence up to the head is one.
        for (uint64_t seq = afterPosition + 1; seq <= *head && events.size() < maxEvents; ++seq) {
            jsDirectGetMsgOptions dg;
            jsDirectGetMsgOptions_Init(&dg);
            dg.Sequence = seq;
            MsgGuard m;
            const natsStatus s = js_DirectGetMsg(&m.msg, _client.js(), _settings.stream.c_str(), &jo, &dg);
            if (s == NATS_NOT_FOUND) continue;  // purged by an operator: the export sees the gap
            if (s != NATS_OK)
                return toStatus(s, static_cast<jsErrCode>(0), "cannot read log position " + std::to_string(seq));
            auto event = decodeEvent(m.msg, seq);
            if (!event) return event.status();
            events.push_back(std::move(*event));
        }
        return events;
    } catch (const std::exception& e) {
        return sdk::Status(sdk::StatusCode::Internal, std::string("readRange: ") + e.what());
    }
}

sdk::Status NatsEventLog::ensureOrderIdsAbove(int64_t orderId) noexcept {
    try {
        if (orderId < 0 || orderId > kMaxSafeOrderId)
            return sdk::Status(sdk::StatusCode::InvalidArgument,
                               "order id " + std::to_string(orderId) + " is out of range");
        if (!_client.connected()) return _client.unavailable("cannot move the order id counter");
        // Block b holds ids b*kIdBlock .. b*kIdBlock+kIdBlock-1: the next reservation must be block `wanted`.
        const uint64_t wanted = static_cast<uint64_t>(orderId / kIdBlock) + 1;
        jsOptions jo = _client.requestOptions();
        jsErrCode jerr = static_cast<jsErrCode>(0);
        const std::string stream = _settings.idStream();
        StreamInfoGuard before;
        natsStatus s = js_GetStreamInfo(&before.info, _client.js(), stream.c_str(), &jo, &jerr);
        if (s != NATS_OK) return toStatus(s, jerr, "cannot read the id stream " + stream);
        if (before.info->State.LastSeq + 1 >= wanted) return sdk::Status::ok();
        // A purge up to a sequence beyond the last one makes it the stream's next sequence.
        jsOptions purge = _client.requestOptions();
        purge.Stream.Purge.Sequence = wanted;
        s = js_PurgeStream(_client.js(), stream.c_str(), &purge, &jerr);
        if (s != NATS_OK) return toStatus(s, jerr, "cannot move the id stream " + stream);
        StreamInfoGuard after;
        s = js_GetStreamInfo(&after.info, _client.js(), stream.c_str(), &jo, &jerr);
        if (s != NATS_OK) return toStatus(s, jerr, "cannot read the id stream " + stream);
        if (after.info->State.LastSeq + 1 < wanted)
            return sdk::Status(sdk::StatusCode::Internal, "the id stream " + stream + " stayed at sequence " +
                                                              std::to_string(after.info->State.LastSeq) +
                                                              " after a purge up to " + std::to_string(wanted));
        _logger.info("id stream " + stream + " moved on: new order ids start above " + std::to_string(orderId));
        return sdk::Status::ok();
    } catch (const std::exception& e) {
        return sdk::Status(sdk::StatusCode::Internal, std::string("ensureOrderIdsAbove: ") + e.what());
    }
}

}  // namespace ordersystem::plugins::nats
