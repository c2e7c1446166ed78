-- Offline-first sync (see src/sync/README.md).

-- Each change is numbered gap-free per origin replica, and says which clock each written
-- field had before the write (what its author had seen), so the server can tell a
-- concurrent overwrite from a plain later edit.
ALTER TABLE changes ADD COLUMN replica_seq INTEGER;
ALTER TABLE changes ADD COLUMN base TEXT NOT NULL DEFAULT '{}';
UPDATE changes SET replica_seq = seq;
CREATE UNIQUE INDEX changes_origin ON changes(replica_id, replica_seq);

-- The version (`hlc/change_id`) of the value each mutable field of a record holds now, as a
-- JSON object field -> version: last writer wins by these. One row per record keeps a write
-- and an apply at two statements whatever the number of fields.
CREATE TABLE record_clocks (
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    clocks TEXT NOT NULL,
    PRIMARY KEY (entity, entity_id)
) WITHOUT ROWID;

-- Concurrent overwrites of one field: the losing value is kept here, never dropped.
CREATE TABLE conflicts (
    id TEXT PRIMARY KEY,
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    field TEXT NOT NULL,
    kept_value TEXT NOT NULL,        -- JSON
    lost_value TEXT NOT NULL,        -- JSON
    lost_hlc TEXT NOT NULL,
    lost_replica TEXT NOT NULL,
    detected_at INTEGER NOT NULL,
    resolved_at INTEGER
);
CREATE INDEX conflicts_entity ON conflicts(entity, entity_id);

-- A console's view of its server: where it is, how far it has pulled, what it has pushed.
CREATE TABLE sync_state (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    server_url TEXT,
    cursor INTEGER NOT NULL DEFAULT 0,   -- server log position applied locally
    pushed_seq INTEGER NOT NULL DEFAULT 0, -- highest local replica_seq the server acknowledged
    last_sync_at INTEGER,
    last_error TEXT,
    offline INTEGER NOT NULL DEFAULT 0,    -- the last round could not reach the server
    server_latest INTEGER NOT NULL DEFAULT 0, -- the server log's end when last seen (progress)
    verified_at INTEGER                    -- last time checksums matched the server's
);
INSERT INTO sync_state (singleton) VALUES (1);

-- On the server: the highest change number accepted from each replica.
CREATE TABLE replicas (
    replica_id TEXT PRIMARY KEY,
    last_seq INTEGER NOT NULL,
    last_seen INTEGER NOT NULL
);
