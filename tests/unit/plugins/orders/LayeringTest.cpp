// The orders plugin's folders include only what plugins/orders/README.md allows them: the
// dependencies point http -> app -> domain and store -> app/domain, never back.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "ordersystem/testing/TestSupport.h"

namespace {

namespace fs = std::filesystem;

/// The includes of every source file under plugins/orders/src/<folder>, as "file: include" (the
/// include without its opening quote or angle bracket).
std::vector<std::string> includesOf(const std::string& folder) {
    const fs::path root = fs::path(ordersystem::testing::sourceDir()) / "plugins" / "orders" / "src";
    std::vector<std::string> out;
    for (const auto& entry : fs::directory_iterator(root / folder)) {
        std::istringstream lines(ordersystem::testing::readFile(entry.path().string()));
        for (std::string line; std::getline(lines, line);)
            if (line.rfind("#include \"", 0) == 0 || line.rfind("#include <", 0) == 0)
                out.push_back(folder + "/" + entry.path().filename().string() + ": " + line.substr(10));
    }
    return out;
}

TEST(OrdersLayering, EachFolderIncludesOnlyWhatTheReadmeAllows) {
    const std::map<std::string, std::vector<std::string>> forbidden = {
        {"domain", {"app/", "store/", "http/", "OrdersPlugin", "ordersystem/sqlite/", "Poco/"}},
        {"app", {"store/", "http/", "OrdersPlugin", "ordersystem/sqlite/", "Poco/"}},
        {"http", {"store/", "OrdersPlugin", "ordersystem/sqlite/", "Poco/"}},
        {"store", {"http/", "OrdersPlugin"}},
    };
    for (const auto& [folder, refused] : forbidden) {
        const std::vector<std::string> includes = includesOf(folder);
        EXPECT_FALSE(includes.empty()) << "no sources found under " << folder;
        for (const std::string& include : includes)
            for (const std::string& prefix : refused)
                EXPECT_EQ(include.find(": " + prefix), std::string::npos) << include;
    }
}

}  // namespace
