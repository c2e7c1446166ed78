-- Mail in: the IMAP mailboxes the server reads, and every mail it has taken from them (so
-- none is imported twice, whatever the server says about UIDs).

CREATE TABLE mailboxes (
    id TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    port INTEGER NOT NULL,
    tls INTEGER NOT NULL,
    username TEXT NOT NULL,
    password_sealed TEXT NOT NULL,
    folder TEXT NOT NULL,
    client_id TEXT REFERENCES clients(id),
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    uidvalidity INTEGER,
    last_uid INTEGER NOT NULL DEFAULT 0,
    last_checked_at INTEGER,
    last_error TEXT,
    UNIQUE (host, port, username, folder)
);

CREATE TABLE imported_mails (
    rid INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Kept when its mailbox is removed: the same mail read again through another is known.
    mailbox_id TEXT NOT NULL,
    uidvalidity INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    message_id TEXT NOT NULL,
    from_address TEXT NOT NULL,
    fingerprint TEXT NOT NULL,       -- sender, subject and text: repeated identical mails
    outcome TEXT NOT NULL CHECK (outcome IN ('ticket', 'comment', 'ignored')),
    reason TEXT,                     -- why ignored, in words
    ticket_id TEXT,
    at INTEGER NOT NULL,
    UNIQUE (mailbox_id, uidvalidity, uid)
);
CREATE INDEX imported_mails_message ON imported_mails(message_id);
CREATE INDEX imported_mails_fingerprint ON imported_mails(fingerprint, at);

-- Who wrote a ticket that came by mail, when the sender is not a contact yet (one click
-- adds them).
CREATE TABLE ticket_mail_senders (
    ticket_id TEXT PRIMARY KEY REFERENCES tickets(id),
    address TEXT NOT NULL,
    name TEXT NOT NULL
);

-- Who else was on a mailed-in thread (Cc): the desk's mail on that ticket copies them.
CREATE TABLE ticket_mail_cc (
    ticket_id TEXT NOT NULL REFERENCES tickets(id),
    address TEXT NOT NULL,
    PRIMARY KEY (ticket_id, address)
);
