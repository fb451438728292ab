// The project's JSON reader and writer (see ordersystem/sdk/json.h for the contract).
#include "ordersystem/sdk/json.h"

#include <algorithm>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "ordersystem/sdk/text.h"

namespace ordersystem::sdk {

namespace {

class Parser {
public:
    Parser(std::string_view text, int maxDepth) : _s(text), _maxDepth(maxDepth), _spareSlots(text.size() / 4) {}

    Result<JsonValue> parseDocument() {
        JsonValue v;
        skipSpace();
        if (!parseValue(v, 0)) return fail();
        skipSpace();
        if (_pos != _s.size()) {
            _error = "unexpected text after the JSON value";
            return fail();
        }
        return v;
    }

private:
    Status fail() const {
        return Status(StatusCode::InvalidArgument, "malformed JSON at byte " + std::to_string(_pos) + ": " + _error);
    }
    void skipSpace() {
        while (_pos < _s.size() && (_s[_pos] == ' ' || _s[_pos] == '\t' || _s[_pos] == '\n' || _s[_pos] == '\r'))
            ++_pos;
    }
    bool literal(std::string_view word) {
        if (_s.substr(_pos, word.size()) != word) {
            _error = "invalid literal";
            return false;
        }
        _pos += word.size();
        return true;
    }
    /// Room for this many members or items at once: the small objects of our documents (an order
    /// item has three members) then grow by no reallocation, and move no member, while parsed.
    /// Slots reserved this way are limited to one per 4 bytes of input, so a document of many
    /// one-element arrays cannot make the parser reserve far more memory than it would anyway.
    static constexpr size_t kFirstCapacity = 4;
    template <typename Vector>
    void reserveFirst(Vector& v) {
        if (_spareSlots < kFirstCapacity) return;
        v.reserve(kFirstCapacity);
        _spareSlots -= kFirstCapacity;
    }

