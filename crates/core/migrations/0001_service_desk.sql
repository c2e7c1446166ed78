-- Service desk: users, clients, tickets, comments, time, SLA, views, change log, audit.
-- Times are INTEGER milliseconds since the Unix epoch (UTC): cheap to compare and index.
-- Ids are UUIDv7 text. Tables that full-text search indexes also keep an INTEGER rid, because
-- FTS5 external-content tables link rows by integer rowid.

CREATE TABLE replica (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    replica_id TEXT NOT NULL,
    -- Highest hybrid-logical-clock value this replica has issued, so the clock survives restarts.
    last_hlc TEXT NOT NULL DEFAULT ''
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE COLLATE NOCASE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'technician', 'viewer')),
    password_hash TEXT,              -- NULL: cannot log in (assignee only)
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER,
    created_at INTEGER NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,     -- sha256 of the bearer token; the token itself is never stored
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE clients (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    notes TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX clients_name ON clients(name COLLATE NOCASE);

CREATE TABLE sites (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES clients(id),
    name TEXT NOT NULL,
    address TEXT NOT NULL DEFAULT '',
    timezone TEXT NOT NULL DEFAULT 'UTC',
    created_at INTEGER NOT NULL
);
CREATE INDEX sites_client ON sites(client_id);

CREATE TABLE contacts (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES clients(id),
    site_id TEXT REFERENCES sites(id),
    name TEXT NOT NULL,
    email TEXT NOT NULL DEFAULT '',
    phone TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
CREATE INDEX contacts_client ON contacts(client_id);

CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);

CREATE TABLE tickets (
    rid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    -- Unique per organisation; a console offline may briefly hold a duplicate until the
    -- server renumbers it on sync (see src/sync/README.md), so no UNIQUE constraint.
    number INTEGER NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    priority TEXT NOT NULL,
    priority_rank INTEGER NOT NULL,  -- 0 = critical … 3 = low, for sorting
    client_id TEXT NOT NULL REFERENCES clients(id),
    site_id TEXT REFERENCES sites(id),
    contact_id TEXT REFERENCES contacts(id),
    assignee_id TEXT REFERENCES users(id),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    resolved_at INTEGER,
    first_response_at INTEGER,
    -- SLA: computed by core (sla.rs) whenever priority or status changes.
    fr_due INTEGER,
    fr_risk_at INTEGER,
    res_due INTEGER,
    res_risk_at INTEGER,
    paused_since INTEGER,            -- set while waiting on the client
    paused_minutes INTEGER NOT NULL DEFAULT 0,
    -- The next SLA deadline that still matters (NULL when none): the queue sorts on it.
    next_due INTEGER,
    total_minutes INTEGER NOT NULL DEFAULT 0,
    billable_minutes INTEGER NOT NULL DEFAULT 0,
    -- 1 while the ticket is unfinished: the queue's main filter, so it leads the indexes.
    active INTEGER GENERATED ALWAYS AS (status NOT IN ('resolved', 'closed')) VIRTUAL
);
-- Covers the SLA-state expression (sla.rs) and the priority filter, so counting the open
-- queue by SLA state reads only this index. The queue names it with INDEXED BY.
CREATE INDEX tickets_active_sla ON tickets(active, next_due, priority_rank, status, res_due,
    fr_due, fr_risk_at, res_risk_at, first_response_at, paused_since, resolved_at);
CREATE INDEX tickets_active_assignee ON tickets(active, assignee_id, next_due);
CREATE INDEX tickets_active_client ON tickets(active, client_id, next_due);
CREATE INDEX tickets_status_due ON tickets(status, next_due);
CREATE INDEX tickets_next_due ON tickets(next_due);
CREATE INDEX tickets_client ON tickets(client_id, status);
CREATE INDEX tickets_assignee ON tickets(assignee_id, status);
CREATE INDEX tickets_updated ON tickets(updated_at);
CREATE INDEX tickets_number ON tickets(number);

CREATE TABLE ticket_tags (
    ticket_id TEXT NOT NULL REFERENCES tickets(id),
    tag TEXT NOT NULL,
    PRIMARY KEY (ticket_id, tag)
) WITHOUT ROWID;
CREATE INDEX ticket_tags_tag ON ticket_tags(tag);

CREATE TABLE comments (
    rid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    ticket_id TEXT NOT NULL REFERENCES tickets(id),
    ticket_rid INTEGER NOT NULL,
    author_id TEXT NOT NULL REFERENCES users(id),
    body TEXT NOT NULL,
    internal INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX comments_ticket ON comments(ticket_id, created_at);
CREATE INDEX comments_ticket_rid ON comments(ticket_rid);

CREATE TABLE time_entries (
    id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL REFERENCES tickets(id),
    technician_id TEXT NOT NULL REFERENCES users(id),
    started_at INTEGER NOT NULL,
    minutes INTEGER NOT NULL CHECK (minutes > 0),
    billable INTEGER NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
CREATE INDEX time_entries_ticket ON time_entries(ticket_id, started_at);

-- Full-text search: one document per ticket (title, description, all comment bodies), so a
-- search is a single FTS5 lookup whose rowid is the ticket's rid. Contentless (the text lives
-- in tickets and comments); triggers rebuild a ticket's document when any part changes.
CREATE VIRTUAL TABLE ticket_fts USING fts5(
    title, description, comments, content='', contentless_delete=1
);
CREATE TRIGGER tickets_fts_insert AFTER INSERT ON tickets BEGIN
    INSERT INTO ticket_fts(rowid, title, description, comments)
    VALUES (new.rid, new.title, new.description, '');
END;
CREATE TRIGGER tickets_fts_update AFTER UPDATE OF title, description ON tickets BEGIN
    DELETE FROM ticket_fts WHERE rowid = old.rid;
    INSERT INTO ticket_fts(rowid, title, description, comments)
    VALUES (new.rid, new.title, new.description,
            (SELECT coalesce(group_concat(body, ' '), '') FROM comments WHERE ticket_rid = new.rid));
END;
CREATE TRIGGER comments_fts_insert AFTER INSERT ON comments BEGIN
    DELETE FROM ticket_fts WHERE rowid = new.ticket_rid;
    INSERT INTO ticket_fts(rowid, title, description, comments)
    SELECT t.rid, t.title, t.description,
           (SELECT group_concat(body, ' ') FROM comments WHERE ticket_rid = t.rid)
    FROM tickets t WHERE t.rid = new.ticket_rid;
END;

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL             -- JSON
);

CREATE TABLE saved_views (
    id TEXT PRIMARY KEY,
    owner_id TEXT REFERENCES users(id),   -- NULL: built in, visible to everyone
    name TEXT NOT NULL,
    query TEXT NOT NULL,                  -- JSON TicketQuery
    position INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);

-- Every local write appends here in the same transaction; sync pushes these.
CREATE TABLE changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    change_id TEXT NOT NULL UNIQUE,
    replica_id TEXT NOT NULL,
    hlc TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    op TEXT NOT NULL CHECK (op IN ('insert', 'update', 'delete')),
    fields TEXT NOT NULL             -- JSON object of the fields written
);
CREATE INDEX changes_entity ON changes(entity, entity_id);

-- Hash-chained audit log: each row's hash covers the previous row's hash.
CREATE TABLE audit_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    at INTEGER NOT NULL,
    actor_id TEXT,
    actor_name TEXT NOT NULL,
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    before TEXT,                     -- JSON
    after TEXT,                      -- JSON
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_entity ON audit_events(entity, entity_id, seq);
