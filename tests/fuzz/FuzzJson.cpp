// libFuzzer target: the SDK's JSON parser and writer (sdk/include/ordersystem/sdk/json.h).
// Invariants: a parsed document is within the depth limit and has no member named twice; written
// out compactly it parses again, and writing that gives the same text (a fixed point).
#include <cstdint>
#include <cstdio>
#include <set>
#include <string>
#include <string_view>

#include "FuzzCheck.h"
#include "ordersystem/sdk/json.h"
#include "ordersystem/sdk/text.h"

using ordersystem::sdk::JsonValue;
using ordersystem::sdk::JsonWriter;

namespace {

constexpr int kMaxDepth = 32;

void checkValue(const JsonValue& v, int depth) {
    check(depth <= kMaxDepth + 1);
    if (v.isString()) check(ordersystem::sdk::isValidUtf8(v.asString()));
    if (v.isArray())
        for (const auto& item : v.items()) checkValue(item, depth + 1);
    if (v.isObject()) {
        std::set<std::string> names;
        for (const auto& [name, member] : v.members()) {
            check(names.insert(name).second);
            checkValue(member, depth + 1);
        }
    }
}

std::string write(const JsonValue& v) {
    std::string out;
    JsonWriter(out).value(v);
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto doc = ordersystem::sdk::parseJson(text, kMaxDepth);
    if (!doc.isOk()) return 0;
    checkValue(*doc, 0);
    const std::string once = write(*doc);
    auto again = ordersystem::sdk::parseJson(once, kMaxDepth);
    check(again.isOk());
    check(write(*again) == once);
    return 0;
}
