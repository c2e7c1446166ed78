-- Assets: the devices an MSP looks after for a client (src/assets.rs). They sync like any
-- mutable record (src/sync/README.md) and follow client scopes.
CREATE TABLE assets (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES clients(id),
    site_id TEXT REFERENCES sites(id),
    name TEXT NOT NULL,              -- host name or label
    kind TEXT NOT NULL CHECK (kind IN ('workstation', 'laptop', 'server', 'network', 'printer', 'mobile', 'other')),
    os TEXT NOT NULL DEFAULT '',
    serial TEXT NOT NULL DEFAULT '',
    notes TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX assets_client ON assets(client_id, name);
CREATE INDEX assets_site ON assets(site_id);
