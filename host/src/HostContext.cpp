#include "HostContext.h"

namespace ordersystem::host {

std::string HostContext::dataPath(std::string_view fileName) const {
    if (!fileName.empty() && fileName.front() == '/') return std::string(fileName);
    return _services.node.dataDir + "/" + std::string(fileName);
}

void HostContext::refuse(std::string why) {
    if (_error.empty()) _error = std::move(why);
}

std::string HostContext::takeError() {
    std::string e;
    e.swap(_error);
    return e;
}

void HostContext::addHealthCheck(std::string name, sdk::HealthCheck check) {
    if (!check) return refuse("health check '" + name + "' is empty");
    _services.health.add(std::move(name), std::move(check));
}

void HostContext::provideEventLog(sdk::EventLog* log) {
    if (!_isTransport) return refuse("only a transport plugin may provide the event log");
    if (log) {
        try {
            _services.observedLogs.push_back(std::make_unique<ObservedEventLog>(*log, _services.metrics));
            log = _services.observedLogs.back().get();
        } catch (...) {
            // Out of memory: hand out the transport's log itself, unobserved.
        }
    }
    _services.eventLog.store(log);
    _services.eventLogProvider = log ? _pluginName : std::string();
}

}  // namespace ordersystem::host
