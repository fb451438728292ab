#include "Health.h"

#include <exception>

#include "ordersystem/sdk/json.h"

namespace ordersystem::host {

void Health::add(std::string name, sdk::HealthCheck check) {
    std::lock_guard<std::mutex> lock(_mutex);
    _checks.emplace_back(std::move(name), std::move(check));
}

void Health::setIdentity(std::string nodeId, std::string mode) {
    std::lock_guard<std::mutex> lock(_mutex);
    _nodeId = std::move(nodeId);
    _mode = std::move(mode);
}

void Health::answer(Probe probe, sdk::HttpResponse& response) const {
    std::vector<std::pair<std::string, sdk::HealthCheck>> checks;
    std::string nodeId, mode;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (probe != Probe::Live) checks = _checks;
        nodeId = _nodeId;
        mode = _mode;
    }
    struct Row {
        std::string name;
        bool healthy;
        std::string detail;
    };
    std::vector<Row> rows;
    bool healthy = true;
    if (probe != Probe::Live && _shuttingDown.load()) {
        rows.push_back({"shutdown", false, "the node is shutting down"});
        healthy = false;
    }
    for (const auto& [name, check] : checks) {
        Row row{name, false, ""};
        try {
            sdk::HealthCheckResult r = check();
            row.healthy = r.healthy;
            row.detail = std::move(r.detail);
        } catch (const std::exception& e) {
            row.detail = std::string("check threw: ") + e.what();
        } catch (...) {
            row.detail = "check threw";
        }
        healthy = healthy && row.healthy;
        rows.push_back(std::move(row));
    }
    response.status = healthy ? 200 : 503;
    response.contentType = "application/json";
    response.body.clear();
    sdk::JsonWriter w(response.body);
    w.beginObject();
    w.key("status").value(healthy ? "Healthy" : "Unhealthy");
    w.key("nodeId").value(nodeId);
    w.key("mode").value(mode);
    w.key("checks").beginArray();
    for (const auto& row : rows) {
        w.beginObject();
        w.key("name").value(row.name);
        w.key("status").value(row.healthy ? "Healthy" : "Unhealthy");
        w.key("detail").value(row.detail);
        w.endObject();
    }
    w.endArray();
    w.endObject();
}

}  // namespace ordersystem::host
