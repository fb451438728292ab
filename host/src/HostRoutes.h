// Contract: the routes the host itself serves: /health, /health/live, /health/ready, /metrics
// (refreshing the process_* metrics and the event log's lag gauges first),
// /api/cluster/nodes, /openapi.json, /swagger and /swagger/{file}, the web console at / and
// /console/{file} (from <docs_dir>/console, files only, no folders). Registered on the main thread
// before plugins start; handlers run on HTTP worker threads and only read shared state.
#pragma once

#include <string>

#include "HostContext.h"

namespace ordersystem::host {

void registerHostRoutes(HostServices& services, const std::string& docsDir);

/// Content type by file extension (.html .js .css .json .png .svg .map; else octet-stream).
const char* contentTypeFor(const std::string& fileName);

}  // namespace ordersystem::host
