// Crash safety: a child process appends and is killed with SIGKILL; every append that returned
// Ok must be in the log after reopening.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "LogFixture.h"

namespace ordersystem::plugins::inmemory::test {
namespace {

struct Ack {
    int64_t orderId;
    uint64_t position;
};

/// Child body: appends from 8 threads, reporting every Ok append on fd; never returns.
[[noreturn]] void appendUntilKilled(const std::string& dir, int fd) {
    FakeHost host(dir);
    host.mutableNode().durability = Durability::Full;
    for (uint32_t i = 0; i < kConfigKeyCount; ++i)
        host.mutableConfig().set(kConfigKeys[i].name, kConfigKeys[i].defaultValue);
    auto created = InMemoryTransportPlugin::create(host.config());
    if (!created.isOk() || !created.value()->start(host).isOk()) _exit(3);
    EventLog& log = *host.eventLog();
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 100000; ++i) {  // bounded; the parent kills long before
                auto id = log.allocateOrderId();
                if (!id.isOk()) continue;
                auto req = makeAppend(id.value(), 0);
                auto res = log.append(req);
                if (!res.status.isOk()) continue;
                Ack ack{id.value(), res.lastPosition};
                if (write(fd, &ack, sizeof ack) != static_cast<ssize_t>(sizeof ack)) _exit(4);
            }
        });
    for (auto& t : threads) t.join();
    _exit(0);
}

TEST(InMemoryCrashSafety, EveryAppendThatReturnedOkSurvivesASigkill) {
    LogFixture f(Durability::Full);
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        appendUntilKilled(f.dir(), fds[1]);
    }
    close(fds[1]);

    std::vector<Ack> acks;
    Ack ack{};
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (acks.size() < 500 && std::chrono::steady_clock::now() < deadline) {
        const ssize_t n = read(fds[0], &ack, sizeof ack);
        if (n != static_cast<ssize_t>(sizeof ack)) break;
        acks.push_back(ack);
    }
    kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFSIGNALED(status)) << "the child ended on its own with status " << status;
    // Acks written before the kill are still in the pipe.
    while (read(fds[0], &ack, sizeof ack) == static_cast<ssize_t>(sizeof ack)) acks.push_back(ack);
    close(fds[0]);
    ASSERT_GE(acks.size(), 500u) << "the child acknowledged too few appends";

    f.start();
    for (const auto& a : acks) {
        auto events = f.log().readOrder(a.orderId);
        ASSERT_TRUE(events.isOk());
        ASSERT_EQ(events.value().size(), 1u) << "acknowledged order " << a.orderId << " is missing";
        EXPECT_EQ(events.value()[0].position, a.position);
    }
    // Ids continue above everything handed out before the crash.
    int64_t maxId = 0;
    for (const auto& a : acks) maxId = std::max(maxId, a.orderId);
    EXPECT_GT(f.log().allocateOrderId().value(), maxId);
}

}  // namespace
}  // namespace ordersystem::plugins::inmemory::test
