#include "Runtime.h"

#include <unistd.h>

#include <algorithm>
#include <climits>

#include <Poco/Exception.h>
#include <Poco/File.h>
#include <Poco/Net/DNS.h>

#include "ApiKeys.h"
#include "ConfigSchema.h"
#include "HostRoutes.h"

namespace ordersystem::host {

using sdk::Status;
using sdk::StatusCode;

namespace {

std::string parentDir(const std::string& dir) {
    std::string d = dir;
    while (d.size() > 1 && d.back() == '/') d.pop_back();
    const size_t slash = d.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : d.substr(0, slash);
}

Status outOfRange(const std::string& key, int64_t value, const std::string& range) {
    return Status(StatusCode::InvalidConfig, key + " = " + std::to_string(value) + ": must be " + range);
}

}  // namespace

std::string executableDir() {
    char buf[PATH_MAX];
    const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return ".";
    return parentDir(std::string(buf, static_cast<size_t>(n)));
}

Runtime::Runtime(RuntimeOptions options) : _options(std::move(options)) {
    if (_options.exeDir.empty()) _options.exeDir = executableDir();
}

Runtime::~Runtime() { stop(std::chrono::milliseconds(0)); }

Status Runtime::readHttpLimitsAndSecurity(const ValidatedSection& http) {
    const int64_t requestTimeout = http.getInt("request_timeout_ms");
    if (requestTimeout < 100 || requestTimeout > 3600000)
        return outOfRange("[http] request_timeout_ms", requestTimeout, "100..3600000");
    _settings.http.requestTimeoutMs = static_cast<int>(requestTimeout);
    // Poco itself refuses request lines over 16 KiB and single header values over 8 KiB (400).
    _settings.http.maxUriBytes = http.getInt("max_uri_bytes");
    if (_settings.http.maxUriBytes < 256 || _settings.http.maxUriBytes > 16000)
        return outOfRange("[http] max_uri_bytes", _settings.http.maxUriBytes, "256..16000");
    const int64_t streams = http.getInt("max_streams");
    if (streams < 1 || streams > 1000000) return outOfRange("[http] max_streams", streams, "1..1000000");
    _settings.http.maxStreams = static_cast<int>(streams);
    _settings.http.maxStreamBufferBytes = http.getInt("max_stream_buffer_bytes");
    if (_settings.http.maxStreamBufferBytes < 4096 || _settings.http.maxStreamBufferBytes > 1073741824)
        return outOfRange("[http] max_stream_buffer_bytes", _settings.http.maxStreamBufferBytes, "4096..1073741824");
    _settings.http.maxHeaderBytes = http.getInt("max_header_bytes");
    if (_settings.http.maxHeaderBytes < 1024 || _settings.http.maxHeaderBytes > 1048576)
        return outOfRange("[http] max_header_bytes", _settings.http.maxHeaderBytes, "1024..1048576");
    const std::string keysFile = http.getString("api_keys_file");
    if (!keysFile.empty()) {
        auto keys = ApiKeys::load(_config->resolvePath(keysFile));
        if (!keys) return keys.status();
        _settings.http.apiKeys = std::make_shared<const ApiKeys>(std::move(keys.value()));
    }
    const std::string scope = toLower(http.getString("api_keys_scope"));
    if (scope != "api" && scope != "all")
        return Status(StatusCode::InvalidConfig,
                      "[http] api_keys_scope = '" + http.getString("api_keys_scope") + "': must be api or all");
    _settings.http.apiKeysOnAllRoutes = scope == "all";
    _settings.http.tlsCert = _config->resolvePath(http.getString("tls_cert"));
    _settings.http.tlsKey = _config->resolvePath(http.getString("tls_key"));
    if (_settings.http.tlsCert.empty() != _settings.http.tlsKey.empty())
        return Status(StatusCode::InvalidConfig, "[http] tls_cert and tls_key must be set together");
    return Status::ok();
}

Status Runtime::openLogging(const ValidatedSection& log) {
    auto level = parseLogLevel(log.getString("level"));
    if (!level) return level.status();
    _settings.logLevel = toLower(log.getString("level"));
    LogSettings logSettings;
    logSettings.level = _options.operatorCommand ? std::max(level.value(), spdlog::level::warn) : level.value();
    logSettings.toStderr = _options.operatorCommand;
    const std::string format = toLower(log.getString("format"));
    if (format != "text" && format != "json")
        return Status(StatusCode::InvalidConfig,
                      "[log] format = '" + log.getString("format") + "': must be text or json");
    logSettings.json = format == "json";
    logSettings.file = _config->resolvePath(log.getString("file"));
    const int64_t maxBytes = log.getInt("file_max_bytes");
    if (maxBytes < 4096) return outOfRange("[log] file_max_bytes", maxBytes, ">= 4096");
    const int64_t maxFiles = log.getInt("file_max_files");
    if (maxFiles < 1 || maxFiles > 1000) return outOfRange("[log] file_max_files", maxFiles, "1..1000");
    logSettings.fileMaxBytes = static_cast<size_t>(maxBytes);
    logSettings.fileMaxFiles = static_cast<size_t>(maxFiles);
    auto logging = Logging::open(logSettings);
    if (!logging) return logging.status();
    _logging = std::move(logging.value());
    return Status::ok();
}

Status Runtime::readHostSettings() {
    std::map<std::string, ValidatedSection> s;
    for (const auto& schema : hostSchemas()) {
        auto v = validateSection(*_config, schema.section, schema.keys.data(), schema.keys.size(), _options.env);
        if (!v) return v.status();
        s.emplace(schema.section, std::move(v.value()));
    }
    const ValidatedSection& node = s.at("node");
    const ValidatedSection& http = s.at("http");
    const ValidatedSection& plugins = s.at("plugins");

    _settings.nodeId = node.getString("id");
    if (_settings.nodeId.empty()) {
        try {
            _settings.nodeId = Poco::Net::DNS::hostName();
        } catch (const Poco::Exception&) {
            _settings.nodeId = "node";
        }
    }
    _settings.dataDir = _config->resolvePath(node.getString("data_dir"));
    const std::string durability = toLower(node.getString("durability"));
    if (durability == "full") _settings.durability = sdk::Durability::Full;
    else if (durability == "normal") _settings.durability = sdk::Durability::Normal;
    else
        return Status(StatusCode::InvalidConfig,
                      "[node] durability = '" + node.getString("durability") + "': must be full or normal");
    _settings.address = node.getString("address");

    _settings.http.host = http.getString("host");
    const int64_t port = http.getInt("port");
    if (port < 0 || port > 65535) return outOfRange("[http] port", port, "0..65535");
    _settings.http.port = static_cast<int>(port);
    _settings.http.maxBodyBytes = http.getInt("max_body_bytes");
    if (_settings.http.maxBodyBytes < 0)
        return outOfRange("[http] max_body_bytes", _settings.http.maxBodyBytes, ">= 0");
    const int64_t threads = http.getInt("threads");
    if (threads < 1 || threads > 4096) return outOfRange("[http] threads", threads, "1..4096");
    _settings.http.threads = static_cast<int>(threads);
    const int64_t queued = http.getInt("max_queued");
    if (queued < 1 || queued > 65536) return outOfRange("[http] max_queued", queued, "1..65536");
    _settings.http.maxQueued = static_cast<int>(queued);
    const int64_t connections = http.getInt("max_connections");
    if (connections < 1 || connections > 1000000)
        return outOfRange("[http] max_connections", connections, "1..1000000");
    _settings.http.maxConnections = static_cast<int>(connections);
    _settings.http.maxBodyMemoryBytes = http.getInt("max_body_memory_bytes");
    if (_settings.http.maxBodyMemoryBytes < _settings.http.maxBodyBytes)
        return outOfRange("[http] max_body_memory_bytes", _settings.http.maxBodyMemoryBytes,
                          ">= [http] max_body_bytes (" + std::to_string(_settings.http.maxBodyBytes) + ")");
    const int64_t keepAlive = http.getInt("keep_alive_timeout_ms");
    if (keepAlive < 1 || keepAlive > 3600000)
        return outOfRange("[http] keep_alive_timeout_ms", keepAlive, "1..3600000");
    _settings.http.keepAliveTimeoutMs = static_cast<int>(keepAlive);
    if (Status st = readHttpLimitsAndSecurity(http); !st) return st;
    const std::string docs = http.getString("docs_dir");
    _settings.docsDir = docs.empty() ? parentDir(_options.exeDir) + "/share/ordersystem" : _config->resolvePath(docs);

    _settings.pluginDir = pluginDirOf(plugins);
    _settings.pluginNames = splitList(plugins.getString("load"));
    if (_settings.pluginNames.empty())
        return Status(StatusCode::InvalidConfig, "[plugins] load is empty: name at least one transport plugin");

    return openLogging(s.at("log"));
}

std::string Runtime::pluginDirOf(const ValidatedSection& plugins) const {
    const std::string dir = plugins.getString("dir");
    return dir.empty() ? parentDir(_options.exeDir) + "/lib/ordersystem/plugins" : _config->resolvePath(dir);
}

sdk::Result<std::string> Runtime::locatePlugins() {
    auto cfg = _options.configPath.empty() ? Configuration::withoutFile(_options.defines)
                                           : Configuration::load(_options.configPath, _options.defines);
    if (!cfg) return cfg.status();
    _config = std::make_unique<Configuration>(std::move(cfg.value()));
    for (const auto& schema : hostSchemas()) {
        if (schema.section != "plugins") continue;
        auto plugins = validateSection(*_config, schema.section, schema.keys.data(), schema.keys.size(), _options.env);
        if (!plugins) return plugins.status();
        return pluginDirOf(plugins.value());
    }
    return Status(StatusCode::Internal, "the host declares no [plugins] section");
}

Status Runtime::prepare() {
    auto cfg = Configuration::load(_options.configPath, _options.defines);
    if (!cfg) return cfg.status();
    _config = std::make_unique<Configuration>(std::move(cfg.value()));
    if (Status s = readHostSettings(); !s) return s;
    _log = _logging->make("host");
    _services = std::make_unique<HostServices>(*_config);
    _plugins = std::make_unique<PluginManager>(*_services, *_logging);
    if (Status s = _plugins->load(_settings.pluginNames, _settings.pluginDir); !s) return s;
    for (const auto& section : _config->sections()) {
        bool hostSection = false;
        for (const auto& schema : hostSchemas()) hostSection = hostSection || schema.section == section;
        if (!hostSection && !_plugins->ownsSection(section))
            _log->warn("section [{}] in {} is not used by any loaded plugin; ignored", section, _config->fileName());
    }
    return _plugins->create(_options.env);
}

Status Runtime::createDataDir() {
    try {
        Poco::File(_settings.dataDir).createDirectories();
    } catch (const Poco::Exception& e) {
        return Status(StatusCode::InvalidConfig,
                      "[node] data_dir: cannot create " + _settings.dataDir + ": " + e.displayText());
    }
    return Status::ok();
}

sdk::NodeSettings& Runtime::fillNodeSettings() {
    sdk::NodeSettings& node = _services->node;
    node.nodeId = _settings.nodeId;
    node.dataDir = _settings.dataDir;
    node.durability = _settings.durability;
    node.version = ORDERSYSTEM_VERSION;
    return node;
}

Status Runtime::check() {
    Status s = prepare();
    if (_plugins) _plugins->destroy();
    return s;
}

Status Runtime::start() {
    Status s = prepare();
    if (s) s = createDataDir();
    if (s) {
        _http = std::make_unique<HttpServer>(_settings.http, _services->router, _logging->make("http"),
                                             &_services->metrics);
        s = _http->bind();
    }
    if (!s) {
        _http.reset();
        if (_plugins) _plugins->destroy();
        return s;
    }
    sdk::NodeSettings& node = fillNodeSettings();
    const std::string advertisedHost =
        _settings.http.host == "0.0.0.0" || _settings.http.host.empty() ? "127.0.0.1" : _settings.http.host;
    node.httpAddress = !_settings.address.empty() ? _settings.address
                                                  : std::string(_http->tls() ? "https://" : "http://") +
                                                        advertisedHost + ":" + std::to_string(_http->port());
    try {
        registerHostRoutes(*_services, _settings.docsDir);
        _services->metrics.gauge("ordersystem_build_info", "Build information", {{"version", ORDERSYSTEM_VERSION}})
            .set(1.0);
    } catch (const std::exception& e) {
        s = Status(StatusCode::Internal, std::string("host routes: ") + e.what());
    }
    if (s) s = _plugins->start();
    if (!s) {
        _http.reset();
        _plugins->destroy();
        return s;
    }
    sdk::EventLog* log = _services->eventLog.load();
    _mode = log ? std::string(log->mode()) : "unknown";
    _services->health.setIdentity(_settings.nodeId, _mode);
    _services->router.freeze();
    _http->start();
    _started = true;
    std::string plugins;
    for (const auto& n : _plugins->names()) plugins += (plugins.empty() ? "" : ", ") + n;
    _log->info(
        "ordersystem {} started: node {} mode {} plugins [{}] listening on {}:{} ({}, up to {} connections) data {} "
        "durability {}{}{}, {}",
        ORDERSYSTEM_VERSION, _settings.nodeId, _mode, plugins, _settings.http.host, _http->port(), node.httpAddress,
        _http->maxConnections(), _settings.dataDir, _settings.durability == sdk::Durability::Full ? "full" : "normal",
        _settings.http.apiKeys ? fmt::format(", {} API key(s) required on {}", _settings.http.apiKeys->size(),
                                             _settings.http.apiKeysOnAllRoutes ? "every route" : "/api/*")
                               : std::string(", no API keys"),
        _http->tls() ? ", TLS" : "", _options.allocator);
    return Status::ok();
}

sdk::Status Runtime::prepareOnly() {
    Status s = prepare();
    _prepared = true;
    return s;
}

std::string Runtime::transportDatabase() const {
    if (!_plugins) return {};
    const std::string file = _plugins->transportSetting("database");
    if (file.empty()) return {};
    return file.front() == '/' ? file : _settings.dataDir + "/" + file;
}

sdk::Result<sdk::EventLog*> Runtime::openEventLog() {
    Status s = prepareOnly();
    if (s) s = createDataDir();
    if (!s) return s;
    sdk::NodeSettings& node = fillNodeSettings();
    node.joinsMembership = false;
    if (s = _plugins->startTransport(); !s) return s;
    sdk::EventLog* log = _services->eventLog.load();
    _mode = std::string(log->mode());
    return log;
}

void Runtime::stop(std::chrono::milliseconds drain) {
    if (_prepared) {
        _prepared = false;
        if (_plugins) {
            _plugins->stop();
            _plugins->destroy();
        }
        return;
    }
    if (!_started) return;
    _started = false;
    _log->info("stopping: readiness is now 503, draining HTTP connections");
    _services->health.beginShutdown();
    _http->stop(drain);
    _plugins->stop();
    _plugins->destroy();
    _log->info("stopped");
}

}  // namespace ordersystem::host
