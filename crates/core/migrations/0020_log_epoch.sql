-- A store's change log has an epoch: restoring a backup starts a new one, after the last
-- position the backup held. Consoles that see their server's epoch change rewind their pull
-- cursor to that position and offer their changes again (what the restored server lost).
CREATE TABLE log_epoch (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    epoch TEXT NOT NULL,
    starts_after INTEGER NOT NULL DEFAULT 0
);
INSERT INTO log_epoch (singleton, epoch, starts_after) VALUES (1, lower(hex(randomblob(16))), 0);

-- On a console: the epoch of its server's log when it last pulled.
ALTER TABLE sync_state ADD COLUMN server_epoch TEXT;
