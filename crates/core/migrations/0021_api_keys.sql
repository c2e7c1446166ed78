-- API keys for integrations (this host's, not synced). Each key acts as a user of its own
-- (no password, the key's role and client scope in user_clients), so everything it writes
-- is attributed to "API key: NAME" in the audit log. Only the key's SHA-256 is kept.
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL UNIQUE REFERENCES users(id),
    name TEXT NOT NULL UNIQUE,
    key_hash TEXT NOT NULL UNIQUE,
    -- The first characters after `opk_`, to tell keys apart in lists.
    prefix TEXT NOT NULL,
    rate_per_minute INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER,
    last_used_at INTEGER
);
