// Contract: `ordersystem --describe-config`. Collects the keys the host and every plugin in a
// plugin folder declare and renders them as one Markdown document (docs/configuration.md is its
// committed output). Only descriptors are read: no plugin is created, no server started, no file
// opened but the plugin libraries. Main thread; the result owns copies of every text.
#pragma once

#include <string>
#include <vector>

#include "ordersystem/sdk/config.h"
#include "ordersystem/sdk/status.h"

namespace ordersystem::host {

/// One key as declared, copied out of the declaration (a plugin library may be gone by the time it is printed).
struct DocumentedKey {
    std::string name;
    sdk::ConfigType type = sdk::ConfigType::String;
    std::string defaultValue;
    std::string help;
};

/// One ini section and who declares it: the host (plugin empty) or one plugin.
struct DocumentedSection {
    std::string section;
    std::string plugin;      ///< plugin name; "" for the host's own sections
    std::string pluginKind;  ///< transport | domain | handler; "" for the host
    std::vector<DocumentedKey> keys;
};

struct ConfigReference {
    /// The host's sections in their declared order, then the plugins' by section name, then plugin name.
    std::vector<DocumentedSection> sections;
    /// One line per file in the folder that is not a loadable plugin (the reason, file named).
    std::vector<std::string> skipped;
};

/// The host's sections and those of every <pluginDir>/*.so that loads as a plugin of this SDK.
/// A missing or unreadable folder is refused (InvalidConfig, folder named).
sdk::Result<ConfigReference> collectConfigReference(const std::string& pluginDir);

/// The Markdown document: a header on how values are set and overridden, then one table per section.
std::string formatConfigReference(const std::vector<DocumentedSection>& sections);

}  // namespace ordersystem::host
