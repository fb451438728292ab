// Contract: checks one ini section against a declared key list (a plugin's ConfigKeySpec array,
// or the host's own sections) and produces the immutable sdk::ConfigSection handed to create().
// Precedence per key: --define > ORDERSYSTEM_<SECTION>_<KEY> > ini > declared default.
// Refuses (InvalidConfig, key and file named) an undeclared key in the section and a value that
// does not parse as its declared type. Main thread at start-up; the result is read-only after.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "Config.h"
#include "ordersystem/sdk/config.h"

namespace ordersystem::host {

/// A validated section: every declared key has a value (its default when unset).
class ValidatedSection final : public sdk::ConfigSection {
public:
    ValidatedSection() = default;
    ValidatedSection(std::string name, std::map<std::string, std::string> values,
                     std::map<std::string, sdk::ConfigType> types)
        : _name(std::move(name)), _values(std::move(values)), _types(std::move(types)) {}

    std::string_view name() const noexcept override { return _name; }
    std::string getString(std::string_view key) const override;
    int64_t getInt(std::string_view key) const override;
    bool getBool(std::string_view key) const override;
    double getDouble(std::string_view key) const override;

private:
    std::string _name;
    std::map<std::string, std::string> _values;
    std::map<std::string, sdk::ConfigType> _types;
};

/// Strict parsers shared by validation and the getters.
bool parseInt(std::string_view text, int64_t* out);
bool parseBool(std::string_view text, bool* out);
bool parseDouble(std::string_view text, double* out);
/// "a string", "an integer", ...: for error messages.
const char* configTypeName(sdk::ConfigType type);
/// "string", "integer", ...: the type column of --describe-config.
const char* configTypeWord(sdk::ConfigType type);

/// Validates `section` of cfg against specs; env supplies environment overrides.
sdk::Result<ValidatedSection> validateSection(const Configuration& cfg, std::string_view section,
                                              const sdk::ConfigKeySpec* specs, size_t specCount, const EnvLookup& env);

/// The host's own sections and their keys ([node], [http], [plugins], [log]).
struct HostSchema {
    std::string section;
    std::vector<sdk::ConfigKeySpec> keys;
};
const std::vector<HostSchema>& hostSchemas();

}  // namespace ordersystem::host
