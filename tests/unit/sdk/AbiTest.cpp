// The SDK's ABI version must move whenever an SDK header changes: plugins built against other
// headers are then refused by name at load time instead of misbehaving (DESIGN.md).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "ordersystem/sdk/plugin.h"
#include "ordersystem/sdk/util.h"
#include "ordersystem/testing/TestSupport.h"

namespace fs = std::filesystem;

namespace {
/// Fingerprint of every header under sdk/include: relative path and content, in path order.
std::string headersFingerprint() {
    const fs::path root = fs::path(ordersystem::testing::sourceDir()) / "sdk" / "include";
    std::vector<fs::path> headers;
    for (const auto& entry : fs::recursive_directory_iterator(root))
        if (entry.is_regular_file() && entry.path().extension() == ".h") headers.push_back(entry.path());
    std::sort(headers.begin(), headers.end());
    std::string all;
    for (const auto& h : headers) {
        all += fs::relative(h, root).string();
        all += '\0';
        all += ordersystem::testing::readFile(h.string());
        all += '\0';
    }
    return ordersystem::sdk::fnv1aHex(all);
}
}  // namespace

TEST(SdkAbi, TheVersionIsBumpedWheneverAnSdkHeaderChanges) {
    // When this fails: bump ORDERSYSTEM_SDK_ABI_VERSION in sdk/include/ordersystem/sdk/plugin.h
    // and record the new fingerprint here, beside the new version.
    const std::string expected = "d11d15eb5d479c8e";
    EXPECT_EQ(ORDERSYSTEM_SDK_ABI_VERSION, 13u);
    EXPECT_EQ(headersFingerprint(), expected)
        << "the SDK headers changed: bump ORDERSYSTEM_SDK_ABI_VERSION and update this fingerprint";
}
