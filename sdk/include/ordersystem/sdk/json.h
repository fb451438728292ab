// Contract: the project's one JSON layer (DESIGN.md: keep one JSON layer behind our own types).
// parseJson() builds a small DOM and never throws; JsonWriter appends compact JSON to a string.
// Numbers keep their source text so money can be read exactly (see numberText()).
// Both are plain values: not thread-safe to share while mutating, safe to use per thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ordersystem/sdk/status.h"

namespace ordersystem::sdk {

class JsonValue {
public:
    enum class Type : int { Null = 0, Bool, Number, String, Array, Object };

    Type type() const noexcept { return _type; }
    bool isNull() const noexcept { return _type == Type::Null; }
    bool isNumber() const noexcept { return _type == Type::Number; }
    bool isString() const noexcept { return _type == Type::String; }
    bool isArray() const noexcept { return _type == Type::Array; }
    bool isObject() const noexcept { return _type == Type::Object; }

    bool asBool() const noexcept { return _bool; }
    double asDouble() const noexcept;
    /// True and *out set when the number is an integer that fits int64 (no fraction, no exponent).
    bool asInt64(int64_t* out) const noexcept;
    /// The number exactly as written in the document (e.g. "999.99", "1e3").
    const std::string& numberText() const noexcept { return _text; }
    /// The decoded string value.
    const std::string& asString() const noexcept { return _text; }

    const std::vector<JsonValue>& items() const noexcept { return _items; }
    const std::vector<std::pair<std::string, JsonValue>>& members() const noexcept { return _members; }
    /// Member lookup (first match); null when absent or when this is not an object.
    const JsonValue* find(std::string_view key) const noexcept;

    static JsonValue makeNull() { return JsonValue(); }
    static JsonValue makeBool(bool b) {
        JsonValue v;
        v._type = Type::Bool;
        v._bool = b;
        return v;
    }
    static JsonValue makeNumber(std::string text) {
        JsonValue v;
        v._type = Type::Number;
        v._text = std::move(text);
        return v;
    }
    static JsonValue makeString(std::string s) {
        JsonValue v;
        v._type = Type::String;
        v._text = std::move(s);
        return v;
    }
    static JsonValue makeArray() {
        JsonValue v;
        v._type = Type::Array;
        return v;
    }
    static JsonValue makeObject() {
        JsonValue v;
        v._type = Type::Object;
        return v;
    }
    std::vector<JsonValue>& mutableItems() noexcept { return _items; }
    std::vector<std::pair<std::string, JsonValue>>& mutableMembers() noexcept { return _members; }

private:
    Type _type = Type::Null;
    bool _bool = false;
    std::string _text;
    std::vector<JsonValue> _items;
    std::vector<std::pair<std::string, JsonValue>> _members;
};

/// Parses one JSON document (RFC 8259; UTF-8 checked; depth limited). InvalidArgument with the
/// byte offset on malformed input. Trailing non-space text is an error, and so is a member name
/// that appears twice in one object (readers that keep the first and the last would disagree).
Result<JsonValue> parseJson(std::string_view text, int maxDepth = 64);

/// Appends compact JSON to a caller-owned string; commas are handled for you.
/// Usage: w.beginObject(); w.key("a"); w.value(1); w.endObject();
class JsonWriter {
public:
    explicit JsonWriter(std::string& out) : _out(out) {}

    JsonWriter& beginObject() { return open('{'); }
    JsonWriter& endObject() { return close('}'); }
    JsonWriter& beginArray() { return open('['); }
    JsonWriter& endArray() { return close(']'); }
    JsonWriter& key(std::string_view name);

    JsonWriter& value(std::string_view s);
    JsonWriter& value(const char* s) { return value(std::string_view(s)); }
    JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
    JsonWriter& value(int64_t n);
    JsonWriter& value(int n) { return value(static_cast<int64_t>(n)); }
    JsonWriter& value(uint64_t n);
    JsonWriter& value(double d);
    JsonWriter& value(bool b) {
        separate();
        _out.append(b ? "true" : "false");
        return *this;
    }
    JsonWriter& null() {
        separate();
        _out.append("null");
        return *this;
    }
    /// Money from integer cents, exact: 105997 -> 1059.97, -5 -> -0.05.
    JsonWriter& cents(int64_t amountInCents);
    /// A parsed value written back compactly (numbers exactly as they were written).
    JsonWriter& value(const JsonValue& v);
    /// Pre-serialized JSON inserted as one value (caller guarantees validity).
    JsonWriter& raw(std::string_view json) {
        separate();
        _out.append(json);
        return *this;
    }

private:
    JsonWriter& open(char bracket) {
        separate();
        _out.push_back(bracket);
        if (_depth < kInlineLevels) _emptyLevels |= uint64_t{1} << _depth;
        else _deeperEmpty.push_back(true);
        ++_depth;
        return *this;
    }
    JsonWriter& close(char bracket) {
        _out.push_back(bracket);
        --_depth;
        if (_depth < kInlineLevels) _emptyLevels &= ~(uint64_t{1} << _depth);
        else _deeperEmpty.pop_back();
        return *this;
    }
    void separate() {
        if (_afterKey) {
            _afterKey = false;
            return;
        }
        if (_depth == 0) return;
        const uint32_t level = _depth - 1;
        bool empty;
        if (level < kInlineLevels) {
            empty = (_emptyLevels >> level) & 1u;
            _emptyLevels &= ~(uint64_t{1} << level);
        } else {
            empty = _deeperEmpty.back();
            _deeperEmpty.back() = false;
        }
        if (!empty) _out.push_back(',');
    }
    /// Per open object or array, whether it has no element yet: one bit per level for the first
    /// 64 levels (no allocation for any document we write), a vector beyond.
    static constexpr uint32_t kInlineLevels = 64;
    std::string& _out;
    uint64_t _emptyLevels = 0;
    uint32_t _depth = 0;
    std::vector<bool> _deeperEmpty;
    bool _afterKey = false;
};

/// Appends s as a JSON string literal (with quotes) to out.
void appendJsonString(std::string& out, std::string_view s);

}  // namespace ordersystem::sdk
