//! Synced-record declarations: what each domain module tells the sync engine about the
//! records it owns. The engine (push, pull, snapshot, scopes, checksums) reads these and
//! names no record type itself. `crate::records` (the composition root) lists every
//! declaration, in snapshot order, and hands the list to every [`crate::Core`] it opens as a
//! [`Registry`]; the layers below (store, sync) import no domain.

use crate::error::{CoreError, CoreResult};
use crate::store::WriteTx;
use outpost_proto::ChangeRecord;
use serde_json::{Map, Value};
use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use uuid::Uuid;

/// How concurrent writes of one field merge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Merge {
    /// What a person edits: the later write wins, and a concurrent overwrite of a different
    /// value is kept as a conflict for a person to look at.
    Edited,
    /// The earliest value wins on every replica, whatever order writes arrive in (a ticket's
    /// first response is the earliest public reply anywhere). Never a conflict.
    Earliest,
    /// The latest value wins on every replica, in any order of arrival (when something was
    /// last seen). Never a conflict.
    Latest,
    /// State that moves with another field (a ticket's SLA clock moves with its status): it
    /// follows the write that wins, is recomputed where its record says so, and is never a
    /// conflict of its own.
    Derived,
    /// Set when the record is made, never changed by a later write (when it was opened).
    SetOnce,
}

/// What derived state is computed with (for the desk: the SLA policy's engine), made by the
/// registry once per apply and handed to every hook; opaque to the layers below.
pub struct Derive(Box<dyn Any + Send + Sync>);

impl Derive {
    pub fn new<T: Any + Send + Sync>(value: T) -> Derive {
        Derive(Box::new(value))
    }

    /// For writes no hook derives anything from (a sync conflict).
    pub fn none() -> Derive {
        Derive(Box::new(()))
    }

    pub fn get<T: Any>(&self) -> CoreResult<&T> {
        self.0.downcast_ref().ok_or_else(|| {
            CoreError::Internal("derived state was asked of the wrong kind of context".into())
        })
    }
}

/// How to find the client a record belongs to (client scopes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientOf {
    /// Every console receives it (users, settings, saved views).
    Everyone,
    /// The record is a client.
    Itself,
    /// A column of its own holds the client.
    Column(&'static str),
    /// Its parent's client, through a link (`ticket_id` → ticket).
    Parent {
        field: &'static str,
        entity: &'static str,
    },
    /// The client of the record it names by its `entity` and `entity_id` columns (a sync
    /// conflict); records of no client are everyone's.
    Named,
}

/// A field pointing at another synced record.
#[derive(Clone, Copy, Debug)]
pub struct Link {
    pub field: &'static str,
    pub entity: &'static str,
    /// The record cannot exist without it (a NOT NULL foreign key).
    pub required: bool,
}

pub type HookFuture<'a, T = ()> = Pin<Box<dyn Future<Output = CoreResult<T>> + Send + 'a>>;

/// After a remote change of one record landed; `written` is empty for a create.
pub type AfterApply = for<'a, 'w> fn(
    &'a mut WriteTx<'w>,
    &'a ChangeRecord,
    &'a [&'a str],
    &'a Derive,
) -> HookFuture<'a>;
/// After a run of creates of one type went in at once (a first sync is mostly these).
pub type AfterCreates =
    for<'a, 'w> fn(&'a mut WriteTx<'w>, &'a [&'a ChangeRecord], &'a Derive) -> HookFuture<'a>;
