//! Offline-first sync: change records, per-field merge by declared rules (last writer wins
//! with conflicts kept, earliest/latest wins, derived, set once), push, pull and snapshots.
//! The protocol is described in `README.md` beside this file; keep the two in step.
//!
//! Free of HTTP and Tauri: the server calls [`Core::accept_push`] and [`Core::pull_changes`];
//! a console calls [`Core::sync_once`] with any [`SyncTransport`] (HTTP in the desktop app,
//! in memory in tests).

pub(crate) use crate::store::record;
pub use crate::store::record::Merge;
pub use crate::store::versions::clock_key;
pub(crate) use crate::store::versions::{
    decode_clocks, encode_clocks, key_hlc, load_clocks, store_clocks, Clocks,
};
mod scope;
mod snapshot;

use crate::clock::{from_ms, to_ms, Hlc};
use crate::error::{invalid, CoreError, CoreResult};
use crate::store::record::Derive;
use crate::store::{parse_uuid, Actor, Core, Op, WriteTx};
use outpost_proto::{
    ChangeRecord, Conflict, EntityChecksum, PullPage, PushRequest, PushResponse, SnapshotPage,
    SyncStatus, SYNC_GENERATION,
};
use record::{ClientOf, SyncedRecord};
use scope::ScopeMove;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use sqlx::{Row, Sqlite, Transaction};
use std::str::FromStr;
use uuid::Uuid;

/// The declaration of a synced record type.
pub(crate) fn record(entity: &str) -> Option<&'static SyncedRecord> {
    crate::store::record::registry().find(entity)
}

/// Records that are only ever added, never edited: they cannot conflict.
fn is_append_only(entity: &str) -> bool {
    record(entity).is_some_and(|r| r.append_only)
}

pub const MAX_PULL_PAGE: i64 = 1000;

/// How often a caught-up console compares checksums with the server.
const VERIFY_EVERY_MS: i64 = 60 * 60 * 1000;
pub const MAX_PUSH_BATCH: usize = 1000;

/// Sync conflicts are the sync engine's own records: made on the server, they reach every
/// console that may see the record they name; resolving one is an edit like any other.
pub(crate) const CONFLICT_RECORD: SyncedRecord = SyncedRecord {
    client: ClientOf::Named,
    // Two people settling one conflict at once agree: the first settling stands.
    merge: &[("resolved_at", Merge::Earliest)],
    stamps: &[],
    ..SyncedRecord::table(
        "conflict",
        "conflicts",
        &[
            "entity",
            "entity_id",
            "field",
            "kept_value",
            "lost_value",
            "lost_hlc",
            "lost_replica",
            "detected_at",
            "resolved_at",
        ],
    )
};

/// Creates of this type may go in bulk (no per-record checks on insert).
fn bulk_insertable(r: &SyncedRecord) -> bool {
    r.is_table() && r.unique.is_none()
}

