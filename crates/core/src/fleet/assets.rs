//! Assets: the endpoints and devices an MSP looks after for a client (workstations, servers,
//! network gear, printers…), each at a client and optionally a site. Technicians record them
//! by hand today; the endpoint agent will fill in their inventory.

use crate::clients::{as_map, ensure_client, ensure_site_of, record_edit};
use crate::clock::from_ms;
use crate::error::{invalid, CoreError, CoreResult};
use crate::fleet::status::{health_from_row, HEALTH_COLUMNS};
use crate::store::record::{ClientOf, Link, SyncedRecord};
use crate::store::{opt_uuid, parse_uuid, Actor, Core, WriteTx};
use outpost_proto::{
    Asset, AssetDetail, AssetKind, AssetPage, AssetQuery, AssetSort, ClientFleetCount, FleetCounts,
    InventoryChange, NewAsset, UpdateAsset,
};
use serde_json::json;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use uuid::Uuid;

/// Devices sync to the consoles of people who may see their client.
pub(crate) const ASSET_RECORD: SyncedRecord = SyncedRecord {
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
    moves_updated_at: true,
    stamps: &["created_at", "updated_at"],
    ..SyncedRecord::table(
        "asset",
        "assets",
        &[
            "client_id",
            "site_id",
            "name",
            "kind",
            "os",
            "serial",
            "notes",
        ],
    )
};

const MAX_PAGE: i64 = 500;

fn text(field: &str, v: &str, max: usize, required: bool) -> CoreResult<String> {
    let v = v.trim();
    if required && v.is_empty() {
        return Err(invalid(format!("{field} must not be empty")));
    }
    if v.chars().count() > max {
        return Err(invalid(format!("{field} must be at most {max} characters")));
    }
    if v.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(invalid(format!(
            "{field} must not contain control characters"
        )));
    }
    Ok(v.to_string())
}

fn one_line(field: &str, v: &str, max: usize, required: bool) -> CoreResult<String> {
    let v = text(field, v, max, required)?;
    if v.contains('\n') {
        return Err(invalid(format!("{field} must be a single line")));
    }
    Ok(v)
}

fn asset_select() -> String {
    format!(
        "SELECT a.id, a.client_id, a.site_id, a.name, a.kind, a.os, a.serial, a.notes, \
         a.created_at, a.updated_at, \
         (SELECT c.name FROM clients c WHERE c.id = a.client_id) AS client_name, \
         (SELECT s.name FROM sites s WHERE s.id = a.site_id) AS site_name, {HEALTH_COLUMNS} \
         FROM assets a LEFT JOIN endpoint_status e ON e.id = a.id"
    )
}

fn asset_from_row(r: &SqliteRow) -> CoreResult<Asset> {
    let kind: String = r.get("kind");
    let (online, last_seen, health) = health_from_row(r);
    Ok(Asset {
        id: parse_uuid(r.get("id"))?,
        client_id: parse_uuid(r.get("client_id"))?,
        client_name: r
            .get::<Option<String>, _>("client_name")
            .unwrap_or_default(),
        site_id: opt_uuid(r.get("site_id"))?,
        site_name: r.get("site_name"),
        name: r.get("name"),
        kind: AssetKind::parse(&kind).unwrap_or(AssetKind::Other),
        os: r.get("os"),
        serial: r.get("serial"),
        notes: r.get("notes"),
        created_at: from_ms(r.get("created_at")),
        updated_at: from_ms(r.get("updated_at")),
        managed: health.is_some(),
        online,
        last_seen,
        health,
    })
}

/// A validated new asset.
pub(crate) struct AssetDraft<'a> {
    pub client_id: Uuid,
    pub site_id: Option<Uuid>,
    pub name: &'a str,
    pub kind: AssetKind,
    pub os: &'a str,
    pub serial: &'a str,
    pub notes: &'a str,
}

