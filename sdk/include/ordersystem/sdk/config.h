// Contract: a plugin declares the keys of its ini section (name, type, default) in its
// descriptor. The host parses the ini, applies --define and ORDERSYSTEM_* overrides, refuses
// unknown keys and values of the wrong type before create() is called, and hands the plugin a
// ConfigSection holding every declared key (declared default when the ini is silent).
// A ConfigSection is immutable and owned by the host; it outlives the plugin object.
// Getters are thread-safe (read-only). Relative paths are NOT resolved here: use Host::resolvePath.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ordersystem::sdk {

enum class ConfigType : int { String = 0, Int, Bool, Double, Path };

/// One key a plugin accepts in its section. Path values resolve against the ini file's folder.
struct ConfigKeySpec {
    const char* name;  ///< lower-case, snake_case
    ConfigType type;
    const char* defaultValue;  ///< textual default; "" for none
    const char* help;          ///< one line for --help and error messages
};

/// Read-only view of one ini section after validation.
class ConfigSection {
public:
    virtual ~ConfigSection() = default;
    /// Section name as written in the ini, e.g. "transport.redis".
    virtual std::string_view name() const noexcept = 0;
    /// Raw text of a declared key (default when unset). Undeclared keys return "".
    virtual std::string getString(std::string_view key) const = 0;
    /// Typed getters; the host has already checked that declared keys parse as their type.
    virtual int64_t getInt(std::string_view key) const = 0;
    virtual bool getBool(std::string_view key) const = 0;
    virtual double getDouble(std::string_view key) const = 0;
};

}  // namespace ordersystem::sdk
