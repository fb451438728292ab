#include "PluginManager.h"

#include <algorithm>
#include <exception>

namespace ordersystem::host {

using sdk::Status;
using sdk::StatusCode;

std::vector<std::string> splitList(std::string_view text) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= text.size()) {
        size_t comma = text.find(',', start);
        if (comma == std::string_view::npos) comma = text.size();
        const std::string_view item = trim(text.substr(start, comma - start));
        if (!item.empty()) out.emplace_back(item);
        start = comma + 1;
    }
    return out;
}

PluginManager::~PluginManager() {
    stop();
    destroy();
}

Status PluginManager::load(const std::vector<std::string>& names, const std::string& dir) {
    _log = _logging.make("host");
    for (size_t i = 0; i < names.size(); ++i)
        for (size_t j = 0; j < i; ++j)
            if (names[i] == names[j])
                return Status(StatusCode::InvalidConfig, "[plugins] load names plugin '" + names[i] + "' twice");
    for (const auto& name : names) {
        auto loaded = loadPlugin(dir, name);
        if (!loaded) return loaded.status();
        Entry e;
        e.loaded = std::move(loaded.value());
        _entries.push_back(std::move(e));
    }
    std::vector<std::string> transports;
    for (const auto& e : _entries)
        if (e.loaded->descriptor->kind == sdk::PluginKind::Transport) transports.push_back(e.loaded->name);
    if (transports.empty())
        return Status(StatusCode::InvalidConfig,
                      "[plugins] load has no transport plugin: load exactly one of transport-inmemory, "
                      "transport-redis, transport-nats");
    if (transports.size() > 1) {
        std::string list;
        for (const auto& t : transports) list += (list.empty() ? "" : ", ") + t;
        return Status(StatusCode::InvalidConfig, "[plugins] load has " + std::to_string(transports.size()) +
                                                     " transport plugins (" + list + "): load exactly one");
    }
    std::stable_sort(_entries.begin(), _entries.end(), [](const Entry& a, const Entry& b) {
        return static_cast<int>(a.loaded->descriptor->kind) < static_cast<int>(b.loaded->descriptor->kind);
    });
    return Status::ok();
}

Status PluginManager::create(const EnvLookup& env) {
    for (auto& e : _entries) {
        const sdk::PluginDescriptor& d = *e.loaded->descriptor;
        auto section = validateSection(_services.config, d.section, d.configKeys, d.configKeyCount, env);
        if (!section) return Status(StatusCode::InvalidConfig, section.status().message + " (plugin " + d.name + ")");
        e.section = std::make_unique<ValidatedSection>(std::move(section.value()));
        Status error;
        sdk::Plugin* plugin = nullptr;
        try {
            plugin = d.create(*e.section, &error);
        } catch (const std::exception& ex) {
            error = Status(StatusCode::Internal, std::string("create() threw: ") + ex.what());
        } catch (...) {
            error = Status(StatusCode::Internal, "create() threw");
        }
        if (!plugin) {
            if (error.isOk()) error = Status(StatusCode::Internal, "create() returned no plugin and no reason");
            return Status(StatusCode::InvalidConfig, "plugin '" + e.loaded->name + "' refused its configuration [" +
                                                         d.section + "]: " + error.message);
        }
        e.plugin = plugin;
        e.context = std::make_unique<HostContext>(_services, *e.section, e.loaded->name,
                                                  d.kind == sdk::PluginKind::Transport, _logging.make(e.loaded->name));
    }
    return Status::ok();
}

Status PluginManager::start() {
    for (auto& e : _entries)
        if (Status s = startOne(e); !s) return s;
    return Status::ok();
}

Status PluginManager::startTransport() {
    for (auto& e : _entries)
        if (e.loaded->descriptor->kind == sdk::PluginKind::Transport) return startOne(e);
    return Status(StatusCode::Internal, "no transport plugin is loaded");
}

Status PluginManager::startOne(Entry& e) {
    Status s;
    try {
        s = e.plugin->start(*e.context);
    } catch (const std::exception& ex) {
        s = Status(StatusCode::Internal, std::string("start() threw: ") + ex.what());
    } catch (...) {
        s = Status(StatusCode::Internal, "start() threw");
    }
    if (s.isOk()) {
        std::string refused = e.context->takeError();
        if (refused.empty()) refused = _services.router.takeError();
        if (!refused.empty()) {
            // The plugin did start: stop it too, since its start() succeeded.
            e.started = true;
            s = Status(StatusCode::InvalidConfig, refused);
        }
    }
    if (s.isOk() && e.loaded->descriptor->kind == sdk::PluginKind::Transport && !_services.eventLog.load())
        s = Status(StatusCode::Internal, "the transport started but provided no event log");
    if (!s) {
        // A failed start() may have half-opened things; the plugin's destroy() cleans up.
        stop();
        return Status(s.code == StatusCode::Ok ? StatusCode::Internal : s.code,
                      "plugin '" + e.loaded->name + "' failed to start: " + s.message);
    }
    e.started = true;
    if (_log) _log->debug("plugin {} ({}) started", e.loaded->name, pluginKindName(e.loaded->descriptor->kind));
    return Status::ok();
}

void PluginManager::stop() noexcept {
    for (auto it = _entries.rbegin(); it != _entries.rend(); ++it) {
        if (!it->started) continue;
        it->started = false;
        try {
            it->plugin->stop();
        } catch (...) {
            if (_log) _log->error("plugin {} threw from stop()", it->loaded->name);
        }
        if (it->loaded->descriptor->kind == sdk::PluginKind::Transport) _services.eventLog.store(nullptr);
        if (_log) _log->debug("plugin {} stopped", it->loaded->name);
    }
}

void PluginManager::destroy() noexcept {
    for (auto it = _entries.rbegin(); it != _entries.rend(); ++it) {
        if (!it->plugin) continue;
        try {
            it->loaded->descriptor->destroy(it->plugin);
        } catch (...) {
            if (_log) _log->error("plugin {} threw from destroy()", it->loaded->name);
        }
        it->plugin = nullptr;
        it->context.reset();
    }
}

std::vector<std::string> PluginManager::names() const {
    std::vector<std::string> out;
    for (const auto& e : _entries) out.push_back(e.loaded->name);
    return out;
}

std::string PluginManager::transportName() const {
    for (const auto& e : _entries)
        if (e.loaded->descriptor->kind == sdk::PluginKind::Transport) return e.loaded->name;
    return {};
}

std::string PluginManager::transportSetting(std::string_view key) const {
    for (const auto& e : _entries)
        if (e.loaded->descriptor->kind == sdk::PluginKind::Transport && e.section) return e.section->getString(key);
    return {};
}

bool PluginManager::ownsSection(std::string_view section) const {
    const std::string s = toLower(section);
    for (const auto& e : _entries)
        if (toLower(e.loaded->descriptor->section) == s) return true;
    return false;
}

}  // namespace ordersystem::host
