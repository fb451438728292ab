#include "SystemdNotify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace ordersystem::host {

using sdk::Status;
using sdk::StatusCode;

Status notifySystemd(std::string_view state, const std::string& socketPath) {
    if (socketPath.empty()) return Status(StatusCode::NotFound, "no notify socket");
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (socketPath.size() >= sizeof addr.sun_path)
        return Status(StatusCode::InvalidArgument, "notify socket path too long: " + socketPath);
    std::memcpy(addr.sun_path, socketPath.data(), socketPath.size());
    // '@' marks a Linux abstract socket: the name starts with a NUL byte and has no terminator.
    socklen_t length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socketPath.size());
    if (socketPath.front() == '@') addr.sun_path[0] = '\0';
    else length += 1;

    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return Status(StatusCode::Unavailable, std::string("notify socket: ") + std::strerror(errno));
    const ssize_t sent =
        ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr), length);
    const int error = errno;
    ::close(fd);
    if (sent < 0 || static_cast<size_t>(sent) != state.size())
        return Status(StatusCode::Unavailable, "cannot notify " + socketPath + ": " + std::strerror(error));
    return Status::ok();
}

Status notifySystemdFromEnvironment(std::string_view state) {
    const char* path = std::getenv("NOTIFY_SOCKET");
    if (!path || !*path) return Status(StatusCode::NotFound, "NOTIFY_SOCKET is not set");
    return notifySystemd(state, path);
}

std::string readyMessage(int port, int pid) {
    return "READY=1\nMAINPID=" + std::to_string(pid) + "\nSTATUS=serving HTTP on port " + std::to_string(port) + "\n";
}

}  // namespace ordersystem::host
