#include "ConfigSchema.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace ordersystem::host {

using sdk::ConfigType;
using sdk::Result;
using sdk::Status;
using sdk::StatusCode;

bool parseInt(std::string_view text, int64_t* out) {
    const std::string s(trim(text));
    if (s.empty()) return false;
    errno = 0;
    char* end = nullptr;
    const long long v = std::strtoll(s.c_str(), &end, 10);
    if (errno != 0 || end != s.c_str() + s.size()) return false;
    *out = static_cast<int64_t>(v);
    return true;
}

bool parseBool(std::string_view text, bool* out) {
    const std::string s = toLower(trim(text));
    if (s == "true" || s == "yes" || s == "on" || s == "1") {
        *out = true;
        return true;
    }
    if (s == "false" || s == "no" || s == "off" || s == "0") {
        *out = false;
        return true;
    }
    return false;
}

bool parseDouble(std::string_view text, double* out) {
    const std::string s(trim(text));
    if (s.empty()) return false;
    errno = 0;
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (errno != 0 || end != s.c_str() + s.size() || !std::isfinite(v)) return false;
    *out = v;
    return true;
}

const char* configTypeName(ConfigType type) {
    switch (type) {
    case ConfigType::String: return "a string";
    case ConfigType::Int: return "an integer";
    case ConfigType::Bool: return "a boolean (true/false)";
    case ConfigType::Double: return "a number";
    case ConfigType::Path: return "a path";
    }
    return "a value";
}

const char* configTypeWord(ConfigType type) {
    switch (type) {
    case ConfigType::String: return "string";
    case ConfigType::Int: return "integer";
    case ConfigType::Bool: return "boolean";
    case ConfigType::Double: return "number";
    case ConfigType::Path: return "path";
    }
    return "value";
}

std::string ValidatedSection::getString(std::string_view key) const {
    auto it = _values.find(std::string(key));
    return it == _values.end() ? std::string() : it->second;
}

int64_t ValidatedSection::getInt(std::string_view key) const {
    int64_t v = 0;
    return parseInt(getString(key), &v) ? v : 0;
}

bool ValidatedSection::getBool(std::string_view key) const {
    bool v = false;
    return parseBool(getString(key), &v) ? v : false;
}

double ValidatedSection::getDouble(std::string_view key) const {
    double v = 0;
    return parseDouble(getString(key), &v) ? v : 0.0;
}

namespace {

std::string originText(const Configuration& cfg, const ConfigValue& v, const std::string& envName) {
    switch (v.origin) {
    case ConfigOrigin::CommandLine: return "from --define";
    case ConfigOrigin::Environment: return "from environment variable " + envName;
    case ConfigOrigin::Ini: return "in " + cfg.fileName() + ":" + std::to_string(v.line);
    case ConfigOrigin::Default: return "(default)";
    }
    return "";
}

bool typeMatches(ConfigType type, const std::string& value) {
    int64_t i;
    bool b;
    double d;
    switch (type) {
    case ConfigType::Int: return parseInt(value, &i);
    case ConfigType::Bool: return parseBool(value, &b);
    case ConfigType::Double: return parseDouble(value, &d);
    case ConfigType::String:
    case ConfigType::Path: return true;
    }
    return true;
}

}  // namespace

Result<ValidatedSection> validateSection(const Configuration& cfg, std::string_view sectionName,
                                         const sdk::ConfigKeySpec* specs, size_t specCount, const EnvLookup& env) {
    const std::string section = toLower(sectionName);
    std::map<std::string, sdk::ConfigType> types;
    for (size_t i = 0; i < specCount; ++i) types[toLower(specs[i].name)] = specs[i].type;

    for (const auto& key : cfg.keys(section)) {
        if (types.count(key)) continue;
        const ConfigValue* v = cfg.find(section, key);
        std::string known;
        for (const auto& kv : types) known += (known.empty() ? "" : ", ") + kv.first;
        return Status(StatusCode::InvalidConfig,
                      "unknown key '" + key + "' in [" + section + "] " + originText(cfg, *v, "") +
                          (known.empty() ? " (this section takes no keys)" : " (known keys: " + known + ")"));
    }

    std::map<std::string, std::string> values;
    for (size_t i = 0; i < specCount; ++i) {
        const std::string key = toLower(specs[i].name);
        const std::string envName = environmentName(section, key);
        ConfigValue chosen{specs[i].defaultValue ? specs[i].defaultValue : "", ConfigOrigin::Default, 0};
        const ConfigValue* fromCfg = cfg.find(section, key);
        if (fromCfg && fromCfg->origin == ConfigOrigin::CommandLine) {
            chosen = *fromCfg;
        } else if (auto e = env ? env(envName) : std::nullopt) {
            chosen = ConfigValue{*e, ConfigOrigin::Environment, 0};
        } else if (fromCfg) {
            chosen = *fromCfg;
        }
        if (chosen.origin != ConfigOrigin::Default && !typeMatches(specs[i].type, chosen.value))
            return Status(StatusCode::InvalidConfig, "[" + section + "] " + key + " = '" + chosen.value + "' " +
                                                         originText(cfg, chosen, envName) + ": must be " +
                                                         configTypeName(specs[i].type));
        values[key] = chosen.value;
    }
    return ValidatedSection(section, std::move(values), std::move(types));
}

