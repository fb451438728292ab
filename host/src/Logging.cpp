#include "Logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include "Config.h"

namespace ordersystem::host {

sdk::Result<spdlog::level::level_enum> parseLogLevel(std::string_view text) {
    const std::string s = toLower(trim(text));
    if (s == "trace") return spdlog::level::trace;
    if (s == "debug") return spdlog::level::debug;
    if (s == "info") return spdlog::level::info;
    if (s == "warn" || s == "warning") return spdlog::level::warn;
    if (s == "error") return spdlog::level::err;
    return sdk::Status(sdk::StatusCode::InvalidConfig,
                       "[log] level = '" + std::string(text) + "': must be one of trace, debug, info, warn, error");
}

Logging::Logging(spdlog::level::level_enum level)
    : _sink(std::make_shared<spdlog::sinks::stdout_sink_mt>()), _level(level) {
    _sink->set_formatter(std::make_unique<spdlog::pattern_formatter>("%Y-%m-%dT%H:%M:%S.%eZ %l [%n] %v",
                                                                      spdlog::pattern_time_type::utc));
}

std::shared_ptr<spdlog::logger> Logging::make(const std::string& name) const {
    auto logger = std::make_shared<spdlog::logger>(name, _sink);
    logger->set_level(_level);
    // Every line reaches the journal / a test's log file at once; per-request lines are debug only.
    logger->flush_on(spdlog::level::trace);
    return logger;
}

namespace {
spdlog::level::level_enum toSpd(sdk::LogLevel level) {
    switch (level) {
    case sdk::LogLevel::Trace: return spdlog::level::trace;
    case sdk::LogLevel::Debug: return spdlog::level::debug;
    case sdk::LogLevel::Info: return spdlog::level::info;
    case sdk::LogLevel::Warn: return spdlog::level::warn;
    case sdk::LogLevel::Error: return spdlog::level::err;
    case sdk::LogLevel::Critical: return spdlog::level::critical;
    case sdk::LogLevel::Off: return spdlog::level::off;
    }
    return spdlog::level::info;
}
}  // namespace

void SpdLoggerAdapter::log(sdk::LogLevel level, std::string_view message) noexcept {
    try {
        _logger->log(toSpd(level), "{}", message);
    } catch (...) {
    }
}

bool SpdLoggerAdapter::enabled(sdk::LogLevel level) const noexcept {
    return _logger->should_log(toSpd(level));
}

}  // namespace ordersystem::host
