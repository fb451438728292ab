#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>

#include "ordersystem/sdk/mediator.h"

using namespace ordersystem::sdk;

namespace {
struct Double {
    using Result = int;
    static constexpr const char* kName = "Double";
    static constexpr bool kIsCommand = true;
    int value;
};
struct Explode {
    using Result = int;
    static constexpr const char* kName = "Explode";
    static constexpr bool kIsCommand = false;
};
struct Unhandled {
    using Result = int;
    static constexpr const char* kName = "Unhandled";
    static constexpr bool kIsCommand = true;
};

struct Recorder : Behavior {
    std::atomic<int> befores{0}, afters{0}, failures{0};
    void before(const MessageInfo&) noexcept override { ++befores; }
    void after(const MessageInfo&, const Status& s, int64_t) noexcept override {
        ++afters;
        if (!s.isOk()) ++failures;
    }
};
}  // namespace

TEST(Mediator, SendsToTheRegisteredHandlerThroughEveryBehavior) {
    Mediator m;
    auto rec = std::make_shared<Recorder>();
    m.addBehavior(rec);
    m.handle<Double>([](const Double& d) -> Result<int> { return d.value * 2; });
    auto r = m.send(Double{21});
    ASSERT_TRUE(r.isOk());
    EXPECT_EQ(r.value(), 42);
    EXPECT_EQ(rec->befores.load(), 1);
    EXPECT_EQ(rec->afters.load(), 1);
    EXPECT_EQ(rec->failures.load(), 0);
}

TEST(Mediator, AThrowingHandlerBecomesAnInternalStatusNotACrash) {
    Mediator m;
    auto rec = std::make_shared<Recorder>();
    m.addBehavior(rec);
    m.handle<Explode>([](const Explode&) -> Result<int> { throw std::runtime_error("boom"); });
    auto r = m.send(Explode{});
    EXPECT_EQ(r.status().code, StatusCode::Internal);
    EXPECT_EQ(r.status().message, "boom");
    EXPECT_EQ(rec->failures.load(), 1);
}

TEST(Mediator, AMessageWithoutHandlerIsAnInternalError) {
    Mediator m;
    auto r = m.send(Unhandled{});
    EXPECT_EQ(r.status().code, StatusCode::Internal);
}
