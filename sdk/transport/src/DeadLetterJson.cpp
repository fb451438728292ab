// The text form of a dead letter (see dead_letters.h).
#include "ordersystem/sdk/json.h"
#include "ordersystem/transport/dead_letters.h"

namespace ordersystem::transport {

using sdk::Status;
using sdk::StatusCode;

namespace {
bool readInt(const sdk::JsonValue& doc, std::string_view name, int64_t* out) {
    const sdk::JsonValue* v = doc.find(name);
    return v != nullptr && v->asInt64(out);
}
}  // namespace

std::string deadLetterToJson(const sdk::DeadLetter& letter) {
    std::string out;
    sdk::JsonWriter w(out);
    w.beginObject();
    w.key("event").raw(sdk::toJson(letter.event));
    w.key("position").value(letter.event.position);
    w.key("attempts").value(letter.attempts);
    w.key("lastError").value(letter.lastError);
    w.key("failedAtMs").value(letter.failedAtMs);
    w.endObject();
    return out;
}

sdk::Result<sdk::DeadLetter> deadLetterFromJson(std::string_view json) {
    auto doc = sdk::parseJson(json);
    if (!doc) return doc.status();
    const sdk::JsonValue* event = doc->find("event");
    const sdk::JsonValue* error = doc->find("lastError");
    sdk::DeadLetter letter;
    int64_t position = 0;
    if (event == nullptr || !event->isObject() || error == nullptr || !error->isString() ||
        !readInt(*doc, "position", &position) || position < 0 || !readInt(*doc, "attempts", &letter.attempts) ||
        !readInt(*doc, "failedAtMs", &letter.failedAtMs))
        return Status(StatusCode::InvalidArgument, "not a dead letter");
    std::string eventJson;
    sdk::JsonWriter(eventJson).value(*event);
    auto record = sdk::eventFromJson(eventJson);
    if (!record) return record.status();
    letter.event = std::move(*record);
    letter.event.position = static_cast<uint64_t>(position);
    letter.lastError = error->asString();
    return letter;
}

}  // namespace ordersystem::transport
