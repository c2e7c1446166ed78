//! The store: one SQLite file (WAL, foreign keys on), its migrations, and the write path.
//!
//! Every write goes through [`WriteTx`]: one transaction that changes the rows, appends a
//! change record stamped with the hybrid logical clock (for sync) and a hash-chained audit
//! event (who, what, when, before/after). Either all of it lands or none of it does.

pub(crate) mod record;
pub(crate) mod versions;

use crate::clock::{to_ms, Clock, Hlc, HlcClock};
use crate::error::{CoreError, CoreResult};
use chrono::{DateTime, Utc};
use outpost_proto::Role;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, Sqlite, SqlitePool, Transaction};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// Who is acting. Every service call takes one, so rules and the audit log know the person.
#[derive(Debug, Clone, PartialEq)]
pub struct Actor {
    pub user_id: Option<Uuid>,
    pub name: String,
    pub role: Role,
    /// The clients this person may see; None: every client.
    pub clients: Option<Vec<Uuid>>,
}

impl Actor {
    /// The machine itself: command-line administration, demo data, migrations.
    pub fn system() -> Actor {
        Actor {
            user_id: None,
            name: "system".into(),
            role: Role::Admin,
            clients: None,
        }
    }

    /// Whether this person may see the client's records.
    pub fn may_see(&self, client: Uuid) -> bool {
        self.clients.as_ref().is_none_or(|c| c.contains(&client))
    }

    /// A SQL condition limiting `column` (a client id) to this person's clients: `1` when
    /// they see every client. Ids are parsed UUIDs, so inlining them cannot inject SQL.
    pub fn client_condition(&self, column: &str) -> String {
        match &self.clients {
            None => "1".into(),
            Some(ids) => format!(
                "{column} IN ({})",
                ids.iter()
                    .map(|id| format!("'{id}'"))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        }
    }

    /// Refuses a client outside this person's scope as if it did not exist.
    pub fn require_client(&self, client: Uuid) -> CoreResult<()> {
        if self.may_see(client) {
            Ok(())
        } else {
            Err(CoreError::NotFound(format!(
                "client {client} does not exist or is not one of your clients"
            )))
        }
    }

    pub fn require_write(&self) -> CoreResult<()> {
        if self.role == Role::Viewer {
            return Err(CoreError::Forbidden(
                "Viewers can look but not change anything; ask an admin for the technician role."
                    .into(),
            ));
        }
        Ok(())
    }

    pub fn require_admin(&self) -> CoreResult<()> {
        if self.role != Role::Admin {
            return Err(CoreError::Forbidden(
                "Only an admin can do this; ask an admin of your organisation.".into(),
            ));
        }
        Ok(())
    }
}

/// The embedded core: the database plus the clocks. Cheap to share behind an `Arc`.
pub struct Core {
    pub(crate) pool: SqlitePool,
    pub(crate) clock: Arc<dyn Clock>,
    // Changes only when a restored backup is re-keyed (sync::rekey_replica).
    replica_id: std::sync::RwLock<Uuid>,
    hlc: std::sync::Mutex<HlcClock>,
    // SQLite has one writer; queueing writers here avoids SQLITE_BUSY on lock upgrades.
    write_lock: tokio::sync::Mutex<()>,
    events: tokio::sync::broadcast::Sender<Event>,
    /// Where agents reach this store's gateway, when one runs (set by its host).
    pub(crate) gateway: std::sync::RwLock<Option<outpost_proto::GatewayInfo>>,
    pub(crate) connected_agents: std::sync::atomic::AtomicI64,
    /// The folder holding the store file (its key file for sealed secrets lives beside it).
    pub(crate) data_dir: std::path::PathBuf,
    /// State a domain keeps in memory for this store (alert streaks), one value per type.
    domain_states: std::sync::Mutex<
        std::collections::HashMap<std::any::TypeId, Arc<dyn std::any::Any + Send + Sync>>,
    >,
}

/// Something that happened which live connections may need to act on (an agent revoked:
/// its connection is dropped). Best effort: a listener that lags misses events.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub what: &'static str,
    pub id: Uuid,
}

