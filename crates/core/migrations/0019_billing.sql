-- Billing export (src/reports/billing.rs): how billable time becomes money. This host's
-- settings (not synced), like the report branding. Client contracts (issue 12) may later
-- carry their own rate; until then a client's rate lives here.
CREATE TABLE billing_settings (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    currency TEXT NOT NULL,
    default_rate_cents INTEGER NOT NULL CHECK (default_rate_cents >= 0),
    -- Each entry is rounded up to this many minutes, then raised to the minimum.
    round_to_minutes INTEGER NOT NULL CHECK (round_to_minutes BETWEEN 1 AND 60),
    minimum_minutes INTEGER NOT NULL CHECK (minimum_minutes BETWEEN 0 AND 480),
    updated_by TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- An hourly rate for one technician or one client (a client's rate wins over a technician's).
CREATE TABLE billing_rates (
    kind TEXT NOT NULL CHECK (kind IN ('technician', 'client')),
    subject_id TEXT NOT NULL,
    rate_cents INTEGER NOT NULL CHECK (rate_cents >= 0),
    PRIMARY KEY (kind, subject_id)
);