const std::vector<HostSchema>& hostSchemas() {
    using T = ConfigType;
    static const std::vector<HostSchema> schemas = {
        {"node",
         {{"id", T::String, "",
           "this node's name, unique among the nodes of one system; shown by /health and /api/cluster/nodes and "
           "stored in every event it writes (empty: the machine's host name)"},
          {"data_dir", T::Path, "data",
           "folder of this node's SQLite files (standalone event log, read model, analytics, delivered webhooks); "
           "created if missing"},
          {"durability", T::String, "full",
           "full: every commit of the standalone log is fsynced and survives a power loss (with Redis: a warning "
           "unless appendfsync always) | normal: survives a process crash, a power loss may lose the last commits"},
          {"address", T::String, "",
           "URL other nodes and /api/cluster/nodes show for this node, e.g. http://10.0.0.5:5000; set it when nodes "
           "run on different machines (empty: http(s)://<[http] host, 127.0.0.1 for 0.0.0.0>:<bound port>)"}}},
        {"http",
         {{"host", T::String, "0.0.0.0", "address to listen on: 0.0.0.0 every interface, 127.0.0.1 this machine only"},
          {"port", T::Int, "5000", "TCP port to listen on (0..65535; 0: any free port, named in the start-up line)"},
          {"max_body_bytes", T::Int, "1048576",
           "largest request body in bytes any route accepts (routes have lower limits of their own, e.g. 256 KiB for "
           "a create); larger bodies get 413"},
          {"threads", T::Int, "128",
           "worker threads for handlers that may block (commands waiting for Redis or NATS, health, metrics, bodies "
           "over 16 KiB) (1..4096); requests are read and answered by one event loop per core regardless"},
          {"max_queued", T::Int, "1024",
           "listen backlog: new connections the kernel holds until they are accepted (1..65536; the kernel caps it "
           "at net.core.somaxconn)"},
          {"max_connections", T::Int, "10000",
           "open connections at most (1..1000000), lowered at start to fit the open-file limit; beyond it new "
           "connections wait in the listen backlog"},
          {"max_body_memory_bytes", T::Int, "67108864",
           "bytes all request bodies in flight may hold together (at least max_body_bytes); a body beyond it gets "
           "503 with Retry-After: 1"},
          {"keep_alive_timeout_ms", T::Int, "5000",
           "milliseconds an idle keep-alive connection stays open before the server closes it (1..3600000)"},
          {"max_streams", T::Int, "1000",
           "event streams (GET /api/events/stream) open at once (1..1000000; each also counts against "
           "max_connections); beyond it 503 with Retry-After: 5"},
          {"max_stream_buffer_bytes", T::Int, "1048576",
           "bytes one stream may hold that its client has not read yet (4096..1073741824); a client that falls "
           "further behind is disconnected (it may reconnect with Last-Event-ID)"},
          {"docs_dir", T::Path, "",
           "folder with openapi.json, swagger-ui/ and console/ served at /openapi.json, /swagger and / (the web "
           "console) "
           "(empty: <exe dir>/../share/ordersystem)"},
          {"request_timeout_ms", T::Int, "30000",
           "milliseconds a client may take to send a whole request from its first byte, and to take the answer; "
           "then 408 or the connection is closed (100..3600000)"},
          {"max_uri_bytes", T::Int, "8192",
           "longest request target (path and query) in bytes; longer ones get 414 (256..16000)"},
          {"max_header_bytes", T::Int, "16384",
           "largest request header block in bytes; larger ones get 431 (1024..1048576)"},
          {"api_keys_file", T::Path, "",
           "file of the accepted API keys as SHA-256 hex digests, one per line as `sha256hex` or `label sha256hex` "
           "(sha256sum output works; the label is the events' metadata actor); clients send Authorization: Bearer "
           "<key> or X-Api-Key: <key> (empty: no authentication)"},
          {"api_keys_scope", T::String, "api",
           "where API keys are required: api = on /api/* only (health, metrics and docs stay open) | all = on every route"},
          {"tls_cert", T::Path, "",
           "PEM certificate chain; set with tls_key to serve HTTPS instead of HTTP (empty: plain HTTP)"},
          {"tls_key", T::Path, "", "PEM private key of tls_cert; keep it readable by the service user only"}}},
        {"plugins",
         {{"dir", T::Path, "",
           "folder of the plugin .so files (empty: <exe dir>/../lib/ordersystem/plugins, right both in the build "
           "tree and installed)"},
          {"load", T::String, "",
           "comma-separated plugins to load, e.g. orders, transport-inmemory, notifications, analytics; required; "
           "exactly one transport-* plugin, which decides the mode"}}},
        {"log",
         {{"level", T::String, "info", "least severe messages written: trace | debug | info | warn | error"},
          {"format", T::String, "text",
           "text: one readable line per message | json: one JSON object per line (for log shippers)"},
          {"file", T::Path, "", "file to log to, rotated by size (empty: stdout, which systemd hands to the journal)"},
          {"file_max_bytes", T::Int, "10485760", "size in bytes at which the log file is rotated (at least 4096)"},
          {"file_max_files", T::Int, "5",
           "rotated log files kept beside the current one; older ones are deleted (1..1000)"}}},
    };
    return schemas;
}

}  // namespace ordersystem::host