pub const DB_FILE: &str = "outpost.db";

impl Core {
    /// Opens (creating if needed) the store in `dir` with these synced record types,
    /// applying any pending migrations. (`Core::open_dir` passes every record type.)
    pub(crate) async fn open_dir_with(
        dir: &Path,
        clock: Arc<dyn Clock>,
        records: &'static record::Registry,
    ) -> CoreResult<Core> {
        std::fs::create_dir_all(dir).map_err(|e| {
            CoreError::Internal(format!(
                "cannot create the data folder {}: {e}; check its permissions",
                dir.display()
            ))
        })?;
        Self::open_with(&dir.join(DB_FILE), clock, records).await
    }

    pub(crate) async fn open_with(
        path: &Path,
        clock: Arc<dyn Clock>,
        records: &'static record::Registry,
    ) -> CoreResult<Core> {
        record::install(records);
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .pragma("cache_size", "-32000");
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;

        let row = sqlx::query("SELECT replica_id, last_hlc FROM replica WHERE singleton = 1")
            .fetch_optional(&pool)
            .await?;
        let (replica_id, last) = match row {
            Some(r) => {
                let id: String = r.get("replica_id");
                let last: String = r.get("last_hlc");
                (parse_uuid(&id)?, Hlc::from_str(&last).ok())
            }
            None => {
                let id = Uuid::now_v7();
                sqlx::query("INSERT INTO replica (singleton, replica_id) VALUES (1, ?)")
                    .bind(id.to_string())
                    .execute(&pool)
                    .await?;
                (id, None)
            }
        };
        Ok(Core {
            pool,
            clock,
            replica_id: std::sync::RwLock::new(replica_id),
            hlc: std::sync::Mutex::new(HlcClock::new(replica_id, last)),
            write_lock: tokio::sync::Mutex::new(()),
            events: tokio::sync::broadcast::channel(256).0,
            gateway: std::sync::RwLock::new(None),
            connected_agents: std::sync::atomic::AtomicI64::new(0),
            data_dir: path
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| ".".into()),
            domain_states: Default::default(),
        })
    }

    /// Tells live listeners (see [`Event`]).
    pub fn announce(&self, what: &'static str, id: Uuid) {
        let _ = self.events.send(Event { what, id });
    }

    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// The in-memory state of type `T` of this store, made on first use.
    pub(crate) fn domain_state<T: Default + Send + Sync + 'static>(&self) -> Arc<T> {
        let mut map = self.domain_states.lock().unwrap_or_else(|p| p.into_inner());
        let entry = map
            .entry(std::any::TypeId::of::<T>())
            .or_insert_with(|| Arc::new(T::default()));
        entry
            .clone()
            .downcast::<T>()
            .unwrap_or_else(|_| Arc::new(T::default()))
    }

    pub fn replica_id(&self) -> Uuid {
        *self.replica_id.read().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn set_replica_id(&self, id: Uuid) {
        *self.replica_id.write().unwrap_or_else(|p| p.into_inner()) = id;
        let mut clock = self.hlc.lock().unwrap_or_else(|p| p.into_inner());
        *clock = HlcClock::new(id, Some(clock.last()));
    }

    /// Folds a clock reading from another replica into ours.
    pub(crate) fn observe_remote(&self, remote: Hlc, now_ms: i64) {
        let mut clock = self.hlc.lock().unwrap_or_else(|p| p.into_inner());
        clock.observe(remote, now_ms);
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The folder holding the store file.
    pub fn data_dir(&self) -> &std::path::Path {
        &self.data_dir
    }

    /// Starts the one transaction of a write operation.
    pub(crate) async fn write<'a>(&'a self, actor: &'a Actor) -> CoreResult<WriteTx<'a>> {
        let guard = self.write_lock.lock().await;
        let tx = self.pool.begin().await?;
        Ok(WriteTx {
            tx,
            core: self,
            actor,
            now: self.clock.now(),
            id: Uuid::now_v7(),
            _guard: guard,
        })
    }

    /// Holds off other writers without a transaction of the write path (bulk upkeep that
    /// keeps no change log, such as metric rollups).
    pub(crate) async fn write_lock_only(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.write_lock.lock().await
    }

    fn next_hlc(&self, now: DateTime<Utc>) -> Hlc {
        let mut clock = self.hlc.lock().unwrap_or_else(|p| p.into_inner());
        clock.tick(to_ms(now))
    }

    /// Re-computes the audit chain; returns the number of events, or the first broken one
    /// in words (see [`Core::audit_verification`] for the details).
    pub async fn verify_audit_chain(&self) -> CoreResult<u64> {
        let v = self.audit_verification().await?;
        match v.broken {
            None => Ok(v.events as u64),
            Some(b) => Err(CoreError::Conflict(format!(
                "the audit log was altered at event {}: {}",
                b.seq, b.reason
            ))),
        }
    }
}

pub(crate) const GENESIS_HASH: &str =
    "0000000000000000000000000000000000000000000000000000000000000000";

pub(crate) struct AuditFields {
    pub id: String,
    pub at: i64,
    pub actor_id: Option<String>,
    pub actor_name: String,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl AuditFields {
    pub(crate) fn hash(&self, prev: &str) -> String {
        let mut h = Sha256::new();
        // Length-prefixed fields, so no two different events hash the same text.
        for part in [
            prev,
            &self.id,
            &self.at.to_string(),
            self.actor_id.as_deref().unwrap_or(""),
            &self.actor_name,
            &self.action,
            &self.entity,
            &self.entity_id,
            self.before.as_deref().unwrap_or(""),
            self.after.as_deref().unwrap_or(""),
        ] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        hex::encode(h.finalize())
    }
}

/// The transaction of one write operation. Dropping it without `commit` rolls everything back.
pub(crate) struct WriteTx<'a> {
    pub tx: Transaction<'static, Sqlite>,
    core: &'a Core,
    pub actor: &'a Actor,
    pub now: DateTime<Utc>,
    /// Marks its changes as one operation (pushed together).
    id: Uuid,
    _guard: tokio::sync::MutexGuard<'a, ()>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Insert,
    Update,
    Delete,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Insert => "insert",
            Op::Update => "update",
            Op::Delete => "delete",
        }
    }
    pub fn parse(s: &str) -> Option<Op> {
        match s {
            "insert" => Some(Op::Insert),
            "update" => Some(Op::Update),
            "delete" => Some(Op::Delete),
            _ => None,
        }
    }
}

