-- Remote scripts (src/scripts/, src/fleet/runs.rs): the library (synced to consoles, so a
-- technician can prepare runs offline), the organisation's trust material, and runs. Nothing here can start a process: agents run only what a technician
-- signed, checked against the root key they pinned. The server keeps what it is given.

-- The organisation's root public key (one row). Its private half is in an admin's keyring.
CREATE TABLE trust_root (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    public_key TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL
);

-- Technician certificates the root signed (body and signature as received, base64).
CREATE TABLE technician_certificates (
    serial TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    name TEXT NOT NULL,
    public_key TEXT NOT NULL,
    not_before INTEGER NOT NULL,
    not_after INTEGER NOT NULL,
    -- JSON array of client ids; NULL: every client.
    clients TEXT,
    body TEXT NOT NULL,
    signature TEXT NOT NULL,
    revoked_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX technician_certificates_user ON technician_certificates(user_id);

-- Root-signed revocation lists; the newest is handed to every agent that connects.
CREATE TABLE revocation_lists (
    seq INTEGER PRIMARY KEY,
    body TEXT NOT NULL,
    signature TEXT NOT NULL,
    issued_at INTEGER NOT NULL,
    stored_at INTEGER NOT NULL
);

CREATE TABLE scripts (
    id TEXT PRIMARY KEY,
    current_version INTEGER NOT NULL,
    starter INTEGER NOT NULL DEFAULT 0,
    -- The starter script's key: a shipped script is added once, never twice.
    starter_key TEXT UNIQUE,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Every edit is a new version; runs point at the version they ran.
CREATE TABLE script_versions (
    id TEXT PRIMARY KEY,
    script_id TEXT NOT NULL REFERENCES scripts(id),
    version INTEGER NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    interpreter TEXT NOT NULL,
    os TEXT NOT NULL,
    body TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    parameters TEXT NOT NULL,
    timeout_secs INTEGER NOT NULL,
    tags TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
-- Not unique: two consoles editing the same script offline both make the next number; a run
-- names its version by number and body hash.
CREATE INDEX script_versions_script ON script_versions(script_id, version);

CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    script_id TEXT NOT NULL,
    script_version INTEGER NOT NULL,
    asset_id TEXT NOT NULL REFERENCES assets(id),
    agent_id TEXT NOT NULL REFERENCES agents(id),
    client_id TEXT NOT NULL,
    signer_user_id TEXT NOT NULL,
    signer_name TEXT NOT NULL,
    signer_key TEXT NOT NULL,
    -- The signed request as received (JSON); the agent verifies it, the server only reads it.
    signed TEXT NOT NULL,
    -- JSON [{name, value}], value null when sealed.
    parameters TEXT NOT NULL,
    not_before INTEGER NOT NULL,
    not_after INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    sent_at INTEGER,
    started_at INTEGER,
    ended_at INTEGER,
    outcome TEXT,
    exit_code INTEGER,
    stdout TEXT NOT NULL DEFAULT '',
    stderr TEXT NOT NULL DEFAULT '',
    stdout_truncated INTEGER NOT NULL DEFAULT 0,
    stderr_truncated INTEGER NOT NULL DEFAULT 0,
    refusal_code TEXT,
    refusal TEXT,
    cancel_requested_at INTEGER,
    -- Run from a ticket (or its alert): the result is noted on it once it ends.
    ticket_id TEXT,
    noted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX runs_agent_state ON runs(agent_id, state);
CREATE INDEX runs_asset ON runs(asset_id, created_at);

-- How each agent stands on trust, from its hello (shown on the asset for an admin).
ALTER TABLE agents ADD COLUMN root_fingerprint TEXT;
ALTER TABLE agents ADD COLUMN root_pinned TEXT;
ALTER TABLE agents ADD COLUMN revocation_seq INTEGER;

-- A technician's public key waiting for an admin's root to certify it (the private key
-- stays in the technician's keyring).
CREATE TABLE certificate_requests (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    name TEXT NOT NULL,
    public_key TEXT NOT NULL,
    requested_at INTEGER NOT NULL,
    -- pending, issued
    state TEXT NOT NULL DEFAULT 'pending',
    serial TEXT
);
CREATE INDEX certificate_requests_state ON certificate_requests(state);