pub(crate) async fn insert_asset(w: &mut WriteTx<'_>, a: &AssetDraft<'_>) -> CoreResult<Uuid> {
    let id = Uuid::now_v7();
    let now = w.now_ms();
    sqlx::query(
        "INSERT INTO assets (id, client_id, site_id, name, kind, os, serial, notes, \
         created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(a.client_id.to_string())
    .bind(a.site_id.map(|s| s.to_string()))
    .bind(a.name)
    .bind(a.kind.as_str())
    .bind(a.os)
    .bind(a.serial)
    .bind(a.notes)
    .bind(now)
    .bind(now)
    .execute(&mut *w.tx)
    .await?;
    w.inserted(
        "asset.create",
        "asset",
        id,
        json!({
            "client_id": a.client_id.to_string(),
            "site_id": a.site_id.map(|s| s.to_string()),
            "name": a.name, "kind": a.kind.as_str(), "os": a.os, "serial": a.serial,
            "notes": a.notes,
        }),
    )
    .await?;
    Ok(id)
}

impl Core {
    /// Assets of the clients `actor` may see, filtered and paged, by client then name.
    pub async fn list_assets(&self, actor: &Actor, q: &AssetQuery) -> CoreResult<AssetPage> {
        let limit = q.limit.unwrap_or(100);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(invalid(format!("limit must be between 1 and {MAX_PAGE}")));
        }
        let offset = q.offset.unwrap_or(0);
        if offset < 0 {
            return Err(invalid("offset must not be negative"));
        }
        let mut wh = vec![actor.client_condition("a.client_id")];
        let mut binds: Vec<String> = Vec::new();
        if let Some(c) = q.client_id {
            wh.push("a.client_id = ?".into());
            binds.push(c.to_string());
        }
        if let Some(s) = q.site_id {
            wh.push("a.site_id = ?".into());
            binds.push(s.to_string());
        }
        if let Some(k) = q.kind {
            wh.push("a.kind = ?".into());
            binds.push(k.as_str().into());
        }
        if let Some(h) = q.health {
            wh.push("e.health = ?".into());
            binds.push(h.as_str().into());
        }
        match q.managed {
            Some(true) => wh.push("e.id IS NOT NULL".into()),
            Some(false) => wh.push("e.id IS NULL".into()),
            None => {}
        }
        if let Some(r) = q.reboot_required {
            wh.push(format!("coalesce(e.reboot_required, 0) = {}", r as i64));
        }
        if let Some(text) = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            // A plain substring match: asset names and serials are short and exact.
            wh.push(
                "(a.name LIKE ? ESCAPE '\\' OR a.serial LIKE ? ESCAPE '\\' OR a.os LIKE ? ESCAPE '\\')"
                    .into(),
            );
            let escaped = text
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            for _ in 0..3 {
                binds.push(format!("%{escaped}%"));
            }
        }
        let where_sql = wh.join(" AND ");
        // Endpoint status and client names are joined only when the filter or the sort needs
        // them: a big fleet's count and sort stay on the assets alone otherwise.
        let sort = q.sort.unwrap_or(AssetSort::Client);
        let filter_e = q.health.is_some() || q.managed.is_some() || q.reboot_required.is_some();
        let sort_e = !matches!(sort, AssetSort::Client | AssetSort::Name);
        let join_e = |needed: bool| {
            if needed {
                " LEFT JOIN endpoint_status e ON e.id = a.id"
            } else {
                ""
            }
        };
        // Aliased like the page query, so one WHERE serves both.
        let count_sql = format!(
            "SELECT count(*) FROM assets a{} WHERE {where_sql}",
            join_e(filter_e)
        );
        let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
        for b in &binds {
            count = count.bind(b.as_str());
        }
        let total = count.fetch_one(&self.pool).await?;
        // The worst first: critical, warning, offline, healthy, then devices with no agent.
        let order = match sort {
            AssetSort::Client => "client_name COLLATE NOCASE, a.name COLLATE NOCASE",
            AssetSort::Name => "a.name COLLATE NOCASE",
            AssetSort::Health => {
                "CASE e.health WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 \
                 WHEN 'offline' THEN 2 WHEN 'healthy' THEN 3 ELSE 4 END, a.name COLLATE NOCASE"
            }
            AssetSort::LastSeen => "e.last_seen IS NULL, e.last_seen DESC",
            AssetSort::Cpu => "e.cpu_pct IS NULL, e.cpu_pct DESC",
            AssetSort::Memory => "e.memory_pct IS NULL, e.memory_pct DESC",
            AssetSort::Disk => "e.disk_pct IS NULL, e.disk_pct DESC",
        };
        // The page's ids first, sorted on what the sort needs alone; then those rows in full
        // (client and site names, health, open alerts), so a big fleet's page does not
        // compute them for every endpoint.
        let order = order.replace("client_name", "c.name");
        let clients = if sort == AssetSort::Client {
            " JOIN clients c ON c.id = a.client_id"
        } else {
            ""
        };
        let id_sql = format!(
            "SELECT a.id FROM assets a{clients}{} WHERE {where_sql} \
             ORDER BY {order}, a.id LIMIT {limit} OFFSET {offset}",
            join_e(filter_e || sort_e)
        );
        let mut ids_q = sqlx::query_scalar::<_, String>(&id_sql);
        for b in &binds {
            ids_q = ids_q.bind(b.as_str());
        }
        let ids = ids_q.fetch_all(&self.pool).await?;
        let mut items: Vec<Asset> = Vec::with_capacity(ids.len());
        if !ids.is_empty() {
            let marks = vec!["?"; ids.len()].join(", ");
            let sql = format!("{} WHERE a.id IN ({marks})", asset_select());
            let mut page = sqlx::query(&sql);
            for id in &ids {
                page = page.bind(id.as_str());
            }
            let mut found: std::collections::HashMap<String, Asset> = page
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| asset_from_row(r).map(|a| (a.id.to_string(), a)))
                .collect::<CoreResult<_>>()?;
            items.extend(ids.iter().filter_map(|id| found.remove(id)));
        }
        Ok(AssetPage { items, total })
    }

    pub async fn get_asset(&self, actor: &Actor, id: Uuid) -> CoreResult<Asset> {
        let row = sqlx::query(&format!("{} WHERE a.id = ?", asset_select()))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        let asset = row.as_ref().map(asset_from_row).transpose()?;
        match asset {
            Some(a) if actor.may_see(a.client_id) => Ok(a),
            _ => Err(CoreError::NotFound(format!("asset {id} does not exist"))),
        }
    }

    /// A device in full: with its inventory, what changed in it and its agent.
    pub async fn get_asset_detail(&self, actor: &Actor, id: Uuid) -> CoreResult<AssetDetail> {
        let asset = self.get_asset(actor, id).await?;
        let row: Option<(Option<String>, Option<i64>)> =
            sqlx::query_as("SELECT inventory, inventory_at FROM endpoint_status WHERE id = ?")
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?;
        let (inventory, inventory_at) = row.unwrap_or((None, None));
        let changes = sqlx::query(
            "SELECT id, at, kind, summary FROM inventory_changes WHERE asset_id = ? \
             ORDER BY at DESC, id DESC LIMIT 500",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(InventoryChange {
                id: parse_uuid(r.get("id"))?,
                at: from_ms(r.get("at")),
                kind: r.get("kind"),
                summary: r.get("summary"),
            })
        })
        .collect::<CoreResult<_>>()?;
        Ok(AssetDetail {
            asset,
            inventory: inventory.and_then(|t| serde_json::from_str(&t).ok()),
            inventory_at: inventory_at.map(from_ms),
            changes,
            agent: self.agent_of(id).await?,
        })
    }

    /// Endpoints per health state and per client, for the top of the Fleet page.
    pub async fn fleet_counts(&self, actor: &Actor) -> CoreResult<FleetCounts> {
        let scope = actor.client_condition("a.client_id");
        let rows = sqlx::query(&format!(
            "SELECT a.client_id, (SELECT name FROM clients c WHERE c.id = a.client_id) AS name, \
             count(*) AS total, count(e.id) AS managed, \
             sum(e.health = 'healthy') AS healthy, sum(e.health = 'warning') AS warning, \
             sum(e.health = 'critical') AS critical, sum(e.health = 'offline') AS offline, \
             sum(coalesce(e.reboot_required, 0)) AS reboot \
             FROM assets a LEFT JOIN endpoint_status e ON e.id = a.id WHERE {scope} \
             GROUP BY a.client_id ORDER BY name COLLATE NOCASE"
        ))
        .fetch_all(&self.pool)
        .await?;
        let mut out = FleetCounts::default();
        for r in &rows {
            let n = |c: &str| r.get::<Option<i64>, _>(c).unwrap_or(0);
            out.total += n("total");
            out.managed += n("managed");
            out.healthy += n("healthy");
            out.warning += n("warning");
            out.critical += n("critical");
            out.offline += n("offline");
            out.reboot_required += n("reboot");
            out.per_client.push(ClientFleetCount {
                client_id: parse_uuid(r.get("client_id"))?,
                client_name: r.get::<Option<String>, _>("name").unwrap_or_default(),
                total: n("total"),
                offline: n("offline"),
                attention: n("warning") + n("critical"),
            });
        }
        Ok(out)
    }

    pub async fn create_asset(&self, actor: &Actor, req: NewAsset) -> CoreResult<Asset> {
        actor.require_write()?;
        let name = one_line("asset name", &req.name, 200, true)?;
        let os = one_line(
            "operating system",
            req.os.as_deref().unwrap_or(""),
            200,
            false,
        )?;
        let serial = one_line(
            "serial number",
            req.serial.as_deref().unwrap_or(""),
            100,
            false,
        )?;
        let notes = text("notes", req.notes.as_deref().unwrap_or(""), 20_000, false)?;
        actor.require_client(req.client_id)?;
        let mut w = self.write(actor).await?;
        ensure_client(&mut w, req.client_id).await?;
        if let Some(site) = req.site_id {
            ensure_site_of(&mut w, site, req.client_id).await?;
        }
        let draft = AssetDraft {
            client_id: req.client_id,
            site_id: req.site_id,
            name: &name,
            kind: req.kind,
            os: &os,
            serial: &serial,
            notes: &notes,
        };
        let id = insert_asset(&mut w, &draft).await?;
        w.commit().await?;
        self.get_asset(actor, id).await
    }

    /// Edits an asset in place; absent fields are left alone. The client never changes
    /// (move the device by recording it at the other client).
    pub async fn update_asset(
        &self,
        actor: &Actor,
        id: Uuid,
        req: UpdateAsset,
    ) -> CoreResult<Asset> {
        actor.require_write()?;
        let name = req
            .name
            .as_deref()
            .map(|n| one_line("asset name", n, 200, true))
            .transpose()?;
        let os = req
            .os
            .as_deref()
            .map(|v| one_line("operating system", v, 200, false))
            .transpose()?;
        let serial = req
            .serial
            .as_deref()
            .map(|v| one_line("serial number", v, 100, false))
            .transpose()?;
        let notes = req
            .notes
            .as_deref()
            .map(|v| text("notes", v, 20_000, false))
            .transpose()?;
        let current = self.get_asset(actor, id).await?;
        let mut w = self.write(actor).await?;
        if let Some(Some(site)) = req.site_id {
            ensure_site_of(&mut w, site, current.client_id).await?;
        }
        let fields = |a: &Asset| {
            json!({"name": a.name, "kind": a.kind.as_str(), "os": a.os, "serial": a.serial,
                   "notes": a.notes, "site_id": a.site_id.map(|s| s.to_string())})
        };
        let before = fields(&current);
        let mut next = current.clone();
        if let Some(n) = name {
            next.name = n;
        }
        if let Some(k) = req.kind {
            next.kind = k;
        }
        if let Some(v) = os {
            next.os = v;
        }
        if let Some(v) = serial {
            next.serial = v;
        }
        if let Some(v) = notes {
            next.notes = v;
        }
        if let Some(s) = req.site_id {
            next.site_id = s;
        }
        let after = fields(&next);
        if before != after {
            sqlx::query("UPDATE assets SET updated_at = ? WHERE id = ?")
                .bind(w.now_ms())
                .bind(id.to_string())
                .execute(&mut *w.tx)
                .await?;
        }
        record_edit(&mut w, "assets", "asset", id, as_map(before), as_map(after)).await?;
        w.commit().await?;
        self.get_asset(actor, id).await
    }
}
