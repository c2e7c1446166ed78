//! Every synced record type, in the order a new console receives their snapshots (what a
//! record links to comes before it). Each is declared by the module that owns it; the sync
//! engine reads only this list.

use crate::clock::Clock;
use crate::error::CoreResult;
use crate::store::record::{Derive, HookFuture, Registry, SyncedRecord};
use crate::store::{Core, WriteTx};
use std::path::Path;
use std::sync::Arc;

static ALL: &[SyncedRecord] = &[
    crate::auth::USER_RECORD,
    crate::desk::sla::SETTINGS_RECORD,
    crate::clients::CLIENT_RECORD,
    crate::clients::SITE_RECORD,
    crate::clients::CONTACT_RECORD,
    crate::fleet::assets::ASSET_RECORD,
    crate::fleet::status::ENDPOINT_RECORD,
    crate::fleet::status::INVENTORY_CHANGE_RECORD,
    crate::alerts::ALERT_RULE_RECORD,
    crate::desk::tickets::TICKET_RECORD,
    crate::desk::tickets::STATUS_MOVE_RECORD,
    crate::desk::tickets::COMMENT_RECORD,
    crate::desk::tickets::TIME_ENTRY_RECORD,
    crate::desk::attachments::ATTACHMENT_RECORD,
    crate::alerts::ALERT_RECORD,
    crate::desk::views::SAVED_VIEW_RECORD,
    crate::scripts::library::SCRIPT_RECORD,
    crate::scripts::library::SCRIPT_VERSION_RECORD,
    crate::fleet::runs::RUN_RECORD,
    crate::sync::CONFLICT_RECORD,
];

/// Derived state is computed with the SLA policy's engine.
fn derive<'a>(w: &'a mut WriteTx<'_>) -> HookFuture<'a, Derive> {
    Box::pin(async move { Ok(Derive::new(crate::desk::sla::engine_in(w).await?)) })
}

static REGISTRY: Registry = Registry {
    records: ALL,
    derive,
};

/// Every synced record type, in snapshot order.
#[cfg(test)]
fn all() -> &'static [SyncedRecord] {
    ALL
}

/// The record types' names, in snapshot order.
pub fn snapshot_order() -> impl Iterator<Item = &'static str> {
    ALL.iter().map(|r| r.entity)
}

impl Core {
    /// Opens (creating if needed) the store in `dir`, applying any pending migrations.
    pub async fn open_dir(dir: &Path, clock: Arc<dyn Clock>) -> CoreResult<Core> {
        Core::open_dir_with(dir, clock, &REGISTRY).await
    }

    /// Opens (creating if needed) the store file at `path`.
    pub async fn open(path: &Path, clock: Arc<dyn Clock>) -> CoreResult<Core> {
        Core::open_with(path, clock, &REGISTRY).await
    }

    /// What connecting would upload: everything this store has not sent yet.
    pub async fn connect_preview(&self) -> CoreResult<outpost_proto::ConnectPreview> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT entity, count(*) FROM changes WHERE replica_id = ? AND op = 'insert' \
             AND replica_seq > (SELECT pushed_seq FROM sync_state) GROUP BY entity",
        )
        .bind(self.replica_id().to_string())
        .fetch_all(&self.pool)
        .await?;
        let n = |e: &str| {
            rows.iter()
                .find(|(k, _)| k == e)
                .map(|(_, n)| *n)
                .unwrap_or(0)
        };
        Ok(outpost_proto::ConnectPreview {
            clients: n("client"),
            tickets: n("ticket"),
            comments: n("comment"),
            time_entries: n("time_entry"),
            changes: self.unsent_changes().await?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A new console copies records in this order, so what a record links to must come
    /// before it; names are unique, and a table record says what it syncs.
    #[test]
    fn every_record_comes_after_what_it_links_to() {
        let order: Vec<&str> = snapshot_order().collect();
        for (i, rec) in all().iter().enumerate() {
            assert_eq!(order.iter().filter(|e| **e == rec.entity).count(), 1);
            for link in rec.links {
                let j = order
                    .iter()
                    .position(|e| *e == link.entity)
                    .unwrap_or_else(|| panic!("{} links to unknown {}", rec.entity, link.entity));
                assert!(
                    j < i,
                    "{} links to {}, which comes later",
                    rec.entity,
                    link.entity
                );
                assert!(
                    rec.columns.contains(&link.field),
                    "{}.{}",
                    rec.entity,
                    link.field
                );
            }
            if rec.is_table() {
                assert!(!rec.columns.is_empty(), "{}", rec.entity);
            } else {
                assert!(
                    rec.apply_own.is_some() && rec.snapshot_own.is_some(),
                    "{}",
                    rec.entity
                );
            }
            for (field, _) in rec.merge {
                assert!(rec.columns.contains(field), "{}.{field}", rec.entity);
            }
        }
    }
}