impl WriteTx<'_> {
    pub fn now_ms(&self) -> i64 {
        to_ms(self.now)
    }

    /// Appends the change record for sync: which fields of which row were written, numbered
    /// gap-free for this replica, with the clock each field had before (its `base`). Mutable
    /// entities also move their per-field clocks forward.
    pub async fn record_change(
        &mut self,
        entity: &str,
        entity_id: Uuid,
        op: Op,
        fields: Value,
    ) -> CoreResult<()> {
        let id = entity_id.to_string();
        let mut base = serde_json::Map::new();
        let mutable = !record::registry()
            .find(entity)
            .is_some_and(|r| r.append_only);
        let mut clocks = if mutable {
            versions::load_clocks(&mut self.tx, entity, &id).await?
        } else {
            Default::default()
        };
        if mutable {
            if let Value::Object(map) = &fields {
                for field in map.keys() {
                    let before = clocks.get(field).cloned().unwrap_or(Value::Null);
                    // A write must sort after every value it overwrites, whatever the wall
                    // clock says (it may have moved back, or the clock state was restored).
                    if let Some(h) = before.as_str().and_then(versions::key_hlc) {
                        self.core.observe_remote(h, to_ms(self.now));
                    }
                    base.insert(field.clone(), before);
                }
            }
        }
        let hlc = self.core.next_hlc(self.now).to_string();
        let change_id = Uuid::now_v7();
        if mutable {
            let version = Value::String(versions::clock_key(&hlc, change_id));
            for field in base.keys() {
                clocks.insert(field.clone(), version.clone());
            }
            versions::store_clocks(&mut self.tx, entity, &id, &clocks).await?;
        }
        let me = self.core.replica_id().to_string();
        sqlx::query(
            "INSERT INTO changes (change_id, replica_id, replica_seq, hlc, entity, entity_id, op, \
             fields, base, tx) VALUES (?, ?, (SELECT coalesce(max(replica_seq), 0) + 1 FROM changes \
             WHERE replica_id = ?), ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(change_id.to_string())
        .bind(&me)
        .bind(&me)
        .bind(&hlc)
        .bind(entity)
        .bind(&id)
        .bind(op.as_str())
        .bind(fields.to_string())
        .bind(Value::Object(base).to_string())
        .bind(self.id.to_string())
        .execute(&mut *self.tx)
        .await?;
        sqlx::query("UPDATE replica SET last_hlc = ? WHERE singleton = 1")
            .bind(hlc)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Appends an audit event chained to the previous one.
    pub async fn audit(
        &mut self,
        action: &str,
        entity: &str,
        entity_id: Uuid,
        before: Option<Value>,
        after: Option<Value>,
    ) -> CoreResult<()> {
        let prev: Option<String> =
            sqlx::query_scalar("SELECT hash FROM audit_events ORDER BY seq DESC LIMIT 1")
                .fetch_optional(&mut *self.tx)
                .await?;
        let prev = prev.unwrap_or_else(|| GENESIS_HASH.to_string());
        let event = AuditFields {
            id: Uuid::now_v7().to_string(),
            at: self.now_ms(),
            actor_id: self.actor.user_id.map(|u| u.to_string()),
            actor_name: self.actor.name.clone(),
            action: action.to_string(),
            entity: entity.to_string(),
            entity_id: entity_id.to_string(),
            before: before.map(|v| v.to_string()),
            after: after.map(|v| v.to_string()),
        };
        let hash = event.hash(&prev);
        sqlx::query(
            "INSERT INTO audit_events (id, at, actor_id, actor_name, action, entity, entity_id, \
             before, after, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&event.id)
        .bind(event.at)
        .bind(&event.actor_id)
        .bind(&event.actor_name)
        .bind(&event.action)
        .bind(&event.entity)
        .bind(&event.entity_id)
        .bind(&event.before)
        .bind(&event.after)
        .bind(&prev)
        .bind(&hash)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Change record and audit event for a new row, in one call.
    pub async fn inserted(
        &mut self,
        action: &str,
        entity: &str,
        id: Uuid,
        fields: Value,
    ) -> CoreResult<()> {
        self.record_change(entity, id, Op::Insert, fields.clone())
            .await?;
        self.audit(action, entity, id, None, Some(fields)).await
    }

    /// Change record and audit event for an edit; `before`/`after` hold only changed fields.
    pub async fn updated(
        &mut self,
        action: &str,
        entity: &str,
        id: Uuid,
        before: Value,
        after: Value,
    ) -> CoreResult<()> {
        self.record_change(entity, id, Op::Update, after.clone())
            .await?;
        self.audit(action, entity, id, Some(before), Some(after))
            .await
    }

    pub async fn commit(self) -> CoreResult<()> {
        self.tx.commit().await?;
        Ok(())
    }
}

pub(crate) fn parse_uuid(s: &str) -> CoreResult<Uuid> {
    Uuid::parse_str(s).map_err(|_| CoreError::Internal(format!("stored id '{s}' is not a UUID")))
}

pub(crate) fn opt_uuid(s: Option<String>) -> CoreResult<Option<Uuid>> {
    s.as_deref().map(parse_uuid).transpose()
}
