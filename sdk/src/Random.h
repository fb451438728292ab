// The SDK's one source of random words (UUIDs, trace and span ids): a per-thread generator seeded
// from the OS once per thread. Not for secrets.
#pragma once

#include <cstdint>

namespace ordersystem::sdk::detail {

uint64_t randomWord() noexcept;

}  // namespace ordersystem::sdk::detail
