-- Webhooks: admins' subscriptions and their deliveries. Server-side only (not synced): the
-- server (or the standalone host) is the one place that sends, so a delivery is planned and
-- sent once whatever consoles do.

CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,
    events TEXT NOT NULL,            -- JSON array of event names
    secret TEXT NOT NULL,            -- the HMAC key (the server must sign with it)
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- One row per event per subscriber. `rid` orders a subscriber's deliveries: the oldest
-- queued one goes first and nothing after it goes until it is delivered or dead (a replay
-- moves the row to the end). `source` names what it was planned from, so planning the same
-- change twice adds nothing.
CREATE TABLE webhook_deliveries (
    rid INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    webhook_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    source TEXT NOT NULL,
    event TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'delivered', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_status INTEGER,
    last_response TEXT,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    delivered_at INTEGER,
    failed_at INTEGER,
    UNIQUE (webhook_id, source)
);
CREATE INDEX webhook_deliveries_queue ON webhook_deliveries(webhook_id, state, rid);

-- How far into the change log events have been planned (the log is the one event source:
-- local writes and every console's pushes alike). Starts at the log's end, so a store that
-- gains webhooks does not replay its past.
CREATE TABLE event_cursor (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    seq INTEGER NOT NULL
);
INSERT INTO event_cursor (singleton, seq) SELECT 1, coalesce(max(seq), 0) FROM changes;
