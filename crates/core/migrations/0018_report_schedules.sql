-- Report schedules and the report history (src/reports/schedule.rs); report mails in the
-- outbox. Server-side only, like the outbox (a console prints on demand, it does not mail).

-- One schedule per client: on `day_of_month` (the client's zone) the previous month's report
-- is made, kept and mailed to the client's report recipients.
CREATE TABLE report_schedules (
    client_id TEXT PRIMARY KEY REFERENCES clients(id),
    day_of_month INTEGER NOT NULL CHECK (day_of_month BETWEEN 1 AND 28),
    enabled INTEGER NOT NULL DEFAULT 1,
    -- The first period it makes (YYYY-MM-DD, a month's first day): no report for months
    -- before the schedule existed.
    first_period TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- The client's contacts who get the scheduled report.
CREATE TABLE report_recipients (
    client_id TEXT NOT NULL REFERENCES clients(id),
    contact_id TEXT NOT NULL REFERENCES contacts(id),
    PRIMARY KEY (client_id, contact_id)
);

-- Every report kept: made by a schedule (once per client and period, by the index below) or
-- kept by hand from the console.
CREATE TABLE report_history (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES clients(id),
    period_from TEXT NOT NULL,
    period_to TEXT NOT NULL,
    made_by_schedule INTEGER NOT NULL,
    file_name TEXT NOT NULL,
    pdf BLOB NOT NULL,
    sha256 TEXT NOT NULL,
    made_by TEXT NOT NULL,
    made_at INTEGER NOT NULL,
    mailed_to TEXT NOT NULL DEFAULT '[]',
    outbox_id TEXT
);
CREATE UNIQUE INDEX report_history_once ON report_history(client_id, period_from, period_to)
    WHERE made_by_schedule = 1;
CREATE INDEX report_history_client ON report_history(client_id, made_at);

-- The outbox takes report mails: kind 'report', carrying a kept report as its attachment.
-- SQLite cannot widen a CHECK in place, so the table is rebuilt (rows, ids and rids kept).
CREATE TABLE outbox_new (
    rid INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('reply', 'acknowledgement', 'resolved', 'notification', 'report')),
    ticket_id TEXT REFERENCES tickets(id),
    to_addrs TEXT NOT NULL,
    cc_addrs TEXT NOT NULL DEFAULT '[]',
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    message_id TEXT NOT NULL UNIQUE,
    in_reply_to TEXT,
    refs TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'unsure', 'sent', 'failed')),
    handed_over INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    sent_at INTEGER,
    report_id TEXT REFERENCES report_history(id)
);
INSERT INTO outbox_new (rid, id, source, kind, ticket_id, to_addrs, cc_addrs, subject, body,
    message_id, in_reply_to, refs, state, handed_over, attempts, next_attempt_at, last_error,
    created_at, sent_at)
SELECT rid, id, source, kind, ticket_id, to_addrs, cc_addrs, subject, body, message_id,
    in_reply_to, refs, state, handed_over, attempts, next_attempt_at, last_error, created_at,
    sent_at
FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox(state, next_attempt_at);
CREATE INDEX outbox_ticket ON outbox(ticket_id);
