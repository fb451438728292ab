// --export and --import; see OperatorCommands.h.
#include "OperatorCommands.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <sstream>

#include "ImportFile.h"

namespace ordersystem::host {

using sdk::Result;
using sdk::Status;
using sdk::StatusCode;

namespace {
constexpr size_t kExportPage = 1000;

std::string errnoText() { return std::strerror(errno); }

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

/// The folder of path, fsynced so a rename in it survives a crash.
void syncFolderOf(const std::string& path) {
    const size_t slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
    if (fd < 0) return;
    (void)::fsync(fd);
    ::close(fd);
}

/// A file written whole or not at all: everything goes to path.tmp, renamed onto path by commit().
class AtomicFile {
public:
    explicit AtomicFile(std::string path) : _path(std::move(path)), _tmp(_path + ".tmp") {}
    ~AtomicFile() {
        if (_file) std::fclose(_file);
        if (!_committed) ::unlink(_tmp.c_str());
    }
    Status open() {
        _file = std::fopen(_tmp.c_str(), "we");
        if (!_file) return Status(StatusCode::Unavailable, "cannot create " + _tmp + ": " + errnoText());
        return Status::ok();
    }
    Status write(const std::string& line) {
        if (std::fwrite(line.data(), 1, line.size(), _file) != line.size())
            return Status(StatusCode::Unavailable, "cannot write " + _tmp + ": " + errnoText());
        return Status::ok();
    }
    Status commit() {
        const bool flushed = std::fflush(_file) == 0 && ::fsync(::fileno(_file)) == 0;
        const bool closed = std::fclose(_file) == 0;
        _file = nullptr;
        if (!flushed || !closed) return Status(StatusCode::Unavailable, "cannot write " + _tmp + ": " + errnoText());
        if (::rename(_tmp.c_str(), _path.c_str()) != 0)
            return Status(StatusCode::Unavailable, "cannot rename " + _tmp + " to " + _path + ": " + errnoText());
        _committed = true;
        syncFolderOf(_path);
        return Status::ok();
    }

private:
    std::string _path, _tmp;
    std::FILE* _file = nullptr;
    bool _committed = false;
};
}  // namespace

Progress::Progress(std::ostream& err, std::string what) : _err(err), _what(std::move(what)) {}

void Progress::update(uint64_t done) {
    const auto now = Clock::now();
    if (now - _last < std::chrono::seconds(1)) return;
    _last = now;
    _err << "ordersystem: " << _what << ": " << done << " events, " << static_cast<uint64_t>(rate(done)) << "/s"
         << std::endl;
}

double Progress::seconds() const { return std::chrono::duration<double>(Clock::now() - _start).count(); }

double Progress::rate(uint64_t done) const {
    const double s = seconds();
    return s > 0 ? static_cast<double>(done) / s : 0.0;
}

std::string formatSeconds(double seconds) {
    std::ostringstream out;
    out << std::fixed << std::setprecision(1) << seconds << " s";
    return out.str();
}

Result<std::string> exportLog(sdk::EventLog& log, const std::string& file, std::ostream& progress) {
    if (exists(file)) return Status(StatusCode::InvalidArgument, file + " exists: choose a new file or remove it");
    auto head = log.headPosition();
    if (!head) return Status(head.status().code, "cannot read the log head: " + head.status().message);
    AtomicFile out(file);
    if (Status s = out.open(); !s) return s;
    Progress meter(progress, "export");
    uint64_t cursor = 0;
    // Up to the head at start: what nodes append meanwhile belongs to a later export.
    while (cursor < head.value()) {
        auto page = log.readRange(cursor, kExportPage);
        if (!page)
            return Status(page.status().code,
                          "reading the log after position " + std::to_string(cursor) + ": " + page.status().message);
        if (page.value().empty()) break;
        for (const auto& event : page.value()) {
            if (event.position > head.value()) break;
            // Positions are consecutive in every transport: a hole means the log was trimmed.
            if (event.position != cursor + 1)
                return Status(StatusCode::Internal, "the log has no event at position " + std::to_string(cursor + 1) +
                                                        " (trimmed or purged): it cannot be exported whole");
            if (Status s = out.write(sdk::toJson(event) + "\n"); !s) return s;
            cursor = event.position;
        }
        meter.update(cursor);
    }
    if (cursor < head.value())
        return Status(StatusCode::Internal, "the log ended at position " + std::to_string(cursor) +
                                                ", not at its head " + std::to_string(head.value()));
    if (Status s = out.commit(); !s) return s;
    return "exported " + std::to_string(cursor) + " events of the " + std::string(log.mode()) + " log to " + file +
           " in " + formatSeconds(meter.seconds());
}

Result<std::string> importLog(sdk::EventLog& log, const std::string& file, std::ostream& progress) {
    auto head = log.headPosition();
    if (!head) return Status(head.status().code, "cannot read the log head: " + head.status().message);
    if (head.value() != 0)
        return Status(StatusCode::Conflict, "the " + std::string(log.mode()) + " log is not empty: it holds " +
                                                std::to_string(head.value()) +
                                                " events; import only into an empty log");
    auto checked = checkImportFile(file);
    if (!checked) return checked.status();
    const ImportSummary& summary = checked.value();
    Progress meter(progress, "import");
    if (Status s = appendImportFile(log, file, summary, meter); !s) return s;
    if (Status s = log.ensureOrderIdsAbove(summary.highestOrderId); !s)
        return Status(s.code, "all " + std::to_string(summary.events) +
                                  " events were imported, but the order id allocator could not be moved past " +
                                  std::to_string(summary.highestOrderId) + ": " + s.message +
                                  "; new orders could collide with imported ones: start over (README)");
    const double seconds = meter.seconds();
    return "imported " + std::to_string(summary.events) + " events of " + std::to_string(summary.orders) +
           " orders into the " + std::string(log.mode()) + " log in " + formatSeconds(seconds) + " (" +
           std::to_string(static_cast<uint64_t>(meter.rate(summary.events))) +
           " events/s); new order ids start above " + std::to_string(summary.highestOrderId);
}

}  // namespace ordersystem::host
