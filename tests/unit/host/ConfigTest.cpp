// Configuration: the ini reader, the override layers and schema validation.
#include <gtest/gtest.h>

#include "Config.h"
#include "ConfigSchema.h"
#include "HostTestUtil.h"

namespace ordersystem::host {
namespace {

using test::emptyEnv;
using test::envOf;

const HostSchema& schemaOf(const std::string& name) {
    for (const auto& s : hostSchemas())
        if (s.section == name) return s;
    throw std::runtime_error("no schema " + name);
}

sdk::Result<ValidatedSection> validateHttp(const Configuration& cfg, const EnvLookup& env) {
    const auto& s = schemaOf("http");
    return validateSection(cfg, "http", s.keys.data(), s.keys.size(), env);
}

Configuration parse(const std::string& text) {
    auto r = Configuration::parse(text, "/etc/test.ini", "/etc");
    EXPECT_TRUE(r.isOk()) << r.status().message;
    return r.isOk() ? r.value() : Configuration();
}

TEST(Config, InlineCommentAfterValueIsNotPartOfTheValue) {
    Configuration cfg = parse("; full line comment\n[node]\nid = node-1      ; unique per node\n# hash comment\n");
    ASSERT_NE(cfg.find("node", "id"), nullptr);
    EXPECT_EQ(cfg.find("node", "id")->value, "node-1");
}

TEST(Config, EmptyValueWithOnlyACommentIsEmpty) {
    Configuration cfg = parse("[notifications]\nwebhook_url =   ; empty: logged only\n");
    ASSERT_NE(cfg.find("notifications", "webhook_url"), nullptr);
    EXPECT_EQ(cfg.find("notifications", "webhook_url")->value, "");
}

TEST(Config, SectionAndKeyNamesAreCaseInsensitive) {
    Configuration cfg = parse("[HTTP]\nPort = 5001\n[Transport.Redis]\nURL = redis://x\n");
    ASSERT_NE(cfg.find("http", "port"), nullptr);
    EXPECT_EQ(cfg.find("Http", "PORT")->value, "5001");
    ASSERT_NE(cfg.find("transport.redis", "url"), nullptr);
    EXPECT_EQ(cfg.find("transport.redis", "url")->value, "redis://x");
}

TEST(Config, MalformedLineIsRefusedWithItsLineNumber) {
    auto r = Configuration::parse("[node]\nid = a\nthis is not a setting\n", "/etc/test.ini", "/etc");
    ASSERT_FALSE(r.isOk());
    EXPECT_NE(r.status().message.find("test.ini:3"), std::string::npos) << r.status().message;
}

TEST(Config, DuplicateKeyIsRefused) {
    auto r = Configuration::parse("[http]\nport = 1\nport = 2\n", "/etc/test.ini", "/etc");
    ASSERT_FALSE(r.isOk());
    EXPECT_NE(r.status().message.find("port"), std::string::npos);
}

TEST(Config, CommandLineBeatsEnvironmentBeatsIniBeatsDefault) {
    Configuration cfg = parse("[http]\nport = 1111\n");
    const auto env = envOf({{"ORDERSYSTEM_HTTP_PORT", "2222"}});

    EXPECT_EQ(validateHttp(parse(""), emptyEnv()).value().getInt("port"), 5000);  // default
    EXPECT_EQ(validateHttp(cfg, emptyEnv()).value().getInt("port"), 1111);        // ini
    EXPECT_EQ(validateHttp(cfg, env).value().getInt("port"), 2222);               // environment
    ASSERT_TRUE(cfg.applyDefine("http.port=3333").isOk());
    EXPECT_EQ(validateHttp(cfg, env).value().getInt("port"), 3333);  // command line
}

TEST(Config, DefineOfADottedSectionSplitsAtTheLastDot) {
    Configuration cfg = parse("");
    ASSERT_TRUE(cfg.applyDefine("Transport.Redis.URL=redis://10.0.0.1:6379").isOk());
    ASSERT_NE(cfg.find("transport.redis", "url"), nullptr);
    EXPECT_EQ(cfg.find("transport.redis", "url")->value, "redis://10.0.0.1:6379");
}

TEST(Config, MalformedDefineIsRefused) {
    Configuration cfg = parse("");
    EXPECT_FALSE(cfg.applyDefine("noequals").isOk());
    EXPECT_FALSE(cfg.applyDefine("nodot=1").isOk());
}

TEST(Config, EnvironmentNameIsUpperCaseWithDotsAndDashesAsUnderscores) {
    EXPECT_EQ(environmentName("http", "port"), "ORDERSYSTEM_HTTP_PORT");
    EXPECT_EQ(environmentName("transport.redis", "url"), "ORDERSYSTEM_TRANSPORT_REDIS_URL");
    EXPECT_EQ(environmentName("fixture-routes", "max_items"), "ORDERSYSTEM_FIXTURE_ROUTES_MAX_ITEMS");
}

TEST(Config, RelativePathsResolveAgainstTheIniFolder) {
    testing::TempDir dir;
    testing::writeFile(dir.file("my.ini"), "[node]\ndata_dir = data\n");
    auto cfg = Configuration::load(dir.file("my.ini"), {});
    ASSERT_TRUE(cfg.isOk()) << cfg.status().message;
    EXPECT_EQ(cfg.value().resolvePath("data"), dir.path() + "/data");
    EXPECT_EQ(cfg.value().resolvePath("./x/orders.db"), dir.path() + "/x/orders.db");
    EXPECT_EQ(cfg.value().resolvePath("/var/lib/ordersystem"), "/var/lib/ordersystem");
}

TEST(Config, MissingFileIsRefusedWithItsName) {
    auto cfg = Configuration::load("/nonexistent/ordersystem.ini", {});
    ASSERT_FALSE(cfg.isOk());
    EXPECT_NE(cfg.status().message.find("/nonexistent/ordersystem.ini"), std::string::npos);
}

TEST(ConfigSchema, WrongTypeIsRefusedWithTheKeyNamed) {
    auto r = validateHttp(parse("[http]\nport = fivethousand\n"), emptyEnv());
    ASSERT_FALSE(r.isOk());
    EXPECT_NE(r.status().message.find("[http] port"), std::string::npos) << r.status().message;
    EXPECT_NE(r.status().message.find("integer"), std::string::npos) << r.status().message;
}

TEST(ConfigSchema, WrongTypeFromTheEnvironmentNamesTheVariable) {
    auto r = validateHttp(parse(""), envOf({{"ORDERSYSTEM_HTTP_PORT", "x"}}));
    ASSERT_FALSE(r.isOk());
    EXPECT_NE(r.status().message.find("ORDERSYSTEM_HTTP_PORT"), std::string::npos) << r.status().message;
}

TEST(ConfigSchema, UnknownKeyIsRefusedWithTheKeyNamed) {
    auto r = validateHttp(parse("[http]\nprot = 5000\n"), emptyEnv());
    ASSERT_FALSE(r.isOk());
    EXPECT_NE(r.status().message.find("unknown key 'prot' in [http]"), std::string::npos) << r.status().message;
}

TEST(ConfigSchema, UndeclaredEnvironmentVariablesAreIgnored) {
    auto r = validateHttp(parse(""), envOf({{"ORDERSYSTEM_HTTP_PROT", "1"}}));
    EXPECT_TRUE(r.isOk());
}

TEST(ConfigSchema, BooleansAcceptTheUsualSpellings) {
    bool b = false;
    EXPECT_TRUE(parseBool("yes", &b) && b);
    EXPECT_TRUE(parseBool("Off", &b) && !b);
    EXPECT_FALSE(parseBool("maybe", &b));
    int64_t i = 0;
    EXPECT_FALSE(parseInt("12abc", &i));
    EXPECT_TRUE(parseInt(" -7 ", &i) && i == -7);
}

}  // namespace
}  // namespace ordersystem::host
