// The built executable as an operator runs it: --check-config, --help, start and SIGTERM.
#include <gtest/gtest.h>

#include "HostTestUtil.h"

namespace ordersystem::host {
namespace {

using ordersystem::testing::ChildProcess;
using ordersystem::testing::TempDir;
using ordersystem::testing::writeFile;

#define EXPECT_MENTIONS(text, part) EXPECT_NE((text).find(part), std::string::npos) << (text)

TEST(Executable, CheckConfigOnABadIniExitsOneNamingTheKey) {
    TempDir dir;
    writeFile(dir.file("bad.ini"), test::fixtureIni("fixture-transport", "[fixture-transport]\nhealthy = sometimes\n"));
    ChildProcess p(test::hostExe(), {"--check-config", "--config=" + dir.file("bad.ini")}, dir.file("out.log"));
    EXPECT_EQ(p.wait(std::chrono::seconds(30)), 1);
    EXPECT_MENTIONS(p.output(), "[fixture-transport] healthy");
}

TEST(Executable, CheckConfigOnAGoodIniPrintsConfigurationOk) {
    TempDir dir;
    writeFile(dir.file("good.ini"), test::fixtureIni("fixture-transport, fixture-routes"));
    ChildProcess p(test::hostExe(), {"--check-config", "--config=" + dir.file("good.ini")}, dir.file("out.log"));
    EXPECT_EQ(p.wait(std::chrono::seconds(30)), 0) << p.output();
    EXPECT_MENTIONS(p.output(), "configuration OK");
}

TEST(Executable, DefineOverridesTheIniAndIsValidatedToo) {
    TempDir dir;
    writeFile(dir.file("good.ini"), test::fixtureIni("fixture-transport"));
    ChildProcess p(test::hostExe(), {"--check-config", "--config=" + dir.file("good.ini"), "--define=http.port=abc"},
                   dir.file("out.log"));
    EXPECT_EQ(p.wait(std::chrono::seconds(30)), 1);
    EXPECT_MENTIONS(p.output(), "[http] port");
}

TEST(Executable, EnvironmentOverrideIsValidatedAndNamed) {
    TempDir dir;
    writeFile(dir.file("good.ini"), test::fixtureIni("fixture-transport"));
    ChildProcess p(test::hostExe(), {"--check-config", "--config=" + dir.file("good.ini")}, dir.file("out.log"),
                   {{"ORDERSYSTEM_FIXTURE_TRANSPORT_HEALTHY", "sometimes"}});
    EXPECT_EQ(p.wait(std::chrono::seconds(30)), 1);
    EXPECT_MENTIONS(p.output(), "ORDERSYSTEM_FIXTURE_TRANSPORT_HEALTHY");
}

TEST(Executable, UnknownOptionExitsOne) {
    TempDir dir;
    ChildProcess p(test::hostExe(), {"--bogus"}, dir.file("out.log"));
    EXPECT_EQ(p.wait(std::chrono::seconds(30)), 1);
    EXPECT_MENTIONS(p.output(), "bogus");
}

TEST(Executable, MissingConfigOptionExitsOne) {
    TempDir dir;
    ChildProcess p(test::hostExe(), {}, dir.file("out.log"));
    EXPECT_EQ(p.wait(std::chrono::seconds(30)), 1);
    EXPECT_MENTIONS(p.output(), "--config");
}

TEST(Executable, HelpListsTheOptions) {
    TempDir dir;
    ChildProcess p(test::hostExe(), {"--help"}, dir.file("out.log"));
    EXPECT_EQ(p.wait(std::chrono::seconds(30)), 0);
    const std::string out = p.output();
    EXPECT_MENTIONS(out, "--config");
    EXPECT_MENTIONS(out, "--define");
    EXPECT_MENTIONS(out, "--check-config");
    EXPECT_MENTIONS(out, "--describe-config");
}

TEST(Executable, DescribeConfigNeedsNoIniAndPrintsTheHostSections) {
    TempDir dir;
    ChildProcess p(test::hostExe(), {"--describe-config"}, dir.file("out.log"));
    EXPECT_EQ(p.wait(std::chrono::seconds(30)), 0) << p.output();
    EXPECT_MENTIONS(p.output(), "# Configuration reference");
    EXPECT_MENTIONS(p.output(), "## [http] (host)");
}

TEST(Executable, DescribeConfigWithAnIniDescribesThePluginsOfItsPluginFolder) {
    TempDir dir;
    // The ini's other sections are not read: this one would stop a start.
    writeFile(dir.file("run.ini"), test::fixtureIni("fixture-transport", "[fixture-transport]\nhealthy = sometimes\n"));
    ChildProcess p(test::hostExe(), {"--describe-config", "--config=" + dir.file("run.ini")}, dir.file("out.log"));
    EXPECT_EQ(p.wait(std::chrono::seconds(30)), 0) << p.output();
    EXPECT_MENTIONS(p.output(), "## [fixture-routes] (plugin fixture-routes)");
    EXPECT_MENTIONS(p.output(), "| `healthy` | boolean | `true` | result of its readiness check |");
    EXPECT_MENTIONS(p.output(), "ordersystem: left out plugin 'abi-mismatch'");
}

TEST(Executable, DescribeConfigOnAnEmptyPluginFolderDescribesTheHostAndSaysSo) {
    TempDir dir;
    ChildProcess p(test::hostExe(), {"--describe-config", "--define=plugins.dir=" + dir.path()}, dir.file("out.log"));
    EXPECT_EQ(p.wait(std::chrono::seconds(30)), 0) << p.output();
    EXPECT_MENTIONS(p.output(), "## [log] (host)");
    EXPECT_MENTIONS(p.output(), "no plugins in " + dir.path());
}

TEST(Executable, DescribeConfigOnAMissingPluginFolderExitsOneNamingIt) {
    TempDir dir;
    ChildProcess p(test::hostExe(), {"--describe-config", "--define=plugins.dir=" + dir.file("nothing-here")},
                   dir.file("out.log"));
    EXPECT_EQ(p.wait(std::chrono::seconds(30)), 1);
    EXPECT_MENTIONS(p.output(), dir.file("nothing-here"));
}

std::string iniFor(const TempDir& dir, const std::string& plugins) {
    writeFile(dir.file("run.ini"), test::fixtureIni(plugins));
    return dir.file("run.ini");
}

/// Starts the executable with the given plugins at log level info on a free port and waits
/// until it is live (or has exited); the caller checks the outcome.
struct RunningHost {
    TempDir dir;
    int port = ordersystem::testing::freePort();
    ChildProcess process;
    bool live = false;
    explicit RunningHost(const std::string& plugins)
        : process(test::hostExe(),
                  {"--config=" + iniFor(dir, plugins), "--define=http.port=" + std::to_string(port),
                   "--define=log.level=info"},
                  dir.file("out.log")) {
        live =
            ordersystem::testing::waitUntil(
                [&] { return ordersystem::testing::httpGet(port, "/health/live").status == 200 || !process.running(); },
                std::chrono::seconds(20)) &&
            process.running();
    }
};

TEST(Executable, RunsUntilSigtermThenExitsZero) {
    RunningHost host("fixture-transport, fixture-routes");
    ASSERT_TRUE(host.live) << host.process.output();
    EXPECT_EQ(ordersystem::testing::httpGet(host.port, "/fixture/echo").status, 200);
    EXPECT_EQ(host.process.terminate(std::chrono::seconds(15)), 0) << host.process.output();
    const std::string out = host.process.output();
    EXPECT_MENTIONS(out, "started: node test-node mode standalone");
    EXPECT_MENTIONS(out, ":" + std::to_string(host.port));
}

TEST(Executable, TheStartUpLineNamesTheAllocatorTheBuildChose) {
    // With ORDERSYSTEM_USE_JEMALLOC the name comes from jemalloc's own mallctl("version"), so
    // it appears only when jemalloc really is the process's malloc.
    RunningHost host("fixture-transport");
    ASSERT_TRUE(host.live) << host.process.output();
    EXPECT_EQ(host.process.terminate(std::chrono::seconds(15)), 0) << host.process.output();
    EXPECT_MENTIONS(host.process.output(), std::string(", ") + ORDERSYSTEM_TEST_ALLOCATOR);
}

}  // namespace
}  // namespace ordersystem::host
