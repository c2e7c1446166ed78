-- Sessions people can see and end: an id to name one by (never the token's hash), the
-- device and address it was opened from, and when it was last used.
ALTER TABLE sessions ADD COLUMN id TEXT;
ALTER TABLE sessions ADD COLUMN device TEXT;
ALTER TABLE sessions ADD COLUMN address TEXT;
ALTER TABLE sessions ADD COLUMN last_used_at INTEGER;
UPDATE sessions SET id = lower(printf('%s-%s-%s-%s-%s', hex(randomblob(4)), hex(randomblob(2)),
    hex(randomblob(2)), hex(randomblob(2)), hex(randomblob(6)))) WHERE id IS NULL;
CREATE UNIQUE INDEX sessions_id ON sessions(id);
