// Our request-head and JSON parsers against the libraries that could replace them, on the bytes
// the benchmark's requests carry: Boost.Beast's request parser for heads, RapidJSON (SAX) and
// simdjson (DOM) for JSON, each building the same result our code builds (a RequestHead's
// fields; an sdk::JsonValue). docs/http.md has the figures and the decisions they led to.
#include <benchmark/benchmark.h>

#include <rapidjson/reader.h>
#include <simdjson.h>
#include <boost/beast/http.hpp>

#include <string>
#include <vector>

#include "HttpWire.h"
#include "ordersystem/sdk/json.h"

using ordersystem::sdk::JsonValue;
namespace wire = ordersystem::host::wire;
namespace http = boost::beast::http;

namespace {

const std::string kCreateHead =
    "POST /api/orders HTTP/1.1\r\nHost: 127.0.0.1:5000\r\nContent-Type: application/json\r\nContent-Length: 141\r\n\r\n";
const std::string kBrowserHead =
    "GET /api/orders?status=Pending&limit=50 HTTP/1.1\r\nHost: orders.example.com\r\nUser-Agent: Mozilla/5.0 (X11; "
    "Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\r\nAccept: application/json, "
    "text/plain, */*\r\nAccept-Language: en-US,en;q=0.9\r\nAccept-Encoding: gzip, deflate, br\r\nAuthorization: Bearer "
    "3f1c0e0a9b8d7c6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e\r\nConnection: keep-alive\r\nCookie: "
    "session=abc123; theme=dark\r\n\r\n";
const std::string kCreateBody =
    R"({"customerName":"Bench Customer","items":[{"productName":"Laptop","quantity":1,"price":999.99},)"
    R"({"productName":"Mouse","quantity":2,"price":29.99}]})";

std::string largestOrder() {
    std::string items;
    for (int i = 0; i < 100; ++i)
        items += std::string(i ? "," : "") + R"({"productName":")" + std::string(200, 'n') +
                 R"(","quantity":10000,"price":999999999.99})";
    return R"({"customerName":")" + std::string(200, 'c') + R"(","items":[)" + items + "]}";
}

void oursHead(benchmark::State& state, const std::string& text) {
    wire::RequestHead head;
    for (auto _ : state) {
        wire::HeadParser parser;
        const wire::HeadOutcome o = parser.parse(text, wire::Limits{}, head);
        benchmark::DoNotOptimize(o.consumed);
    }
}

void beastHead(benchmark::State& state, const std::string& text) {
    wire::RequestHead head;  // the same fields ours fills, copied out of Beast's message
    for (auto _ : state) {
        http::request_parser<http::empty_body> parser;
        parser.header_limit(16384);
        parser.eager(false);
        boost::beast::error_code ec;
        parser.put(boost::asio::buffer(text), ec);
        const auto& message = parser.get();
        head.method.assign(message.method_string().data(), message.method_string().size());
        head.target.assign(message.target().data(), message.target().size());
        head.headers.clear();
        for (const auto& field : message)
            head.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
        head.keepAlive = message.keep_alive();
        head.chunked = parser.chunked();
        benchmark::DoNotOptimize(head.headers.data());
    }
}

void oursJson(benchmark::State& state, const std::string& text) {
    for (auto _ : state) {
        auto doc = ordersystem::sdk::parseJson(text);
        benchmark::DoNotOptimize(doc.isOk());
    }
}

