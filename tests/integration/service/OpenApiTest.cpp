// The OpenAPI document the node serves against what the node really does: every route is
// documented (and nothing else), path parameters match, example requests are accepted, and
// documented response shapes match real answers.
#include <gtest/gtest.h>

#include <set>

#include "ServiceNode.h"

namespace ordersystem::service {
namespace {

using sdk::JsonValue;
using testing::httpGet;
using testing::httpRequest;
using testing::HttpResult;

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string text(const JsonValue& v) {
    if (v.isString()) return v.asString();
    if (v.isNumber()) return v.numberText();
    std::string out;
    sdk::JsonWriter(out).value(v);
    return out;
}

class OpenApiTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(_node.status().isOk()) << _node.status().message;
        const HttpResult r = httpGet(_node.port(), "/openapi.json");
        ASSERT_EQ(r.status, 200) << r.body;
        EXPECT_EQ(r.header("content-type"), "application/json");
        auto doc = sdk::parseJson(r.body);
        ASSERT_TRUE(doc && doc->isObject()) << "openapi.json is not a JSON object";
        _doc = doc.value();
        ASSERT_NE(_doc.find("paths"), nullptr);
    }
    const JsonValue& paths() const { return *_doc.find("paths"); }
    /// Follows a local "$ref" ("#/components/...") once.
    const JsonValue& resolve(const JsonValue& v) const {
        const JsonValue* ref = v.find("$ref");
        if (!ref || !ref->isString() || ref->asString().rfind("#/", 0) != 0) return v;
        const JsonValue* cur = &_doc;
        std::string path = ref->asString().substr(2);
        size_t start = 0;
        while (cur && start <= path.size()) {
            const size_t slash = path.find('/', start);
            cur = cur->find(path.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
            if (slash == std::string::npos) break;
            start = slash + 1;
        }
        return cur ? *cur : v;
    }
    int createExampleOrder() {
        const JsonValue* example = paths()
                                       .find("/api/orders")
                                       ->find("post")
                                       ->find("requestBody")
                                       ->find("content")
                                       ->find("application/json")
                                       ->find("example");
        const HttpResult r = testing::httpPostJson(_node.port(), "/api/orders", text(*example));
        int64_t id = 0;
        const JsonValue doc = r.json();
        if (r.status != 201 || !doc.find("orderId") || !doc.find("orderId")->asInt64(&id)) {
            ADD_FAILURE() << "the createOrder example was refused: " << r.status << " " << r.body;
            return 0;
        }
        return static_cast<int>(id);
    }

    test::ServiceNode _node;
    JsonValue _doc;
};

TEST_F(OpenApiTest, DocumentIsOpenApi3WithBothAuthenticationSchemes) {
    ASSERT_NE(_doc.find("openapi"), nullptr);
    EXPECT_EQ(_doc.find("openapi")->asString().rfind("3.", 0), 0u);
    const JsonValue* schemes = _doc.find("components")->find("securitySchemes");
    ASSERT_NE(schemes, nullptr);
    EXPECT_NE(schemes->find("bearerAuth"), nullptr);
    EXPECT_NE(schemes->find("apiKeyHeader"), nullptr);
}

TEST_F(OpenApiTest, EveryRegisteredRouteIsDocumentedAndEveryDocumentedRouteExists) {
    std::set<std::pair<std::string, std::string>> registered;
    for (const auto& [method, pattern] : _node.runtime().services().router.routes()) {
        registered.emplace(lower(method), pattern);
        const JsonValue* item = paths().find(pattern);
        ASSERT_NE(item, nullptr) << "route " << pattern << " is not in openapi.json";
        EXPECT_NE(item->find(lower(method)), nullptr) << method << " " << pattern << " is not in openapi.json";
    }
    EXPECT_GE(registered.size(), 17u);
    for (const auto& [path, item] : paths().members())
        for (const auto& [method, op] : item.members())
            EXPECT_TRUE(registered.count({method, path}))
                << "openapi.json documents " << method << " " << path << " but no plugin serves it";
}

TEST_F(OpenApiTest, PathParametersMatchThePatternAndEveryOperationHasAnIdAndResponses) {
    std::set<std::string> operationIds;
    for (const auto& [path, item] : paths().members()) {
        std::set<std::string> inPattern;
        for (size_t open = path.find('{'); open != std::string::npos; open = path.find('{', open + 1))
            inPattern.insert(path.substr(open + 1, path.find('}', open) - open - 1));
        for (const auto& [method, op] : item.members()) {
            std::set<std::string> documented;
            if (const JsonValue* params = op.find("parameters"))
                for (const auto& p : params->items()) {
                    const JsonValue& param = resolve(p);
                    if (param.find("in") && param.find("in")->asString() == "path")
                        documented.insert(param.find("name")->asString());
                }
            EXPECT_EQ(documented, inPattern) << method << " " << path;
            ASSERT_NE(op.find("operationId"), nullptr) << method << " " << path;
            EXPECT_TRUE(operationIds.insert(op.find("operationId")->asString()).second)
                << "duplicate operationId " << op.find("operationId")->asString();
            ASSERT_NE(op.find("responses"), nullptr) << method << " " << path;
            if (path.rfind("/api/", 0) == 0) {
                EXPECT_NE(op.find("responses")->find("401"), nullptr) << method << " " << path << " lacks the 401";
            }
        }
    }
}

TEST_F(OpenApiTest, ExampleRequestsAreAcceptedByTheServer) {
    int checked = 0;
    for (const auto& [path, item] : paths().members()) {
        for (const auto& [method, op] : item.members()) {
            // State-changing calls get a fresh order in the state the call needs.
            std::string id = "1";
            if (method == "post" && path.rfind("/api/orders/{id}/", 0) == 0) {
                const int fresh = createExampleOrder();
                id = std::to_string(fresh);
                if (path == "/api/orders/{id}/complete") {
                    ASSERT_EQ(httpRequest(_node.port(), "POST", "/api/orders/" + id + "/process").status, 200);
                }
            } else if (path.find("{id}") != std::string::npos) {
                id = std::to_string(createExampleOrder());
            }
            std::string target = path, query, body;
            if (const JsonValue* params = op.find("parameters")) {
                for (const auto& p : params->items()) {
                    const JsonValue& param = resolve(p);
                    const std::string name = param.find("name")->asString();
                    const std::string in = param.find("in")->asString();
                    const JsonValue* example = param.find("example");
                    if (in == "path") {
                        ASSERT_NE(example, nullptr) << "path parameter " << name << " of " << path << " has no example";
                        const std::string value = name == "id" ? id : text(*example);
                        target.replace(target.find("{" + name + "}"), name.size() + 2, testing::urlEncode(value));
                    } else if (in == "query" && example) {
                        query += (query.empty() ? "?" : "&") + name + "=" + testing::urlEncode(text(*example));
                    }
                }
            }
            std::vector<std::pair<std::string, std::string>> headers;
            if (const JsonValue* rb = op.find("requestBody")) {
                const JsonValue* json = rb->find("content")->find("application/json");
                ASSERT_NE(json, nullptr) << path;
                ASSERT_NE(json->find("example"), nullptr) << method << " " << path << " has a body but no example";
                body = text(*json->find("example"));
                headers.emplace_back("Content-Type", "application/json");
            }
            std::string upper = method;
            for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            const HttpResult r = httpRequest(_node.port(), upper, target + query, body, headers);
            if (path == "/api/dead-letters/{eventId}/retry") {
                // A fresh node has no dead letter to retry: the documented answer is 404.
                EXPECT_EQ(r.status, 404) << upper << " " << target << " answered " << r.status << " " << r.body;
            } else {
                EXPECT_TRUE(r.status >= 200 && r.status < 300)
                    << upper << " " << target + query << " (the documented example) answered " << r.status << " "
                    << r.body;
            }
            EXPECT_NE(op.find("responses")->find(std::to_string(r.status)), nullptr)
                << upper << " " << path << " answered " << r.status << ", which is not documented";
            ++checked;
        }
    }
    EXPECT_GE(checked, 17);
}

TEST_F(OpenApiTest, JsonAnswersHaveTheDocumentedShape) {
    const int id = createExampleOrder();
    ASSERT_GT(id, 0);
    int checked = 0;
    for (const auto& [path, item] : paths().members()) {
        const JsonValue* get = item.find("get");
        if (!get) continue;
        const JsonValue* ok = get->find("responses")->find("200");
        const JsonValue* content = ok ? resolve(*ok).find("content") : nullptr;
        const JsonValue* json = content ? content->find("application/json") : nullptr;
        if (!json || !json->find("schema")) continue;
        std::string target = path;
        if (target.find("{id}") != std::string::npos) target.replace(target.find("{id}"), 4, std::to_string(id));
        if (target.find("{customerName}") != std::string::npos)
            target.replace(target.find("{customerName}"), 14, testing::urlEncode("John Doe"));
        const HttpResult r = httpGet(_node.port(), target);
        const JsonValue actual = r.json();
        const JsonValue& schema = resolve(*json->find("schema"));
        const JsonValue* type = schema.find("type");
        if (type && type->isString() && type->asString() == "array") {
            EXPECT_TRUE(actual.isArray()) << path << " is documented as an array, got " << r.body;
        } else if (type && type->isString() && type->asString() == "object") {
            ASSERT_TRUE(actual.isObject()) << path << " is documented as an object, got " << r.body;
            if (const JsonValue* required = schema.find("required")) {
                for (const auto& key : required->items()) {
                    EXPECT_NE(actual.find(key.asString()), nullptr)
                        << path << " answer lacks documented field " << key.asString() << ": " << r.body;
                }
            }
        }
        ++checked;
    }
    EXPECT_GE(checked, 8);
}

}  // namespace
}  // namespace ordersystem::service
