// The Swagger page in a real browser: Debian's chromium, headless, renders /swagger from our
// node (no network) and lists the API's operations.
#include <gtest/gtest.h>

#include <unistd.h>

#include "ServiceNode.h"

namespace ordersystem::service {
namespace {

#define EXPECT_MENTIONS(text, part) EXPECT_NE((text).find(part), std::string::npos) << (text).substr(0, 4000)

std::string findChromium() {
    if (const char* env = std::getenv("ORDERSYSTEM_CHROMIUM"); env && *env) return env;
    for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"})
        if (::access(p, X_OK) == 0) return p;
    return "";
}

TEST(SwaggerInBrowser, HeadlessChromiumRendersTheOperationsFromOurOpenApiDocument) {
    const std::string chromium = findChromium();
    ASSERT_FALSE(chromium.empty())
        << "chromium not found: run packaging/install-deps.sh --test (or set ORDERSYSTEM_CHROMIUM)";
    test::ServiceNode node;
    ASSERT_TRUE(node.status().isOk()) << node.status().message;
    testing::TempDir profile;
    const std::string url = "http://127.0.0.1:" + std::to_string(node.port()) + "/swagger";
    testing::ChildProcess browser(
        chromium,
        {"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--user-data-dir=" + profile.file("profile"), "--virtual-time-budget=10000", "--dump-dom", url},
        profile.file("dom.html"), {{"HOME", profile.path()}});
    const int rc = browser.wait(std::chrono::seconds(90));
    const std::string dom = browser.output();
    ASSERT_EQ(rc, 0) << "chromium failed or hung:\n" << dom.substr(0, 4000);
    // Swagger UI rendered: the title from openapi.json and one block per operation.
    EXPECT_MENTIONS(dom, "swagger-ui");
    EXPECT_MENTIONS(dom, "opblock");
    EXPECT_MENTIONS(dom, "/api/orders/{id}/cancel");
    EXPECT_MENTIONS(dom, "/api/orders/customer/{customerName}");
    EXPECT_MENTIONS(dom, "/health/ready");
    EXPECT_MENTIONS(dom, "Create an order");
    EXPECT_EQ(dom.find("Failed to load API definition"), std::string::npos) << dom.substr(0, 4000);
    // The browser asked our node for the document (it really came from the server, not a cache).
    EXPECT_MENTIONS(node.runtime().services().metrics.render(),
                    "ordersystem_http_requests_total{method=\"GET\",route=\"/openapi.json\",status=\"200\"}");
}

}  // namespace
}  // namespace ordersystem::service
