-- Files on tickets and comments. The row (metadata) syncs to every console holding the
-- ticket; the bytes live beside the store, named by their SHA-256 (attachments/ab/abcd…), and
-- reach a console when someone there opens the file.

CREATE TABLE attachments (
    rid INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    ticket_id TEXT NOT NULL REFERENCES tickets(id),
    -- No foreign key: a console may receive the file before it holds every comment.
    comment_id TEXT,
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('upload', 'mail')),
    uploaded_by TEXT NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL
);
CREATE INDEX attachments_ticket ON attachments(ticket_id, rid);
CREATE INDEX attachments_sha ON attachments(sha256);

-- This store's settings for files (not synced: each host applies its own limit).
CREATE TABLE attachment_settings (
    only_row INTEGER PRIMARY KEY CHECK (only_row = 1),
    max_file_bytes INTEGER NOT NULL
);

-- On a console: files attached here whose bytes the server has confirmed it holds.
CREATE TABLE attachment_uploads (
    attachment_id TEXT PRIMARY KEY,
    at INTEGER NOT NULL
);
