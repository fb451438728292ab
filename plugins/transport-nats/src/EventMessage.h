// Contract: the one way an event becomes a JetStream message, shared by the blocking append and
// the asynchronous one so both store exactly the same thing: subject <subject_prefix>.<orderId>,
// body the wire document (events.h), headers Os-Version and Os-Type, and publish options that add
// Nats-Msg-Id = eventId (a repeat inside the duplicate window is dropped) and the version check
// (expected last subject sequence; 0 = the order has no message yet); and the one reading of a
// refused publish (appendFailure) and of a stored message (decodeEventMessage). Pure functions, no I/O; callable from
// any thread.
#pragma once

#include <cstdint>
#include <string>

#include <nats/nats.h>

#include "NatsSettings.h"
#include "ordersystem/sdk/events.h"
#include "ordersystem/sdk/status.h"

namespace ordersystem::plugins::nats {

inline constexpr const char* kVersionHeader = "Os-Version";
inline constexpr const char* kTypeHeader = "Os-Type";
inline constexpr const char* kMsgIdHeader = "Nats-Msg-Id";  // set by cnats from jsPubOptions.MsgId

/// A built event message and its publish options. options.MsgId points into the event's eventId:
/// the event must outlive the publish call (cnats copies it into a header there).
struct EventMessage {
    EventMessage() = default;
    EventMessage(const EventMessage&) = delete;
    EventMessage& operator=(const EventMessage&) = delete;
    ~EventMessage() { natsMsg_Destroy(msg); }
    /// Hands the message over (to js_PublishMsgAsync's owner); this object no longer destroys it.
    natsMsg* release() noexcept {
        natsMsg* m = msg;
        msg = nullptr;
        return m;
    }

    natsMsg* msg = nullptr;
    jsPubOptions options{};
};

/// A refused publish of an event of order orderId as an append answers it: VersionConflict when
/// the version check failed (JSStreamWrongLastSequenceErr), else toStatus' mapping of status.
sdk::Status appendFailure(int64_t orderId, natsStatus status, jsErrCode jsError, const std::string& detail);

/// Builds event's message with the version check expectedSubjectSeq and the ack wait maxWaitMs.
sdk::Status buildEventMessage(const Settings& settings, const sdk::EventRecord& event, uint64_t expectedSubjectSeq,
                              int64_t maxWaitMs, EventMessage* out);

/// A stored message back to an event (position = its stream sequence); Internal when it is none.
sdk::Result<sdk::EventRecord> decodeEventMessage(natsMsg* msg, uint64_t seq);

}  // namespace ordersystem::plugins::nats
