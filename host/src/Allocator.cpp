// See Allocator.h.
#include "Allocator.h"

#ifdef ORDERSYSTEM_WITH_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

namespace ordersystem::host {

std::string allocatorName() {
#ifdef ORDERSYSTEM_WITH_JEMALLOC
    // Asking jemalloc itself also proves it is the allocator in use: the call would not link,
    // and the executable would not start, without it.
    const char* version = nullptr;
    size_t size = sizeof version;
    if (mallctl("version", &version, &size, nullptr, 0) != 0 || version == nullptr) return "jemalloc";
    const std::string full(version);  // "5.3.0-0-g54eaed1d...": the release is enough
    return "jemalloc " + full.substr(0, full.find('-'));
#else
    return "glibc malloc";
#endif
}

}  // namespace ordersystem::host
