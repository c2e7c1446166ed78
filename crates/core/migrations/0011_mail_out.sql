-- Mail out: the organisation's SMTP server, the desk's templates, and the outbox the server
-- (or the standalone host) sends from. Server-side only, like webhooks.

CREATE TABLE smtp_settings (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    host TEXT NOT NULL,
    port INTEGER NOT NULL,
    security TEXT NOT NULL CHECK (security IN ('tls', 'starttls', 'none')),
    username TEXT NOT NULL DEFAULT '',
    password_sealed TEXT,            -- sealed with the store's key file (notify::vault)
    from_address TEXT NOT NULL,
    from_name TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Only templates someone changed are stored; the rest are Outpost's defaults.
CREATE TABLE mail_templates (
    kind TEXT PRIMARY KEY CHECK (kind IN ('reply', 'acknowledgement', 'resolved')),
    enabled INTEGER NOT NULL DEFAULT 1,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- One row per mail. `source` names what it was planned from (planning twice adds nothing).
-- `handed_over` is committed just before the mail server is given the message's last byte:
-- a mail found `sending` after a restart was surely not delivered if it is 0 (sent again),
-- and may have been if it is 1 (`unsure`: a person decides). So nothing goes out twice.
CREATE TABLE outbox (
    rid INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('reply', 'acknowledgement', 'resolved', 'notification')),
    ticket_id TEXT REFERENCES tickets(id),
    to_addrs TEXT NOT NULL,          -- JSON array
    cc_addrs TEXT NOT NULL DEFAULT '[]',
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    message_id TEXT NOT NULL UNIQUE, -- without <>
    in_reply_to TEXT,
    refs TEXT NOT NULL DEFAULT '',   -- space-separated <ids>
    state TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'unsure', 'sent', 'failed')),
    handed_over INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    sent_at INTEGER
);
CREATE INDEX outbox_due ON outbox(state, next_attempt_at);
CREATE INDEX outbox_ticket ON outbox(ticket_id);

-- Every Message-ID of a ticket's mail thread, ours and the client's, so replies thread
-- (References) and mail in finds its ticket (In-Reply-To).
CREATE TABLE ticket_mail_ids (
    message_id TEXT PRIMARY KEY,     -- without <>
    ticket_id TEXT NOT NULL REFERENCES tickets(id),
    at INTEGER NOT NULL
);
CREATE INDEX ticket_mail_ids_ticket ON ticket_mail_ids(ticket_id, at);
