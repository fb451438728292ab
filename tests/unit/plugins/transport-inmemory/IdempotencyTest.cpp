// Idempotency keys: claim, in-flight lease, completion with the append, release, expiry.
#include <thread>

#include "LogFixture.h"

namespace ordersystem::plugins::inmemory::test {
namespace {

using State = IdempotencyClaim::State;

TEST(InMemoryIdempotency, AFreeKeyIsClaimedAndASecondClaimSeesItInFlight) {
    LogFixture f;
    f.start();
    auto& store = f.log().idempotency();
    auto first = store.claim("key-1", "fp-a", 30000);
    ASSERT_TRUE(first.isOk()) << first.status().message;
    EXPECT_EQ(first.value().state, State::Claimed);
    auto second = store.claim("key-1", "fp-a", 30000);
    ASSERT_TRUE(second.isOk());
    EXPECT_EQ(second.value().state, State::InFlight);
}

TEST(InMemoryIdempotency, AKeyCompletedWithTheAppendReplaysItsResponseEvenAfterARestart) {
    LogFixture f;
    f.start();
    auto& store = f.log().idempotency();
    ASSERT_EQ(store.claim("key-2", "fp-b", 30000).value().state, State::Claimed);
    const int64_t id = f.log().allocateOrderId().value();
    IdempotencyCompletion completion{"key-2", "fp-b", R"({"status":201,"body":"order"})"};
    auto req = makeAppend(id, 0);
    req.idempotency = &completion;
    ASSERT_TRUE(f.log().append(req).status.isOk());

    f.restart();
    auto again = f.log().idempotency().claim("key-2", "fp-other", 30000);
    ASSERT_TRUE(again.isOk());
    EXPECT_EQ(again.value().state, State::Completed);
    EXPECT_EQ(again.value().fingerprint, "fp-b");
    EXPECT_EQ(again.value().response, completion.response);
}

TEST(InMemoryIdempotency, AnAppendRefusedForItsVersionDoesNotCompleteTheKey) {
    LogFixture f;
    f.start();
    const int64_t id = f.appendOrder(1);
    auto& store = f.log().idempotency();
    ASSERT_EQ(store.claim("key-3", "fp", 30000).value().state, State::Claimed);
    IdempotencyCompletion completion{"key-3", "fp", "resp"};
    auto req = makeAppend(id, 0);  // stale
    req.idempotency = &completion;
    EXPECT_EQ(f.log().append(req).status.code, StatusCode::VersionConflict);
    EXPECT_EQ(store.claim("key-3", "fp", 30000).value().state, State::InFlight);
}

TEST(InMemoryIdempotency, CompleteOutsideAnAppendRemembersTheResponse) {
    LogFixture f;
    f.start();
    auto& store = f.log().idempotency();
    ASSERT_EQ(store.claim("key-4", "fp", 30000).value().state, State::Claimed);
    ASSERT_TRUE(store.complete({"key-4", "fp", "422 problem"}).isOk());
    auto c = store.claim("key-4", "fp", 30000);
    EXPECT_EQ(c.value().state, State::Completed);
    EXPECT_EQ(c.value().response, "422 problem");
}

TEST(InMemoryIdempotency, AReleasedKeyIsFreeAgain) {
    LogFixture f;
    f.start();
    auto& store = f.log().idempotency();
    ASSERT_EQ(store.claim("key-5", "fp", 30000).value().state, State::Claimed);
    ASSERT_TRUE(store.release("key-5").isOk());
    EXPECT_EQ(store.claim("key-5", "fp", 30000).value().state, State::Claimed);
}

TEST(InMemoryIdempotency, ReleaseDoesNotForgetACompletedKey) {
    LogFixture f;
    f.start();
    auto& store = f.log().idempotency();
    ASSERT_TRUE(store.complete({"key-6", "fp", "resp"}).isOk());
    ASSERT_TRUE(store.release("key-6").isOk());
    EXPECT_EQ(store.claim("key-6", "fp", 30000).value().state, State::Completed);
}

TEST(InMemoryIdempotency, AnExpiredLeaseIsFreeAgain) {
    LogFixture f;
    f.start();
    auto& store = f.log().idempotency();
    ASSERT_EQ(store.claim("key-7", "fp-old", 1).value().state, State::Claimed);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    auto c = store.claim("key-7", "fp-new", 30000);
    ASSERT_TRUE(c.isOk());
    EXPECT_EQ(c.value().state, State::Claimed);
    EXPECT_EQ(store.claim("key-7", "fp-new", 30000).value().fingerprint, "fp-new");
}

}  // namespace
}  // namespace ordersystem::plugins::inmemory::test
