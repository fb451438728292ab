// systemd readiness (Type=notify) without libsystemd: the datagram our host sends, and the real
// executable sending READY=1 only once its HTTP port answers.
#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "HostTestUtil.h"
#include "SystemdNotify.h"

namespace ordersystem::host {
namespace {

using ordersystem::testing::ChildProcess;
using ordersystem::testing::TempDir;
using ordersystem::testing::writeFile;

#define EXPECT_MENTIONS(text, part) EXPECT_NE((text).find(part), std::string::npos) << (text)

/// A datagram socket standing in for systemd's notify socket.
class FakeNotifySocket {
public:
    explicit FakeNotifySocket(const std::string& path) : _path(path) {
        _fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
        _bound = _fd >= 0 && ::bind(_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    }
    ~FakeNotifySocket() {
        if (_fd >= 0) ::close(_fd);
        ::unlink(_path.c_str());
    }
    bool bound() const { return _bound; }
    /// The next datagram, or "" after timeout.
    std::string receive(std::chrono::milliseconds timeout) {
        pollfd p{_fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return "";
        char buf[4096];
        const ssize_t n = ::recv(_fd, buf, sizeof buf, 0);
        return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
    }

private:
    std::string _path;
    int _fd = -1;
    bool _bound = false;
};

TEST(SystemdNotify, ReadyMessageIsReadyOneWithPidAndStatus) {
    const std::string m = readyMessage(5000, 1234);
    EXPECT_EQ(m.rfind("READY=1\n", 0), 0u) << m;
    EXPECT_MENTIONS(m, "MAINPID=1234\n");
    EXPECT_MENTIONS(m, "STATUS=serving HTTP on port 5000");
}

TEST(SystemdNotify, MessageArrivesVerbatimOnAPathSocket) {
    TempDir dir;
    FakeNotifySocket sock(dir.file("notify"));
    ASSERT_TRUE(sock.bound());
    const sdk::Status s = notifySystemd("READY=1\nSTATUS=x\n", dir.file("notify"));
    ASSERT_TRUE(s.isOk()) << s.message;
    EXPECT_EQ(sock.receive(std::chrono::seconds(5)), "READY=1\nSTATUS=x\n");
}

TEST(SystemdNotify, MissingSocketIsReportedNotThrown) {
    TempDir dir;
    const sdk::Status s = notifySystemd("READY=1", dir.file("nobody-listens"));
    EXPECT_FALSE(s.isOk());
    EXPECT_MENTIONS(s.message, "nobody-listens");
    EXPECT_EQ(notifySystemd("READY=1", "").code, sdk::StatusCode::NotFound);
}

TEST(SystemdNotify, ExecutableSendsReadyOnlyWhenItsPortAnswersAndStoppingOnSigterm) {
    TempDir dir;
    FakeNotifySocket sock(dir.file("notify"));
    ASSERT_TRUE(sock.bound());
    const int port = ordersystem::testing::freePort();
    writeFile(dir.file("run.ini"), test::fixtureIni("fixture-transport, fixture-routes"));
    ChildProcess p(test::hostExe(), {"--config=" + dir.file("run.ini"), "--define=http.port=" + std::to_string(port)},
                   dir.file("out.log"), {{"NOTIFY_SOCKET", dir.file("notify")}});
    const std::string ready = sock.receive(std::chrono::seconds(30));
    ASSERT_EQ(ready.rfind("READY=1\n", 0), 0u) << "got '" << ready << "'\n" << p.output();
    EXPECT_MENTIONS(ready, "MAINPID=" + std::to_string(p.pid()));
    EXPECT_MENTIONS(ready, "port " + std::to_string(port));
    // Readiness means serving: the very first request after READY=1 succeeds.
    EXPECT_EQ(ordersystem::testing::httpGet(port, "/health/ready").status, 200);
    ::kill(p.pid(), SIGTERM);
    EXPECT_MENTIONS(sock.receive(std::chrono::seconds(15)), "STOPPING=1");
    EXPECT_EQ(p.wait(std::chrono::seconds(15)), 0) << p.output();
}

}  // namespace
}  // namespace ordersystem::host
