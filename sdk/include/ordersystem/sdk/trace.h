// Contract: W3C Trace Context (traceparent) for requests, events and webhook deliveries. A
// traceparent is "00-<32 hex trace-id>-<16 hex parent-id>-<2 hex flags>", lower case, ids not all
// zero. Stateless and thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace ordersystem::sdk {

/// The version-00 form of a valid traceparent header value (a later version's first four fields,
/// as the W3C rules say to read them); "" when it is invalid, which starts a new trace, never an error.
std::string parseTraceparent(std::string_view header);
/// A new trace: random trace-id and parent-id, flags 01.
std::string newTraceparent();
/// The same trace-id and flags as `parent` (a valid traceparent) with a new parent-id: the
/// header for a call made on that trace's behalf.
std::string childTraceparent(std::string_view parent);
/// The 32-hex trace-id of a valid traceparent ("" otherwise).
std::string_view traceIdOf(std::string_view traceparent) noexcept;

}  // namespace ordersystem::sdk
