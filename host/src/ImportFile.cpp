// Checking and appending an --import file; see ImportFile.h.
#include "ImportFile.h"

#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

namespace ordersystem::host {

using sdk::Result;
using sdk::Status;
using sdk::StatusCode;

namespace {
constexpr int64_t kMaxOrderId = (int64_t{1} << 53) - 1;

/// Lines of a file, each at most kMaxImportLineBytes, without their '\n'.
class LineReader {
public:
    explicit LineReader(const std::string& path) : _path(path), _file(std::fopen(path.c_str(), "re")) {}
    ~LineReader() {
        if (_file) std::fclose(_file);
    }
    Status opened() const {
        return _file ? Status::ok()
                     : Status(StatusCode::InvalidArgument, "cannot open " + _path + ": " + std::strerror(errno));
    }
    /// false at the end of the file or on an error (then *error is set).
    bool next(std::string& line, Status* error) {
        line.clear();
        int c;
        bool any = false;
        while ((c = getc_unlocked(_file)) != EOF) {
            any = true;
            if (c == '\n') break;
            if (line.size() >= kMaxImportLineBytes) {
                *error = Status(StatusCode::InvalidArgument, "line " + std::to_string(_number + 1) + " of " + _path +
                                                                 " is longer than " +
                                                                 std::to_string(kMaxImportLineBytes) + " bytes");
                return false;
            }
            line.push_back(static_cast<char>(c));
        }
        if (std::ferror(_file)) {
            *error = Status(StatusCode::Unavailable, "cannot read " + _path + ": " + std::strerror(errno));
            return false;
        }
        if (any) ++_number;
        return any;
    }
    uint64_t number() const { return _number; }

private:
    std::string _path;
    std::FILE* _file;
    uint64_t _number = 0;
};

Status badLine(const std::string& file, uint64_t number, const std::string& why) {
    return Status(StatusCode::InvalidArgument,
                  file + " line " + std::to_string(number) + ": " + why + "; nothing was imported");
}

/// The appends in flight: at most kImportWindow, never two of one order.
class Window {
public:
    /// Waits until an append of orderId may start (or one failed); false after a failure.
    bool admit(int64_t orderId) {
        std::unique_lock<std::mutex> lock(_mutex);
        _changed.wait(lock,
                      [&] { return !_failure.isOk() || (_busy.size() < kImportWindow && _busy.count(orderId) == 0); });
        if (!_failure.isOk()) return false;
        _busy.insert(orderId);
        return true;
    }
    /// On a transport thread: records the outcome; the request is freed by the main thread.
    void done(std::unique_ptr<sdk::AppendRequest> request, const sdk::AppendResult& result) {
        std::lock_guard<std::mutex> lock(_mutex);
        _busy.erase(request->orderId);
        if (result.status) ++_imported;
        else if (_failure.isOk())
            _failure = Status(result.status.code == StatusCode::Ok ? StatusCode::Internal : result.status.code,
                              "order " + std::to_string(request->orderId) + " version " +
                                  std::to_string(request->expectedVersion + 1) + ": " + result.status.message);
        _finished.push_back(std::move(request));
        _changed.notify_all();
    }
    void drain() {
        std::unique_lock<std::mutex> lock(_mutex);
        _changed.wait(lock, [&] { return _busy.empty(); });
        _finished.clear();
    }
    /// Frees requests whose appends have completed (main thread).
    void collect() {
        std::deque<std::unique_ptr<sdk::AppendRequest>> finished;
        std::lock_guard<std::mutex> lock(_mutex);
        finished.swap(_finished);
    }
    uint64_t imported() {
        std::lock_guard<std::mutex> lock(_mutex);
        return _imported;
    }
    Status failure() {
        std::lock_guard<std::mutex> lock(_mutex);
        return _failure;
    }

private:
    std::mutex _mutex;
    std::condition_variable _changed;
    std::unordered_set<int64_t> _busy;
    std::deque<std::unique_ptr<sdk::AppendRequest>> _finished;
    uint64_t _imported = 0;
    Status _failure;
};
}  // namespace

Result<ImportSummary> checkImportFile(const std::string& file) {
    LineReader reader(file);
    if (Status s = reader.opened(); !s) return s;
    ImportSummary summary;
    std::unordered_map<int64_t, int64_t> versions;
    std::unordered_set<std::string> eventIds;
    std::string line;
    Status error;
    while (reader.next(line, &error)) {
        auto event = sdk::eventFromJson(line);
        if (!event) return badLine(file, reader.number(), "not an event document: " + event.status().message);
        const sdk::EventRecord& e = event.value();
        if (e.orderId <= 0 || e.orderId > kMaxOrderId)
            return badLine(file, reader.number(), "order id " + std::to_string(e.orderId) + " is not in 1..2^53-1");
        if (e.eventId.empty()) return badLine(file, reader.number(), "the eventId is empty");
        int64_t& version = versions[e.orderId];
        if (e.version != version + 1)
            return badLine(file, reader.number(),
                           "order " + std::to_string(e.orderId) + " has version " + std::to_string(e.version) +
                               " where " + std::to_string(version + 1) + " comes next");
        version = e.version;
        if (!eventIds.insert(e.eventId).second)
            return badLine(file, reader.number(), "eventId " + e.eventId + " appears twice");
        ++summary.events;
        summary.highestOrderId = std::max(summary.highestOrderId, e.orderId);
    }
    if (!error) return Status(error.code, error.message + "; nothing was imported");
    if (summary.events == 0)
        return Status(StatusCode::InvalidArgument, file + " holds no events; nothing was imported");
    summary.orders = versions.size();
    return summary;
}

Status appendImportFile(sdk::EventLog& log, const std::string& file, const ImportSummary& summary, Progress& progress) {
    LineReader reader(file);
    if (Status s = reader.opened(); !s) return s;
    Window window;
    std::string line;
    Status error;
    uint64_t submitted = 0;
    while (reader.next(line, &error)) {
        auto event = sdk::eventFromJson(line);
        if (!event) {
            error = badLine(file, reader.number(), "changed since it was checked");
            break;
        }
        auto request = std::make_unique<sdk::AppendRequest>();
        request->orderId = event.value().orderId;
        request->expectedVersion = event.value().version - 1;
        request->events.push_back(std::move(event.value()));
        if (!window.admit(request->orderId)) break;
        sdk::AppendRequest& r = *request;
        // done owns the request until the window takes it back; the transport only borrows it.
        auto owned = std::make_shared<std::unique_ptr<sdk::AppendRequest>>(std::move(request));
        log.appendAsync(r, [&window, owned](sdk::AppendResult&& result) { window.done(std::move(*owned), result); });
        ++submitted;
        if ((submitted & 1023) == 0) {
            window.collect();
            progress.update(window.imported());
        }
    }
    window.drain();
    const uint64_t imported = window.imported();
    Status failure = window.failure();
    if (failure.isOk() && !error.isOk()) failure = error;
    if (failure.isOk() && imported != summary.events)
        failure = Status(StatusCode::Internal, "the file holds " + std::to_string(summary.events) +
                                                   " events but only " + std::to_string(submitted) + " were read");
    if (failure.isOk()) return Status::ok();
    return Status(failure.code, "imported " + std::to_string(imported) + " of " + std::to_string(summary.events) +
                                    " events, then: " + failure.message +
                                    ". The log is now partial: empty it before importing again (README)");
}

}  // namespace ordersystem::host
