// Building an event's JetStream message; see EventMessage.h.
#include "EventMessage.h"

#include <string>

#include "NatsClient.h"
#include "ordersystem/sdk/json.h"

namespace ordersystem::plugins::nats {

sdk::Status appendFailure(int64_t orderId, natsStatus status, jsErrCode jsError, const std::string& detail) {
    if (jsError == JSStreamWrongLastSequenceErr)
        return sdk::Status(sdk::StatusCode::VersionConflict,
                           "order " + std::to_string(orderId) + " changed concurrently");
    return toStatus(status, jsError, "cannot append to order " + std::to_string(orderId), detail);
}

sdk::Status buildEventMessage(const Settings& settings, const sdk::EventRecord& event, uint64_t expectedSubjectSeq,
                              int64_t maxWaitMs, EventMessage* out) {
    const std::string subject = settings.orderSubject(event.orderId);
    const std::string body = sdk::toJson(event);
    natsStatus s = natsMsg_Create(&out->msg, subject.c_str(), nullptr, body.data(), static_cast<int>(body.size()));
    if (s == NATS_OK) s = natsMsgHeader_Set(out->msg, kVersionHeader, std::to_string(event.version).c_str());
    if (s == NATS_OK) s = natsMsgHeader_Set(out->msg, kTypeHeader, event.type.c_str());
    if (s != NATS_OK) return toStatus(s, static_cast<jsErrCode>(0), "cannot build the event message");

    jsPubOptions& po = out->options;
    jsPubOptions_Init(&po);
    po.MaxWait = maxWaitMs;
    po.MsgId = event.eventId.c_str();  // Nats-Msg-Id: a retried publish is dropped as a duplicate
    // Expected last subject sequence 0 = "no message on this subject yet" (a new order).
    if (expectedSubjectSeq == 0) po.ExpectNoMessage = true;
    else po.ExpectLastSubjectSeq = expectedSubjectSeq;
    return sdk::Status::ok();
}

sdk::Result<sdk::EventRecord> decodeEventMessage(natsMsg* msg, uint64_t seq) {
    auto event =
        sdk::eventFromJson(std::string_view(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg))));
    if (!event)
        return sdk::Status(sdk::StatusCode::Internal,
                           "stream message " + std::to_string(seq) + " is not an event: " + event.status().message);
    event->position = seq;
    return event;
}

}  // namespace ordersystem::plugins::nats
