// docs/configuration.md is the committed output of `ordersystem --describe-config` over the built
// plugins: a key added, renamed, re-defaulted or re-explained in the code without regenerating
// the document fails here, with the first difference and the command that regenerates it.
#include <gtest/gtest.h>

#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "ordersystem/testing/TestSupport.h"

namespace {

using ordersystem::testing::hostExecutable;
using ordersystem::testing::readFile;
using ordersystem::testing::sourceDir;

std::string shellQuoted(const std::string& text) {
    std::string out = "'";
    for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

/// stdout of `ordersystem --describe-config` as a user runs it (no ini; plugins beside the executable).
/// stderr stays the test's own, so a plugin that failed to load is named in the test's output.
std::string describeConfigOutput(int* exitCode) {
    const std::string command =
        "env -u ORDERSYSTEM_PLUGINS_DIR " + shellQuoted(hostExecutable()) + " --describe-config";
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe) return "";
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
    const int status = ::pclose(pipe);
    *exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return out;
}

std::vector<std::string> linesOf(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

/// The first line where the two differ, in the style of a diff hunk.
std::string firstDifference(const std::string& committed, const std::string& printed) {
    const auto a = linesOf(committed), b = linesOf(printed);
    size_t i = 0;
    while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
    std::string hint = "first difference at line " + std::to_string(i + 1) + " (docs/configuration.md has " +
                       std::to_string(a.size()) + " lines, --describe-config prints " + std::to_string(b.size()) +
                       "):\n";
    hint += i < a.size() ? "- " + a[i] + "\n" : "- (end of file)\n";
    hint += i < b.size() ? "+ " + b[i] + "\n" : "+ (end of output)\n";
    if (committed.size() == printed.size() && committed != printed) hint += "(the lines match; line endings differ)\n";
    return hint;
}

TEST(ConfigurationReference, DocsConfigurationMdIsWhatDescribeConfigPrints) {
    int exitCode = -1;
    const std::string printed = describeConfigOutput(&exitCode);
    ASSERT_EQ(exitCode, 0) << "ordersystem --describe-config failed";
    const std::string docPath = sourceDir() + "/docs/configuration.md";
    const std::string committed = readFile(docPath);
    EXPECT_TRUE(committed == printed) << docPath << " is not what `ordersystem --describe-config` prints; "
                                      << firstDifference(committed, printed) << "Regenerate it with:\n  "
                                      << shellQuoted(hostExecutable()) << " --describe-config > "
                                      << shellQuoted(docPath);
}

TEST(ConfigurationReference, EveryKeyOfTheHostAndTheBuiltPluginsIsExplained) {
    int exitCode = -1;
    const std::string printed = describeConfigOutput(&exitCode);
    ASSERT_EQ(exitCode, 0);
    size_t rows = 0;
    for (const auto& line : linesOf(printed)) {
        if (line.rfind("| `", 0) != 0) continue;
        ++rows;
        const size_t lastCell = line.rfind(" | ");
        const std::string help = line.substr(lastCell + 3, line.size() - lastCell - 5);
        EXPECT_GE(help.size(), 20u) << "a key with no real explanation: " << line;
    }
    EXPECT_GT(rows, 50u) << printed;
}

}  // namespace
