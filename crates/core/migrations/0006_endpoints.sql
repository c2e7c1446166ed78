-- Endpoints: agents, how they join, what they report (src/fleet/). Agent credentials and
-- metrics stay on the server (and the console that gateways); consoles sync each endpoint's
-- status (inventory and latest health) and its inventory changes.

-- An admin's permission for machines to join a client; only the secret's hash is kept.
CREATE TABLE enrollment_tokens (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    client_id TEXT NOT NULL REFERENCES clients(id),
    site_id TEXT REFERENCES sites(id),
    expires_at INTEGER NOT NULL,
    max_uses INTEGER NOT NULL CHECK (max_uses > 0),
    uses INTEGER NOT NULL DEFAULT 0,
    revoked_at INTEGER,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- One row per installed agent; a reinstall is a new agent on the same asset.
CREATE TABLE agents (
    id TEXT PRIMARY KEY,
    asset_id TEXT NOT NULL REFERENCES assets(id),
    credential_hash TEXT NOT NULL,
    public_key TEXT NOT NULL,
    machine_fingerprint TEXT NOT NULL,
    token_id TEXT REFERENCES enrollment_tokens(id),
    version TEXT NOT NULL DEFAULT '',
    enrolled_at INTEGER NOT NULL,
    -- The last message stored: a replayed one (seq <= last_seq) is acknowledged, not stored.
    last_seq INTEGER NOT NULL DEFAULT 0,
    -- Messages stored, by kind: with last_seq, they show that none was lost or doubled.
    heartbeats INTEGER NOT NULL DEFAULT 0,
    inventories INTEGER NOT NULL DEFAULT 0,
    last_seen INTEGER,
    revoked_at INTEGER,
    revoked_reason TEXT
);
CREATE INDEX agents_fingerprint ON agents(machine_fingerprint);
CREATE INDEX agents_asset ON agents(asset_id);

-- What consoles see of an endpoint (synced; the gateway is its only writer). `id` is the
-- asset's id. Health columns move with every heartbeat; the change log carries them when
-- they matter (state changes, going on/offline, and every 15 minutes).
CREATE TABLE endpoint_status (
    id TEXT PRIMARY KEY,
    asset_id TEXT NOT NULL UNIQUE REFERENCES assets(id),
    online INTEGER NOT NULL DEFAULT 0,
    last_seen INTEGER,
    agent_version TEXT NOT NULL DEFAULT '',
    cpu_pct REAL,
    memory_pct REAL,
    disk_pct REAL,
    pending_updates INTEGER,
    reboot_required INTEGER NOT NULL DEFAULT 0,
    health TEXT NOT NULL DEFAULT 'offline',
    reasons TEXT NOT NULL DEFAULT '[]',
    clone_warning TEXT,
    inventory TEXT,
    inventory_at INTEGER,
    -- When the change log last carried the health, and as what (not synced).
    published_at INTEGER NOT NULL DEFAULT 0,
    published_health TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX endpoint_status_health ON endpoint_status(health);

-- An endpoint's inventory history (synced, append-only).
CREATE TABLE inventory_changes (
    id TEXT PRIMARY KEY,
    asset_id TEXT NOT NULL REFERENCES assets(id),
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    summary TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX inventory_changes_asset ON inventory_changes(asset_id, at);

-- A compact number per asset for the metrics tables (a UUID per row would double them).
CREATE TABLE metric_assets (
    no INTEGER PRIMARY KEY,
    asset_id TEXT NOT NULL UNIQUE
);

-- Metrics: one row per endpoint and minute (raw, 7 days), 5 minutes (30 days) and hour
-- (13 months), each with min/avg/max and the number of samples, so spikes survive rollups.
-- Percentages and degrees are stored in tenths, throughput in bytes per second, as integers
-- (SQLite stores small integers in 1-2 bytes, a REAL in 8).
CREATE TABLE metrics_1m (
    asset_no INTEGER NOT NULL,
    at INTEGER NOT NULL, -- seconds since the epoch, start of the bucket
    n INTEGER NOT NULL,
    cpu_lo INTEGER, cpu_av INTEGER, cpu_hi INTEGER,
    mem_lo INTEGER, mem_av INTEGER, mem_hi INTEGER,
    disk_lo INTEGER, disk_av INTEGER, disk_hi INTEGER,
    in_lo INTEGER, in_av INTEGER, in_hi INTEGER,
    out_lo INTEGER, out_av INTEGER, out_hi INTEGER,
    temp_lo INTEGER, temp_av INTEGER, temp_hi INTEGER,
    PRIMARY KEY (asset_no, at)
) WITHOUT ROWID;
CREATE TABLE metrics_5m (
    asset_no INTEGER NOT NULL,
    at INTEGER NOT NULL,
    n INTEGER NOT NULL,
    cpu_lo INTEGER, cpu_av INTEGER, cpu_hi INTEGER,
    mem_lo INTEGER, mem_av INTEGER, mem_hi INTEGER,
    disk_lo INTEGER, disk_av INTEGER, disk_hi INTEGER,
    in_lo INTEGER, in_av INTEGER, in_hi INTEGER,
    out_lo INTEGER, out_av INTEGER, out_hi INTEGER,
    temp_lo INTEGER, temp_av INTEGER, temp_hi INTEGER,
    PRIMARY KEY (asset_no, at)
) WITHOUT ROWID;
CREATE TABLE metrics_1h (
    asset_no INTEGER NOT NULL,
    at INTEGER NOT NULL,
    n INTEGER NOT NULL,
    cpu_lo INTEGER, cpu_av INTEGER, cpu_hi INTEGER,
    mem_lo INTEGER, mem_av INTEGER, mem_hi INTEGER,
    disk_lo INTEGER, disk_av INTEGER, disk_hi INTEGER,
    in_lo INTEGER, in_av INTEGER, in_hi INTEGER,
    out_lo INTEGER, out_av INTEGER, out_hi INTEGER,
    temp_lo INTEGER, temp_av INTEGER, temp_hi INTEGER,
    PRIMARY KEY (asset_no, at)
) WITHOUT ROWID;

-- How far the rollups are done (seconds since the epoch); late data moves it back.
CREATE TABLE metric_rollups (
    level TEXT PRIMARY KEY,
    done_until INTEGER NOT NULL
);
