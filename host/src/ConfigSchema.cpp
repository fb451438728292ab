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
    if (s == "true" || s == "yes" || s == "on" || s == "1") { *out = true; return true; }
    if (s == "false" || s == "no" || s == "off" || s == "0") { *out = false; return true; }
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
            return Status(StatusCode::InvalidConfig,
                          "[" + section + "] " + key + " = '" + chosen.value + "' " + originText(cfg, chosen, envName) +
                              ": must be " + configTypeName(specs[i].type));
        values[key] = chosen.value;
    }
    return ValidatedSection(section, std::move(values), std::move(types));
}

const std::vector<HostSchema>& hostSchemas() {
    using T = ConfigType;
    static const std::vector<HostSchema> schemas = {
        {"node",
         {{"id", T::String, "", "unique node id (default: the host name)"},
          {"data_dir", T::Path, "data", "folder of the node's SQLite files (created if missing)"},
          {"durability", T::String, "full", "full (fsync, survives power loss) | normal (survives a crash)"},
          {"address", T::String, "", "advertised http://host:port (default: from [http] host and the bound port)"}}},
        {"http",
         {{"host", T::String, "0.0.0.0", "listen address"},
          {"port", T::Int, "5000", "listen port (0 = any free port)"},
          {"max_body_bytes", T::Int, "1048576", "larger request bodies get 413"},
          {"threads", T::Int, "128", "HTTP worker threads for handlers that may block"},
          {"max_queued", T::Int, "1024", "listen backlog: new connections the kernel holds until they are accepted"},
          {"max_connections", T::Int, "10000",
           "open connections at most (lowered to fit the open-file limit); beyond, new ones wait in the backlog"},
          {"max_body_memory_bytes", T::Int, "67108864",
           "memory all request bodies in flight may hold together; a body beyond it gets 503"},
          {"keep_alive_timeout_ms", T::Int, "5000", "idle keep-alive connections close after this"},
          {"docs_dir", T::Path, "", "OpenAPI and Swagger UI files (default: <exe dir>/../share/ordersystem)"},
          {"request_timeout_ms", T::Int, "30000", "longest wait for a client's bytes; a body must arrive within it (408)"},
          {"max_uri_bytes", T::Int, "8192", "longer request targets get 414"},
          {"max_header_bytes", T::Int, "16384", "larger request header blocks get 431"},
          {"api_keys_file", T::Path, "", "file of SHA-256 hashes of accepted API keys (empty: no authentication)"},
          {"api_keys_scope", T::String, "api", "api: keys needed on /api/* only | all: on every route"},
          {"tls_cert", T::Path, "", "PEM certificate chain: serve HTTPS (with tls_key)"},
          {"tls_key", T::Path, "", "PEM private key for tls_cert"}}},
        {"plugins",
         {{"dir", T::Path, "", "plugin folder (default: <exe dir>/../lib/ordersystem/plugins)"},
          {"load", T::String, "", "comma-separated plugin names"}}},
        {"log",
         {{"level", T::String, "info", "trace | debug | info | warn | error"},
          {"format", T::String, "text", "text | json (one JSON object per line)"},
          {"file", T::Path, "", "log to this file (rotated) instead of stdout/the journal"},
          {"file_max_bytes", T::Int, "10485760", "rotate the log file at this size"},
          {"file_max_files", T::Int, "5", "rotated log files kept"}}},
    };
    return schemas;
}

}  // namespace ordersystem::host
