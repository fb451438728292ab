#include "Config.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <Poco/Path.h>

namespace ordersystem::host {

using sdk::Result;
using sdk::Status;
using sdk::StatusCode;

std::string toLower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

std::string environmentName(std::string_view section, std::string_view key) {
    std::string name = "ORDERSYSTEM_";
    auto append = [&name](std::string_view part) {
        for (char c : part) {
            if (c == '.' || c == '-') c = '_';
            else if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
            name.push_back(c);
        }
    };
    append(section);
    name.push_back('_');
    append(key);
    return name;
}

EnvLookup processEnvironment() {
    return [](const std::string& name) -> std::optional<std::string> {
        const char* v = std::getenv(name.c_str());
        if (!v) return std::nullopt;
        return std::string(v);
    };
}

Result<Configuration> Configuration::load(const std::string& iniPath, const std::vector<std::string>& defines) {
    std::ifstream in(iniPath, std::ios::binary);
    if (!in) return Status(StatusCode::InvalidConfig, "cannot read configuration file " + iniPath);
    std::ostringstream text;
    text << in.rdbuf();
    Poco::Path path(iniPath);
    path.makeAbsolute();
    auto parsed = parse(text.str(), path.toString(), path.parent().toString());
    if (!parsed) return parsed;
    if (Status s = parsed.value().applyDefines(defines); !s) return s;
    return parsed;
}

Result<Configuration> Configuration::withoutFile(const std::vector<std::string>& defines) {
    auto empty = parse("", "(no ini file)", Poco::Path::current());
    if (!empty) return empty;
    if (Status s = empty.value().applyDefines(defines); !s) return s;
    return empty;
}

Status Configuration::applyDefines(const std::vector<std::string>& defines) {
    for (const auto& d : defines)
        if (Status s = applyDefine(d); !s) return s;
    return Status::ok();
}

Result<Configuration> Configuration::parse(std::string_view text, const std::string& fileName,
                                           const std::string& baseDir) {
    Configuration cfg;
    cfg._fileName = fileName;
    cfg._baseDir = baseDir;
    while (cfg._baseDir.size() > 1 && cfg._baseDir.back() == '/') cfg._baseDir.pop_back();
    std::string section;
    int lineNo = 0;
    size_t pos = 0;
    while (pos <= text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(pos, end - pos);
        pos = end + 1;
        ++lineNo;
        if (const size_t semi = line.find(';'); semi != std::string_view::npos) line = line.substr(0, semi);
        line = trim(line);
        if (line.empty() || line.front() == '#') continue;
        const std::string where = fileName + ":" + std::to_string(lineNo);
        if (line.front() == '[') {
            if (line.back() != ']')
                return Status(StatusCode::InvalidConfig,
                              where + ": malformed section header '" + std::string(line) + "'");
            section = toLower(trim(line.substr(1, line.size() - 2)));
            if (section.empty()) return Status(StatusCode::InvalidConfig, where + ": empty section name");
            cfg._sections[section];
            continue;
        }
        const size_t eq = line.find('=');
        if (eq == std::string_view::npos)
            return Status(StatusCode::InvalidConfig,
                          where + ": expected 'key = value', got '" + std::string(line) + "'");
        const std::string key = toLower(trim(line.substr(0, eq)));
        if (key.empty()) return Status(StatusCode::InvalidConfig, where + ": missing key before '='");
        if (section.empty())
            return Status(StatusCode::InvalidConfig, where + ": key '" + key + "' outside of any [section]");
        auto& slot = cfg._sections[section][key];
        if (slot.line != 0)
            return Status(StatusCode::InvalidConfig, where + ": [" + section + "] " + key +
                                                         " is set twice (first on line " + std::to_string(slot.line) +
                                                         ")");
        slot = ConfigValue{std::string(trim(line.substr(eq + 1))), ConfigOrigin::Ini, lineNo};
        if (end == text.size()) break;
    }
    return cfg;
}

Status Configuration::applyDefine(std::string_view define) {
    const size_t eq = define.find('=');
    const std::string_view name = eq == std::string_view::npos ? define : trim(define.substr(0, eq));
    const size_t dot = name.rfind('.');
    if (eq == std::string_view::npos || dot == std::string_view::npos || dot == 0 || dot + 1 == name.size())
        return Status(StatusCode::InvalidConfig,
                      "--define=" + std::string(define) + ": expected --define=section.key=value");
    auto& slot = _sections[toLower(trim(name.substr(0, dot)))][toLower(trim(name.substr(dot + 1)))];
    slot = ConfigValue{std::string(trim(define.substr(eq + 1))), ConfigOrigin::CommandLine, 0};
    return Status::ok();
}

bool Configuration::hasSection(std::string_view section) const { return _sections.count(toLower(section)) != 0; }

std::vector<std::string> Configuration::keys(std::string_view section) const {
    std::vector<std::string> out;
    auto it = _sections.find(toLower(section));
    if (it != _sections.end())
        for (const auto& kv : it->second) out.push_back(kv.first);
    return out;
}

const ConfigValue* Configuration::find(std::string_view section, std::string_view key) const {
    auto it = _sections.find(toLower(section));
    if (it == _sections.end()) return nullptr;
    auto k = it->second.find(toLower(key));
    return k == it->second.end() ? nullptr : &k->second;
}

std::vector<std::string> Configuration::sections() const {
    std::vector<std::string> out;
    for (const auto& kv : _sections) out.push_back(kv.first);
    return out;
}

std::string Configuration::resolvePath(std::string_view path) const {
    if (path.empty() || path.front() == '/') return std::string(path);
    std::string p(path);
    if (p == ".") return _baseDir;
    if (p.rfind("./", 0) == 0) p.erase(0, 2);
    return _baseDir + "/" + p;
}

}  // namespace ordersystem::host
