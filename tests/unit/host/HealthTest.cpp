// Health: the probe answers without HTTP.
#include <gtest/gtest.h>

#include <stdexcept>

#include "Health.h"

namespace ordersystem::host {
namespace {

TEST(Health, CheckThatThrowsCountsAsUnhealthyWithItsMessage) {
    Health h;
    h.setIdentity("n1", "standalone");
    h.add("db", []() -> sdk::HealthCheckResult { throw std::runtime_error("disk gone"); });
    sdk::HttpResponse res;
    h.answer(Health::Probe::Ready, res);
    EXPECT_EQ(res.status, 503);
    EXPECT_NE(res.body.find("\"status\":\"Unhealthy\""), std::string::npos) << res.body;
    EXPECT_NE(res.body.find("disk gone"), std::string::npos) << res.body;
}

TEST(Health, LivenessNeverRunsChecks) {
    Health h;
    bool ran = false;
    h.add("db", [&ran] {
        ran = true;
        return sdk::HealthCheckResult{false, "down"};
    });
    sdk::HttpResponse res;
    h.answer(Health::Probe::Live, res);
    EXPECT_EQ(res.status, 200);
    EXPECT_FALSE(ran);
    EXPECT_NE(res.body.find("\"checks\":[]"), std::string::npos) << res.body;
}

}  // namespace
}  // namespace ordersystem::host
