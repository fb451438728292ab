#include "Runtime.h"

#include <unistd.h>

#include <climits>

#include <Poco/Exception.h>
#include <Poco/File.h>
#include <Poco/Net/DNS.h>

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

Runtime::~Runtime() {
    stop(std::chrono::milliseconds(0));
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
    if (_settings.http.maxBodyBytes < 0) return outOfRange("[http] max_body_bytes", _settings.http.maxBodyBytes, ">= 0");
    const int64_t threads = http.getInt("threads");
    if (threads < 1 || threads > 4096) return outOfRange("[http] threads", threads, "1..4096");
    _settings.http.threads = static_cast<int>(threads);
    const int64_t queued = http.getInt("max_queued");
    if (queued < 1 || queued > 65536) return outOfRange("[http] max_queued", queued, "1..65536");
    _settings.http.maxQueued = static_cast<int>(queued);
    const int64_t keepAlive = http.getInt("keep_alive_timeout_ms");
    if (keepAlive < 1 || keepAlive > 3600000) return outOfRange("[http] keep_alive_timeout_ms", keepAlive, "1..3600000");
    _settings.http.keepAliveTimeoutMs = static_cast<int>(keepAlive);
    const std::string docs = http.getString("docs_dir");
    _settings.docsDir = docs.empty() ? parentDir(_options.exeDir) + "/share/ordersystem" : _config->resolvePath(docs);

    const std::string dir = plugins.getString("dir");
    _settings.pluginDir = dir.empty() ? parentDir(_options.exeDir) + "/lib/ordersystem/plugins" : _config->resolvePath(dir);
    _settings.pluginNames = splitList(plugins.getString("load"));
    if (_settings.pluginNames.empty())
        return Status(StatusCode::InvalidConfig, "[plugins] load is empty: name at least one transport plugin");

    auto level = parseLogLevel(s.at("log").getString("level"));
    if (!level) return level.status();
    _settings.logLevel = toLower(s.at("log").getString("level"));
    _logging = std::make_unique<Logging>(level.value());
    return Status::ok();
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

Status Runtime::check() {
    Status s = prepare();
    if (_plugins) _plugins->destroy();
    return s;
}

Status Runtime::start() {
    Status s = prepare();
    if (s) {
        try {
            Poco::File(_settings.dataDir).createDirectories();
        } catch (const Poco::Exception& e) {
            s = Status(StatusCode::InvalidConfig, "[node] data_dir: cannot create " + _settings.dataDir + ": " + e.displayText());
        }
    }
    if (s) {
        _http = std::make_unique<HttpServer>(_settings.http, _services->router, _logging->make("http"));
        s = _http->bind();
    }
    if (!s) {
        _http.reset();
        if (_plugins) _plugins->destroy();
        return s;
    }
    sdk::NodeSettings& node = _services->node;
    node.nodeId = _settings.nodeId;
    node.dataDir = _settings.dataDir;
    node.durability = _settings.durability;
    node.version = ORDERSYSTEM_VERSION;
    const std::string advertisedHost = _settings.http.host == "0.0.0.0" || _settings.http.host.empty() ? "127.0.0.1"
                                                                                                       : _settings.http.host;
    node.httpAddress = !_settings.address.empty() ? _settings.address
                                                  : "http://" + advertisedHost + ":" + std::to_string(_http->port());
    try {
        registerHostRoutes(*_services, _settings.docsDir);
        _services->metrics.gauge("ordersystem_build_info", "Build information", {{"version", ORDERSYSTEM_VERSION}}).set(1.0);
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
    _log->info("ordersystem {} started: node {} mode {} plugins [{}] listening on {}:{} ({}) data {} durability {}",
               ORDERSYSTEM_VERSION, _settings.nodeId, _mode, plugins, _settings.http.host, _http->port(),
               node.httpAddress, _settings.dataDir, _settings.durability == sdk::Durability::Full ? "full" : "normal");
    return Status::ok();
}

void Runtime::stop(std::chrono::milliseconds drain) {
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
