// Contract: internal to ReadModelDb.cpp (included there only). The projection's write statements
// on the writer connection, prepared once; used by the apply thread alone. Errors come back as
// Status with SQLite's message; ReadModelDb::writeBatch adds what it was doing.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "ordersystem/sdk/json.h"
#include "ordersystem/sqlite/db.h"
#include "store/ReadModelDb.h"

namespace ordersystem::plugins::orders::store {

struct ReadModelDb::WriterStatements {
    std::string projection;
    sqlite::Stmt begin, commit, rollback, insert, checkpoint;
    std::string items;     ///< reused buffer for the items JSON
    std::string document;  ///< reused buffer for a document the caller did not have

    explicit WriterStatements(std::string name) : projection(std::move(name)) {}

    sdk::Status prepare(sqlite::Db& db) {
        const std::pair<sqlite::Stmt*, const char*> all[] = {
            {&begin, "BEGIN IMMEDIATE"},
            {&commit, "COMMIT"},
            {&rollback, "ROLLBACK"},
            {&insert,
             "INSERT OR REPLACE INTO orders (id, order_number, customer_name, total_cents, status, version, "
             "items_json, created_at_ms, processed_at_ms, completed_at_ms, cancelled_at_ms, has_cancel_reason, "
             "cancel_reason, document) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"},
            {&checkpoint, "INSERT OR REPLACE INTO checkpoints (projection, position) VALUES (?, ?)"},
        };
        for (const auto& [stmt, sql] : all)
            if (sdk::Status s = stmt->prepare(db, sql); !s) return s;
        return sdk::Status::ok();
    }
    /// Steps to completion and resets (so no statement keeps the transaction busy).
    static sdk::Status run(sqlite::Stmt& st) {
        sdk::Status s = st.exec();
        st.reset();
        return s;
    }
    sdk::Status write(const RowToWrite& row) {
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
        insert.bind(1, o.id);
        insert.bind(2, o.orderNumber);
        insert.bind(3, o.customerName);
        insert.bind(4, o.totalCents);
        insert.bind(5, static_cast<int64_t>(o.status));
        insert.bind(6, o.version);
        insert.bind(7, items);
        insert.bind(8, o.createdAtMs);
        insert.bind(9, o.processedAtMs);
        insert.bind(10, o.completedAtMs);
        insert.bind(11, o.cancelledAtMs);
        insert.bind(12, int64_t{o.hasCancelReason ? 1 : 0});
        insert.bind(13, o.cancelReason);
        insert.bind(14, doc);
        return run(insert);
    }
    sdk::Status writeCheckpoint(uint64_t position) {
        checkpoint.bind(1, projection);
        checkpoint.bind(2, static_cast<int64_t>(position));
        return run(checkpoint);
    }
    void tryRollback(sqlite::Db& db) noexcept {
        if (!db.autocommit()) (void)run(rollback);
    }
};

}  // namespace ordersystem::plugins::orders::store
