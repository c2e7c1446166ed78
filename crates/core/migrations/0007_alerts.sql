-- Alerts (src/alerts/): rules per organisation with per-client overrides, and each firing of
-- a rule on an endpoint, kept after it clears. Both sync to consoles.

CREATE TABLE alert_rules (
    id TEXT PRIMARY KEY,
    -- NULL: the organisation's rule; a client's rule of the same kind (and service)
    -- replaces it for that client's endpoints.
    client_id TEXT REFERENCES clients(id),
    kind TEXT NOT NULL CHECK (kind IN ('disk', 'cpu', 'memory', 'temperature', 'service',
                                       'offline', 'reboot', 'updates')),
    threshold REAL NOT NULL,
    samples INTEGER NOT NULL DEFAULT 1 CHECK (samples BETWEEN 1 AND 1440),
    hysteresis REAL NOT NULL DEFAULT 0 CHECK (hysteresis >= 0),
    service TEXT,
    priority TEXT NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high', 'critical')),
    resolve_on_clear INTEGER NOT NULL DEFAULT 1,
    enabled INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX alert_rules_client ON alert_rules(client_id);

CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    rule_id TEXT NOT NULL REFERENCES alert_rules(id),
    asset_id TEXT NOT NULL REFERENCES assets(id),
    subject TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL CHECK (state IN ('firing', 'cleared')),
    priority TEXT NOT NULL,
    message TEXT NOT NULL,
    value REAL NOT NULL,
    ticket_id TEXT REFERENCES tickets(id),
    opened_at INTEGER NOT NULL,
    cleared_at INTEGER,
    acknowledged_at INTEGER,
    acknowledged_by TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
-- One firing alert per rule, endpoint and subject.
CREATE UNIQUE INDEX alerts_one_firing ON alerts(rule_id, asset_id, subject) WHERE state = 'firing';
CREATE INDEX alerts_asset ON alerts(asset_id, opened_at);
CREATE INDEX alerts_state ON alerts(state, opened_at);

-- Since when an endpoint has been waiting for a reboot (for "reboot pending for N days").
ALTER TABLE endpoint_status ADD COLUMN reboot_since INTEGER;
