// --describe-config: the Markdown a user reads (escaping, empty defaults, labels), which sections
// it lists in which order, and where it looks for the plugins.
#include <gtest/gtest.h>

#include <algorithm>

#include "ConfigReference.h"
#include "HostTestUtil.h"

namespace ordersystem::host {
namespace {

using ordersystem::testing::TempDir;
using ordersystem::testing::writeFile;

#define EXPECT_MENTIONS(text, part) EXPECT_NE((text).find(part), std::string::npos) << (text)

DocumentedSection pluginSection(std::vector<DocumentedKey> keys) {
    return DocumentedSection{"transport.example", "transport-example", "transport", std::move(keys)};
}

/// The table row of `key` in the formatted document ("" when there is none).
std::string rowOf(const std::string& document, const std::string& key) {
    const std::string start = "| `" + key + "` |";
    const size_t at = document.find(start);
    if (at == std::string::npos) return "";
    return document.substr(at, document.find('\n', at) - at);
}

/// Cell borders of a table row: the '|' not escaped with a backslash.
size_t cellBorders(const std::string& row) {
    size_t n = 0;
    for (size_t i = 0; i < row.size(); ++i)
        if (row[i] == '|' && (i == 0 || row[i - 1] != '\\')) ++n;
    return n;
}

std::string formatted(const DocumentedKey& key) { return formatConfigReference({pluginSection({key})}); }

TEST(ConfigReferenceFormat, APipeInTheHelpIsEscapedSoTheRowKeepsItsFourColumns) {
    const std::string row = rowOf(formatted({"format", sdk::ConfigType::String, "text", "text | json"}), "format");
    EXPECT_MENTIONS(row, "text \\| json");
    EXPECT_EQ(cellBorders(row), 5u) << row;
}

TEST(ConfigReferenceFormat, AKeyWithoutDefaultShowsEmpty) {
    const std::string row =
        rowOf(formatted({"webhook_url", sdk::ConfigType::String, "", "where to POST"}), "webhook_url");
    EXPECT_EQ(row, "| `webhook_url` | string | *(empty)* | where to POST |");
}

TEST(ConfigReferenceFormat, DefaultsAreShownVerbatimAsCode) {
    EXPECT_EQ(rowOf(formatted({"url", sdk::ConfigType::String, "redis://127.0.0.1:6379", "server"}), "url"),
              "| `url` | string | `redis://127.0.0.1:6379` | server |");
    EXPECT_MENTIONS(rowOf(formatted({"sep", sdk::ConfigType::String, "a|b", "separator"}), "sep"), "| `a\\|b` |");
    EXPECT_MENTIONS(rowOf(formatted({"quote", sdk::ConfigType::String, "`x", "a backtick"}), "quote"), "| `` `x `` |");
}

TEST(ConfigReferenceFormat, TypesAreNamedInWords) {
    const std::string doc = formatConfigReference({pluginSection({{"a", sdk::ConfigType::Int, "1", "h"},
                                                                  {"b", sdk::ConfigType::Bool, "true", "h"},
                                                                  {"c", sdk::ConfigType::Double, "0.5", "h"},
                                                                  {"d", sdk::ConfigType::Path, "x.db", "h"}})});
    EXPECT_MENTIONS(rowOf(doc, "a"), "| integer |");
    EXPECT_MENTIONS(rowOf(doc, "b"), "| boolean |");
    EXPECT_MENTIONS(rowOf(doc, "c"), "| number |");
    EXPECT_MENTIONS(rowOf(doc, "d"), "| path |");
}

TEST(ConfigReferenceFormat, MarkdownCharactersInTheHelpStayLiteral) {
    const std::string row =
        rowOf(formatted({"dir", sdk::ConfigType::Path, "", "<exe dir>/x for /api/* and `data_dir`, not _this_ or \\n"}),
              "dir");
    EXPECT_MENTIONS(row, "\\<exe dir>/x for /api/\\* and \\`data_dir\\`, not \\_this\\_ or \\\\n");
}

TEST(ConfigReferenceFormat, ALineBreakInTheHelpDoesNotEndTheRow) {
    const std::string row = rowOf(formatted({"k", sdk::ConfigType::Int, "1", "first\nsecond"}), "k");
    EXPECT_MENTIONS(row, "first second |");
}

TEST(ConfigReferenceFormat, TheHeaderNamesTheCommandAndThePrecedenceOfOverrides) {
    const std::string doc = formatConfigReference({});
    EXPECT_EQ(doc.rfind("# Configuration reference\n", 0), 0u) << doc;
    EXPECT_MENTIONS(doc, "`ordersystem --describe-config`");
    const size_t define = doc.find("1. `--define=section.key=value`");
    const size_t env = doc.find("2. the environment variable `ORDERSYSTEM_<SECTION>_<KEY>`");
    const size_t ini = doc.find("3. the ini file");
    const size_t fallback = doc.find("4. the default");
    EXPECT_NE(define, std::string::npos) << doc;
    EXPECT_LT(define, env);
    EXPECT_LT(env, ini);
    EXPECT_LT(ini, fallback);
    EXPECT_MENTIONS(doc, "`ORDERSYSTEM_HTTP_PORT=5001`");
    EXPECT_MENTIONS(doc, "`ORDERSYSTEM_TRANSPORT_REDIS_URL=");
}

TEST(ConfigReferenceFormat, EachSectionIsHeadedWithWhoReadsIt) {
    const std::string doc =
        formatConfigReference({{"node", "", "", {{"id", sdk::ConfigType::String, "", "name"}}}, pluginSection({})});
    EXPECT_MENTIONS(doc, "\n## [node] (host)\n\nRead by the host on every start.\n");
    EXPECT_MENTIONS(doc,
                    "\n## [transport.example] (plugin transport-example)\n\n"
                    "Declared by the transport plugin `transport-example`; read when `[plugins] load` names it.\n");
    EXPECT_MENTIONS(doc, "This section takes no keys.");
}

std::vector<std::string> labelsOf(const ConfigReference& reference) {
    std::vector<std::string> out;
    for (const auto& s : reference.sections) out.push_back(s.section + (s.plugin.empty() ? "" : " by " + s.plugin));
    return out;
}

TEST(ConfigReferenceCollect, HostSectionsComeFirstThenEveryLoadablePluginBySection) {
    auto reference = collectConfigReference(test::fixturePluginDir());
    ASSERT_TRUE(reference) << reference.status().message;
    EXPECT_EQ(labelsOf(reference.value()),
              (std::vector<std::string>{"node", "http", "plugins", "log", "create-fails by create-fails",
                                        "fixture-routes by fixture-routes", "fixture-transport by fixture-transport",
                                        "fixture-transport-b by fixture-transport-b", "start-fails by start-fails"}));
}

TEST(ConfigReferenceCollect, APluginsKeysComeWithTypeDefaultAndHelp) {
    auto reference = collectConfigReference(test::fixturePluginDir());
    ASSERT_TRUE(reference) << reference.status().message;
    const auto& sections = reference.value().sections;
    auto routes =
        std::find_if(sections.begin(), sections.end(), [](const auto& s) { return s.plugin == "fixture-routes"; });
    ASSERT_NE(routes, sections.end());
    EXPECT_EQ(routes->pluginKind, "domain");
    ASSERT_EQ(routes->keys.size(), 3u);
    EXPECT_EQ(routes->keys[1].name, "limit");
    EXPECT_EQ(routes->keys[1].type, sdk::ConfigType::Int);
    EXPECT_EQ(routes->keys[1].defaultValue, "10");
    EXPECT_EQ(routes->keys[1].help, "unused; lets tests check type validation");
}

TEST(ConfigReferenceCollect, FilesThatAreNotPluginsOfThisSdkAreLeftOutWithTheReason) {
    auto reference = collectConfigReference(test::fixturePluginDir());
    ASSERT_TRUE(reference) << reference.status().message;
    std::string skipped;
    for (const auto& line : reference.value().skipped) skipped += line + "\n";
    EXPECT_EQ(reference.value().skipped.size(), 2u) << skipped;
    EXPECT_MENTIONS(skipped, "abi-mismatch.so was built against plugin SDK ABI version");
    EXPECT_MENTIONS(skipped, "missing-entry.so does not export the entry symbol");
}

TEST(ConfigReferenceCollect, AMissingPluginFolderIsRefusedNamingIt) {
    TempDir dir;
    auto reference = collectConfigReference(dir.file("no-such-folder"));
    ASSERT_FALSE(reference);
    EXPECT_MENTIONS(reference.status().message, dir.file("no-such-folder"));
}

/// Where --describe-config looks for plugins, given these options (or the refusal text).
std::string pluginsLocatedWith(RuntimeOptions options) {
    Runtime runtime(std::move(options));
    auto dir = runtime.locatePlugins();
    return dir ? dir.value() : "refused: " + dir.status().message;
}

RuntimeOptions withoutIni(std::vector<std::string> defines = {}, EnvLookup env = test::emptyEnv()) {
    RuntimeOptions o;
    o.exeDir = "/opt/os/bin";
    o.defines = std::move(defines);
    o.env = std::move(env);
    return o;
}

TEST(ConfigReferencePlugins, WithoutAnIniThePluginsBesideTheExecutableAreDescribed) {
    EXPECT_EQ(pluginsLocatedWith(withoutIni()), "/opt/os/lib/ordersystem/plugins");
}

TEST(ConfigReferencePlugins, DefineAndEnvironmentChooseTheFolderWithoutAnIni) {
    EXPECT_EQ(pluginsLocatedWith(withoutIni({"plugins.dir=/srv/plugins"})), "/srv/plugins");
    EXPECT_EQ(pluginsLocatedWith(withoutIni({}, test::envOf({{"ORDERSYSTEM_PLUGINS_DIR", "/env/plugins"}}))),
              "/env/plugins");
}

TEST(ConfigReferencePlugins, AnIniNamesTheFolderRelativeToItself) {
    TempDir dir;
    writeFile(dir.file("os.ini"), "[plugins]\ndir = lib/plugins\n[orders]\nthis_key = is not checked here\n");
    RuntimeOptions o = test::optionsFor(dir.file("os.ini"));
    EXPECT_EQ(pluginsLocatedWith(o), dir.file("lib/plugins"));
}

TEST(ConfigReferencePlugins, AnUnreadableIniIsRefusedNamingIt) {
    TempDir dir;
    EXPECT_MENTIONS(pluginsLocatedWith(test::optionsFor(dir.file("missing.ini"))), "missing.ini");
}

}  // namespace
}  // namespace ordersystem::host
