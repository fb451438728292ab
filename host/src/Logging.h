// Contract: logging for the host and its plugins. All loggers write one line per message through
// one shared sink: stdout by default (the journal under systemd), or a size-rotated file
// ([log] file). Lines are text (timestamp UTC, level, logger name, message) or, with
// [log] format = json, one JSON object per line {"time","level","logger","message"}.
// The host creates one sdk::Logger per plugin, named after the plugin. Thread-safe; never throws
// from log(). Logging::open() returns InvalidConfig naming the key when the file cannot be opened.
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

struct LogSettings {
    spdlog::level::level_enum level = spdlog::level::info;
    bool json = false;
    std::string file;  ///< "" = stdout (stderr with toStderr)
    size_t fileMaxBytes = 10485760;
    size_t fileMaxFiles = 5;
    /// Operator commands keep stdout for their summary line.
    bool toStderr = false;
};

class Logging {
public:
    /// Text lines on stdout.
    explicit Logging(spdlog::level::level_enum level);
    /// As configured; InvalidConfig when the log file cannot be created.
    static sdk::Result<std::unique_ptr<Logging>> open(const LogSettings& settings);
    /// A new logger sharing the stdout sink and the level.
    std::shared_ptr<spdlog::logger> make(const std::string& name) const;
    spdlog::level::level_enum level() const { return _level; }

private:
    Logging(spdlog::sink_ptr sink, const LogSettings& settings);
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
