-- Notifications for technicians: planned from the change log (assigned, a client replied, a
-- mention) and from the SLA clocks (at risk, breached), once per person and cause.

CREATE TABLE notifications (
    rid INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL,
    source TEXT NOT NULL,            -- what it came from: never twice for one person
    ticket_id TEXT,
    title TEXT NOT NULL,
    body TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    read_at INTEGER,
    UNIQUE (user_id, source)
);
CREATE INDEX notifications_user ON notifications(user_id, rid);

-- Each person's choices; no row: every kind in the app, none by mail.
CREATE TABLE notification_prefs (
    user_id TEXT PRIMARY KEY REFERENCES users(id),
    in_app TEXT NOT NULL,            -- JSON array of kinds
    by_mail TEXT NOT NULL,           -- JSON array of kinds
    mail_to TEXT NOT NULL DEFAULT '',
    updated_at INTEGER NOT NULL
);
