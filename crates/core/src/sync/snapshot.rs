//! Snapshot bootstrap: a new console copies the server's current records entity by entity
//! (foreign keys first), each with the version of every field, then follows the log from
//! where the snapshot began. Records that changed while the snapshot was paged are replayed
//! from the log and merge by their versions, so nothing is missed and nothing doubles.

use super::record::SyncedRecord;
use super::scope::{adopt_scope, row_condition};
use super::{
    apply_change, apply_creates, bulk_insertable, ids_present, persist_clock, record, ClockCache,
    Clocks, MAX_PULL_PAGE,
};
use crate::clock::Hlc;
use crate::error::{invalid, CoreResult};
use crate::store::record::Derive;
use crate::store::{Actor, Core, WriteTx};
use outpost_proto::{ChangeRecord, SnapshotPage, SnapshotRecord};
use serde_json::{json, Map, Value};
use sqlx::Row;
use std::collections::{BTreeMap, HashSet};
use std::str::FromStr;
use uuid::Uuid;

/// A change standing for the write that gave a field its version.
fn change_at(version: &str, entity: &str, id: Uuid, op: &str, fields: Value) -> ChangeRecord {
    let (hlc, change_id) = version.split_once('/').unwrap_or(("", ""));
    let parsed = Hlc::from_str(hlc).ok();
    ChangeRecord {
        change_id: Uuid::parse_str(change_id).unwrap_or_else(|_| Uuid::nil()),
        replica_id: parsed.map(|h| h.replica).unwrap_or_else(Uuid::nil),
        replica_seq: 0,
        hlc: if parsed.is_some() {
            hlc.into()
        } else {
            String::new()
        },
        entity: entity.into(),
        entity_id: id,
        op: op.into(),
        fields,
        base: json!({}),
    }
}

/// Where a console's snapshot goes next after a page of `entity`.
fn next_position(entity: &str, page: &SnapshotPage) -> Option<(String, Option<String>)> {
    if page.has_more {
        let last = page.records.last().map(|r| r.id.to_string());
        return Some((entity.to_string(), last));
    }
    crate::store::record::registry()
        .snapshot_order()
        .skip_while(|e| *e != entity)
        .nth(1)
        .map(|next| (next.to_string(), None))
}

