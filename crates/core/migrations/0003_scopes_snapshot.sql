-- Client scopes for users, and the snapshot bootstrap of a new console (src/sync/README.md).

-- A user with rows here sees only these clients; no rows: every client. Admins always see
-- every client. Kept where the user logs in (the server, or a standalone console); not synced.
CREATE TABLE user_clients (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES clients(id),
    PRIMARY KEY (user_id, client_id)
) WITHOUT ROWID;

-- On the server: changes a push carried but the server did not take over (outside the
-- user's clients, or privileged), so a retried push recognises them like logged ones.
CREATE TABLE refused_changes (
    replica_id TEXT NOT NULL,
    replica_seq INTEGER NOT NULL,
    change_id TEXT NOT NULL,
    PRIMARY KEY (replica_id, replica_seq)
) WITHOUT ROWID;

-- A console's first sync copies the server's current state entity by entity, then follows
-- the log from `boot_log_end`. `boot_entity`/`boot_after` say where an interrupted snapshot
-- resumes; `booted` is 1 once it is complete (consoles that synced before snapshots
-- existed replayed the whole log, which is equivalent).
ALTER TABLE sync_state ADD COLUMN booted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_state ADD COLUMN boot_entity TEXT;
ALTER TABLE sync_state ADD COLUMN boot_after TEXT;
ALTER TABLE sync_state ADD COLUMN boot_log_end INTEGER;
-- Progress of a snapshot: records the server said it would send, and records applied.
ALTER TABLE sync_state ADD COLUMN boot_total INTEGER;
ALTER TABLE sync_state ADD COLUMN boot_done INTEGER NOT NULL DEFAULT 0;
-- The client scope the last pulled page was filtered to: 'all', a JSON array of client ids,
-- or NULL before the first page.
ALTER TABLE sync_state ADD COLUMN scope TEXT;
UPDATE sync_state SET booted = (cursor > 0);
