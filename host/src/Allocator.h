// Which malloc the ordersystem executable runs on, for its start-up line.
//
// The executable links jemalloc when the build found it (CMake option ORDERSYSTEM_USE_JEMALLOC,
// on by default): a create allocates on an event loop and frees on the thread that commits it
// or answers it, and glibc's arenas pay for every such hand-over with a lock and a trip through
// its bins, where jemalloc's thread caches do not (docs/performance.md). Plugins are
// loaded into the same process and use the same allocator. Only the executable links it, so the
// unit tests (which link the host's core library) run on the system's malloc.
#pragma once

#include <string>

namespace ordersystem::host {

/// "jemalloc 5.3.0" or "glibc malloc".
std::string allocatorName();

}  // namespace ordersystem::host
