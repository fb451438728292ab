// Contract: owners of the cnats objects a call hands back, destroyed when the owner goes out of
// scope (each destroy function accepts nullptr, so an owner left empty by a failed call is fine).
#pragma once

#include <nats/nats.h>

namespace ordersystem::plugins::nats {

struct StreamInfoGuard {
    jsStreamInfo* info = nullptr;
    ~StreamInfoGuard() { jsStreamInfo_Destroy(info); }
};
struct ConsumerInfoGuard {
    jsConsumerInfo* info = nullptr;
    ~ConsumerInfoGuard() { jsConsumerInfo_Destroy(info); }
};
struct MsgGuard {
    natsMsg* msg = nullptr;
    ~MsgGuard() { natsMsg_Destroy(msg); }
};
struct PubAckGuard {
    jsPubAck* ack = nullptr;
    ~PubAckGuard() { jsPubAck_Destroy(ack); }
};
struct KvEntryGuard {
    kvEntry* entry = nullptr;
    ~KvEntryGuard() { kvEntry_Destroy(entry); }
};
struct KvWatcherGuard {
    kvWatcher* watcher = nullptr;
    ~KvWatcherGuard() { kvWatcher_Destroy(watcher); }
};
struct MetaGuard {
    jsMsgMetaData* meta = nullptr;
    ~MetaGuard() { jsMsgMetaData_Destroy(meta); }
};

}  // namespace ordersystem::plugins::nats
