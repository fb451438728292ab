#include "DeadLetterTable.h"

#include <algorithm>
#include <exception>

namespace ordersystem::plugins::inmemory {

using sdk::Result;
using sdk::Status;
using sdk::StatusCode;

namespace {
constexpr const char* kColumns = "SELECT position, event_json, attempts, last_error, dead_at FROM dead_letters ";
}  // namespace

DeadLetterTable::DeadLetterTable(std::string dbPath, std::string reaction, GroupCommitter& committer)
    : _dbPath(std::move(dbPath)), _reaction(std::move(reaction)), _committer(committer) {}

Status DeadLetterTable::openReader() {
    if (_db.handle()) return Status::ok();
    if (auto s = _db.open(_dbPath, false); !s) return s;
    const std::string list = std::string(kColumns) + "WHERE reaction = ?1 ORDER BY dead_at, position LIMIT ?2";
    const std::string find = std::string(kColumns) + "WHERE reaction = ?1 AND event_id = ?2";
    Status s = _list.prepare(_db, list.c_str());
    if (s) s = _find.prepare(_db, find.c_str());
    if (!s) {
        _list = Stmt();
        _find = Stmt();
        _db.close();
    }
    return s;
}

Result<std::vector<sdk::DeadLetter>> DeadLetterTable::collect(Stmt& q) {
    std::vector<sdk::DeadLetter> letters;
    Status error;
    while (q.nextRow(&error)) {
        auto event = sdk::eventFromJson(q.textView(1));
        if (!event) continue;  // written by this plugin from an event: cannot happen
        sdk::DeadLetter letter;
        letter.event = std::move(event.value());
        letter.event.position = static_cast<uint64_t>(q.int64(0));
        letter.attempts = q.int64(2);
        letter.lastError = q.text(3);
        letter.failedAtMs = q.int64(4);
        letters.push_back(std::move(letter));
    }
    q.reset();
    if (!error) return Status(StatusCode::Unavailable, "cannot read the dead letters: " + error.message);
    return letters;
}

Result<std::vector<sdk::DeadLetter>> DeadLetterTable::list(size_t limit) noexcept {
    try {
        std::lock_guard<std::mutex> lock(_mutex);
        if (auto s = openReader(); !s) return s;
        _list.reset();
        _list.bind(1, _reaction);
        _list.bind(2, static_cast<int64_t>(std::min(limit, transport::kMaxDeadLettersListed)));
        return collect(_list);
    } catch (const std::exception& e) {
        return Status(StatusCode::Internal, std::string("listing dead letters: ") + e.what());
    }
}

Result<std::optional<sdk::DeadLetter>> DeadLetterTable::find(const std::string& eventId) noexcept {
    try {
        std::lock_guard<std::mutex> lock(_mutex);
        if (auto s = openReader(); !s) return s;
        _find.reset();
        _find.bind(1, _reaction);
        _find.bind(2, eventId);
        auto found = collect(_find);
        if (!found) return found.status();
        if (found.value().empty()) return std::optional<sdk::DeadLetter>();
        return std::optional<sdk::DeadLetter>(std::move(found.value().front()));
    } catch (const std::exception& e) {
        return Status(StatusCode::Internal, std::string("finding a dead letter: ") + e.what());
    }
}

Status DeadLetterTable::submit(Op& op) {
    op.name = &_reaction;
    if (!_committer.submit(op, false)) return Status(StatusCode::Unavailable, "the event log is stopped");
    return op.status;
}

Status DeadLetterTable::put(const sdk::DeadLetter& letter) noexcept {
    try {
        Op op(OpKind::DeadLetter);
        op.event = &letter.event;
        op.error = &letter.lastError;
        op.value = letter.attempts;
        return submit(op);
    } catch (const std::exception& e) {
        return Status(StatusCode::Internal, std::string("storing a dead letter: ") + e.what());
    }
}

Status DeadLetterTable::remove(const std::string& eventId) noexcept {
    try {
        Op op(OpKind::RemoveDeadLetter);
        op.key = &eventId;
        return submit(op);
    } catch (const std::exception& e) {
        return Status(StatusCode::Internal, std::string("removing a dead letter: ") + e.what());
    }
}

}  // namespace ordersystem::plugins::inmemory
