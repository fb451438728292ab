#include "ordersystem/transport/id_block_allocator.h"

#include <algorithm>
#include <exception>
#include <string>

namespace ordersystem::transport {

IdBlockAllocator::IdBlockAllocator(int64_t blockSize, Reserve reserve, RunAhead runAhead)
    : _blockSize(std::max<int64_t>(1, blockSize)), _reserve(std::move(reserve)), _runAhead(std::move(runAhead)) {}

void IdBlockAllocator::accept(int64_t first) {
    if (first < _end) return;  // behind the current block: ids on this node only increase
    if (_next >= _end) {
        _next = first;
        _end = first + _blockSize;
    } else if (_spare == 0 || first < _spare) {
        _spare = first;
    }
}

sdk::Result<int64_t> IdBlockAllocator::next() {
    std::unique_lock<std::mutex> lock(_mutex);
    while (_next >= _end) {
        if (_spare != 0) {
            _next = _spare;
            _end = _spare + _blockSize;
            _spare = 0;
            break;
        }
        if (_reserving) {  // another caller's or the ahead reservation: bounded by the engine's timeout
            _settled.wait(lock);
            continue;
        }
        _reserving = true;
        lock.unlock();
        sdk::Result<int64_t> first = reserveNoThrow();
        lock.lock();
        _reserving = false;
        _settled.notify_all();
        if (!first) return first.status();
        accept(*first);
    }
    const int64_t id = _next++;
    const bool ahead = _runAhead && _spare == 0 && !_reserving && (_end - _next) * 2 < _blockSize;
    if (ahead) _reserving = true;
    lock.unlock();
    if (ahead && !startAhead()) {
        std::lock_guard<std::mutex> relock(_mutex);
        _reserving = false;
        _settled.notify_all();
    }
    return id;
}

sdk::Result<int64_t> IdBlockAllocator::reserveNoThrow() noexcept {
    try {
        return _reserve();
    } catch (const std::exception& e) {
        return sdk::Status(sdk::StatusCode::Internal, std::string("reserving order ids: ") + e.what());
    }
}

bool IdBlockAllocator::startAhead() noexcept {
    try {
        return _runAhead([this](bool cancelled) { reserveAhead(cancelled); });
    } catch (...) {
        return false;  // e.g. out of memory: the caller that runs out reserves instead
    }
}

void IdBlockAllocator::reserveAhead(bool cancelled) noexcept {
    sdk::Result<int64_t> first =
        cancelled ? sdk::Result<int64_t>(sdk::Status(sdk::StatusCode::Unavailable, "stopping")) : reserveNoThrow();
    std::lock_guard<std::mutex> lock(_mutex);
    _reserving = false;
    _settled.notify_all();
    if (first) accept(*first);  // a failure is retried by the caller that runs out
}

}  // namespace ordersystem::transport
