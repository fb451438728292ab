// Contract: the sd_notify protocol without libsystemd. systemd (Type=notify) passes a datagram
// socket in $NOTIFY_SOCKET; the service sends "READY=1" once it serves, "STOPPING=1" when it
// begins to stop. Called from the main thread only. Never throws; without $NOTIFY_SOCKET (not
// started by systemd, or tests) nothing is sent and the call reports NotFound.
#pragma once

#include <string>
#include <string_view>

#include "ordersystem/sdk/status.h"

namespace ordersystem::host {

/// Sends one notification (newline-separated VAR=value lines) to the socket at socketPath: a
/// file-system path, or an abstract socket when it starts with '@'. Unavailable names the error.
sdk::Status notifySystemd(std::string_view state, const std::string& socketPath);

/// notifySystemd() to $NOTIFY_SOCKET; NotFound when the variable is unset or empty.
sdk::Status notifySystemdFromEnvironment(std::string_view state);

/// The readiness message: READY=1, our MAINPID and a STATUS line for `systemctl status`.
std::string readyMessage(int port, int pid);

}  // namespace ordersystem::host
