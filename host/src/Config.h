// Contract: the host's own ini reader and override layers (CONTRACT.md §1-§2).
// - Configuration::load() reads an ini file: `;` starts a comment anywhere (also after a value),
//   `[section]` headers and `key = value` lines; section and key names are case-insensitive
//   (stored lower-case). A line starting with `#` is also a comment (what Linux users expect).
// - --define=section.key=value overrides are merged in with higher precedence than the file.
// - Environment overrides (ORDERSYSTEM_<SECTION>_<KEY>) are looked up per DECLARED key during
//   validation (ConfigSchema), because the variable name cannot be mapped back to a dotted section.
// Built once on the main thread at start-up; read-only (and thread-safe) afterwards.
// Errors come back as sdk::Status (InvalidConfig) with the file/key named; nothing throws.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ordersystem/sdk/status.h"

namespace ordersystem::host {

/// Where a value came from; used in error messages so an operator knows what to fix.
enum class ConfigOrigin { Default, Ini, Environment, CommandLine };

struct ConfigValue {
    std::string value;
    ConfigOrigin origin = ConfigOrigin::Ini;
    int line = 0;  ///< ini line number (0 unless from the ini)
};

/// Reads one environment variable; injectable so tests need not touch the real environment.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

/// The process environment.
EnvLookup processEnvironment();

class Configuration {
public:
    /// Parses the ini file and applies the --define overrides ("section.key=value").
    static sdk::Result<Configuration> load(const std::string& iniPath, const std::vector<std::string>& defines);
    /// No ini file, only the --define overrides; relative paths resolve against the working directory.
    static sdk::Result<Configuration> withoutFile(const std::vector<std::string>& defines);
    /// Parses ini text (file name only used in messages; relative paths resolve against baseDir).
    static sdk::Result<Configuration> parse(std::string_view text, const std::string& fileName,
                                            const std::string& baseDir);
    /// Applies one "section.key=value" override (the section may contain dots: the last dot splits).
    sdk::Status applyDefine(std::string_view define);

    bool hasSection(std::string_view section) const;
    /// Keys present in a section (ini or --define), lower-case.
    std::vector<std::string> keys(std::string_view section) const;
    /// Value from the ini or --define (not the environment, not defaults).
    const ConfigValue* find(std::string_view section, std::string_view key) const;
    /// Every section name present (lower-case).
    std::vector<std::string> sections() const;

    const std::string& fileName() const { return _fileName; }
    /// Absolute folder of the ini file: the base of every relative path.
    const std::string& baseDir() const { return _baseDir; }
    /// Absolute stays; relative resolves against baseDir(); "" stays "".
    std::string resolvePath(std::string_view path) const;

private:
    sdk::Status applyDefines(const std::vector<std::string>& defines);

    std::string _fileName;
    std::string _baseDir;
    std::map<std::string, std::map<std::string, ConfigValue>> _sections;
};

/// Lower-cases ASCII.
std::string toLower(std::string_view s);
/// Trims spaces and tabs (and a trailing CR).
std::string_view trim(std::string_view s);
/// ORDERSYSTEM_<SECTION>_<KEY>: upper case, dots and dashes as '_'.
std::string environmentName(std::string_view section, std::string_view key);

}  // namespace ordersystem::host
