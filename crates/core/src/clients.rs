//! Clients (the companies an MSP serves), their sites and their contacts.

use crate::clock::from_ms;
use crate::error::{invalid, CoreError, CoreResult};
use crate::store::record::{ClientOf, Link, SyncedRecord};
use crate::store::{opt_uuid, parse_uuid, Actor, Core, WriteTx};
use chrono_tz::Tz;
use outpost_proto::{
    Client, ClientDetail, Contact, NewClient, NewContact, NewSite, Site, UpdateClient,
    UpdateContact, UpdateSite,
};
use serde_json::json;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use uuid::Uuid;

/// Clients, their sites and contacts sync to the consoles of people who may see them.
pub(crate) const CLIENT_RECORD: SyncedRecord = SyncedRecord {
    client: ClientOf::Itself,
    moves_updated_at: true,
    stamps: &["created_at", "updated_at"],
    drop_also: &["DELETE FROM user_clients WHERE client_id IN ({gone})"],
    ..SyncedRecord::table("client", "clients", &["name", "notes"])
};

pub(crate) const SITE_RECORD: SyncedRecord = SyncedRecord {
    client: ClientOf::Column("client_id"),
    links: &[Link {
        field: "client_id",
        entity: "client",
        required: true,
    }],
    ..SyncedRecord::table(
        "site",
        "sites",
        &["client_id", "name", "address", "timezone"],
    )
};

pub(crate) const CONTACT_RECORD: SyncedRecord = SyncedRecord {
    client: ClientOf::Column("client_id"),
    links: &[
        Link {
            field: "client_id",
            entity: "client",
            required: true,
        },
        Link {
            field: "site_id",
            entity: "site",
            required: false,
        },
    ],
    ..SyncedRecord::table(
        "contact",
        "contacts",
        &["client_id", "site_id", "name", "email", "phone"],
    )
};

fn client_name(name: &str) -> CoreResult<String> {
    let n = name.trim();
    if n.is_empty() {
        return Err(invalid("client name must not be empty"));
    }
    if n.chars().count() > 200 {
        return Err(invalid("client name must be at most 200 characters"));
    }
    Ok(n.to_string())
}

fn notes(n: Option<String>) -> CoreResult<String> {
    let n = n.unwrap_or_default();
    if n.chars().count() > 20_000 {
        return Err(invalid("notes must be at most 20,000 characters"));
    }
    Ok(n)
}

fn short(field: &str, v: Option<String>, max: usize) -> CoreResult<String> {
    let v = v.unwrap_or_default().trim().to_string();
    if v.chars().count() > max {
        return Err(invalid(format!("{field} must be at most {max} characters")));
    }
    Ok(v)
}

fn client_from_row(r: &SqliteRow) -> CoreResult<Client> {
    Ok(Client {
        id: parse_uuid(r.get("id"))?,
        name: r.get("name"),
        notes: r.get("notes"),
        open_tickets: r.get("open_tickets"),
        created_at: from_ms(r.get("created_at")),
        updated_at: from_ms(r.get("updated_at")),
    })
}

const CLIENT_SELECT: &str = "SELECT c.id, c.name, c.notes, c.created_at, c.updated_at, \
    (SELECT count(*) FROM tickets t WHERE t.client_id = c.id \
       AND t.status NOT IN ('resolved','closed')) AS open_tickets FROM clients c";

pub(crate) async fn ensure_client(w: &mut WriteTx<'_>, id: Uuid) -> CoreResult<()> {
    let found: Option<String> = sqlx::query_scalar("SELECT id FROM clients WHERE id = ?")
        .bind(id.to_string())
        .fetch_optional(&mut *w.tx)
        .await?;
    found.map(|_| ()).ok_or_else(|| {
        CoreError::Validation(format!(
            "client {id} does not exist; pick a client from the list"
        ))
    })
}

