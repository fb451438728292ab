// Contract: the host gives each plugin its own Logger, named after the plugin (an spdlog logger
// behind it). Thread-safe; may be called from any thread. Never throws.
#pragma once

#include <string>
#include <string_view>

namespace ordersystem::sdk {

enum class LogLevel : int { Trace = 0, Debug, Info, Warn, Error, Critical, Off };

class Logger {
public:
    virtual ~Logger() = default;
    virtual void log(LogLevel level, std::string_view message) noexcept = 0;
    /// Cheap check so hot paths can skip building a message.
    virtual bool enabled(LogLevel level) const noexcept = 0;

    void debug(std::string_view m) noexcept {
        if (enabled(LogLevel::Debug)) log(LogLevel::Debug, m);
    }
    void info(std::string_view m) noexcept { log(LogLevel::Info, m); }
    void warn(std::string_view m) noexcept { log(LogLevel::Warn, m); }
    void error(std::string_view m) noexcept { log(LogLevel::Error, m); }
};

}  // namespace ordersystem::sdk