/// On the server, after a console's create went in (settle clashes such as a number taken).
pub type ServerInsert = for<'a, 'w> fn(&'a mut WriteTx<'w>, Uuid) -> HookFuture<'a>;
/// Columns a create fills in that do not travel: computed from the fields, the creation
/// time (ms) and the SLA policy.
pub type InsertDerived =
    fn(&Map<String, Value>, i64, &Derive) -> CoreResult<Vec<(&'static str, Value)>>;
/// A field kept outside the record's row (a ticket's tags): its current value, and a write.
pub type ReadExtra = for<'a, 'w> fn(&'a mut WriteTx<'w>, Uuid) -> HookFuture<'a, Value>;
pub type WriteExtra = for<'a, 'w> fn(&'a mut WriteTx<'w>, Uuid, &'a Value) -> HookFuture<'a>;
/// A record that is not a table row (the settings): how a change applies and how its
/// snapshot reads.
pub type ApplyOwn =
    for<'a, 'w> fn(&'a mut WriteTx<'w>, &'a ChangeRecord, &'a mut Derive) -> HookFuture<'a>;
pub type SnapshotOwn =
    for<'a> fn(&'a sqlx::SqlitePool) -> HookFuture<'a, Vec<outpost_proto::SnapshotRecord>>;

/// A field kept outside the row.
#[derive(Clone, Copy)]
pub struct ExtraField {
    pub name: &'static str,
    pub read: ReadExtra,
    pub write: WriteExtra,
    /// Its value in a snapshot, as SQL over the record's table.
    pub snapshot_sql: &'static str,
    /// Removes it for records a console no longer holds (`{gone}`: a subquery of their ids).
    pub drop_sql: &'static str,
}

#[derive(Clone, Copy)]
pub struct SyncedRecord {
    /// The record type's name on the wire (`ticket`).
    pub entity: &'static str,
    /// The sync generation that introduced it: consoles of an older generation neither
    /// receive it nor compare its checksum (`outpost_proto::SYNC_GENERATION`).
    pub since: u8,
    /// Its table; empty for a record that is not a table row (`own` says how it applies).
    pub table: &'static str,
    /// Columns that sync: a remote change may only ever touch these.
    pub columns: &'static [&'static str],
    /// How each field merges, where not [`Merge::Edited`].
    pub merge: &'static [(&'static str, Merge)],
    pub client: ClientOf,
    pub links: &'static [Link],
    /// Only ever added, never edited: it cannot conflict and keeps no versions.
    pub append_only: bool,
    /// Only an admin's console may change it on the server (accounts, policy).
    pub admin_only: bool,
    /// Only the server writes it (what agents report): a console's change is not taken over.
    pub server_only: bool,
    /// Compared by checksum between a console and the server.
    pub checked: bool,
    /// Its list sorts by last change: remote edits move `updated_at`.
    pub moves_updated_at: bool,
    /// Columns a create sets to the creation time when the change does not carry them.
    pub stamps: &'static [&'static str],
    /// A column unique per store (a username): a clash from another replica keeps both,
    /// the newcomer's value suffixed with its id.
    pub unique: Option<&'static str>,
    /// A column holding the rowid of a linked record (full-text search): (column, table,
    /// link field).
    pub rowid_link: Option<(&'static str, &'static str, &'static str)>,
    pub extra: Option<ExtraField>,
    pub derive_on_insert: Option<InsertDerived>,
    pub after_apply: Option<AfterApply>,
    pub after_creates: Option<AfterCreates>,
    pub server_insert: Option<ServerInsert>,
    /// A SQL condition over its table: only rows meeting it reach consoles (runs signed
    /// ahead stay on the server until they start).
    pub only: Option<&'static str>,
    /// Other rows to drop with records a console no longer holds (`{gone}`: their ids).
    pub drop_also: &'static [&'static str],
    pub apply_own: Option<ApplyOwn>,
    pub snapshot_own: Option<SnapshotOwn>,
}

impl SyncedRecord {
    /// A table record with the defaults: edited fields, everyone's, checked, `created_at`
    /// stamped.
    pub const fn table(
        entity: &'static str,
        table: &'static str,
        columns: &'static [&'static str],
    ) -> SyncedRecord {
        SyncedRecord {
            entity,
            since: 1,
            table,
            columns,
            merge: &[],
            client: ClientOf::Everyone,
            links: &[],
            only: None,
            append_only: false,
            admin_only: false,
            server_only: false,
            checked: true,
            moves_updated_at: false,
            stamps: &["created_at"],
            unique: None,
            rowid_link: None,
            extra: None,
            derive_on_insert: None,
            after_apply: None,
            after_creates: None,
            server_insert: None,
            drop_also: &[],
            apply_own: None,
            snapshot_own: None,
        }
    }

    pub fn merge_of(&self, field: &str) -> Merge {
        self.merge
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| *m)
            .unwrap_or(Merge::Edited)
    }

    /// A field of this record that a change may carry: a synced column or its extra field.
    pub fn knows(&self, field: &str) -> bool {
        self.columns.contains(&field) || self.extra.is_some_and(|e| e.name == field)
    }

    pub fn is_table(&self) -> bool {
        !self.table.is_empty()
    }

    pub fn link(&self, field: &str) -> Option<&Link> {
        self.links.iter().find(|l| l.field == field)
    }
}

/// Every synced record type with what derived state is computed with: made by the
/// composition root (`crate::records`) and installed when a store opens.
pub struct Registry {
    /// In snapshot order: what a record links to comes before it.
    pub records: &'static [SyncedRecord],
    /// The derive context of one apply (read inside its transaction).
    pub derive: for<'a, 'w> fn(&'a mut WriteTx<'w>) -> HookFuture<'a, Derive>,
}

impl Registry {
    pub fn find(&self, entity: &str) -> Option<&'static SyncedRecord> {
        self.records.iter().find(|r| r.entity == entity)
    }

    pub fn snapshot_order(&self) -> impl Iterator<Item = &'static str> {
        self.records.iter().map(|r| r.entity)
    }
}

fn no_derive<'a>(_: &'a mut WriteTx<'_>) -> HookFuture<'a, Derive> {
    Box::pin(async { Ok(Derive::none()) })
}

static EMPTY: Registry = Registry {
    records: &[],
    derive: no_derive,
};
static INSTALLED: std::sync::OnceLock<&'static Registry> = std::sync::OnceLock::new();

/// Installed by the first store opened; every store of the process shares it.
pub(crate) fn install(registry: &'static Registry) {
    let _ = INSTALLED.set(registry);
}

/// The synced record types (none before a store was opened).
pub(crate) fn registry() -> &'static Registry {
    INSTALLED.get().copied().unwrap_or(&EMPTY)
}
