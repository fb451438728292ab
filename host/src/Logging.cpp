#include "Logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <Poco/File.h>
#include <Poco/Path.h>

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

namespace {

/// %* in a pattern: the message as the inside of a JSON string (quotes, backslashes, controls escaped).
class JsonEscapedMessage final : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
        static const char* hex = "0123456789abcdef";
        for (const char c : msg.payload) {
            const auto u = static_cast<unsigned char>(c);
            if (c == '"' || c == '\\') {
                dest.push_back('\\');
                dest.push_back(c);
            } else if (c == '\n') {
                dest.push_back('\\');
                dest.push_back('n');
            } else if (c == '\t') {
                dest.push_back('\\');
                dest.push_back('t');
            } else if (u < 0x20) {
                const char esc[6] = {'\\', 'u', '0', '0', hex[u >> 4], hex[u & 15]};
                dest.append(esc, esc + 6);
            } else {
                dest.push_back(c);
            }
        }
    }
    std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JsonEscapedMessage>(); }
};

std::unique_ptr<spdlog::formatter> makeFormatter(bool json) {
    auto f = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    if (json) {
        f->add_flag<JsonEscapedMessage>('*');
        f->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","logger":"%n","message":"%*"})");
    } else {
        f->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l [%n] %v");
    }
    return f;
}

}  // namespace

Logging::Logging(spdlog::level::level_enum level)
    : Logging(std::make_shared<spdlog::sinks::stdout_sink_mt>(), LogSettings{level, false, "", 0, 0}) {}

Logging::Logging(spdlog::sink_ptr sink, const LogSettings& settings) : _sink(std::move(sink)), _level(settings.level) {
    _sink->set_formatter(makeFormatter(settings.json));
}

sdk::Result<std::unique_ptr<Logging>> Logging::open(const LogSettings& settings) {
    spdlog::sink_ptr sink;
    if (settings.file.empty() && settings.toStderr) {
        sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    } else if (settings.file.empty()) {
        sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
    } else {
        try {
            Poco::File(Poco::Path(settings.file).parent()).createDirectories();
            sink = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(settings.file, settings.fileMaxBytes,
                                                                          settings.fileMaxFiles);
        } catch (const std::exception& e) {
            return sdk::Status(sdk::StatusCode::InvalidConfig,
                               "[log] file = " + settings.file + ": cannot open it: " + e.what());
        }
    }
    return std::unique_ptr<Logging>(new Logging(std::move(sink), settings));
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

bool SpdLoggerAdapter::enabled(sdk::LogLevel level) const noexcept { return _logger->should_log(toSpd(level)); }

}  // namespace ordersystem::host
