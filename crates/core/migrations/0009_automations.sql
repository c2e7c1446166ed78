-- Automations (src/scripts/automations.rs): runs a technician signs ahead, started by a
-- schedule or by an alert on the endpoint, each within the window its signature allows.
-- And runs reach consoles (they sync as records): the runs table is rebuilt without its link
-- to agents, since a console holds runs but not agents.

CREATE TABLE automations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    trigger TEXT NOT NULL CHECK (trigger IN ('schedule', 'alert')),
    -- A cron pattern (five fields) read in time_zone; schedules only.
    schedule TEXT,
    time_zone TEXT NOT NULL DEFAULT 'UTC',
    -- The alert kind that starts a run on the endpoint it fires on; alert automations only.
    alert_kind TEXT,
    -- Alert automations: runs signed ahead per endpoint, and the least time between two.
    runs_per_endpoint INTEGER NOT NULL DEFAULT 1,
    cooldown_minutes INTEGER NOT NULL DEFAULT 0,
    script_id TEXT NOT NULL,
    script_version INTEGER NOT NULL,
    -- JSON [{name, value}], value null when sealed (as on runs).
    parameters TEXT NOT NULL,
    -- JSON [asset id] and [client id]: the target set.
    assets TEXT NOT NULL,
    clients TEXT NOT NULL,
    valid_from INTEGER NOT NULL,
    valid_until INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('awaiting_approval', 'active', 'cancelled')),
    signer_user_id TEXT NOT NULL,
    signer_name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    cancelled_at INTEGER,
    cancelled_by TEXT
);
CREATE INDEX automations_alert ON automations(trigger, alert_kind, state);

CREATE TABLE runs_new (
    id TEXT PRIMARY KEY,
    -- Besides the states of 0008: 'scheduled' (signed ahead for a time) and 'standby'
    -- (signed ahead for an alert that has not fired).
    state TEXT NOT NULL,
    script_id TEXT NOT NULL,
    script_version INTEGER NOT NULL,
    asset_id TEXT NOT NULL REFERENCES assets(id),
    agent_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    signer_user_id TEXT NOT NULL,
    signer_name TEXT NOT NULL,
    signer_key TEXT NOT NULL,
    signed TEXT NOT NULL,
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
    ticket_id TEXT,
    noted INTEGER NOT NULL DEFAULT 0,
    -- No link to automations: a console holds runs, not automations.
    automation_id TEXT,
    -- When an automation started it (its time came, or its alert fired).
    triggered_at INTEGER
);
INSERT INTO runs_new (id, state, script_id, script_version, asset_id, agent_id, client_id,
    signer_user_id, signer_name, signer_key, signed, parameters, not_before, not_after,
    created_at, created_by, sent_at, started_at, ended_at, outcome, exit_code, stdout, stderr,
    stdout_truncated, stderr_truncated, refusal_code, refusal, cancel_requested_at, ticket_id,
    noted)
SELECT id, state, script_id, script_version, asset_id, agent_id, client_id,
    signer_user_id, signer_name, signer_key, signed, parameters, not_before, not_after,
    created_at, created_by, sent_at, started_at, ended_at, outcome, exit_code, stdout, stderr,
    stdout_truncated, stderr_truncated, refusal_code, refusal, cancel_requested_at, ticket_id,
    noted
FROM runs;
DROP TABLE runs;
ALTER TABLE runs_new RENAME TO runs;
CREATE INDEX runs_agent_state ON runs(agent_id, state);
CREATE INDEX runs_asset ON runs(asset_id, created_at);
CREATE INDEX runs_due ON runs(state, not_before);
CREATE INDEX runs_automation ON runs(automation_id, asset_id, state);

-- An admin confirmed the root an agent took on first use (it matched the organisation's).
ALTER TABLE agents ADD COLUMN root_confirmed_at INTEGER;
ALTER TABLE agents ADD COLUMN root_confirmed_by TEXT;

-- Root rotations: each hand-over signed by the root it replaces, oldest first. Agents follow
-- the chain from the root they pinned. Certificates of a replaced root are superseded (their
-- keys get a fresh request for the new root to certify).
CREATE TABLE root_rotations (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    old_root TEXT NOT NULL,
    new_root TEXT NOT NULL,
    body TEXT NOT NULL,
    signature TEXT NOT NULL,
    issued_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL
);
ALTER TABLE technician_certificates ADD COLUMN superseded_at INTEGER;

-- The local write operation each change belongs to: a console pushes an operation's changes
-- together, so the server never holds half of one (a console lost between two pages of a
-- push could never send the rest). NULL for changes written before.
ALTER TABLE changes ADD COLUMN tx TEXT;
