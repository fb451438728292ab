// Contract: the event log database's tables, shared by the writer and the readers.
// Called once at start by the writer before any reader opens the file.
#pragma once

#include "ordersystem/sdk/events.h"
#include "ordersystem/sqlite/db.h"

namespace ordersystem::plugins::inmemory {

/// The plugins' one SQLite layer (sdk/sqlite): the log's connections and prepared statements.
using sqlite::Db;
using sqlite::Stmt;

/// Every table of the standalone log; positions are assigned by the writer (no AUTOINCREMENT gaps).
/// event_id carries no index: eventIds are fresh UUIDs made in this process and an append is an
/// in-process call that never times out, so there is no retried publish for a UNIQUE index to
/// catch, and an index on random keys dirties a random page per event. An existing file's index
/// on it is harmless.
inline constexpr const char* kSchemaSql = R"SQL(
CREATE TABLE IF NOT EXISTS events(
  position     INTEGER PRIMARY KEY,
  event_id     TEXT    NOT NULL,
  order_id     INTEGER NOT NULL,
  version      INTEGER NOT NULL,
  type         TEXT    NOT NULL,
  order_number TEXT    NOT NULL,
  occurred_at  INTEGER NOT NULL,
  node_id      TEXT    NOT NULL,
  data         TEXT    NOT NULL,
  metadata     TEXT,
  UNIQUE(order_id, version));
CREATE TABLE IF NOT EXISTS id_reservation(
  id         INTEGER PRIMARY KEY CHECK (id = 1),
  high_water INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS idempotency(
  key         TEXT PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  response    TEXT,
  state       TEXT NOT NULL,
  expires_at  INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS idempotency_expiry ON idempotency(expires_at);
CREATE TABLE IF NOT EXISTS reaction_checkpoints(
  name     TEXT PRIMARY KEY,
  position INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS reaction_done(
  name     TEXT    NOT NULL,
  position INTEGER NOT NULL,
  PRIMARY KEY(name, position)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dead_letters(
  reaction   TEXT    NOT NULL,
  position   INTEGER NOT NULL,
  event_id   TEXT    NOT NULL,
  attempts   INTEGER NOT NULL,
  last_error TEXT    NOT NULL,
  dead_at    INTEGER NOT NULL,
  event_json TEXT    NOT NULL,
  PRIMARY KEY(reaction, position));
CREATE INDEX IF NOT EXISTS dead_letters_event ON dead_letters(reaction, event_id);
)SQL";

/// The table of dead letters, as give-up log lines name it.
inline constexpr const char* kDeadLettersTable = "dead_letters";

/// A log written before events had metadata gets the column (NULL: no metadata) at start.
inline constexpr const char* kHasMetadataSql =
    "SELECT COUNT(*) FROM pragma_table_info('events') WHERE name = 'metadata'";
inline constexpr const char* kAddMetadataSql = "ALTER TABLE events ADD COLUMN metadata TEXT";

inline constexpr const char* kEventColumns =
    "position, event_id, order_id, version, type, order_number, occurred_at, node_id, data, metadata";

/// The event on the current row of a statement that selected kEventColumns.
inline sdk::EventRecord eventFromRow(const Stmt& q) {
    sdk::EventRecord e;
    e.position = static_cast<uint64_t>(q.int64(0));
    e.eventId = q.text(1);
    e.orderId = q.int64(2);
    e.version = q.int64(3);
    e.type = q.text(4);
    e.orderNumber = q.text(5);
    e.occurredAtMs = q.int64(6);
    e.nodeId = q.text(7);
    e.dataJson = q.text(8);
    e.metadataJson = q.text(9);
    return e;
}

}  // namespace ordersystem::plugins::inmemory