/// RapidJSON's SAX reader building our DOM (numbers as their text, as ours keeps them).
class RapidBuilder : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, RapidBuilder> {
public:
    JsonValue root;
    bool Null() { return add(JsonValue::makeNull()); }
    bool Bool(bool b) { return add(JsonValue::makeBool(b)); }
    bool RawNumber(const char* s, rapidjson::SizeType n, bool) { return add(JsonValue::makeNumber(std::string(s, n))); }
    bool String(const char* s, rapidjson::SizeType n, bool) { return add(JsonValue::makeString(std::string(s, n))); }
    bool StartObject() { return open(JsonValue::makeObject()); }
    bool Key(const char* s, rapidjson::SizeType n, bool) {
        _key.assign(s, n);
        return true;
    }
    bool EndObject(rapidjson::SizeType) { return close(); }
    bool StartArray() { return open(JsonValue::makeArray()); }
    bool EndArray(rapidjson::SizeType) { return close(); }

private:
    JsonValue* place(JsonValue&& v) {
        if (_stack.empty()) {
            root = std::move(v);
            return &root;
        }
        JsonValue& parent = *_stack.back();
        if (parent.isArray()) {
            parent.mutableItems().push_back(std::move(v));
            return &parent.mutableItems().back();
        }
        parent.mutableMembers().emplace_back(std::move(_key), std::move(v));
        return &parent.mutableMembers().back().second;
    }
    bool add(JsonValue&& v) {
        place(std::move(v));
        return true;
    }
    bool open(JsonValue&& v) {
        _stack.push_back(place(std::move(v)));
        return _stack.size() <= 64;
    }
    bool close() {
        _stack.pop_back();
        return true;
    }
    std::vector<JsonValue*> _stack;
    std::string _key;
};

void rapidJson(benchmark::State& state, const std::string& text) {
    constexpr unsigned kFlags =
        rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag;
    for (auto _ : state) {
        RapidBuilder builder;
        rapidjson::Reader reader;
        rapidjson::StringStream in(text.c_str());
        const bool ok = !reader.Parse<kFlags>(in, builder).IsError();
        benchmark::DoNotOptimize(ok);
    }
}

JsonValue fromSimdjson(simdjson::dom::element e) {
    switch (e.type()) {
    case simdjson::dom::element_type::OBJECT: {
        JsonValue v = JsonValue::makeObject();
        for (auto field : simdjson::dom::object(e))
            v.mutableMembers().emplace_back(std::string(field.key), fromSimdjson(field.value));
        return v;
    }
    case simdjson::dom::element_type::ARRAY: {
        JsonValue v = JsonValue::makeArray();
        for (auto item : simdjson::dom::array(e)) v.mutableItems().push_back(fromSimdjson(item));
        return v;
    }
    case simdjson::dom::element_type::STRING: return JsonValue::makeString(std::string(std::string_view(e)));
    case simdjson::dom::element_type::BOOL: return JsonValue::makeBool(bool(e));
    case simdjson::dom::element_type::NULL_VALUE: return JsonValue::makeNull();
    default: {
        // The DOM keeps numbers as binary only: money would have to be printed back, inexactly.
        return JsonValue::makeNumber(simdjson::minify(e));
    }
    }
}

void simdJson(benchmark::State& state, const std::string& text) {
    simdjson::dom::parser parser;
    const simdjson::padded_string padded(text);
    for (auto _ : state) {
        simdjson::dom::element root;
        const bool ok = parser.parse(padded).get(root) == simdjson::SUCCESS;
        if (ok) benchmark::DoNotOptimize(fromSimdjson(root));
    }
}

}  // namespace

BENCHMARK_CAPTURE(oursHead, create, kCreateHead);
BENCHMARK_CAPTURE(beastHead, create, kCreateHead);
BENCHMARK_CAPTURE(oursHead, browser, kBrowserHead);
BENCHMARK_CAPTURE(beastHead, browser, kBrowserHead);
BENCHMARK_CAPTURE(oursJson, create, kCreateBody);
BENCHMARK_CAPTURE(rapidJson, create, kCreateBody);
BENCHMARK_CAPTURE(simdJson, create, kCreateBody);
BENCHMARK_CAPTURE(oursJson, largestOrder, largestOrder());
BENCHMARK_CAPTURE(rapidJson, largestOrder, largestOrder());
BENCHMARK_CAPTURE(simdJson, largestOrder, largestOrder());

BENCHMARK_MAIN();