impl Core {
    /// The server's side: a page of the current records of one type that `actor` may see.
    pub async fn snapshot(
        &self,
        actor: &Actor,
        entity: &str,
        after: Option<Uuid>,
        limit: Option<i64>,
    ) -> CoreResult<SnapshotPage> {
        let Some(rec) = record(entity) else {
            return Err(invalid(format!(
                "'{entity}' is not an entity type that syncs; use one of {}",
                crate::store::record::registry()
                    .snapshot_order()
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        let limit = limit.unwrap_or(500);
        if !(1..=MAX_PULL_PAGE).contains(&limit) {
            return Err(invalid(format!(
                "limit must be between 1 and {MAX_PULL_PAGE}"
            )));
        }
        // Read before the records: whatever changes after this is replayed from the log.
        let log_end: i64 = sqlx::query_scalar("SELECT coalesce(max(seq), 0) FROM changes")
            .fetch_one(&self.pool)
            .await?;
        let records = match rec.snapshot_own {
            // One record only: the first page holds it.
            Some(_) if after.is_some() => Vec::new(),
            Some(own) => own(&self.pool).await?,
            None => self.table_snapshot(actor, rec, after, limit + 1).await?,
        };
        let has_more = records.len() as i64 > limit;
        let mut records = records;
        records.truncate(limit as usize);
        let total = if crate::store::record::registry().snapshot_order().next() == Some(entity)
            && after.is_none()
        {
            Some(self.snapshot_size(actor).await?)
        } else {
            None
        };
        Ok(SnapshotPage {
            entity: entity.to_string(),
            records,
            has_more,
            log_end,
            scope: actor.clients.clone(),
            total,
        })
    }

    /// How many records a whole snapshot holds for `actor` (one that is not a table row,
    /// the settings, counts as one).
    async fn snapshot_size(&self, actor: &Actor) -> CoreResult<i64> {
        let mut total = 0;
        for rec in crate::store::record::registry().records {
            if !rec.is_table() {
                total += 1;
                continue;
            }
            let n: i64 = sqlx::query_scalar(&format!(
                "SELECT count(*) FROM {} WHERE {}",
                rec.table,
                row_condition(rec, actor)
            ))
            .fetch_one(&self.pool)
            .await?;
            total += n;
        }
        Ok(total)
    }

    async fn table_snapshot(
        &self,
        actor: &Actor,
        rec: &SyncedRecord,
        after: Option<Uuid>,
        limit: i64,
    ) -> CoreResult<Vec<SnapshotRecord>> {
        let entity = rec.entity;
        let table = rec.table;
        let mut pairs: Vec<String> = rec
            .columns
            .iter()
            .map(|c| format!("'{c}', {table}.{c}"))
            .collect();
        if let Some(e) = rec.extra {
            pairs.push(format!("'{}', {}", e.name, e.snapshot_sql));
        }
        // Most fields still hold the value they were created with: those versions go
        // without saying (they are `created`), which keeps pages small. Filtered in SQL, so
        // the server never parses the versions it leaves out.
        // Stored versions are grouped by version (`encode_clocks`), or one per field in
        // stores written before that; both become field -> version here.
        let sql = format!(
            "SELECT id, fields, created, \
               coalesce((SELECT json_group_object(field, version) FROM ( \
                   SELECT f.value AS field, v.key AS version FROM json_each(clocks) v, \
                     json_each(CASE WHEN v.type = 'array' THEN v.value ELSE '[]' END) f \
                   WHERE created IS NULL OR v.key <> created \
                   UNION ALL \
                   SELECT v.key, v.value FROM json_each(clocks) v \
                   WHERE v.type = 'text' AND (created IS NULL OR v.value <> created))), \
                 '{{}}') AS versions \
             FROM (SELECT {table}.id AS id, json_patch('{{}}', json_object({})) AS fields, \
               rc.clocks AS clocks, \
               coalesce( \
                 (SELECT min(CASE WHEN v.type = 'array' THEN v.key ELSE v.value END) \
                    FROM json_each(rc.clocks) v), \
                 (SELECT g.hlc || '/' || g.change_id FROM changes g WHERE g.entity = ? \
                    AND g.entity_id = {table}.id AND g.op = 'insert' ORDER BY g.seq LIMIT 1) \
               ) AS created \
             FROM {table} LEFT JOIN record_clocks rc ON rc.entity = ? AND rc.entity_id = {table}.id \
             WHERE {table}.id > ? AND {} ORDER BY {table}.id LIMIT ?)",
            pairs.join(", "),
            row_condition(rec, actor)
        );
        let rows = sqlx::query(&sql)
            .bind(entity)
            .bind(entity)
            .bind(after.map(|a| a.to_string()).unwrap_or_default())
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let fields: String = r.get("fields");
                let versions: String = r.get("versions");
                Ok(SnapshotRecord {
                    id: crate::store::parse_uuid(r.get("id"))?,
                    fields: serde_json::from_str(&fields).unwrap_or_else(|_| json!({})),
                    versions: serde_json::from_str(&versions).unwrap_or_else(|_| json!({})),
                    created: r.get("created"),
                })
            })
            .collect()
    }

    /// A console's side: takes the snapshot from `entity`/`after` to its end, fetching each
    /// page while the one before is applied (the server's work and the console's overlap).
    /// Returns the records applied; stops early when the scope widened (the caller starts
    /// over).
    pub(crate) async fn take_snapshot(
        &self,
        t: &impl super::SyncTransport,
        mut entity: String,
        after: Option<Uuid>,
        page: i64,
    ) -> CoreResult<i64> {
        let mut applied = 0;
        let mut p = t
            .snapshot(&entity, after, page)
            .await
            .map_err(super::transport_failure)?;
        loop {
            if p.entity != entity {
                return Err(crate::error::CoreError::Unavailable(format!(
                    "the server answered a snapshot of '{entity}' with '{}'",
                    p.entity
                )));
            }
            let next = next_position(&entity, &p).map(|(e, a)| {
                let a = a.and_then(|a| Uuid::parse_str(&a).ok());
                (e, a)
            });
            let prefetch = async {
                match &next {
                    Some((e, a)) => Some(t.snapshot(e, *a, page).await),
                    None => None,
                }
            };
            let (done, fetched) = tokio::join!(self.apply_snapshot(&entity, &p), prefetch);
            match done? {
                Some(n) => applied += n,
                None => return Ok(applied), // scope widened: start over
            }
            match (next, fetched) {
                (Some((e, _)), Some(fetched)) => {
                    entity = e;
                    p = fetched.map_err(super::transport_failure)?;
                }
                _ => return Ok(applied),
            }
        }
    }

    /// A console's side: applies one snapshot page and records where the snapshot goes on,
    /// in one transaction, so an interrupted first sync resumes at the next page. Returns
    /// the records applied, or None when the scope widened and the snapshot starts over.
    pub(crate) async fn apply_snapshot(
        &self,
        entity: &str,
        page: &SnapshotPage,
    ) -> CoreResult<Option<i64>> {
        if page.has_more && page.records.is_empty() {
            // Resuming after the last record would ask for the same page forever.
            return Err(crate::error::CoreError::Unavailable(format!(
                "the server sent an empty page of '{entity}' that says more follows; sync again, \
                 and report it if it persists"
            )));
        }
        let system = Actor::system();
        let mut w = self.write(&system).await?;
        if adopt_scope(&mut w, &page.scope).await? == super::ScopeMove::Widened {
            w.commit().await?;
            return Ok(None);
        }
        let mut engine = (crate::store::record::registry().derive)(&mut w).await?;
        let mut cache = ClockCache::default();
        // The newest version this page carries: later local writes must sort after it, also
        // after a restart (versions sort as text, like the clock readings they start with).
        let newest: Option<String> = page
            .records
            .iter()
            .flat_map(|r| {
                let versions = r.versions.as_object().into_iter().flat_map(|m| m.values());
                versions
                    .filter_map(Value::as_str)
                    .chain(r.created.as_deref())
            })
            .max()
            .and_then(|v| v.split_once('/').map(|(h, _)| h.to_string()));
        if let Some(h) = &newest {
            self.observe_hlc(h, w.now);
        }
        apply_records(&mut w, entity, &page.records, &mut engine, &mut cache).await?;
        cache.flush(&mut w, &engine).await?;
        persist_clock(&mut w, newest.iter().map(String::as_str)).await?;
        if let Some(total) = page.total {
            sqlx::query("UPDATE sync_state SET boot_total = ?, boot_done = 0")
                .bind(total)
                .execute(&mut *w.tx)
                .await?;
        }
        sqlx::query("UPDATE sync_state SET boot_done = boot_done + ?")
            .bind(page.records.len().max(usize::from(not_a_row(entity))) as i64)
            .execute(&mut *w.tx)
            .await?;
        match next_position(entity, page) {
            Some((next, after)) => {
                sqlx::query(
                    "UPDATE sync_state SET boot_entity = ?, boot_after = ?, \
                     boot_log_end = min(coalesce(boot_log_end, ?), ?), server_latest = ?",
                )
                .bind(next)
                .bind(after)
                .bind(page.log_end)
                .bind(page.log_end)
                .bind(page.log_end)
                .execute(&mut *w.tx)
                .await?;
            }
            None => {
                // Done: follow the log from where the snapshot began.
                sqlx::query(
                    "UPDATE sync_state SET booted = 1, boot_entity = NULL, boot_after = NULL, \
                     cursor = max(cursor, min(coalesce(boot_log_end, ?), ?)), boot_total = NULL, \
                     boot_done = 0, boot_log_end = NULL, server_latest = ?, last_sync_at = ?, \
                     last_error = NULL",
                )
                .bind(page.log_end)
                .bind(page.log_end)
                .bind(page.log_end)
                .bind(w.now_ms())
                .execute(&mut *w.tx)
                .await?;
            }
        }
        w.commit().await?;
        Ok(Some(page.records.len() as i64))
    }
}

/// A record that is not a table row (the settings): its page counts as one record.
fn not_a_row(entity: &str) -> bool {
    record(entity).is_some_and(|r| !r.is_table())
}

/// The version of every field of a record: the ones listed, and `created` for the rest.
/// A record's fields. Pages leave out empty (null) fields to stay small; a field edited to
/// null since the record was created is listed in `versions`, so it comes back as null.
fn record_fields(r: &SnapshotRecord) -> Map<String, Value> {
    let mut fields = r.fields.as_object().cloned().unwrap_or_default();
    for field in r.versions.as_object().into_iter().flat_map(|v| v.keys()) {
        fields.entry(field.clone()).or_insert(Value::Null);
    }
    fields
}

/// The version of every field: the ones listed, and `created` for the rest. A record new
/// to this console gets `created` on every synced column, sent or left out as empty.
fn full_versions(r: &SnapshotRecord, rec: &SyncedRecord, new: bool) -> Clocks {
    let mutable = !rec.append_only;
    let mut versions: Clocks = r.versions.as_object().cloned().unwrap_or_default();
    let Some(created) = r.created.as_ref().filter(|_| mutable) else {
        return versions;
    };
    let mut columns: Vec<String> = record_fields(r).keys().cloned().collect();
    if new {
        columns.extend(rec.columns.iter().map(|c| c.to_string()));
        if let Some(e) = rec.extra {
            columns.push(e.name.into());
        }
    }
    for field in columns {
        versions
            .entry(field)
            .or_insert_with(|| Value::String(created.clone()));
    }
    versions
}

/// The linked records (by table) that this console does not hold. A record created after
/// its parent's type was copied points at a parent that is not here yet; both come from the
/// log after the snapshot (they were made after it began), in order.
async fn absent_parents(
    w: &mut WriteTx<'_>,
    rec: &SyncedRecord,
    records: &[SnapshotRecord],
) -> CoreResult<HashSet<(&'static str, String)>> {
    let mut wanted: BTreeMap<&'static str, HashSet<String>> = BTreeMap::new();
    for r in records {
        for link in rec.links {
            let Some(target) = record(link.entity).filter(|t| t.is_table()) else {
                continue;
            };
            if let Some(id) = r.fields.get(link.field).and_then(Value::as_str) {
                wanted
                    .entry(target.table)
                    .or_default()
                    .insert(id.to_string());
            }
        }
    }
    let mut absent = HashSet::new();
    for (table, ids) in wanted {
        let ids: Vec<String> = ids.into_iter().collect();
        let found = ids_present(&mut w.tx, table, "id", &ids, "1").await?;
        absent.extend(
            ids.into_iter()
                .filter(|id| !found.contains(id))
                .map(|id| (table, id)),
        );
    }
    Ok(absent)
}

/// Records new to this console are inserted (in bulk where possible) with their versions;
/// records it holds already merge field by field, each field by its own version. What
/// points at a record this console does not hold yet is left to the log that follows.
async fn apply_records(
    w: &mut WriteTx<'_>,
    entity: &str,
    records: &[SnapshotRecord],
    engine: &mut Derive,
    cache: &mut ClockCache,
) -> CoreResult<()> {
    if records.is_empty() {
        return Ok(());
    }
    let rec = record(entity).ok_or_else(|| invalid(format!("unknown entity '{entity}'")))?;
    let present: HashSet<String> = if rec.is_table() {
        let ids: Vec<String> = records.iter().map(|r| r.id.to_string()).collect();
        ids_present(&mut w.tx, rec.table, "id", &ids, "1").await?
    } else {
        HashSet::new() // not a row (settings): merged below by version
    };
    let absent = absent_parents(w, rec, records).await?;
    let dangling = |field: &str, value: &Value| {
        rec.link(field)
            .and_then(|l| record(l.entity))
            .is_some_and(|target| {
                value
                    .as_str()
                    .is_some_and(|id| absent.contains(&(target.table, id.to_string())))
            })
    };
    let required = |field: &str| rec.link(field).is_some_and(|l| l.required);
    let mutable = !rec.append_only;
    let mut inserts: Vec<ChangeRecord> = Vec::new();
    let mut new_versions: Vec<(Uuid, Clocks)> = Vec::new();
    let mut updates: Vec<ChangeRecord> = Vec::new();
    for r in records {
        let is_new = rec.is_table() && !present.contains(&r.id.to_string());
        let mut versions = full_versions(r, rec, is_new);
        let mut fields = record_fields(r);
        if !is_new {
            if !mutable {
                continue; // append-only and already here
            }
            let mut groups: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
            for (field, value) in fields {
                if dangling(&field, &value) {
                    continue;
                }
                if let Some(v) = versions.get(&field).and_then(Value::as_str) {
                    groups
                        .entry(v.to_string())
                        .or_default()
                        .insert(field, value);
                }
            }
            for (version, group) in groups {
                updates.push(change_at(&version, entity, r.id, "update", group.into()));
            }
        } else if fields.iter().any(|(f, v)| dangling(f, v) && required(f)) {
            // Made after its parent's type was copied, so after the snapshot began: the
            // log brings parent and record, in that order.
            continue;
        } else {
            // An optional link to a record made since (a new site, a new assignee): the
            // record goes in without it, and without its version, so the later change that
            // set the link wins when the log replays it.
            let links: Vec<String> = fields
                .iter()
                .filter(|(f, v)| dangling(f, v))
                .map(|(f, _)| f.clone())
                .collect();
            for f in links {
                fields.remove(&f);
                versions.remove(&f);
            }
            let born = r
                .created
                .clone()
                .or_else(|| {
                    versions
                        .values()
                        .filter_map(Value::as_str)
                        .min()
                        .map(str::to_string)
                })
                .unwrap_or_default();
            inserts.push(change_at(&born, entity, r.id, "insert", fields.into()));
            new_versions.push((r.id, versions));
        }
    }
    if !inserts.is_empty() {
        if !bulk_insertable(rec) {
            for c in &inserts {
                apply_change(w, c, false, engine, cache).await?;
            }
        } else {
            let run: Vec<&ChangeRecord> = inserts.iter().collect();
            apply_creates(w, &run, engine, cache).await?;
        }
        if mutable {
            for (id, versions) in new_versions {
                cache.put(entity, &id.to_string(), versions);
            }
        }
    }
    for c in &updates {
        apply_change(w, c, false, engine, cache).await?;
    }
    Ok(())
}