impl Core {
    pub async fn list_clients(&self, actor: &Actor) -> CoreResult<Vec<Client>> {
        let rows = sqlx::query(&format!(
            "{CLIENT_SELECT} WHERE {} ORDER BY c.name COLLATE NOCASE",
            actor.client_condition("c.id")
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(client_from_row).collect()
    }

    async fn client(&self, id: Uuid) -> CoreResult<Client> {
        let row = sqlx::query(&format!("{CLIENT_SELECT} WHERE c.id = ?"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| CoreError::NotFound(format!("client {id} does not exist")))?;
        client_from_row(&row)
    }

    pub async fn get_client(&self, actor: &Actor, id: Uuid) -> CoreResult<ClientDetail> {
        actor.require_client(id)?;
        let client = self.client(id).await?;
        let sites = sqlx::query(
            "SELECT id, client_id, name, address, timezone FROM sites WHERE client_id = ? \
             ORDER BY name COLLATE NOCASE",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(Site {
                id: parse_uuid(r.get("id"))?,
                client_id: parse_uuid(r.get("client_id"))?,
                name: r.get("name"),
                address: r.get("address"),
                timezone: r.get("timezone"),
            })
        })
        .collect::<CoreResult<Vec<_>>>()?;
        let contacts = sqlx::query(
            "SELECT id, client_id, site_id, name, email, phone FROM contacts WHERE client_id = ? \
             ORDER BY name COLLATE NOCASE",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(Contact {
                id: parse_uuid(r.get("id"))?,
                client_id: parse_uuid(r.get("client_id"))?,
                site_id: opt_uuid(r.get("site_id"))?,
                name: r.get("name"),
                email: r.get("email"),
                phone: r.get("phone"),
            })
        })
        .collect::<CoreResult<Vec<_>>>()?;
        Ok(ClientDetail {
            client,
            sites,
            contacts,
        })
    }

    pub async fn create_client(&self, actor: &Actor, req: NewClient) -> CoreResult<Client> {
        actor.require_write()?;
        if actor.clients.is_some() {
            // The new client would be outside their own scope at once.
            return Err(CoreError::Forbidden(
                "you work for a set of clients only, so you cannot add clients; ask an admin"
                    .into(),
            ));
        }
        let name = client_name(&req.name)?;
        let notes = notes(req.notes)?;
        let mut w = self.write(actor).await?;
        let id = insert_client(&mut w, &name, &notes).await?;
        w.commit().await?;
        self.client(id).await
    }

    pub async fn update_client(
        &self,
        actor: &Actor,
        id: Uuid,
        req: UpdateClient,
    ) -> CoreResult<Client> {
        actor.require_write()?;
        actor.require_client(id)?;
        let current = self.client(id).await?;
        let name = req.name.as_deref().map(client_name).transpose()?;
        let notes = req.notes.map(|n| notes(Some(n))).transpose()?;
        let mut before = serde_json::Map::new();
        let mut after = serde_json::Map::new();
        if let Some(n) = name.filter(|n| *n != current.name) {
            before.insert("name".into(), json!(current.name));
            after.insert("name".into(), json!(n));
        }
        if let Some(n) = notes.filter(|n| *n != current.notes) {
            before.insert("notes".into(), json!(current.notes));
            after.insert("notes".into(), json!(n));
        }
        if after.is_empty() {
            return Ok(current);
        }
        let mut w = self.write(actor).await?;
        if let Some(n) = after.get("name").and_then(|v| v.as_str()) {
            ensure_name_free(&mut w, n, Some(id)).await?;
        }
        sqlx::query(
            "UPDATE clients SET name = coalesce(?, name), notes = coalesce(?, notes), \
             updated_at = ? WHERE id = ?",
        )
        .bind(after.get("name").and_then(|v| v.as_str()))
        .bind(after.get("notes").and_then(|v| v.as_str()))
        .bind(w.now_ms())
        .bind(id.to_string())
        .execute(&mut *w.tx)
        .await?;
        w.updated("client.update", "client", id, before.into(), after.into())
            .await?;
        w.commit().await?;
        self.client(id).await
    }

    pub async fn create_site(
        &self,
        actor: &Actor,
        client_id: Uuid,
        req: NewSite,
    ) -> CoreResult<Site> {
        actor.require_write()?;
        let name = short("site name", Some(req.name), 200)?;
        if name.is_empty() {
            return Err(invalid("site name must not be empty"));
        }
        let address = short("address", req.address, 500)?;
        let timezone = timezone(req.timezone.as_deref().unwrap_or("UTC"))?;
        actor.require_client(client_id)?;
        let mut w = self.write(actor).await?;
        ensure_client(&mut w, client_id).await?;
        let id = insert_site(&mut w, client_id, &name, &address, &timezone).await?;
        w.commit().await?;
        Ok(Site {
            id,
            client_id,
            name,
            address,
            timezone,
        })
    }

    pub async fn update_site(&self, actor: &Actor, id: Uuid, req: UpdateSite) -> CoreResult<Site> {
        actor.require_write()?;
        let name = req
            .name
            .map(|n| short("site name", Some(n), 200))
            .transpose()?;
        if name.as_deref() == Some("") {
            return Err(invalid("site name must not be empty"));
        }
        let address = req
            .address
            .map(|a| short("address", Some(a), 500))
            .transpose()?;
        let tz = req.timezone.as_deref().map(timezone).transpose()?;
        let mut w = self.write(actor).await?;
        let r = sqlx::query("SELECT client_id, name, address, timezone FROM sites WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&mut *w.tx)
            .await?
            .ok_or_else(|| CoreError::NotFound(format!("site {id} does not exist")))?;
        let mut site = Site {
            id,
            client_id: parse_uuid(r.get("client_id"))?,
            name: r.get("name"),
            address: r.get("address"),
            timezone: r.get("timezone"),
        };
        actor
            .require_client(site.client_id)
            .map_err(|_| CoreError::NotFound(format!("site {id} does not exist")))?;
        let before = json!({"name": site.name, "address": site.address, "timezone": site.timezone});
        if let Some(n) = name {
            site.name = n;
        }
        if let Some(a) = address {
            site.address = a;
        }
        if let Some(t) = tz {
            site.timezone = t;
        }
        let after = json!({"name": site.name, "address": site.address, "timezone": site.timezone});
        record_edit(&mut w, "sites", "site", id, as_map(before), as_map(after)).await?;
        w.commit().await?;
        Ok(site)
    }

    pub async fn update_contact(
        &self,
        actor: &Actor,
        id: Uuid,
        req: UpdateContact,
    ) -> CoreResult<Contact> {
        actor.require_write()?;
        let name = req
            .name
            .map(|n| short("contact name", Some(n), 200))
            .transpose()?;
        if name.as_deref() == Some("") {
            return Err(invalid("contact name must not be empty"));
        }
        let email = req.email.map(|e| email(Some(e))).transpose()?;
        let phone = req.phone.map(|p| short("phone", Some(p), 50)).transpose()?;
        let mut w = self.write(actor).await?;
        let r =
            sqlx::query("SELECT client_id, site_id, name, email, phone FROM contacts WHERE id = ?")
                .bind(id.to_string())
                .fetch_optional(&mut *w.tx)
                .await?
                .ok_or_else(|| CoreError::NotFound(format!("contact {id} does not exist")))?;
        let mut c = Contact {
            id,
            client_id: parse_uuid(r.get("client_id"))?,
            site_id: opt_uuid(r.get("site_id"))?,
            name: r.get("name"),
            email: r.get("email"),
            phone: r.get("phone"),
        };
        actor
            .require_client(c.client_id)
            .map_err(|_| CoreError::NotFound(format!("contact {id} does not exist")))?;
        let fields = |c: &Contact| {
            json!({"name": c.name, "site_id": c.site_id.map(|s| s.to_string()),
                   "email": c.email, "phone": c.phone})
        };
        let before = fields(&c);
        if let Some(site) = req.site_id {
            if let Some(s) = site {
                ensure_site_of(&mut w, s, c.client_id).await?;
            }
            c.site_id = site;
        }
        if let Some(n) = name {
            c.name = n;
        }
        if let Some(e) = email {
            c.email = e;
        }
        if let Some(p) = phone {
            c.phone = p;
        }
        record_edit(
            &mut w,
            "contacts",
            "contact",
            id,
            as_map(before),
            as_map(fields(&c)),
        )
        .await?;
        w.commit().await?;
        Ok(c)
    }

    pub async fn create_contact(
        &self,
        actor: &Actor,
        client_id: Uuid,
        req: NewContact,
    ) -> CoreResult<Contact> {
        actor.require_write()?;
        let name = short("contact name", Some(req.name), 200)?;
        if name.is_empty() {
            return Err(invalid("contact name must not be empty"));
        }
        let email = email(req.email)?;
        let phone = short("phone", req.phone, 50)?;
        actor.require_client(client_id)?;
        let mut w = self.write(actor).await?;
        ensure_client(&mut w, client_id).await?;
        if let Some(site) = req.site_id {
            ensure_site_of(&mut w, site, client_id).await?;
        }
        let id = insert_contact(&mut w, client_id, req.site_id, &name, &email, &phone).await?;
        w.commit().await?;
        Ok(Contact {
            id,
            client_id,
            site_id: req.site_id,
            name,
            email,
            phone,
        })
    }
}

fn timezone(tz: &str) -> CoreResult<String> {
    if tz.parse::<Tz>().is_err() {
        return Err(invalid(format!(
            "'{tz}' is not a known time zone; use an IANA name such as Europe/London"
        )));
    }
    Ok(tz.to_string())
}

fn email(e: Option<String>) -> CoreResult<String> {
    let e = short("email", e, 254)?;
    if !e.is_empty() && !e.contains('@') {
        return Err(invalid(format!(
            "'{e}' is not an email address (it has no @)"
        )));
    }
    Ok(e)
}

/// Records the fields of `after` that differ from `before` as one edit (row, change, audit).
pub(crate) async fn record_edit(
    w: &mut WriteTx<'_>,
    table: &str,
    entity: &str,
    id: Uuid,
    before: serde_json::Map<String, serde_json::Value>,
    after: serde_json::Map<String, serde_json::Value>,
) -> CoreResult<()> {
    let mut b = serde_json::Map::new();
    let mut a = serde_json::Map::new();
    for (k, v) in after {
        if before.get(&k) != Some(&v) {
            b.insert(k.clone(), before.get(&k).cloned().unwrap_or_default());
            a.insert(k, v);
        }
    }
    if a.is_empty() {
        return Ok(());
    }
    let sets: Vec<String> = a.keys().map(|k| format!("{k} = ?")).collect();
    let sql = format!("UPDATE {table} SET {} WHERE id = ?", sets.join(", "));
    let mut q = sqlx::query(&sql);
    for v in a.values() {
        q = match v {
            serde_json::Value::Null => q.bind(None::<String>),
            serde_json::Value::String(s) => q.bind(s.clone()),
            other => q.bind(other.to_string()),
        };
    }
    q.bind(id.to_string()).execute(&mut *w.tx).await?;
    w.updated(&format!("{entity}.update"), entity, id, b.into(), a.into())
        .await
}

async fn ensure_name_free(w: &mut WriteTx<'_>, name: &str, except: Option<Uuid>) -> CoreResult<()> {
    let existing: Option<String> =
        sqlx::query_scalar("SELECT id FROM clients WHERE name = ? COLLATE NOCASE")
            .bind(name)
            .fetch_optional(&mut *w.tx)
            .await?;
    match existing {
        Some(id) if Some(parse_uuid(&id)?) != except => Err(CoreError::Conflict(format!(
            "a client named '{name}' already exists; choose another name"
        ))),
        _ => Ok(()),
    }
}

pub(crate) fn as_map(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    match v {
        serde_json::Value::Object(m) => m,
        _ => Default::default(),
    }
}

pub(crate) async fn ensure_site_of(
    w: &mut WriteTx<'_>,
    site: Uuid,
    client: Uuid,
) -> CoreResult<()> {
    let owner: Option<String> = sqlx::query_scalar("SELECT client_id FROM sites WHERE id = ?")
        .bind(site.to_string())
        .fetch_optional(&mut *w.tx)
        .await?;
    match owner {
        Some(c) if c == client.to_string() => Ok(()),
        Some(_) => Err(invalid(format!("site {site} belongs to another client"))),
        None => Err(invalid(format!("site {site} does not exist"))),
    }
}

pub(crate) async fn insert_client(
    w: &mut WriteTx<'_>,
    name: &str,
    notes: &str,
) -> CoreResult<Uuid> {
    ensure_name_free(w, name, None).await?;
    let id = Uuid::now_v7();
    let now = w.now_ms();
    sqlx::query(
        "INSERT INTO clients (id, name, notes, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(name)
    .bind(notes)
    .bind(now)
    .bind(now)
    .execute(&mut *w.tx)
    .await?;
    w.inserted(
        "client.create",
        "client",
        id,
        json!({"name": name, "notes": notes}),
    )
    .await?;
    Ok(id)
}

pub(crate) async fn insert_site(
    w: &mut WriteTx<'_>,
    client_id: Uuid,
    name: &str,
    address: &str,
    timezone: &str,
) -> CoreResult<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO sites (id, client_id, name, address, timezone, created_at) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(client_id.to_string())
    .bind(name)
    .bind(address)
    .bind(timezone)
    .bind(w.now_ms())
    .execute(&mut *w.tx)
    .await?;
    w.inserted(
        "site.create",
        "site",
        id,
        json!({"client_id": client_id, "name": name, "address": address, "timezone": timezone}),
    )
    .await?;
    Ok(id)
}

pub(crate) async fn insert_contact(
    w: &mut WriteTx<'_>,
    client_id: Uuid,
    site_id: Option<Uuid>,
    name: &str,
    email: &str,
    phone: &str,
) -> CoreResult<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO contacts (id, client_id, site_id, name, email, phone, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(client_id.to_string())
    .bind(site_id.map(|s| s.to_string()))
    .bind(name)
    .bind(email)
    .bind(phone)
    .bind(w.now_ms())
    .execute(&mut *w.tx)
    .await?;
    w.inserted(
        "contact.create",
        "contact",
        id,
        json!({"client_id": client_id, "site_id": site_id, "name": name, "email": email, "phone": phone}),
    )
    .await?;
    Ok(id)
}
