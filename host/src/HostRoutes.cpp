#include "HostRoutes.h"

#include <fstream>
#include <memory>
#include <sstream>

#include "ProcessMetrics.h"
#include "ordersystem/sdk/json.h"
#include "ordersystem/sdk/util.h"

namespace ordersystem::host {

namespace {

bool endsWith(const std::string& s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void serveFile(const std::string& path, const std::string& fileName, sdk::HttpResponse& res,
               const char* what = "documentation file") {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        sdk::writeProblem(res, 404, std::string("The ") + what + " " + fileName + " is not installed");
        return;
    }
    std::ostringstream body;
    body << in.rdbuf();
    res.status = 200;
    res.contentType = contentTypeFor(fileName);
    res.body = body.str();
}

/// A single file name from the URL: no folders, no hidden files, no "..".
bool safeFileName(const std::string& name) {
    return !name.empty() && name.front() != '.' && name.find('/') == std::string::npos &&
           name.find('\\') == std::string::npos && name.find('\0') == std::string::npos;
}

void clusterNodes(HostServices& services, sdk::HttpResponse& res) {
    sdk::EventLog* log = services.eventLog.load();
    if (!log) {
        sdk::writeProblem(res, 503, "The transport is not running");
        return;
    }
    auto nodes = log->membership().liveNodes();
    if (!nodes) {
        sdk::writeProblem(res, nodes.status());
        return;
    }
    res.status = 200;
    res.contentType = "application/json";
    sdk::JsonWriter w(res.body);
    w.beginArray();
    for (const auto& n : nodes.value()) {
        w.beginObject();
        w.key("nodeId").value(n.nodeId);
        w.key("address").value(n.address);
        w.key("mode").value(n.mode);
        w.key("lastSeen").value(sdk::formatTimestamp(n.lastSeenMs));
        w.endObject();
    }
    w.endArray();
}

/// GET .../{file}: one file of `folder` named by a single safe name, with `cacheControl` if set.
/// `what` names the kind of file in the 404s ("console file").
sdk::RouteHandler folderFile(std::string folder, const char* what, std::string cacheControl = "") {
    return [folder = std::move(folder), what, cacheControl = std::move(cacheControl)](const sdk::HttpRequest& req,
                                                                                      sdk::HttpResponse& res) {
        const std::string* name = req.param("file");
        if (!name || !safeFileName(*name)) {
            sdk::writeProblem(res, 404, std::string("No such ") + what + ": a single file name, no folders");
            return;
        }
        serveFile(folder + "/" + *name, *name, res, what);
        if (res.status == 200 && !cacheControl.empty()) res.setHeader("Cache-Control", cacheControl);
    };
}

/// The web console: its page at / (always revalidated, so a new build is picked up) and the files
/// Vite emits flat under /console/ (content-hashed names, so a day of caching is safe).
void registerConsoleRoutes(Router& r, const std::string& docsDir) {
    sdk::RouteOptions page;
    page.operationId = "console";
    r.add(
        "GET", "/",
        [docsDir](const sdk::HttpRequest&, sdk::HttpResponse& res) {
            serveFile(docsDir + "/console/index.html", "index.html", res, "console file");
            res.setHeader("Cache-Control", "no-cache");
        },
        page);
    sdk::RouteOptions file;
    file.operationId = "consoleFile";
    r.add("GET", "/console/{file}", folderFile(docsDir + "/console", "console file", "public, max-age=86400"), file);
}

}  // namespace

const char* contentTypeFor(const std::string& fileName) {
    if (endsWith(fileName, ".html")) return "text/html; charset=utf-8";
    if (endsWith(fileName, ".js")) return "application/javascript; charset=utf-8";
    if (endsWith(fileName, ".css")) return "text/css; charset=utf-8";
    if (endsWith(fileName, ".json") || endsWith(fileName, ".map")) return "application/json";
    if (endsWith(fileName, ".png")) return "image/png";
    if (endsWith(fileName, ".svg")) return "image/svg+xml";
    return "application/octet-stream";
}

void registerHostRoutes(HostServices& services, const std::string& docsDir) {
    Router& r = services.router;
    Health& health = services.health;
    auto opts = [](const char* id) {
        sdk::RouteOptions o;
        o.operationId = id;
        return o;
    };
    r.add(
        "GET", "/health",
        [&health](const sdk::HttpRequest&, sdk::HttpResponse& res) { health.answer(Health::Probe::Full, res); },
        opts("health"));
    r.add(
        "GET", "/health/live",
        [&health](const sdk::HttpRequest&, sdk::HttpResponse& res) { health.answer(Health::Probe::Live, res); },
        opts("live"));
    r.add(
        "GET", "/health/ready",
        [&health](const sdk::HttpRequest&, sdk::HttpResponse& res) { health.answer(Health::Probe::Ready, res); },
        opts("ready"));
    MetricsRegistry& metrics = services.metrics;
    auto process = std::make_shared<ProcessMetrics>(metrics);
    r.add(
        "GET", "/metrics",
        [&metrics, &services, process](const sdk::HttpRequest&, sdk::HttpResponse& res) {
            process->collect();
            if (auto* observed = dynamic_cast<ObservedEventLog*>(services.eventLog.load())) observed->collect();
            res.status = 200;
            res.contentType = "text/plain; version=0.0.4; charset=utf-8";
            res.body = metrics.render();
        },
        opts("metrics"));
    r.add(
        "GET", "/api/cluster/nodes",
        [&services](const sdk::HttpRequest&, sdk::HttpResponse& res) { clusterNodes(services, res); },
        opts("clusterNodes"));
    r.add(
        "GET", "/openapi.json",
        [docsDir](const sdk::HttpRequest&, sdk::HttpResponse& res) {
            serveFile(docsDir + "/openapi.json", "openapi.json", res);
        },
        opts("openapi"));
    auto index = [docsDir](const sdk::HttpRequest&, sdk::HttpResponse& res) {
        serveFile(docsDir + "/swagger-ui/index.html", "index.html", res);
    };
    r.add("GET", "/swagger", index, opts("swagger"));
    r.add("GET", "/swagger/", index, opts("swagger"));
    r.add("GET", "/swagger/{file}", folderFile(docsDir + "/swagger-ui", "documentation file"), opts("swaggerFile"));
    registerConsoleRoutes(r, docsDir);
}

}  // namespace ordersystem::host
