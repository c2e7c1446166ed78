-- Scheduled backups of this host's store (not synced: each host backs itself up).
CREATE TABLE backup_schedule (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    enabled INTEGER NOT NULL DEFAULT 0,
    folder TEXT NOT NULL DEFAULT '',
    every_hours INTEGER NOT NULL DEFAULT 24,
    keep INTEGER NOT NULL DEFAULT 14,
    last_at INTEGER,
    last_file TEXT,
    last_error TEXT
);
INSERT INTO backup_schedule (singleton) VALUES (1);
