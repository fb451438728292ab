// Contract: logging for the host and its plugins. All loggers write one line per message to
// stdout through one shared sink (timestamp UTC, level, logger name). The host creates one
// sdk::Logger per plugin, named after the plugin. Thread-safe; never throws from log().
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/logger.h>

#include "ordersystem/sdk/logger.h"
#include "ordersystem/sdk/status.h"

namespace ordersystem::host {

/// Parses [log] level (trace|debug|info|warn|error); InvalidConfig names the key otherwise.
sdk::Result<spdlog::level::level_enum> parseLogLevel(std::string_view text);

class Logging {
public:
    explicit Logging(spdlog::level::level_enum level);
    /// A new logger sharing the stdout sink and the level.
    std::shared_ptr<spdlog::logger> make(const std::string& name) const;
    spdlog::level::level_enum level() const { return _level; }

private:
    spdlog::sink_ptr _sink;
    spdlog::level::level_enum _level;
};

/// sdk::Logger over an spdlog logger.
class SpdLoggerAdapter final : public sdk::Logger {
public:
    explicit SpdLoggerAdapter(std::shared_ptr<spdlog::logger> logger) : _logger(std::move(logger)) {}
    void log(sdk::LogLevel level, std::string_view message) noexcept override;
    bool enabled(sdk::LogLevel level) const noexcept override;
    spdlog::logger& spd() { return *_logger; }

private:
    std::shared_ptr<spdlog::logger> _logger;
};

}  // namespace ordersystem::host