    bool parseValue(JsonValue& out, int depth) {
        if (depth > _maxDepth) {
            _error = "nesting too deep";
            return false;
        }
        if (_pos >= _s.size()) {
            _error = "unexpected end of input";
            return false;
        }
        switch (_s[_pos]) {
        case '{': return parseObject(out, depth);
        case '[': return parseArray(out, depth);
        case '"': {
            std::string s;
            if (!parseString(s)) return false;
            out = JsonValue::makeString(std::move(s));
            return true;
        }
        case 't':
            if (!literal("true")) return false;
            out = JsonValue::makeBool(true);
            return true;
        case 'f':
            if (!literal("false")) return false;
            out = JsonValue::makeBool(false);
            return true;
        case 'n':
            if (!literal("null")) return false;
            out = JsonValue::makeNull();
            return true;
        default: return parseNumber(out);
        }
    }
    bool parseObject(JsonValue& out, int depth) {
        out = JsonValue::makeObject();
        ++_pos;
        skipSpace();
        if (_pos < _s.size() && _s[_pos] == '}') {
            ++_pos;
            return true;
        }
        reserveFirst(out.mutableMembers());
        for (;;) {
            skipSpace();
            if (_pos >= _s.size() || _s[_pos] != '"') {
                _error = "expected a member name";
                return false;
            }
            std::string name;
            if (!parseString(name)) return false;
            skipSpace();
            if (_pos >= _s.size() || _s[_pos] != ':') {
                _error = "expected ':'";
                return false;
            }
            ++_pos;
            skipSpace();
            JsonValue member;
            if (!parseValue(member, depth + 1)) return false;
            out.mutableMembers().emplace_back(std::move(name), std::move(member));
            skipSpace();
            if (_pos < _s.size() && _s[_pos] == ',') {
                ++_pos;
                continue;
            }
            if (_pos < _s.size() && _s[_pos] == '}') {
                ++_pos;
                return uniqueNames(out.members());
            }
            _error = "expected ',' or '}'";
            return false;
        }
    }
    /// One name twice in an object would let two readers of one document see two values.
    bool uniqueNames(const std::vector<std::pair<std::string, JsonValue>>& members) {
        bool unique = true;
        if (members.size() <= 16) {
            for (size_t i = 1; i < members.size() && unique; ++i)
                for (size_t j = 0; j < i && unique; ++j) unique = members[i].first != members[j].first;
        } else {
            std::vector<std::string_view> names;
            names.reserve(members.size());
            for (const auto& m : members) names.emplace_back(m.first);
            std::sort(names.begin(), names.end());
            unique = std::adjacent_find(names.begin(), names.end()) == names.end();
        }
        if (!unique) _error = "duplicate member name";
        return unique;
    }
    bool parseArray(JsonValue& out, int depth) {
        out = JsonValue::makeArray();
        ++_pos;
        skipSpace();
        if (_pos < _s.size() && _s[_pos] == ']') {
            ++_pos;
            return true;
        }
        reserveFirst(out.mutableItems());
        for (;;) {
            skipSpace();
            JsonValue item;
            if (!parseValue(item, depth + 1)) return false;
            out.mutableItems().push_back(std::move(item));
            skipSpace();
            if (_pos < _s.size() && _s[_pos] == ',') {
                ++_pos;
                continue;
            }
            if (_pos < _s.size() && _s[_pos] == ']') {
                ++_pos;
                return true;
            }
            _error = "expected ',' or ']'";
            return false;
        }
    }
    bool parseNumber(JsonValue& out) {
        const size_t start = _pos;
        if (_pos < _s.size() && _s[_pos] == '-') ++_pos;
        if (_pos >= _s.size() || !isDigit(_s[_pos])) {
            _error = "invalid value";
            return false;
        }
        if (_s[_pos] == '0') ++_pos;
        else
            while (_pos < _s.size() && isDigit(_s[_pos])) ++_pos;
        if (_pos < _s.size() && _s[_pos] == '.') {
            ++_pos;
            if (_pos >= _s.size() || !isDigit(_s[_pos])) {
                _error = "digit expected after '.'";
                return false;
            }
            while (_pos < _s.size() && isDigit(_s[_pos])) ++_pos;
        }
        if (_pos < _s.size() && (_s[_pos] == 'e' || _s[_pos] == 'E')) {
            ++_pos;
            if (_pos < _s.size() && (_s[_pos] == '+' || _s[_pos] == '-')) ++_pos;
            if (_pos >= _s.size() || !isDigit(_s[_pos])) {
                _error = "digit expected in exponent";
                return false;
            }
            while (_pos < _s.size() && isDigit(_s[_pos])) ++_pos;
        }
        out = JsonValue::makeNumber(std::string(_s.substr(start, _pos - start)));
        return true;
    }
    static bool isDigit(char c) { return c >= '0' && c <= '9'; }
    bool readHex4(unsigned& cp) {
        if (_pos + 4 > _s.size()) {
            _error = "short \\u escape";
            return false;
        }
        cp = 0;
        for (int i = 0; i < 4; ++i) {
            const int h = hexDigitValue(_s[_pos + i]);
            if (h < 0) {
                _error = "bad \\u escape";
                return false;
            }
            cp = cp * 16 + static_cast<unsigned>(h);
        }
        _pos += 4;
        return true;
    }
    static void appendUtf8(std::string& out, unsigned cp) {
        if (cp < 0x80) out.push_back(static_cast<char>(cp));
        else if (cp < 0x800) {
            out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        } else if (cp < 0x10000) {
            out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        } else {
            out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        }
    }
    // Validates one UTF-8 sequence starting at _pos and copies it.
    bool copyUtf8(std::string& out) {
        uint32_t cp;
        const size_t n = decodeUtf8(_s, _pos, &cp);
        if (n == 0) {
            _error = "invalid UTF-8";
            return false;
        }
        out.append(_s.data() + _pos, n);
        _pos += n;
        return true;
    }
    bool parseString(std::string& out) {
        ++_pos;  // opening quote
        for (;;) {
            if (_pos >= _s.size()) {
                _error = "unterminated string";
                return false;
            }
            const char c = _s[_pos];
            if (c == '"') {
                ++_pos;
                return true;
            }
            if (static_cast<unsigned char>(c) < 0x20) {
                _error = "control character in string";
                return false;
            }
            if (c != '\\') {
                if (!copyUtf8(out)) return false;
                continue;
            }
            ++_pos;
            if (_pos >= _s.size()) {
                _error = "unterminated escape";
                return false;
            }
            const char e = _s[_pos++];
            switch (e) {
            case '"': out.push_back('"'); break;
            case '\\': out.push_back('\\'); break;
            case '/': out.push_back('/'); break;
            case 'b': out.push_back('\b'); break;
            case 'f': out.push_back('\f'); break;
            case 'n': out.push_back('\n'); break;
            case 'r': out.push_back('\r'); break;
            case 't': out.push_back('\t'); break;
            case 'u': {
                unsigned cp;
                if (!readHex4(cp)) return false;
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    unsigned low;
                    if (_pos + 2 > _s.size() || _s[_pos] != '\\' || _s[_pos + 1] != 'u') {
                        _error = "lone surrogate";
                        return false;
                    }
                    _pos += 2;
                    if (!readHex4(low) || low < 0xDC00 || low > 0xDFFF) {
                        _error = "lone surrogate";
                        return false;
                    }
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    _error = "lone surrogate";
                    return false;
                }
                appendUtf8(out, cp);
                break;
            }
            default: _error = "invalid escape"; return false;
            }
        }
    }

