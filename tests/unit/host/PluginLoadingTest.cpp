// Plugin loading and lifecycle refusals, each with a tiny broken fixture plugin.
#include <gtest/gtest.h>

#include "HostTestUtil.h"
#include "PluginLoader.h"

namespace ordersystem::host {
namespace {

using ordersystem::testing::TempDir;
using ordersystem::testing::writeFile;

/// Runs --check-config (or a full start) on a fixture ini and returns the refusal text ("" = ok).
std::string refusal(const std::string& load, const std::string& extra = "", bool fullStart = false) {
    TempDir dir;
    writeFile(dir.file("os.ini"), test::fixtureIni(load, extra));
    Runtime runtime(test::optionsFor(dir.file("os.ini")));
    const sdk::Status s = fullStart ? runtime.start() : runtime.check();
    runtime.stop();
    return s.isOk() ? std::string() : s.message;
}

#define EXPECT_MENTIONS(text, part) EXPECT_NE((text).find(part), std::string::npos) << (text)

TEST(PluginLoading, ValidFixtureConfigurationPassesTheCheck) {
    EXPECT_EQ(refusal("fixture-transport, fixture-routes"), "");
}

TEST(PluginLoading, UnknownPluginNameIsRefusedNamingTheFile) {
    const std::string why = refusal("fixture-transport, no-such-plugin");
    EXPECT_MENTIONS(why, "no-such-plugin");
    EXPECT_MENTIONS(why, "not found");
}

TEST(PluginLoading, PluginBuiltAgainstAnotherSdkVersionIsRefusedNamingBothVersions) {
    const std::string why = refusal("fixture-transport, abi-mismatch");
    EXPECT_MENTIONS(why, "abi-mismatch.so");
    EXPECT_MENTIONS(why, "version " + std::to_string(ORDERSYSTEM_SDK_ABI_VERSION + 1000u));
    EXPECT_MENTIONS(why, "ABI version " + std::to_string(ORDERSYSTEM_SDK_ABI_VERSION));
}

TEST(PluginLoading, LibraryWithoutTheEntrySymbolIsRefused) {
    const std::string why = refusal("fixture-transport, missing-entry");
    EXPECT_MENTIONS(why, "missing-entry.so");
    EXPECT_MENTIONS(why, ORDERSYSTEM_PLUGIN_ENTRY_SYMBOL);
}

TEST(PluginLoading, CreateFailureIsRefusedWithThePluginsReason) {
    const std::string why = refusal("fixture-transport, create-fails");
    EXPECT_MENTIONS(why, "create-fails");
    EXPECT_MENTIONS(why, "setting 'color' must be blue");
}

TEST(PluginLoading, StartFailureIsRefusedWithThePluginsReason) {
    EXPECT_EQ(refusal("fixture-transport, start-fails"), "");  // create() alone is fine
    const std::string why = refusal("fixture-transport, start-fails", "", true);
    EXPECT_MENTIONS(why, "start-fails");
    EXPECT_MENTIONS(why, "cannot reach broker");
}

TEST(PluginLoading, TransportStartsFirstWhateverTheLoadOrder) {
    // fixture-routes refuses to start when no event log exists yet.
    EXPECT_EQ(refusal("fixture-routes, fixture-transport", "", true), "");
}

TEST(PluginLoading, RouteConflictFailsTheStartNamingPluginAndRoute) {
    const std::string why =
        refusal("fixture-transport, fixture-routes", "[fixture-routes]\nsteal_health = true\n", true);
    EXPECT_MENTIONS(why, "fixture-routes");
    EXPECT_MENTIONS(why, "GET /health is registered twice");
}

TEST(PluginLoading, ZeroTransportsAreRefused) { EXPECT_MENTIONS(refusal("fixture-routes"), "no transport plugin"); }

TEST(PluginLoading, TwoTransportsAreRefusedNamingBoth) {
    const std::string why = refusal("fixture-transport, fixture-transport-b, fixture-routes");
    EXPECT_MENTIONS(why, "fixture-transport, fixture-transport-b");
}

TEST(PluginLoading, SamePluginTwiceIsRefused) {
    EXPECT_MENTIONS(refusal("fixture-transport, fixture-routes, fixture-routes"), "twice");
}

TEST(PluginLoading, UnknownKeyInAPluginSectionIsRefused) {
    const std::string why = refusal("fixture-transport, fixture-routes", "[fixture-routes]\ncolour = blue\n");
    EXPECT_MENTIONS(why, "unknown key 'colour' in [fixture-routes]");
}

TEST(PluginLoading, WrongTypeInAPluginSectionIsRefused) {
    const std::string why = refusal("fixture-transport, fixture-routes", "[Fixture-Routes]\nLIMIT = ten\n");
    EXPECT_MENTIONS(why, "[fixture-routes] limit");
}

TEST(PluginLoading, UnknownKeyInAHostSectionIsRefused) {
    const std::string why = refusal("fixture-transport", "[log]\nlevle = debug\n");
    EXPECT_MENTIONS(why, "unknown key 'levle' in [log]");
}

TEST(PluginLoading, SectionOfAPluginThatIsNotLoadedIsTolerated) {
    EXPECT_EQ(refusal("fixture-transport", "[transport.redis]\nurl = redis://127.0.0.1:6379\n"), "");
}

TEST(PluginLoading, BadEnumValuesInHostSectionsAreRefused) {
    TempDir dir;
    writeFile(dir.file("os.ini"), test::fixtureIni("fixture-transport"));
    Runtime a(test::optionsFor(dir.file("os.ini"), {"node.durability=sometimes"}));
    EXPECT_MENTIONS(a.check().message, "[node] durability");
    Runtime b(test::optionsFor(dir.file("os.ini"), {"log.level=loud"}));
    EXPECT_MENTIONS(b.check().message, "[log] level");
}

TEST(PluginLoading, ModeComesFromTheStartedTransport) {
    TempDir dir;
    writeFile(dir.file("os.ini"), test::fixtureIni("fixture-transport", "[fixture-transport]\nmode = cluster\n"));
    Runtime runtime(test::optionsFor(dir.file("os.ini")));
    ASSERT_TRUE(runtime.start().isOk());
    EXPECT_EQ(runtime.mode(), "cluster");
    EXPECT_EQ(runtime.services().node.httpAddress, "http://127.0.0.1:" + std::to_string(runtime.port()));
    EXPECT_EQ(runtime.services().node.dataDir, dir.path() + "/data");
    runtime.stop();
}

}  // namespace
}  // namespace ordersystem::host

namespace ordersystem::host {
namespace {

TEST(Startup, SecondNodeOnTheSamePortIsRefusedNamingTheAddress) {
    ordersystem::testing::TempDir dir;
    ordersystem::testing::writeFile(dir.file("os.ini"), test::fixtureIni("fixture-transport"));
    Runtime first(test::optionsFor(dir.file("os.ini")));
    ASSERT_TRUE(first.start().isOk());
    Runtime second(test::optionsFor(dir.file("os.ini"), {"http.port=" + std::to_string(first.port())}));
    const sdk::Status s = second.start();
    ASSERT_FALSE(s.isOk());
    EXPECT_NE(s.message.find("127.0.0.1:" + std::to_string(first.port())), std::string::npos) << s.message;
    first.stop();
}

}  // namespace
}  // namespace ordersystem::host
