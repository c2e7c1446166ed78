-- Client service reports (src/reports/client.rs). Both tables are this host's: a console
-- prints with its own branding and switches (not synced).

-- Who the reports are from: one row.
CREATE TABLE report_branding (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    msp_name TEXT NOT NULL,
    logo BLOB,
    logo_type TEXT CHECK (logo_type IN ('image/png', 'image/jpeg')),
    updated_at INTEGER NOT NULL
);

-- The sections a client's report leaves out (none: all are printed).
CREATE TABLE client_report_sections_off (
    client_id TEXT NOT NULL REFERENCES clients(id),
    section TEXT NOT NULL,
    PRIMARY KEY (client_id, section)
);
