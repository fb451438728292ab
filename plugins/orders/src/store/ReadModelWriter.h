// Contract: internal to ReadModelDb.cpp (included there only). The projection's write statements
// on the writer session's own sqlite3 handle; used by the apply thread alone. Methods throw
// std::runtime_error with SQLite's message; ReadModelDb::writeBatch turns that into a Status.
#pragma once

#include <Poco/Data/SQLite/Utility.h>
#include <Poco/Data/Session.h>

#include <sqlite3.h>

#include <stdexcept>
#include <string>
#include <string_view>

#include "ordersystem/sdk/json.h"
#include "store/ReadModelDb.h"

namespace ordersystem::plugins::orders::store {

/// The apply thread's statements, prepared once on the writer session's own sqlite3 handle:
/// Poco 1.11 re-prepares a Statement on every execute(), which would cost more than the insert.
struct ReadModelDb::WriterStatements {
    sqlite3* db;
    std::string projection;
    sqlite3_stmt* begin = nullptr;
    sqlite3_stmt* commit = nullptr;
    sqlite3_stmt* rollback = nullptr;
    sqlite3_stmt* insert = nullptr;
    sqlite3_stmt* checkpoint = nullptr;
    std::string items;     ///< reused buffer for the items JSON
    std::string document;  ///< reused buffer for a document the caller did not have

    WriterStatements(Poco::Data::Session& s, const std::string& name)
        : db(Poco::Data::SQLite::Utility::dbHandle(s)), projection(name) {
        try {
            begin = prepare("BEGIN IMMEDIATE");
            commit = prepare("COMMIT");
            rollback = prepare("ROLLBACK");
            insert = prepare(
                "INSERT OR REPLACE INTO orders (id, order_number, customer_name, total_cents, status, version, "
                "items_json, created_at_ms, processed_at_ms, completed_at_ms, cancelled_at_ms, has_cancel_reason, "
                "cancel_reason, document) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
            checkpoint = prepare("INSERT OR REPLACE INTO checkpoints (projection, position) VALUES (?, ?)");
        } catch (...) {
            finalizeAll();
            throw;
        }
    }
    ~WriterStatements() { finalizeAll(); }
    WriterStatements(const WriterStatements&) = delete;
    WriterStatements& operator=(const WriterStatements&) = delete;

    sqlite3_stmt* prepare(const char* sql) {
        sqlite3_stmt* st = nullptr;
        if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr) != SQLITE_OK)
            throw std::runtime_error(std::string("preparing ") + sql + ": " + sqlite3_errmsg(db));
        return st;
    }
    void finalizeAll() {
        for (sqlite3_stmt** st : {&begin, &commit, &rollback, &insert, &checkpoint}) {
            sqlite3_finalize(*st);
            *st = nullptr;
        }
    }
    /// Steps to completion and resets; throws with SQLite's message on failure.
    void run(sqlite3_stmt* st) {
        const int rc = sqlite3_step(st);
        if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
            std::string message = sqlite3_errmsg(db);
            sqlite3_reset(st);
            throw std::runtime_error(message);
        }
        sqlite3_reset(st);
    }
    static void text(sqlite3_stmt* st, int index, const std::string& value) {
        sqlite3_bind_text(st, index, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
    }
    void write(const RowToWrite& row) {
        const domain::Order& o = *row.order;
        items.clear();
        sdk::JsonWriter w(items);
        domain::writeItems(w, o.items);
        std::string_view doc = row.document;
        if (doc.empty()) {
            document.clear();
            sdk::JsonWriter d(document);
            domain::writeOrderDocument(d, o, items);
            doc = document;
        }
        sqlite3_bind_int64(insert, 1, o.id);
        text(insert, 2, o.orderNumber);
        text(insert, 3, o.customerName);
        sqlite3_bind_int64(insert, 4, o.totalCents);
        sqlite3_bind_int(insert, 5, static_cast<int>(o.status));
        sqlite3_bind_int64(insert, 6, o.version);
        text(insert, 7, items);
        sqlite3_bind_int64(insert, 8, o.createdAtMs);
        sqlite3_bind_int64(insert, 9, o.processedAtMs);
        sqlite3_bind_int64(insert, 10, o.completedAtMs);
        sqlite3_bind_int64(insert, 11, o.cancelledAtMs);
        sqlite3_bind_int(insert, 12, o.hasCancelReason ? 1 : 0);
        text(insert, 13, o.cancelReason);
        sqlite3_bind_text(insert, 14, doc.data(), static_cast<int>(doc.size()), SQLITE_STATIC);
        run(insert);
    }
    void writeCheckpoint(uint64_t position) {
        text(checkpoint, 1, projection);
        sqlite3_bind_int64(checkpoint, 2, static_cast<sqlite3_int64>(position));
        run(checkpoint);
    }
    void tryRollback() noexcept {
        if (!sqlite3_get_autocommit(db)) {
            sqlite3_step(rollback);
            sqlite3_reset(rollback);
        }
    }
};

}  // namespace ordersystem::plugins::orders::store