/// A value that holds nothing (an extra field need not be written for it).
fn is_empty_value(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

/// Record versions read and written during one apply (a push or a pulled page): loaded in
/// bulk, written back once at the end, so a change costs no clock statements of its own.
#[derive(Default)]
pub(crate) struct ClockCache {
    map: std::collections::HashMap<(String, String), Clocks>,
    dirty: std::collections::HashSet<(String, String)>,
    /// Row updates decided but not written yet: written together at the end of the apply,
    /// a few statements for a whole push instead of one per change.
    rows: std::collections::HashMap<(String, String), PendingRow>,
    /// Whether a record's row is here (known from a bulk look-up or an earlier write).
    present: std::collections::HashMap<(String, String), bool>,
    /// Derived-state hooks of the updates above, run (in order) once the rows are written.
    hooks: Vec<(ChangeRecord, Vec<String>)>,
}

/// The columns one apply sets on one row: the last winning value of each field, the
/// earliest (or latest) of each earliest- (latest-) wins field, and the latest change time.
#[derive(Default)]
struct PendingRow {
    sets: std::collections::BTreeMap<String, Value>,
    picks: std::collections::BTreeMap<String, (Merge, Value)>,
    stamp: Option<i64>,
}

/// The earlier (or later) of two values of an earliest- (latest-) wins field; an empty one
/// gives way.
fn pick(rule: Merge, a: &Value, b: &Value) -> Value {
    match (a.as_i64(), b.as_i64()) {
        (Some(x), Some(y)) if rule == Merge::Latest => json!(x.max(y)),
        (Some(x), Some(y)) => json!(x.min(y)),
        (Some(_), None) => a.clone(),
        (None, _) => b.clone(),
    }
}

impl ClockCache {
    /// Whether the record's row is here.
    async fn row_exists(
        &mut self,
        w: &mut WriteTx<'_>,
        rec: &SyncedRecord,
        id: &str,
    ) -> CoreResult<bool> {
        let k = (rec.table.to_string(), id.to_string());
        if let Some(known) = self.present.get(&k) {
            return Ok(*known);
        }
        let found = !ids_present(&mut w.tx, rec.table, "id", &[id.to_string()], "1")
            .await?
            .is_empty();
        self.present.insert(k, found);
        Ok(found)
    }

    fn mark_present(&mut self, rec: &SyncedRecord, id: &str, here: bool) {
        self.present
            .insert((rec.table.to_string(), id.to_string()), here);
        if !here {
            self.rows.remove(&(rec.table.to_string(), id.to_string()));
        }
    }

    /// The value a column will have once pending updates are written (None: as stored).
    fn pending_value(&self, rec: &SyncedRecord, id: &str, column: &str) -> Option<Value> {
        self.rows
            .get(&(rec.table.to_string(), id.to_string()))
            .and_then(|r| r.sets.get(column).cloned())
    }

    fn pend_row(
        &mut self,
        rec: &SyncedRecord,
        id: &str,
        sets: &[(&str, &Value)],
        picks: &[(&str, Merge, &Value)],
        stamp: Option<i64>,
    ) {
        let row = self
            .rows
            .entry((rec.table.to_string(), id.to_string()))
            .or_default();
        for (f, v) in sets {
            row.sets.insert(f.to_string(), (*v).clone());
        }
        for (f, rule, v) in picks {
            let merged = match row.picks.get(*f) {
                Some((_, before)) => pick(*rule, before, v),
                None => (*v).clone(),
            };
            row.picks.insert(f.to_string(), (*rule, merged));
        }
        if let Some(t) = stamp {
            row.stamp = Some(row.stamp.map_or(t, |s| s.max(t)));
        }
    }

    /// Writes the pending row updates (rows that set the same columns share a statement),
    /// then runs their derived-state hooks in the order the changes came.
    async fn flush_rows(&mut self, w: &mut WriteTx<'_>, engine: &Derive) -> CoreResult<()> {
        type Shape = (String, Vec<String>, Vec<(String, bool)>, bool);
        let mut shapes: std::collections::BTreeMap<Shape, Vec<(String, PendingRow)>> =
            Default::default();
        for ((table, id), row) in self.rows.drain() {
            let shape = (
                table,
                row.sets.keys().cloned().collect(),
                row.picks
                    .iter()
                    .map(|(f, (rule, _))| (f.clone(), *rule == Merge::Latest))
                    .collect(),
                row.stamp.is_some(),
            );
            shapes.entry(shape).or_default().push((id, row));
        }
        for ((table, sets, picks, stamped), rows) in shapes {
            let width = 1 + sets.len() + picks.len() + usize::from(stamped);
            let mut assignments: Vec<String> = Vec::new();
            let mut col = 2;
            for f in &sets {
                assignments.push(format!("{f} = v.column{col}"));
                col += 1;
            }
            for (f, latest) in &picks {
                // SQLite's min() and max() of a NULL are NULL: an empty side gives way.
                let op = if *latest { "max" } else { "min" };
                assignments.push(format!(
                    "{f} = coalesce({op}({table}.{f}, v.column{col}), {table}.{f}, v.column{col})"
                ));
                col += 1;
            }
            if stamped {
                assignments.push(format!(
                    "updated_at = max({table}.updated_at, v.column{col})"
                ));
            }
            let one = format!("({})", vec!["?"; width].join(", "));
            for chunk in rows.chunks((30_000 / width).max(1)) {
                let sql = format!(
                    "UPDATE {table} SET {} FROM (VALUES {}) AS v WHERE {table}.id = v.column1",
                    assignments.join(", "),
                    vec![one.as_str(); chunk.len()].join(", ")
                );
                let mut q = sqlx::query(&sql);
                for (id, row) in chunk {
                    q = q.bind(id.clone());
                    for v in row.sets.values().chain(row.picks.values().map(|(_, v)| v)) {
                        q = bind_json(q, v);
                    }
                    if let Some(t) = row.stamp {
                        q = q.bind(t);
                    }
                }
                q.execute(&mut *w.tx).await?;
            }
        }
        for (c, written) in std::mem::take(&mut self.hooks) {
            if let Some(after) = record(&c.entity).and_then(|r| r.after_apply) {
                let written: Vec<&str> = written.iter().map(String::as_str).collect();
                after(w, &c, &written, engine).await?;
            }
        }
        Ok(())
    }

    /// Loads the versions of the mutable records these changes touch.
    async fn preload(w: &mut WriteTx<'_>, changes: &[&ChangeRecord]) -> CoreResult<ClockCache> {
        let mut cache = ClockCache::default();
        // By entity, so the lookup uses the (entity, entity_id) key.
        let mut by_entity: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
        for c in changes.iter().filter(|c| !is_append_only(&c.entity)) {
            by_entity
                .entry(c.entity.as_str())
                .or_default()
                .push(c.entity_id.to_string());
        }
        for (entity, ids) in by_entity {
            for chunk in ids.chunks(INSERT_CHUNK) {
                let sql = format!(
                    "SELECT entity_id, clocks FROM record_clocks WHERE entity = ? AND entity_id IN ({})",
                    vec!["?"; chunk.len()].join(", ")
                );
                let mut q = sqlx::query_as::<_, (String, String)>(&sql).bind(entity);
                for id in chunk {
                    q = q.bind(id);
                }
                for (id, json) in q.fetch_all(&mut *w.tx).await? {
                    let clocks = decode_clocks(&json);
                    cache.map.insert((entity.to_string(), id), clocks);
                }
            }
        }
        // Which of the records that updates touch are here, in one look-up per type.
        let mut updated: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
        for c in changes.iter().filter(|c| c.op == "update") {
            updated
                .entry(c.entity.as_str())
                .or_default()
                .push(c.entity_id.to_string());
        }
        for (entity, ids) in updated {
            let Some(rec) = record(entity).filter(|r| r.is_table()) else {
                continue;
            };
            let found = ids_present(&mut w.tx, rec.table, "id", &ids, "1").await?;
            for id in ids {
                let here = found.contains(&id);
                cache.present.insert((rec.table.to_string(), id), here);
            }
        }
        // Records not found have no versions yet.
        for c in changes.iter().filter(|c| !is_append_only(&c.entity)) {
            cache
                .map
                .entry((c.entity.clone(), c.entity_id.to_string()))
                .or_default();
        }
        Ok(cache)
    }

    async fn get(&mut self, w: &mut WriteTx<'_>, entity: &str, id: &str) -> CoreResult<Clocks> {
        let k = (entity.to_string(), id.to_string());
        if let Some(c) = self.map.get(&k) {
            return Ok(c.clone());
        }
        let loaded = load_clocks(&mut w.tx, entity, id).await?;
        self.map.insert(k, loaded.clone());
        Ok(loaded)
    }

    fn put(&mut self, entity: &str, id: &str, clocks: Clocks) {
        let k = (entity.to_string(), id.to_string());
        self.map.insert(k.clone(), clocks);
        self.dirty.insert(k);
    }

    fn forget(&mut self, entity: &str, id: &str) {
        let k = (entity.to_string(), id.to_string());
        self.map.remove(&k);
        self.dirty.remove(&k);
    }

    /// Writes one record's versions now and drops it from the cache, before a local write
    /// (renumbering) reads and moves them itself.
    async fn flush_one(&mut self, w: &mut WriteTx<'_>, entity: &str, id: &str) -> CoreResult<()> {
        let k = (entity.to_string(), id.to_string());
        if self.dirty.remove(&k) {
            if let Some(c) = self.map.get(&k) {
                store_clocks(&mut w.tx, entity, id, c).await?;
            }
        }
        self.map.remove(&k);
        Ok(())
    }

    async fn flush(&mut self, w: &mut WriteTx<'_>, engine: &Derive) -> CoreResult<()> {
        self.flush_rows(w, engine).await?;
        let rows: Vec<(&(String, String), String)> = self
            .dirty
            .iter()
            .filter_map(|k| self.map.get(k).map(|c| (k, encode_clocks(c))))
            .collect();
        for chunk in rows.chunks(INSERT_CHUNK) {
            let sql = format!(
                "INSERT INTO record_clocks (entity, entity_id, clocks) VALUES {} \
                 ON CONFLICT(entity, entity_id) DO UPDATE SET clocks = excluded.clocks",
                vec!["(?, ?, ?)"; chunk.len()].join(", ")
            );
            let mut q = sqlx::query(&sql);
            for ((entity, id), json) in chunk {
                q = q.bind(entity).bind(id).bind(json);
            }
            q.execute(&mut *w.tx).await?;
        }
        self.dirty.clear();
        Ok(())
    }
}

/// Which of `ids` the column `key` of `table` holds, among rows meeting `condition` (SQL;
/// `1` for all), looked up in chunks so any number of ids fits one call.
pub(crate) async fn ids_present(
    conn: &mut sqlx::SqliteConnection,
    table: &str,
    key: &str,
    ids: &[String],
    condition: &str,
) -> CoreResult<std::collections::HashSet<String>> {
    let mut found = std::collections::HashSet::new();
    for chunk in ids.chunks(INSERT_CHUNK) {
        let sql = format!(
            "SELECT {key} FROM {table} WHERE {key} IN ({}) AND {condition}",
            vec!["?"; chunk.len()].join(", ")
        );
        let mut q = sqlx::query_scalar::<_, String>(&sql);
        for id in chunk {
            q = q.bind(id);
        }
        found.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(found)
}

/// Binds a JSON value as the SQLite value of a column.
fn bind_json<'q>(
    q: sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    v: &Value,
) -> sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>> {
    match v {
        Value::Null => q.bind(None::<String>),
        Value::Bool(b) => q.bind(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => q.bind(i),
            None => q.bind(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => q.bind(s.clone()),
        other => q.bind(other.to_string()),
    }
}

/// The current value of a column as JSON, for conflict records and comparisons.
async fn current_value(
    tx: &mut Transaction<'static, Sqlite>,
    table: &str,
    column: &str,
    id: &str,
) -> CoreResult<Value> {
    let row = sqlx::query(&format!(
        "SELECT typeof({column}) AS ty, {column} AS v FROM {table} WHERE id = ?"
    ))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else {
        return Ok(Value::Null);
    };
    let ty: String = row.get("ty");
    Ok(match ty.as_str() {
        "integer" => json!(row.get::<i64, _>("v")),
        "real" => json!(row.get::<f64, _>("v")),
        "text" => json!(row.get::<String, _>("v")),
        _ => Value::Null,
    })
}

/// SQLite stores booleans as 0/1; compare JSON values the way they are stored.
fn same_value(a: &Value, b: &Value) -> bool {
    let norm = |v: &Value| match v {
        Value::Bool(b) => json!(i64::from(*b)),
        other => other.clone(),
    };
    norm(a) == norm(b)
}

struct Applied {
    conflicts: i64,
}

/// The declaration a change is for, or a clear error.
fn record_for(c: &ChangeRecord) -> CoreResult<&'static SyncedRecord> {
    record(&c.entity).ok_or_else(|| {
        invalid(format!(
            "change {} is for an unknown entity '{}'",
            c.change_id, c.entity
        ))
    })
}

/// Applies one change from another replica inside `w`'s transaction. With `detect`
/// (the server, where every pair of concurrent writes meets) concurrent overwrites are
/// recorded as conflicts, themselves replicated as server changes. Few statements per
/// change: this runs 100,000 times in a new console's first sync.
async fn apply_change(
    w: &mut WriteTx<'_>,
    c: &ChangeRecord,
    detect: bool,
    engine: &mut Derive,
    cache: &mut ClockCache,
) -> CoreResult<Applied> {
    let rec = record_for(c)?;
    if let Some(apply) = rec.apply_own {
        // What it recomputes reads rows: write the updates decided so far first.
        cache.flush_rows(w, engine).await?;
        apply(w, c, engine).await?;
        return Ok(Applied { conflicts: 0 });
    }
    let op = Op::parse(&c.op).ok_or_else(|| {
        invalid(format!(
            "change {} has an unknown op '{}'",
            c.change_id, c.op
        ))
    })?;
    let fields = c
        .fields
        .as_object()
        .ok_or_else(|| invalid(format!("change {} has no field object", c.change_id)))?;
    let id = c.entity_id.to_string();
    let mut applied = Applied { conflicts: 0 };
    let key = clock_key(&c.hlc, c.change_id);

    if op == Op::Delete {
        sqlx::query(&format!("DELETE FROM {} WHERE id = ?", rec.table))
            .bind(&id)
            .execute(&mut *w.tx)
            .await?;
        sqlx::query("DELETE FROM record_clocks WHERE entity = ? AND entity_id = ?")
            .bind(&c.entity)
            .bind(&id)
            .execute(&mut *w.tx)
            .await?;
        cache.forget(&c.entity, &id);
        cache.mark_present(rec, &id, false);
        return Ok(applied);
    }

    if op == Op::Insert && insert_row(w, rec, c, fields, engine).await? {
        cache.mark_present(rec, &id, true);
        if !rec.append_only {
            let clocks: Clocks = fields.keys().map(|f| (f.clone(), json!(key))).collect();
            cache.put(&c.entity, &id, clocks);
        }
        if let (true, Some(settle)) = (detect, rec.server_insert) {
            cache.flush_one(w, &c.entity, &id).await?;
            settle(w, c.entity_id).await?;
        }
        if rec.after_apply.is_some() {
            // Derived state reads rows that may have updates pending: after the flush.
            cache.hooks.push((c.clone(), Vec::new()));
        }
        return Ok(applied);
    }
    if rec.append_only {
        return Ok(applied); // already here: a replayed page or a retried push
    }

    let mut clocks = cache.get(w, &c.entity, &id).await?;
    let mut sets: Vec<(&str, &Value)> = Vec::new();
    let mut picks: Vec<(&str, Merge, &Value)> = Vec::new();
    let mut extra: Option<&Value> = None;
    for (field, value) in fields {
        let is_extra = rec.extra.is_some_and(|e| e.name == field);
        if !rec.knows(field) {
            continue; // a field this version does not know: ignore, never guess a column
        }
        let clock = clocks
            .get(field)
            .and_then(Value::as_str)
            .map(str::to_string);
        let base = c
            .base
            .get(field)
            .and_then(Value::as_str)
            .map(str::to_string);
        let incoming_wins = clock.as_deref().is_none_or(|k| key.as_str() > k);
        let rule = rec.merge_of(field);
        match rule {
            Merge::Earliest | Merge::Latest => {
                // The earlier (later) of the two values stays, in any order of arrival.
                if incoming_wins {
                    clocks.insert(field.clone(), json!(key));
                }
                picks.push((field.as_str(), rule, value));
                continue;
            }
            Merge::SetOnce if clock.is_some() => continue, // set already: it stays
            _ => {}
        }
        if detect && rule == Merge::Edited && clock.is_some() && base != clock {
            let current = match (
                rec.extra.filter(|_| is_extra),
                cache.pending_value(rec, &id, field),
            ) {
                (Some(e), _) => (e.read)(w, c.entity_id).await?,
                (None, Some(pending)) => pending,
                (None, None) => current_value(&mut w.tx, rec.table, field, &id).await?,
            };
            if !same_value(&current, value) {
                let (kept, lost, lost_version, lost_replica) = if incoming_wins {
                    let loser = clock.clone().unwrap_or_default();
                    let replica = key_hlc(&loser)
                        .map(|h| h.replica.to_string())
                        .unwrap_or_default();
                    (value.clone(), current, loser, replica)
                } else {
                    (
                        current,
                        value.clone(),
                        key.clone(),
                        c.replica_id.to_string(),
                    )
                };
                record_conflict(w, c, field, kept, lost, lost_version, lost_replica).await?;
                applied.conflicts += 1;
            }
        }
        if !incoming_wins {
            continue;
        }
        clocks.insert(field.clone(), json!(key));
        if is_extra {
            extra = Some(value);
        } else {
            sets.push((field.as_str(), value));
        }
    }
    if sets.is_empty() && picks.is_empty() && extra.is_none() {
        return Ok(applied);
    }
    if !sets.is_empty() || !picks.is_empty() {
        if !cache.row_exists(w, rec, &id).await? {
            // Causal order makes this rare (the insert comes first); without the row there
            // is nothing to update, and a partial row would break its constraints.
            tracing::warn!(change = %c.change_id, entity = %c.entity, "update for a record this store does not have; skipped");
            return Ok(applied);
        }
        // Records whose lists sort by last change keep `updated_at` moving with remote edits.
        let stamp = rec.moves_updated_at.then(|| {
            key_hlc(&key)
                .map(|h| h.wall_ms)
                .unwrap_or_else(|| w.now_ms())
        });
        cache.pend_row(rec, &id, &sets, &picks, stamp);
    }
    if let (Some(v), Some(e)) = (extra, rec.extra) {
        (e.write)(w, c.entity_id, v).await?;
    }
    cache.put(&c.entity, &id, clocks);
    if rec.after_apply.is_some() {
        // Derived state reads the row: it runs once the pending updates are written.
        let written: Vec<String> = sets
            .iter()
            .map(|(f, _)| f.to_string())
            .chain(picks.iter().map(|(f, ..)| f.to_string()))
            .collect();
        cache.hooks.push((c.clone(), written));
    }
    Ok(applied)
}

/// The columns and values of the row a create change makes (derived columns included).
fn insert_values(
    rec: &SyncedRecord,
    c: &ChangeRecord,
    fields: &Map<String, Value>,
    engine: &Derive,
    now_ms: i64,
) -> CoreResult<(Vec<String>, Vec<Value>)> {
    let created = Hlc::from_str(&c.hlc).map(|h| h.wall_ms).unwrap_or(now_ms);
    let mut cols: Vec<String> = vec!["id".into()];
    let mut vals: Vec<Value> = vec![json!(c.entity_id.to_string())];
    for (k, v) in fields {
        if rec.columns.contains(&k.as_str()) {
            cols.push(k.clone());
            vals.push(v.clone());
        }
    }
    let mut extra = |col: &str, v: Value| {
        if !cols.iter().any(|c| c == col) {
            cols.push(col.into());
            vals.push(v);
        }
    };
    if let Some(derive) = rec.derive_on_insert {
        for (col, v) in derive(fields, created, engine)? {
            extra(col, v);
        }
    }
    for col in rec.stamps {
        extra(col, json!(created));
    }
    Ok((cols, vals))
}

/// Rows per multi-row INSERT: well under SQLite's 32,766 bound variables.
const INSERT_CHUNK: usize = 400;

/// Inserts rows that share one column list in as few statements as possible (one statement
/// costs a round trip to the database thread, which dominates a first sync).
async fn insert_rows(
    w: &mut WriteTx<'_>,
    rec: &SyncedRecord,
    cols: &[String],
    rows: &[Vec<Value>],
) -> CoreResult<u64> {
    let mut inserted = 0;
    let mut one = vec!["?"; cols.len()].join(", ");
    let mut col_list = cols.join(", ");
    // A column holding a linked record's rowid (full-text search), looked up in the insert.
    let rowid = rec
        .rowid_link
        .and_then(|(col, table, link)| Some((col, table, cols.iter().position(|k| k == link)?)));
    if let Some((col, table, _)) = rowid {
        col_list.push_str(&format!(", {col}"));
        one.push_str(&format!(", (SELECT rid FROM {table} WHERE id = ?)"));
    }
    for chunk in rows.chunks(INSERT_CHUNK) {
        let values = vec![format!("({one})"); chunk.len()].join(", ");
        let sql = format!(
            "INSERT INTO {} ({col_list}) VALUES {values} ON CONFLICT(id) DO NOTHING",
            rec.table
        );
        let mut q = sqlx::query(&sql);
        for row in chunk {
            for v in row {
                q = bind_json(q, v);
            }
            if let Some((_, _, i)) = rowid {
                q = bind_json(q, &row[i]);
            }
        }
        inserted += q.execute(&mut *w.tx).await?.rows_affected();
    }
    Ok(inserted)
}

/// Inserts the record a change creates; false when it is already here.
async fn insert_row(
    w: &mut WriteTx<'_>,
    rec: &SyncedRecord,
    c: &ChangeRecord,
    fields: &Map<String, Value>,
    engine: &Derive,
) -> CoreResult<bool> {
    let (cols, mut vals) = insert_values(rec, c, fields, engine, w.now_ms())?;
    if let Some(unique) = rec.unique {
        // Two stores each made a record with this value: keep both, tell them apart.
        if let Some(pos) = cols.iter().position(|c| c == unique) {
            let value = vals[pos].as_str().unwrap_or_default().to_string();
            let taken: Option<String> =
                sqlx::query_scalar(&format!("SELECT id FROM {} WHERE {unique} = ?", rec.table))
                    .bind(&value)
                    .fetch_optional(&mut *w.tx)
                    .await?;
            if taken.is_some() {
                vals[pos] = json!(format!(
                    "{value}-{}",
                    &c.entity_id.simple().to_string()[..6]
                ));
            }
        }
    }
    let done = insert_rows(w, rec, &cols, &[vals]).await.map_err(|e| {
        invalid(format!(
            "change {} ({} {}) cannot be applied: {e}",
            c.change_id, c.entity, c.entity_id
        ))
    })?;
    if done == 0 {
        return Ok(false);
    }
    if let Some(e) = rec.extra {
        if let Some(v) = fields.get(e.name).filter(|v| !is_empty_value(v)) {
            (e.write)(w, c.entity_id, v).await?;
        }
    }
    Ok(true)
}

/// A console's fast path for a run of creates of one kind (a first sync is mostly these):
/// rows, versions and derived state in a handful of statements. Records already here go
/// through [`apply_change`] like any other change.
async fn apply_creates(
    w: &mut WriteTx<'_>,
    run: &[&ChangeRecord],
    engine: &mut Derive,
    cache: &mut ClockCache,
) -> CoreResult<()> {
    let entity = run[0].entity.as_str();
    let rec = record(entity).ok_or_else(|| invalid(format!("unknown entity '{entity}'")))?;
    let ids: Vec<String> = run.iter().map(|c| c.entity_id.to_string()).collect();
    let present = ids_present(&mut w.tx, rec.table, "id", &ids, "1").await?;
    let mut groups: Vec<(Vec<String>, Vec<Vec<Value>>)> = Vec::new();
    let mut again: Vec<&ChangeRecord> = Vec::new();
    let mut fresh: Vec<&ChangeRecord> = Vec::new();
    let mut extras: Vec<(Uuid, &Value)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for c in run {
        let id = c.entity_id.to_string();
        let Some(fields) = c.fields.as_object() else {
            return Err(invalid(format!(
                "change {} has no field object",
                c.change_id
            )));
        };
        if present.contains(&id) || !seen.insert(id.clone()) {
            again.push(c);
            continue;
        }
        let (cols, vals) = insert_values(rec, c, fields, engine, w.now_ms())?;
        match groups.iter_mut().find(|(k, _)| *k == cols) {
            Some((_, rows)) => rows.push(vals),
            None => groups.push((cols, vec![vals])),
        }
        if !rec.append_only {
            let key = clock_key(&c.hlc, c.change_id);
            let versions: Clocks = fields.keys().map(|f| (f.clone(), json!(key))).collect();
            cache.put(entity, &id, versions);
        }
        if let Some(e) = rec.extra {
            if let Some(v) = fields.get(e.name).filter(|v| !is_empty_value(v)) {
                extras.push((c.entity_id, v));
            }
        }
        fresh.push(c);
    }
    for (cols, rows) in &groups {
        insert_rows(w, rec, cols, rows).await?;
    }
    for c in &fresh {
        cache.mark_present(rec, &c.entity_id.to_string(), true);
    }
    if let Some(e) = rec.extra {
        for (id, v) in extras {
            (e.write)(w, id, v).await?;
        }
    }
    if let (Some(after), false) = (rec.after_creates, fresh.is_empty()) {
        // Derived state reads rows: write the updates (and run the hooks) decided before.
        cache.flush_rows(w, engine).await?;
        after(w, &fresh, engine).await?;
    }
    for c in again {
        apply_change(w, c, false, engine, cache).await?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn record_conflict(
    w: &mut WriteTx<'_>,
    c: &ChangeRecord,
    field: &str,
    kept: Value,
    lost: Value,
    lost_hlc: String,
    lost_replica: String,
) -> CoreResult<()> {
    let id = Uuid::now_v7();
    let fields = json!({
        "entity": c.entity, "entity_id": c.entity_id.to_string(), "field": field,
        "kept_value": kept.to_string(), "lost_value": lost.to_string(),
        "lost_hlc": lost_hlc, "lost_replica": lost_replica, "detected_at": w.now_ms(),
    });
    let record = ChangeRecord {
        change_id: Uuid::now_v7(),
        replica_id: Uuid::nil(),
        replica_seq: 0,
        hlc: String::new(),
        entity: CONFLICT_RECORD.entity.into(),
        entity_id: id,
        op: "insert".into(),
        fields: fields.clone(),
        base: json!({}),
    };
    let engine = Derive::none();
    insert_row(
        w,
        &CONFLICT_RECORD,
        &record,
        fields.as_object().expect("object"),
        &engine,
    )
    .await?;
    w.record_change(CONFLICT_RECORD.entity, id, Op::Insert, fields)
        .await
}

/// Someone who edits a field while the record shows a conflict on it has seen both values:
/// the conflict is dealt with, by a synced edit of it (as when resolved by hand).
pub(crate) async fn settle_conflicts(
    w: &mut WriteTx<'_>,
    entity: &str,
    id: Uuid,
    fields: &[&str],
) -> CoreResult<()> {
    if fields.is_empty() {
        return Ok(());
    }
    let now = w.now_ms();
    let sql = format!(
        "UPDATE conflicts SET resolved_at = ? WHERE entity = ? AND entity_id = ? \
         AND resolved_at IS NULL AND field IN ({}) RETURNING id",
        vec!["?"; fields.len()].join(", ")
    );
    let mut q = sqlx::query_scalar::<_, String>(&sql)
        .bind(now)
        .bind(entity)
        .bind(id.to_string());
    for f in fields {
        q = q.bind(*f);
    }
    for settled in q.fetch_all(&mut *w.tx).await? {
        let conflict = parse_uuid(&settled)?;
        w.record_change(
            "conflict",
            conflict,
            Op::Update,
            json!({ "resolved_at": now }),
        )
        .await?;
    }
    Ok(())
}

/// Remembers a change the server did not take over, so a retried push is not mistaken for a
/// restored copy of the console reusing the number.
async fn note_refused(w: &mut WriteTx<'_>, c: &ChangeRecord) -> CoreResult<()> {
    sqlx::query(
        "INSERT INTO refused_changes (replica_id, replica_seq, change_id) VALUES (?, ?, ?) \
         ON CONFLICT DO NOTHING",
    )
    .bind(c.replica_id.to_string())
    .bind(c.replica_seq)
    .bind(c.change_id.to_string())
    .execute(&mut *w.tx)
    .await?;
    Ok(())
}

/// Appends changes made elsewhere to the log in bulk; returns the ids it did not hold yet.
async fn insert_log_batch(
    w: &mut WriteTx<'_>,
    changes: &[&ChangeRecord],
) -> CoreResult<std::collections::HashSet<String>> {
    let mut added = std::collections::HashSet::new();
    for chunk in changes.chunks(INSERT_CHUNK) {
        let sql = format!(
            "INSERT INTO changes ({CHANGE_COLS}) VALUES {} \
             ON CONFLICT(change_id) DO NOTHING RETURNING change_id",
            vec!["(NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ")
        );
        let mut q = sqlx::query_scalar::<_, String>(&sql);
        for c in chunk {
            q = q
                .bind(c.change_id.to_string())
                .bind(c.replica_id.to_string())
                .bind(c.replica_seq)
                .bind(&c.hlc)
                .bind(&c.entity)
                .bind(c.entity_id.to_string())
                .bind(&c.op)
                .bind(c.fields.to_string())
                .bind(c.base.to_string());
        }
        added.extend(q.fetch_all(&mut *w.tx).await?);
    }
    Ok(added)
}

/// Keeps the highest clock reading seen in the store, so a restart (or a restored backup)
/// never issues readings below values it already holds.
async fn persist_clock<'a>(
    w: &mut WriteTx<'_>,
    seen: impl Iterator<Item = &'a str>,
) -> CoreResult<()> {
    if let Some(max) = seen.filter(|h| Hlc::from_str(h).is_ok()).max() {
        sqlx::query("UPDATE replica SET last_hlc = max(last_hlc, ?) WHERE singleton = 1")
            .bind(max)
            .execute(&mut *w.tx)
            .await?;
    }
    Ok(())
}

fn change_from_row(r: &sqlx::sqlite::SqliteRow) -> CoreResult<ChangeRecord> {
    let fields: String = r.get("fields");
    let base: String = r.get("base");
    Ok(ChangeRecord {
        change_id: parse_uuid(r.get("change_id"))?,
        replica_id: parse_uuid(r.get("replica_id"))?,
        replica_seq: r.get("replica_seq"),
        hlc: r.get("hlc"),
        entity: r.get("entity"),
        entity_id: parse_uuid(r.get("entity_id"))?,
        op: r.get("op"),
        fields: serde_json::from_str(&fields).unwrap_or(Value::Null),
        base: serde_json::from_str(&base).unwrap_or_else(|_| json!({})),
    })
}

const CHANGE_COLS: &str =
    "seq, change_id, replica_id, replica_seq, hlc, entity, entity_id, op, fields, base";

/// How a transport failed, as far as the sync loop must tell cases apart.
#[derive(Debug)]
pub enum TransportError {
    /// The server expects this replica's changes to resume at `expected`.
    Gap { expected: i64 },
    /// Another copy of this replica (a restored backup) already used these numbers.
    ReplicaReused,
    /// The server could not be reached (no network, server down): keep working offline.
    Offline(String),
    /// Anything else, in words (refused, server error).
    Other(String),
}

/// What a pull of every page did.
enum Pulled {
    /// Applied this many changes; caught up.
    Done(i64),
    /// Applied this many, then met a new log epoch and rewound.
    Rewound(i64),
}

impl Pulled {
    fn count(&self) -> i64 {
        match self {
            Pulled::Done(n) | Pulled::Rewound(n) => *n,
        }
    }
}

/// Moves sync requests to the server and back.
#[allow(async_fn_in_trait)]
pub trait SyncTransport {
    async fn push(&self, req: &PushRequest) -> Result<PushResponse, TransportError>;
    async fn pull(&self, after: i64, limit: i64) -> Result<PullPage, TransportError>;
    /// Pages of the server log holding only changes of one entity type.
    async fn pull_entity(
        &self,
        entity: &str,
        after: i64,
        limit: i64,
    ) -> Result<PullPage, TransportError>;
    async fn checksums(&self) -> Result<Vec<EntityChecksum>, TransportError>;
    /// A page of the server's current records of one type (a new console's first sync).
    async fn snapshot(
        &self,
        entity: &str,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<SnapshotPage, TransportError>;
}

/// A server address as consoles store it: http(s), no trailing slash.
pub fn server_address(url: &str) -> CoreResult<String> {
    let url = url.trim().trim_end_matches('/');
    if url.starts_with("https://") || url.starts_with("http://") {
        Ok(url.to_string())
    } else {
        Err(invalid(
            "the server address must start with https:// (or http:// on a trusted network)",
        ))
    }
}

pub use outpost_pin::certificate_fingerprint;

/// The certificate pin a console keeps for a server address: an https server must come with
/// the fingerprint the person trusted; plain http (a trusted network) has none.
pub fn pin_for(url: &str, fingerprint: Option<&str>) -> CoreResult<Option<String>> {
    let url = server_address(url)?;
    match fingerprint.map(str::trim).filter(|f| !f.is_empty()) {
        _ if url.starts_with("http://") => Ok(None),
        Some(f) => normalize_fingerprint(f).map(Some),
        None => Err(invalid(
            "check the server's certificate first: an https server is trusted by the \
             fingerprint of its certificate, compared with what outpost-server printed",
        )),
    }
}

/// A console logs in to or syncs with an https server only through the certificate an admin
/// compared and trusted when connecting; without that pin (an entry from an older version,
/// a keyring that lost it) nothing is sent.
pub fn require_pin(url: &str, pin: Option<&str>) -> CoreResult<()> {
    if url.starts_with("https://") && pin.is_none() {
        return Err(CoreError::Unavailable(
            "this console has no trusted certificate for its server: an admin must connect \
             again in Settings → Connection to compare the server's certificate and trust it"
                .into(),
        ));
    }
    Ok(())
}

/// A fingerprint as a person typed or pasted it, in the form [`certificate_fingerprint`]
/// gives (case, spaces and the `SHA256:` prefix do not matter).
pub fn normalize_fingerprint(text: &str) -> CoreResult<String> {
    outpost_pin::normalize_fingerprint(text).map_err(invalid)
}

fn transport_failure(e: TransportError) -> CoreError {
    match e {
        TransportError::Offline(m) => CoreError::Offline(m),
        TransportError::Other(m) => CoreError::Unavailable(m),
        other => CoreError::Unavailable(format!("{other:?}")),
    }
}

/// What one sync round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub pushed: i64,
    pub pulled: i64,
    pub conflicts: i64,
    /// Changes the server did not take over (records of clients this user may no longer
    /// see, or privileged changes from a non-admin).
    pub refused: i64,
    /// Entity types re-synced after their checksums differed from the server's.
    pub resynced: Vec<String>,
}

impl Core {
    // ------------------------------------------------------------ the server's side

    /// Takes a batch of one replica's changes: one transaction, idempotent (changes the
    /// server already has are skipped), refusing gaps with the number it expects.
    pub async fn accept_push(&self, actor: &Actor, req: PushRequest) -> CoreResult<PushResponse> {
        actor.require_write()?;
        if req.changes.len() > MAX_PUSH_BATCH {
            return Err(invalid(format!(
                "a push carries at most {MAX_PUSH_BATCH} changes; send the rest in another push"
            )));
        }
        if req.replica_id == self.replica_id() {
            return Err(invalid("a replica cannot push to itself"));
        }
        let rid = req.replica_id.to_string();
        let mut w = self.write(actor).await?;
        let mut last: i64 =
            sqlx::query_scalar("SELECT last_seq FROM replicas WHERE replica_id = ?")
                .bind(&rid)
                .fetch_optional(&mut *w.tx)
                .await?
                .unwrap_or(0);
        let mut conflicts = 0;
        let mut refused = 0;
        let mut engine = (crate::store::record::registry().derive)(&mut w).await?;
        let mut fresh: Vec<&ChangeRecord> = Vec::new();
        let mut batch = scope::PushScope::default();
        for c in &req.changes {
            if c.replica_id != req.replica_id {
                return Err(invalid(format!(
                    "change {} belongs to replica {}, not to the pushing replica",
                    c.change_id, c.replica_id
                )));
            }
            Hlc::from_str(&c.hlc).map_err(invalid)?;
            if c.replica_seq <= last {
                let known: Option<String> = sqlx::query_scalar(
                    "SELECT change_id FROM changes WHERE replica_id = ?1 AND replica_seq = ?2 \
                     UNION ALL SELECT change_id FROM refused_changes \
                     WHERE replica_id = ?1 AND replica_seq = ?2",
                )
                .bind(&rid)
                .bind(c.replica_seq)
                .fetch_optional(&mut *w.tx)
                .await?;
                match known {
                    Some(k) if k == c.change_id.to_string() => continue,
                    _ => return Err(CoreError::ReplicaReused),
                }
            }
            if c.replica_seq != last + 1 {
                return Err(CoreError::SyncGap { expected: last + 1 });
            }
            last = c.replica_seq;
            self.observe_hlc(&c.hlc, w.now);
            if record(&c.entity).is_some_and(|r| r.server_only) {
                // What agents report is the server's to write; a console's copy is a cache.
                tracing::warn!(change = %c.change_id, entity = %c.entity, "console change of server-written data skipped");
                refused += 1;
                note_refused(&mut w, c).await?;
                continue;
            }
            if record(&c.entity).is_some_and(|r| r.admin_only)
                && actor.role != outpost_proto::Role::Admin
            {
                // Accounts and policy are the admins' on the server; a console's local copy
                // of them (say, from standalone days) is not taken over.
                tracing::warn!(change = %c.change_id, entity = %c.entity, "privileged change from a non-admin console skipped");
                refused += 1;
                note_refused(&mut w, c).await?;
                continue;
            }
            if !batch.allows(&mut w, actor, c).await? {
                // The user may not (or no longer) see this client: not taken over. The
                // console drops that client's records at its next pull.
                tracing::warn!(change = %c.change_id, entity = %c.entity, "change outside the user's clients skipped");
                refused += 1;
                note_refused(&mut w, c).await?;
                continue;
            }
            fresh.push(c);
        }
        // Into the log first, so changes the server makes in reaction (conflicts,
        // renumbering) come after them in every console's pull. A change id the log already
        // holds (sent again under a new replica id after a re-key) is the same change: keep
        // the first copy and do not apply it again.
        let logged = insert_log_batch(&mut w, &fresh).await?;
        let fresh: Vec<&ChangeRecord> = fresh
            .into_iter()
            .filter(|c| logged.contains(&c.change_id.to_string()))
            .collect();
        let mut cache = ClockCache::preload(&mut w, &fresh).await?;
        for c in fresh {
            conflicts += apply_change(&mut w, c, true, &mut engine, &mut cache)
                .await?
                .conflicts;
        }
        cache.flush(&mut w, &engine).await?;
        persist_clock(&mut w, req.changes.iter().map(|c| c.hlc.as_str())).await?;
        sqlx::query(
            "INSERT INTO replicas (replica_id, last_seq, last_seen) VALUES (?, ?, ?) \
             ON CONFLICT(replica_id) DO UPDATE SET last_seq = excluded.last_seq, last_seen = excluded.last_seen",
        )
        .bind(&rid)
        .bind(last)
        .bind(w.now_ms())
        .execute(&mut *w.tx)
        .await?;
        w.commit().await?;
        // Acknowledge what this request carried, not more: a console restored from a backup
        // may not hold the later numbers the server has seen (it will reuse them; see re-key).
        let carried = req.changes.iter().map(|c| c.replica_seq).max().unwrap_or(0);
        Ok(PushResponse {
            accepted_through: last.min(carried),
            conflicts,
            refused,
        })
    }

    /// One page of the server's change log after `after`, oldest first.
    pub async fn pull_changes(
        &self,
        actor: &Actor,
        after: i64,
        limit: Option<i64>,
    ) -> CoreResult<PullPage> {
        self.pull_page(actor, None, after, limit, SYNC_GENERATION)
            .await
    }

    /// A page of the log for a console of sync generation `generation` (record types newer
    /// than it are left out, so older consoles keep syncing with a newer server), limited to
    /// one entity type when asked.
    pub async fn pull_for(
        &self,
        actor: &Actor,
        q: &outpost_proto::PullQuery,
    ) -> CoreResult<PullPage> {
        let generation = q.sync.unwrap_or(1);
        if let Some(entity) = q.entity.as_deref() {
            if record(entity).is_none_or(|r| r.since > generation) {
                return Err(invalid(format!(
                    "'{entity}' is not an entity type that syncs"
                )));
            }
        }
        self.pull_page(actor, q.entity.as_deref(), q.after, q.limit, generation)
            .await
    }

    /// Like [`Core::pull_changes`], restricted to one entity type.
    pub async fn pull_entity_changes(
        &self,
        actor: &Actor,
        entity: &str,
        after: i64,
        limit: Option<i64>,
    ) -> CoreResult<PullPage> {
        if record(entity).is_none() {
            return Err(invalid(format!(
                "'{entity}' is not an entity type that syncs"
            )));
        }
        self.pull_page(actor, Some(entity), after, limit, SYNC_GENERATION)
            .await
    }

    /// A page of the log after `after`, holding only what `actor` may see. The page limit
    /// counts the log rows read, so the cursor moves past records the user may not see.
    async fn pull_page(
        &self,
        actor: &Actor,
        entity: Option<&str>,
        after: i64,
        limit: Option<i64>,
        generation: u8,
    ) -> CoreResult<PullPage> {
        let limit = limit.unwrap_or(500);
        if !(1..=MAX_PULL_PAGE).contains(&limit) {
            return Err(invalid(format!(
                "limit must be between 1 and {MAX_PULL_PAGE}"
            )));
        }
        if after < 0 {
            return Err(invalid("after must not be negative"));
        }
        let filter = if entity.is_some() {
            "entity = ? AND "
        } else {
            ""
        };
        let sql =
            format!("SELECT {CHANGE_COLS} FROM changes WHERE {filter}seq > ? ORDER BY seq LIMIT ?");
        let mut rows_q = sqlx::query(&sql);
        if let Some(e) = entity {
            rows_q = rows_q.bind(e);
        }
        let rows = rows_q
            .bind(after)
            .bind(limit + 1)
            .fetch_all(&self.pool)
            .await?;
        let latest: i64 = sqlx::query_scalar("SELECT coalesce(max(seq), 0) FROM changes")
            .fetch_one(&self.pool)
            .await?;
        let (epoch, starts_after): (String, i64) =
            sqlx::query_as("SELECT epoch, starts_after FROM log_epoch WHERE singleton = 1")
                .fetch_one(&self.pool)
                .await?;
        let has_more = rows.len() as i64 > limit;
        let rows = &rows[..rows.len().min(limit as usize)];
        let mut changes: Vec<ChangeRecord> = rows
            .iter()
            .map(change_from_row)
            .collect::<CoreResult<_>>()?;
        // What the console's generation does not know is left out; the cursor moves past it.
        changes.retain(|c| record(&c.entity).is_none_or(|r| r.since <= generation));
        if actor.clients.is_some() {
            changes = self.visible_changes(actor, changes).await?;
        }
        Ok(PullPage {
            changes,
            next_cursor: rows.last().map(|r| r.get::<i64, _>("seq")).unwrap_or(after),
            has_more,
            latest,
            scope: actor.clients.clone(),
            log_epoch: Some(epoch),
            epoch_starts_after: Some(starts_after),
        })
    }

    /// The changes of records `actor` may see (their client as the server holds it now).
    async fn visible_changes(
        &self,
        actor: &Actor,
        changes: Vec<ChangeRecord>,
    ) -> CoreResult<Vec<ChangeRecord>> {
        let mut by_entity: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
        let scoped = |entity: &str| record(entity).is_some_and(|r| r.client != ClientOf::Everyone);
        for c in &changes {
            if scoped(&c.entity) {
                by_entity
                    .entry(c.entity.as_str())
                    .or_default()
                    .push(c.entity_id.to_string());
            }
        }
        let mut conn = self.pool.acquire().await?;
        let mut visible = std::collections::HashSet::new();
        for (entity, ids) in by_entity {
            let Some(rec) = record(entity) else { continue };
            for id in scope::visible_ids(&mut conn, rec, &ids, actor).await? {
                visible.insert((entity.to_string(), id));
            }
        }
        drop(conn);
        Ok(changes
            .into_iter()
            .filter(|c| {
                !scoped(&c.entity) || visible.contains(&(c.entity.clone(), c.entity_id.to_string()))
            })
            .collect())
    }

    /// A digest per entity type of the records this store holds (synced columns only), to
    /// tell whether a console and the server agree.
    /// Only the records `actor` may see count, so a scoped console compares like with like.
    pub async fn checksums(&self, actor: &Actor) -> CoreResult<Vec<EntityChecksum>> {
        self.checksums_for(actor, SYNC_GENERATION).await
    }

    /// The checksums a console of sync generation `generation` compares.
    pub async fn checksums_for(
        &self,
        actor: &Actor,
        generation: u8,
    ) -> CoreResult<Vec<EntityChecksum>> {
        let mut out = Vec::new();
        for rec in crate::store::record::registry()
            .records
            .iter()
            .filter(|r| r.checked && r.is_table() && r.since <= generation)
        {
            let entity = rec.entity;
            let cols = rec.columns.join(", ");
            let rows: Vec<String> = sqlx::query_scalar(&format!(
                "SELECT json_array(id, {cols}) FROM {} WHERE {} ORDER BY id",
                rec.table,
                scope::row_condition(rec, actor)
            ))
            .fetch_all(&self.pool)
            .await?;
            let mut h = Sha256::new();
            for r in &rows {
                h.update(r.as_bytes());
                h.update(b"\n");
            }
            out.push(EntityChecksum {
                entity: entity.to_string(),
                count: rows.len() as i64,
                hash: hex::encode(h.finalize()),
            });
        }
        Ok(out)
    }

    // ------------------------------------------------------------ a console's side

    /// Local changes the server has not acknowledged, oldest first, in whole operations: a
    /// page that would end inside one takes the rest of it (up to [`MAX_PUSH_BATCH`]), since
    /// the server applies a push at once and a console may be lost before its next one.
    pub async fn pending_changes(&self, limit: i64) -> CoreResult<Vec<ChangeRecord>> {
        let me = self.replica_id().to_string();
        let mut rows = sqlx::query(&format!(
            "SELECT {CHANGE_COLS}, tx FROM changes WHERE replica_id = ? \
             AND replica_seq > (SELECT pushed_seq FROM sync_state) ORDER BY replica_seq LIMIT ?"
        ))
        .bind(&me)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let last = rows.last().map(|r| {
            (
                r.get::<Option<String>, _>("tx"),
                r.get::<i64, _>("replica_seq"),
            )
        });
        if let (Some((Some(tx), seq)), true) = (last, (rows.len() as i64) == limit) {
            let room = (MAX_PUSH_BATCH as i64 - limit).max(0);
            let rest = sqlx::query(&format!(
                "SELECT {CHANGE_COLS}, tx FROM changes WHERE replica_id = ? AND tx = ? \
                 AND replica_seq > ? ORDER BY replica_seq LIMIT ?"
            ))
            .bind(&me)
            .bind(&tx)
            .bind(seq)
            .bind(room)
            .fetch_all(&self.pool)
            .await?;
            rows.extend(rest);
        }
        rows.iter().map(change_from_row).collect()
    }

    async fn set_pushed(&self, through: i64) -> CoreResult<()> {
        sqlx::query("UPDATE sync_state SET pushed_seq = ?")
            .bind(through)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Applies a pulled page and moves the cursor in one transaction, so a crash between
    /// pages only replays a page, harmlessly.
    pub async fn apply_pull(&self, page: &PullPage) -> CoreResult<i64> {
        Ok(self.apply_page(page, true).await?.unwrap_or(0))
    }

    /// Applies a page; `move_cursor` is false for a re-sync of one entity type, which reads
    /// the log again from the start without moving this console's place in it.
    /// None: the user's client scope widened, and the console starts a fresh snapshot
    /// instead (nothing of this page was applied).
    async fn apply_page(&self, page: &PullPage, move_cursor: bool) -> CoreResult<Option<i64>> {
        let system = Actor::system();
        let mut w = self.write(&system).await?;
        if scope::adopt_scope(&mut w, &page.scope).await? == ScopeMove::Widened {
            w.commit().await?;
            return Ok(None);
        }
        let me = self.replica_id();
        let mut engine = (crate::store::record::registry().derive)(&mut w).await?;
        // Which of our own changes in this page we still hold (one query, not one each).
        let own: Vec<String> = page
            .changes
            .iter()
            .filter(|c| c.replica_id == me)
            .map(|c| c.change_id.to_string())
            .collect();
        let held = ids_present(&mut w.tx, "changes", "change_id", &own, "1").await?;
        let ours = |c: &ChangeRecord| c.replica_id == me && held.contains(&c.change_id.to_string());
        // Creates of ordinary records can go in bulk; users (name clashes) and conflicts
        // take the one-by-one path.
        let batchable = |c: &ChangeRecord| {
            c.op == "insert" && record(&c.entity).is_some_and(bulk_insertable) && !ours(c)
        };
        let changes = &page.changes;
        let mut cache = ClockCache::preload(&mut w, &changes.iter().collect::<Vec<_>>()).await?;
        let mut applied = 0;
        let mut i = 0;
        while i < changes.len() {
            let c = &changes[i];
            self.observe_hlc(&c.hlc, w.now);
            if ours(c) {
                i += 1; // our own change coming back
                continue;
            }
            // Our own change that this store no longer has (restored from a backup) is
            // applied like anyone else's; a reused number is settled by the next push.
            if batchable(c) {
                let mut j = i + 1;
                while j < changes.len() && changes[j].entity == c.entity && batchable(&changes[j]) {
                    self.observe_hlc(&changes[j].hlc, w.now);
                    j += 1;
                }
                let run: Vec<&ChangeRecord> = changes[i..j].iter().collect();
                apply_creates(&mut w, &run, &mut engine, &mut cache).await?;
                applied += (j - i) as i64;
                i = j;
                continue;
            }
            apply_change(&mut w, c, false, &mut engine, &mut cache).await?;
            applied += 1;
            i += 1;
        }
        cache.flush(&mut w, &engine).await?;
        persist_clock(&mut w, page.changes.iter().map(|c| c.hlc.as_str())).await?;
        if move_cursor {
            sqlx::query(
                "UPDATE sync_state SET cursor = max(cursor, ?), last_sync_at = ?, \
                 last_error = NULL, server_latest = ?",
            )
            .bind(page.next_cursor)
            .bind(w.now_ms())
            .bind(page.latest)
            .execute(&mut *w.tx)
            .await?;
        }
        w.commit().await?;
        Ok(Some(applied))
    }

    /// Gives this replica a new id (its copy was restored from a backup and the server has
    /// seen its numbers used differently); unsent changes move to the new id.
    pub async fn rekey_replica(&self) -> CoreResult<Uuid> {
        let old = self.replica_id();
        let new = Uuid::now_v7();
        let system = Actor::system();
        let mut w = self.write(&system).await?;
        let pushed: i64 = sqlx::query_scalar("SELECT pushed_seq FROM sync_state")
            .fetch_one(&mut *w.tx)
            .await?;
        // Keep the old replica's acknowledged history; renumber the rest from 1.
        sqlx::query(
            "UPDATE changes SET replica_id = ?, replica_seq = replica_seq - ? \
             WHERE replica_id = ? AND replica_seq > ?",
        )
        .bind(new.to_string())
        .bind(pushed)
        .bind(old.to_string())
        .bind(pushed)
        .execute(&mut *w.tx)
        .await?;
        sqlx::query("UPDATE replica SET replica_id = ?")
            .bind(new.to_string())
            .execute(&mut *w.tx)
            .await?;
        sqlx::query("UPDATE sync_state SET pushed_seq = 0")
            .execute(&mut *w.tx)
            .await?;
        w.commit().await?;
        self.set_replica_id(new);
        tracing::warn!(%old, %new, "replica re-keyed: this copy was restored from a backup");
        Ok(new)
    }

    /// Compares checksums with the server once the console has nothing left to send, and
    /// re-syncs every entity type that differs. Returns the types it re-synced.
    pub async fn verify_sync(&self, t: &impl SyncTransport, page: i64) -> CoreResult<Vec<String>> {
        if self.unsent_changes().await? > 0 {
            return Ok(Vec::new()); // only a caught-up console can be compared
        }
        let remote = t.checksums().await.map_err(transport_failure)?;
        let differs = |local: &[EntityChecksum]| -> Vec<String> {
            remote
                .iter()
                .filter(|r| !local.iter().any(|l| l == *r))
                .map(|r| r.entity.clone())
                .collect()
        };
        let everything = Actor::system();
        let mismatched = differs(&self.checksums(&everything).await?);
        for entity in &mismatched {
            tracing::warn!(%entity, "checksum differs from the server; re-syncing this type");
            self.resync_entity(t, entity, page).await?;
        }
        let still = differs(&self.checksums(&everything).await?);
        if !still.is_empty() {
            return Err(CoreError::Conflict(format!(
                "this console still differs from the server for {} after a re-sync; \
                 sync again, and report it if it persists",
                still.join(", ")
            )));
        }
        sqlx::query("UPDATE sync_state SET verified_at = ?")
            .bind(to_ms(self.now()))
            .execute(&self.pool)
            .await?;
        Ok(mismatched)
    }

    /// Reads every change of one type again and lets the server's versions win: the local
    /// versions of that type are forgotten first, so a record that drifted is overwritten.
    async fn resync_entity(
        &self,
        t: &impl SyncTransport,
        entity: &str,
        page: i64,
    ) -> CoreResult<()> {
        sqlx::query("DELETE FROM record_clocks WHERE entity = ?")
            .bind(entity)
            .execute(&self.pool)
            .await?;
        // Earliest- and latest-wins fields keep the extreme of what they hold and what comes:
        // empty them, so reading every change again leaves the server's value.
        if let Some(rec) = record(entity).filter(|r| r.is_table()) {
            let picked: Vec<String> = rec
                .merge
                .iter()
                .filter(|(_, m)| matches!(m, Merge::Earliest | Merge::Latest))
                .map(|(f, _)| format!("{f} = NULL"))
                .collect();
            if !picked.is_empty() {
                sqlx::query(&format!("UPDATE {} SET {}", rec.table, picked.join(", ")))
                    .execute(&self.pool)
                    .await?;
            }
        }
        let mut after = 0;
        loop {
            let p = t
                .pull_entity(entity, after, page)
                .await
                .map_err(transport_failure)?;
            if self.apply_page(&p, false).await?.is_none() {
                return Ok(()); // a fresh snapshot follows in this round
            }
            after = p.next_cursor;
            if !p.has_more {
                return Ok(());
            }
        }
    }

    /// Shows a sync problem found outside a round (no saved session, say) in the status.
    pub async fn record_sync_error(&self, message: &str) -> CoreResult<()> {
        sqlx::query("UPDATE sync_state SET last_error = ?")
            .bind(message)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// One full round: push everything pending (in batches), then pull until caught up.
    pub async fn sync_once(&self, t: &impl SyncTransport, page: i64) -> CoreResult<SyncReport> {
        let result = self.sync_round(t, page).await;
        let (error, offline) =
            match &result {
                Ok(r) if r.refused > 0 => (
                    Some(format!(
                    "the server did not take {} change{} made here: {} records of clients your \
                     account may not see (or that only an admin may change). They stay in this \
                     console's history; ask an admin if you should see that client",
                    r.refused,
                    if r.refused == 1 { "" } else { "s" },
                    if r.refused == 1 { "it concerns" } else { "they concern" },
                )),
                    false,
                ),
                Ok(_) => (None, false),
                Err(e @ CoreError::Offline(_)) => (Some(e.to_string()), true),
                Err(e) => (Some(e.to_string()), false),
            };
        sqlx::query("UPDATE sync_state SET last_error = ?, offline = ?")
            .bind(error)
            .bind(offline)
            .execute(&self.pool)
            .await?;
        result
    }

    async fn sync_round(&self, t: &impl SyncTransport, page: i64) -> CoreResult<SyncReport> {
        let mut report = SyncReport::default();
        let mut rekeyed = false;
        // A server restored from a backup (a new log epoch) is met once per round: the pull
        // that notices it rewinds, and the round pushes and pulls again.
        let mut rewound = false;
        loop {
            self.push_pending(t, page, &mut report, &mut rekeyed)
                .await?;
            match self.pull_all(t, page).await? {
                Pulled::Done(n) => {
                    report.pulled += n;
                    break;
                }
                Pulled::Rewound(n) if !rewound => {
                    report.pulled += n;
                    rewound = true;
                }
                Pulled::Rewound(_) => {
                    return Err(CoreError::Conflict(
                        "the server's change log changed twice during one sync (restored from \
                         backups again and again?); sync again later"
                            .into(),
                    ))
                }
            }
        }
        let verified: Option<i64> = sqlx::query_scalar("SELECT verified_at FROM sync_state")
            .fetch_one(&self.pool)
            .await?;
        if verified.is_none_or(|v| to_ms(self.now()) - v >= VERIFY_EVERY_MS) {
            report.resynced = self.verify_sync(t, page).await?;
        }
        Ok(report)
    }

    /// Pushes every change the server has not acknowledged, in pages.
    async fn push_pending(
        &self,
        t: &impl SyncTransport,
        page: i64,
        report: &mut SyncReport,
        rekeyed: &mut bool,
    ) -> CoreResult<()> {
        loop {
            let changes = self.pending_changes(page).await?;
            if changes.is_empty() {
                break;
            }
            let req = PushRequest {
                replica_id: self.replica_id(),
                changes,
            };
            match t.push(&req).await {
                Ok(r) => {
                    self.set_pushed(r.accepted_through).await?;
                    report.pushed += req.changes.len() as i64;
                    report.conflicts += r.conflicts;
                    report.refused += r.refused;
                    if r.refused > 0 {
                        tracing::warn!(refused = r.refused, "the server did not take some changes: they belong to clients this user may not see");
                    }
                }
                Err(TransportError::Gap { expected }) => {
                    // The server has less (or more) than we thought: resume where it says.
                    self.set_pushed(expected - 1).await?;
                }
                Err(TransportError::ReplicaReused) if !*rekeyed => {
                    // Learn what the lost future of this copy did first, then re-key.
                    report.pulled += self.pull_all(t, page).await?.count();
                    self.rekey_replica().await?;
                    *rekeyed = true;
                }
                Err(TransportError::ReplicaReused) => {
                    return Err(CoreError::Conflict(
                        "the server still refuses this console's changes after a re-key; \
                         contact your administrator"
                            .into(),
                    ))
                }
                Err(TransportError::Offline(m)) => return Err(CoreError::Offline(m)),
                Err(TransportError::Other(m)) => return Err(CoreError::Unavailable(m)),
            }
        }
        Ok(())
    }

    /// Pulls and applies pages until the server has nothing newer; a console that has not
    /// taken its snapshot yet (new, or its client scope widened) takes it first. A page from
    /// a new log epoch (the server was restored from a backup) rewinds instead: see
    /// [`Core::follow_epoch`].
    async fn pull_all(&self, t: &impl SyncTransport, page: i64) -> CoreResult<Pulled> {
        let mut pulled = 0;
        loop {
            let (cursor, booted, boot_entity, boot_after): (
                i64,
                bool,
                Option<String>,
                Option<String>,
            ) = sqlx::query_as("SELECT cursor, booted, boot_entity, boot_after FROM sync_state")
                .fetch_one(&self.pool)
                .await?;
            if !booted {
                let first = crate::store::record::registry()
                    .snapshot_order()
                    .next()
                    .unwrap_or_default();
                let entity = boot_entity.unwrap_or_else(|| first.into());
                let after = boot_after.and_then(|a| Uuid::parse_str(&a).ok());
                pulled += self.take_snapshot(t, entity, after, page).await?;
                continue;
            }
            let p = t.pull(cursor, page).await.map_err(transport_failure)?;
            if self.follow_epoch(&p).await? {
                return Ok(Pulled::Rewound(pulled));
            }
            match self.apply_page(&p, true).await? {
                Some(n) => pulled += n,
                None => continue, // scope widened: snapshot first
            }
            if !p.has_more {
                return Ok(Pulled::Done(pulled));
            }
        }
    }

    /// Notes the server log's epoch; when it changed (the server was restored from a
    /// backup), rewinds: the pull cursor to where the new epoch begins (changes the restored
    /// server logs anew come after it), and the pushed mark one back, so the next push offers
    /// the last change the server acknowledged — a restored server that lost it answers with
    /// the number it expects, and everything from there is sent again. True when it rewound.
    async fn follow_epoch(&self, p: &PullPage) -> CoreResult<bool> {
        let Some(epoch) = p.log_epoch.as_deref() else {
            return Ok(false); // a server from before epochs
        };
        let known: Option<String> = sqlx::query_scalar("SELECT server_epoch FROM sync_state")
            .fetch_one(&self.pool)
            .await?;
        match known {
            Some(k) if k == epoch => Ok(false),
            None => {
                sqlx::query("UPDATE sync_state SET server_epoch = ?")
                    .bind(epoch)
                    .execute(&self.pool)
                    .await?;
                Ok(false)
            }
            Some(_) => {
                let starts_after = p.epoch_starts_after.unwrap_or(0).max(0);
                tracing::warn!(
                    starts_after,
                    "the server was restored from a backup: pulling again from where it begins \
                     and offering this console's changes again"
                );
                sqlx::query(
                    "UPDATE sync_state SET server_epoch = ?, cursor = min(cursor, ?), \
                     pushed_seq = max(pushed_seq - 1, 0)",
                )
                .bind(epoch)
                .bind(starts_after)
                .execute(&self.pool)
                .await?;
                Ok(true)
            }
        }
    }

    pub(crate) async fn unsent_changes(&self) -> CoreResult<i64> {
        Ok(sqlx::query_scalar(
            "SELECT count(*) FROM changes WHERE replica_id = ? \
             AND replica_seq > (SELECT pushed_seq FROM sync_state)",
        )
        .bind(self.replica_id().to_string())
        .fetch_one(&self.pool)
        .await?)
    }

    pub async fn sync_status(&self) -> CoreResult<SyncStatus> {
        let r = sqlx::query(
            // During a snapshot: records still to come, then the log after it.
            "SELECT server_url, pushed_seq, last_sync_at, last_error, offline, \
             CASE WHEN booted = 0 AND boot_total IS NOT NULL \
                  THEN max(boot_total - boot_done, 0) \
                  ELSE max(server_latest - cursor, 0) END AS to_fetch FROM sync_state",
        )
        .fetch_one(&self.pool)
        .await?;
        let pushed: i64 = r.get("pushed_seq");
        let newest: i64 = sqlx::query_scalar(
            "SELECT coalesce(max(replica_seq), 0) FROM changes WHERE replica_id = ?",
        )
        .bind(self.replica_id().to_string())
        .fetch_one(&self.pool)
        .await?;
        let open: i64 =
            sqlx::query_scalar("SELECT count(*) FROM conflicts WHERE resolved_at IS NULL")
                .fetch_one(&self.pool)
                .await?;
        let server_url: Option<String> = r.get("server_url");
        Ok(SyncStatus {
            // Standalone (and the server itself) has nobody to send changes to.
            pending: if server_url.is_some() {
                (newest - pushed).max(0)
            } else {
                0
            },
            server_url,
            offline: r.get("offline"),
            to_fetch: r.get("to_fetch"),
            last_sync_at: r.get::<Option<i64>, _>("last_sync_at").map(from_ms),
            last_error: r.get("last_error"),
            open_conflicts: open,
            certificate: None, // kept in the OS keyring; the desktop app fills it in
        })
    }

    /// Conflicts recorded for one record, newest first.
    pub async fn conflicts_for(&self, entity: &str, id: Uuid) -> CoreResult<Vec<Conflict>> {
        let rows = sqlx::query(
            "SELECT id, entity, entity_id, field, kept_value, lost_value, detected_at, resolved_at \
             FROM conflicts WHERE entity = ? AND entity_id = ? ORDER BY detected_at DESC",
        )
        .bind(entity)
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let kept: String = r.get("kept_value");
                let lost: String = r.get("lost_value");
                Ok(Conflict {
                    id: parse_uuid(r.get("id"))?,
                    entity: r.get("entity"),
                    entity_id: parse_uuid(r.get("entity_id"))?,
                    field: r.get("field"),
                    kept_value: serde_json::from_str(&kept).unwrap_or(Value::Null),
                    lost_value: serde_json::from_str(&lost).unwrap_or(Value::Null),
                    detected_at: from_ms(r.get("detected_at")),
                    resolved: r.get::<Option<i64>, _>("resolved_at").is_some(),
                })
            })
            .collect()
    }

    /// Marks a conflict as dealt with (the technician kept the value, or chose the other one
    /// with a normal edit). Syncs like any edit.
    pub async fn resolve_conflict(&self, actor: &Actor, id: Uuid) -> CoreResult<()> {
        actor.require_write()?;
        let mut w = self.write(actor).await?;
        let now = w.now_ms();
        let done = sqlx::query(
            "UPDATE conflicts SET resolved_at = ? WHERE id = ? AND resolved_at IS NULL",
        )
        .bind(now)
        .bind(id.to_string())
        .execute(&mut *w.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(CoreError::NotFound(format!("no open conflict {id}")));
        }
        w.record_change("conflict", id, Op::Update, json!({ "resolved_at": now }))
            .await?;
        w.audit("conflict.resolve", "conflict", id, None, None)
            .await?;
        w.commit().await
    }

    /// Standalone (`None`) or connected to a server; returns the address as stored.
    pub async fn set_server(&self, url: Option<&str>) -> CoreResult<Option<String>> {
        let url = url.map(server_address).transpose()?;
        sqlx::query("UPDATE sync_state SET server_url = ?, last_error = NULL, offline = 0")
            .bind(&url)
            .execute(&self.pool)
            .await?;
        Ok(url)
    }

    pub(crate) fn observe_hlc(&self, remote: &str, now: chrono::DateTime<chrono::Utc>) {
        if let Ok(h) = Hlc::from_str(remote) {
            self.observe_remote(h, to_ms(now));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_and_latest_wins_pick_in_any_order_and_empty_gives_way() {
        for (a, b) in [(json!(5), json!(9)), (json!(9), json!(5))] {
            assert_eq!(pick(Merge::Earliest, &a, &b), json!(5));
            assert_eq!(pick(Merge::Latest, &a, &b), json!(9));
        }
        for rule in [Merge::Earliest, Merge::Latest] {
            assert_eq!(pick(rule, &Value::Null, &json!(7)), json!(7));
            assert_eq!(pick(rule, &json!(7), &Value::Null), json!(7));
            assert_eq!(pick(rule, &Value::Null, &Value::Null), Value::Null);
        }
    }

    #[test]
    fn versions_are_stored_grouped_and_read_in_both_forms() {
        let mut clocks = Clocks::new();
        clocks.insert("title".into(), json!("h1/c1"));
        clocks.insert("status".into(), json!("h2/c2"));
        clocks.insert("priority".into(), json!("h1/c1"));
        let stored = encode_clocks(&clocks);
        assert_eq!(
            stored,
            r#"{"h1/c1":["priority","title"],"h2/c2":["status"]}"#
        );
        assert_eq!(decode_clocks(&stored), clocks);
        // One entry per field, as stores wrote before grouping.
        let legacy = r#"{"title":"h1/c1","status":"h2/c2","priority":"h1/c1"}"#;
        assert_eq!(decode_clocks(legacy), clocks);
        assert_eq!(decode_clocks("not json"), Clocks::new());
    }
}