    std::string_view _s;
    size_t _pos = 0;
    int _maxDepth;
    size_t _spareSlots;  ///< see reserveFirst
    std::string _error;
};

}  // namespace

double JsonValue::asDouble() const noexcept {
    if (_type != Type::Number) return 0.0;
    return std::strtod(_text.c_str(), nullptr);
}

bool JsonValue::asInt64(int64_t* out) const noexcept {
    if (_type != Type::Number) return false;
    int64_t v = 0;
    const char* b = _text.data();
    const char* e = b + _text.size();
    auto [ptr, ec] = std::from_chars(b, e, v);
    if (ec != std::errc() || ptr != e) return false;
    *out = v;
    return true;
}

const JsonValue* JsonValue::find(std::string_view key) const noexcept {
    if (_type != Type::Object) return nullptr;
    for (const auto& m : _members)
        if (m.first == key) return &m.second;
    return nullptr;
}

Result<JsonValue> parseJson(std::string_view text, int maxDepth) { return Parser(text, maxDepth).parseDocument(); }

void appendJsonString(std::string& out, std::string_view s) {
    static const char hex[] = "0123456789abcdef";
    out.push_back('"');
    // Fast path: most names and values need no escaping and are appended in one go.
    size_t clean = 0;
    while (clean < s.size()) {
        const auto c = static_cast<unsigned char>(s[clean]);
        if (c < 0x20 || c == '"' || c == '\\') break;
        ++clean;
    }
    out.append(s.data(), clean);
    s.remove_prefix(clean);
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        switch (c) {
        case '"': out.append("\\\""); break;
        case '\\': out.append("\\\\"); break;
        case '\n': out.append("\\n"); break;
        case '\r': out.append("\\r"); break;
        case '\t': out.append("\\t"); break;
        case '\b': out.append("\\b"); break;
        case '\f': out.append("\\f"); break;
        default:
            if (c < 0x20) {
                out.append("\\u00");
                out.push_back(hex[c >> 4]);
                out.push_back(hex[c & 0xF]);
            } else {
                out.push_back(ch);
            }
        }
    }
    out.push_back('"');
}

JsonWriter& JsonWriter::key(std::string_view name) {
    separate();
    appendJsonString(_out, name);
    _out.push_back(':');
    _afterKey = true;
    return *this;
}

JsonWriter& JsonWriter::value(std::string_view s) {
    separate();
    appendJsonString(_out, s);
    return *this;
}

namespace {
template <class Integer>
void appendInteger(std::string& out, Integer n) {
    char buf[24];
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, n);
    (void)ec;
    out.append(buf, p);
}
}  // namespace

JsonWriter& JsonWriter::value(int64_t n) {
    separate();
    appendInteger(_out, n);
    return *this;
}

JsonWriter& JsonWriter::value(uint64_t n) {
    separate();
    appendInteger(_out, n);
    return *this;
}

JsonWriter& JsonWriter::value(double d) {
    separate();
    if (!std::isfinite(d)) {
        _out.append("null");
        return *this;
    }
    char buf[32];
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, d);
    (void)ec;
    _out.append(buf, p);
    return *this;
}

JsonWriter& JsonWriter::value(const JsonValue& v) {
    switch (v.type()) {
    case JsonValue::Type::Null: return null();
    case JsonValue::Type::Bool: return value(v.asBool());
    case JsonValue::Type::Number: return raw(v.numberText());
    case JsonValue::Type::String: return value(std::string_view(v.asString()));
    case JsonValue::Type::Array:
        beginArray();
        for (const auto& item : v.items()) value(item);
        return endArray();
    case JsonValue::Type::Object:
        beginObject();
        for (const auto& member : v.members()) {
            key(member.first);
            value(member.second);
        }
        return endObject();
    }
    return *this;
}

JsonWriter& JsonWriter::cents(int64_t amount) {
    separate();
    if (amount < 0) {
        _out.push_back('-');
        amount = -amount;
    }
    char buf[24];
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, amount / 100);
    (void)ec;
    _out.append(buf, p);
    const int frac = static_cast<int>(amount % 100);
    _out.push_back('.');
    _out.push_back(static_cast<char>('0' + frac / 10));
    _out.push_back(static_cast<char>('0' + frac % 10));
    return *this;
}

}  // namespace ordersystem::sdk
