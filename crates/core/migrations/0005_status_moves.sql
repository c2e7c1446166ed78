-- A ticket's status moves as every store learns them (src/desk/tickets.rs). The SLA clock
-- (minutes paused, pause start, resolution time) is replayed from this merged history on
-- every store, so concurrent offline moves give the same clock everywhere.
CREATE TABLE status_moves (
    id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL REFERENCES tickets(id),
    status TEXT NOT NULL,
    at INTEGER NOT NULL,                 -- when it was made (ms, its author's clock)
    version TEXT NOT NULL,               -- the version of the status it wrote: moves replay in the order the status merges
    -- The clock as the author saw it before the move: where a replay starts when the history
    -- begins with this move (tickets older than the history).
    from_status TEXT NOT NULL,
    from_paused_since INTEGER,
    from_paused_minutes INTEGER NOT NULL,
    from_resolved_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX status_moves_ticket ON status_moves(ticket_id, version);
