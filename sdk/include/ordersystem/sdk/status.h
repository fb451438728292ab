// Contract: errors cross every plugin boundary as values. A Status is cheap to copy when Ok
// (empty message). Result<T> carries either a value or a non-Ok Status. Nothing here throws
// except Result::value() on a non-Ok result (a programming error).
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

namespace ordersystem::sdk {

/// What went wrong; httpStatusFor() maps each code to HTTP in exactly one place.
enum class StatusCode : int {
    Ok = 0,
    InvalidArgument,  ///< bad input from a client (400)
    NotFound,         ///< no such order or route (404)
    Conflict,         ///< the domain refuses the transition, or a duplicate in flight (409)
    VersionConflict,  ///< the log refused an append: expected version is stale (retry after re-read)
    Unprocessable,    ///< well-formed but unusable, e.g. idempotency key reused with another body (422)
    Unavailable,      ///< a dependency (broker, database) is down; retryable (503)
    Timeout,          ///< a dependency did not answer in time (503)
    InvalidConfig,    ///< configuration refused at start-up
    Internal,         ///< a bug or an unexpected failure (500)
    /// The caller said it must not wait (an event-loop thread) and the answer needs a wait: ask
    /// again where waiting is fine. Turned into HandlerOutcome::WouldBlock, never shown to a client.
    WouldBlock,
    PreconditionFailed,  ///< a client's precondition (If-Match) does not hold; nothing changed (412)
};

/// The result of an operation: a code and, when not Ok, a human-readable message.
struct Status {
    StatusCode code = StatusCode::Ok;
    std::string message;
    /// A retryable failure's earliest useful retry in ms (e.g. a webhook receiver's Retry-After); 0: none said.
    int64_t retryAfterMs = 0;

    Status() = default;
    Status(StatusCode c, std::string m) : code(c), message(std::move(m)) {}

    static Status ok() { return {}; }
    bool isOk() const noexcept { return code == StatusCode::Ok; }
    explicit operator bool() const noexcept { return isOk(); }
};

/// The one mapping from our error codes to HTTP statuses.
inline int httpStatusFor(StatusCode code) noexcept {
    switch (code) {
    case StatusCode::Ok: return 200;
    case StatusCode::InvalidArgument: return 400;
    case StatusCode::NotFound: return 404;
    case StatusCode::Conflict:
    case StatusCode::VersionConflict: return 409;
    case StatusCode::Unprocessable: return 422;
    case StatusCode::PreconditionFailed: return 412;
    case StatusCode::Unavailable:
    case StatusCode::Timeout: return 503;
    case StatusCode::InvalidConfig:
    case StatusCode::Internal:
    case StatusCode::WouldBlock: return 500;  // a WouldBlock that reached a client is a bug
    }
    return 500;
}

/// A value or the Status explaining why there is none.
template <class T>
class Result {
public:
    Result(T value) : _value(std::move(value)) {}
    Result(Status status) : _status(std::move(status)) {
        if (_status.isOk()) _status = Status(StatusCode::Internal, "Result built from Ok status without a value");
    }
    Result(StatusCode code, std::string message) : Result(Status(code, std::move(message))) {}

    bool isOk() const noexcept { return _status.isOk(); }
    explicit operator bool() const noexcept { return isOk(); }
    const Status& status() const noexcept { return _status; }
    T& value() {
        if (!_value) throw std::logic_error("Result::value() on error: " + _status.message);
        return *_value;
    }
    const T& value() const {
        if (!_value) throw std::logic_error("Result::value() on error: " + _status.message);
        return *_value;
    }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() { return value(); }

private:
    Status _status;
    std::optional<T> _value;
};

}  // namespace ordersystem::sdk
