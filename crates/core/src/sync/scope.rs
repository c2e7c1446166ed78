//! Client scopes in sync: the server sends a console only the records of the clients its
//! user may see; a console drops what its user may no longer see.

use super::record::{ClientOf, SyncedRecord};
use crate::error::CoreResult;
use crate::store::{Actor, WriteTx};
use uuid::Uuid;

/// The SQL expression giving the client a record belongs to, over the record's table under
/// the name `alias`; None for records every console receives (users, settings, views).
pub(crate) fn client_sql(rec: &SyncedRecord, alias: &str) -> Option<String> {
    match rec.client {
        ClientOf::Everyone => None,
        ClientOf::Itself => Some(format!("{alias}.id")),
        ClientOf::Column(c) => Some(format!("{alias}.{c}")),
        ClientOf::Parent { field, entity } => {
            let parent = super::record(entity)?;
            let inner = client_sql(parent, "k")?;
            Some(format!(
                "(SELECT {inner} FROM {} k WHERE k.id = {alias}.{field})",
                parent.table
            ))
        }
        ClientOf::Named => {
            // The client of whichever record the row names; NULL for records of no client.
            let arms: Vec<String> = crate::store::record::registry()
                .records
                .iter()
                .filter(|r| {
                    r.is_table() && !matches!(r.client, ClientOf::Everyone | ClientOf::Named)
                })
                .filter_map(|r| {
                    let arm = match r.client {
                        ClientOf::Itself => format!("{alias}.entity_id"),
                        _ => format!(
                            "(SELECT {} FROM {} n WHERE n.id = {alias}.entity_id)",
                            client_sql(r, "n")?,
                            r.table
                        ),
                    };
                    Some(format!("WHEN '{}' THEN {arm}", r.entity))
                })
                .collect();
            Some(format!("(CASE {alias}.entity {} END)", arms.join(" ")))
        }
    }
}

/// A SQL condition over the record's table: the rows this person may see.
pub(crate) fn row_condition(rec: &SyncedRecord, actor: &Actor) -> String {
    let scope = match (client_sql(rec, rec.table), &actor.clients) {
        // Records that name a record of no client (a conflict on a user) are everyone's.
        (Some(expr), Some(_)) if rec.client == ClientOf::Named => {
            format!("({expr} IS NULL OR {})", actor.client_condition(&expr))
        }
        (Some(expr), Some(_)) => actor.client_condition(&expr),
        _ => "1".into(),
    };
    match rec.only {
        Some(only) => format!("({scope}) AND ({only})"),
        None => scope,
    }
}

/// The scope as a console stores it: `all`, or the sorted client ids as a JSON array.
pub(crate) fn scope_text(scope: &Option<Vec<Uuid>>) -> String {
    match scope {
        None => "all".into(),
        Some(ids) => {
            let mut ids = ids.clone();
            ids.sort();
            serde_json::to_string(&ids).unwrap_or_default()
        }
    }
}

fn parse_scope(text: &str) -> Option<Vec<Uuid>> {
    if text == "all" {
        None
    } else {
        serde_json::from_str(text).ok()
    }
}

/// What a console does when the scope of a page is not the one it last synced under.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ScopeMove {
    Same,
    /// Narrowed (or first seen): what falls outside was dropped.
    Narrowed,
    /// The user may now see more: the console takes a fresh snapshot.
    Widened,
}

/// Inside a console's apply transaction: records the page's scope, drops the records of
/// clients outside it, and on a widened scope restarts the snapshot bootstrap (records the
/// console holds merge by their versions, so a second snapshot changes nothing else).
pub(crate) async fn adopt_scope(
    w: &mut WriteTx<'_>,
    scope: &Option<Vec<Uuid>>,
) -> CoreResult<ScopeMove> {
    let stored: Option<String> = sqlx::query_scalar("SELECT scope FROM sync_state")
        .fetch_one(&mut *w.tx)
        .await?;
    if scope.as_ref().is_some_and(|ids| ids.is_empty()) {
        return Err(crate::error::CoreError::Unavailable(
            "the server sent an empty client scope; nothing was changed here. Ask an admin \
             to check which clients your account may see"
                .into(),
        ));
    }
    let text = scope_text(scope);
    if stored.as_deref() == Some(text.as_str()) {
        return Ok(ScopeMove::Same);
    }
    let old = stored.as_deref().map(parse_scope);
    if let Some(ids) = scope {
        drop_outside(w, ids).await?;
    }
    let widened = match (&old, scope) {
        (Some(Some(old)), None) => !old.is_empty(),
        (Some(Some(old)), Some(new)) => new.iter().any(|c| !old.contains(c)),
        _ => false, // first page ever, or from every client to fewer
    };
    sqlx::query("UPDATE sync_state SET scope = ?")
        .bind(&text)
        .execute(&mut *w.tx)
        .await?;
    if widened {
        sqlx::query(
            "UPDATE sync_state SET booted = 0, boot_entity = NULL, boot_after = NULL, \
             boot_log_end = NULL, boot_total = NULL, boot_done = 0, cursor = 0",
        )
        .execute(&mut *w.tx)
        .await?;
        tracing::info!("client scope widened: taking a fresh snapshot from the server");
        return Ok(ScopeMove::Widened);
    }
    Ok(ScopeMove::Narrowed)
}

/// Removes every record of the clients outside `keep` from this console (not from the
/// server, and not through the change log: nobody deleted anything, this console may just
/// no longer hold it). This console's own change records stay as its history. Children go
/// before what they belong to (the reverse of the snapshot order).
async fn drop_outside(w: &mut WriteTx<'_>, keep: &[Uuid]) -> CoreResult<()> {
    let keep_list = keep
        .iter()
        .map(|id| format!("'{id}'"))
        .collect::<Vec<_>>()
        .join(",");
    for rec in crate::store::record::registry()
        .records
        .iter()
        .rev()
        .filter(|r| r.is_table())
    {
        let Some(expr) = client_sql(rec, rec.table) else {
            continue;
        };
        let inside = if rec.client == ClientOf::Named {
            format!("coalesce({expr}, '') IN ({keep_list}, '')")
        } else {
            format!("{expr} IN ({keep_list})")
        };
        let table = rec.table;
        let gone = format!("SELECT id FROM {table} WHERE NOT ({inside})");
        let mut statements = Vec::new();
        if !rec.append_only {
            statements.push(format!(
                "DELETE FROM record_clocks WHERE entity = '{}' AND entity_id IN ({gone})",
                rec.entity
            ));
        }
        if let Some(e) = rec.extra {
            statements.push(e.drop_sql.replace("{gone}", &gone));
        }
        statements.extend(rec.drop_also.iter().map(|d| d.replace("{gone}", &gone)));
        statements.push(format!("DELETE FROM {table} WHERE NOT ({inside})"));
        for sql in statements {
            sqlx::query(&sql).execute(&mut *w.tx).await?;
        }
    }
    Ok(())
}

/// The ids among `ids` (records of one type) that this person may see.
pub(crate) async fn visible_ids(
    w: &mut sqlx::SqliteConnection,
    rec: &SyncedRecord,
    ids: &[String],
    actor: &Actor,
) -> CoreResult<std::collections::HashSet<String>> {
    super::ids_present(w, rec.table, "id", ids, &row_condition(rec, actor)).await
}

/// Decides, change by change, which changes of one push a scoped user may make: records of
/// their clients, including ones created earlier in the same push.
#[derive(Default)]
pub(crate) struct PushScope {
    /// Records created earlier in this push and allowed, with their client.
    created: std::collections::HashMap<(String, Uuid), Uuid>,
}

impl PushScope {
    /// The client a record belongs to: one created earlier in this push, or as stored.
    async fn owner(
        &self,
        w: &mut WriteTx<'_>,
        rec: &SyncedRecord,
        id: Uuid,
    ) -> CoreResult<Option<Uuid>> {
        if let Some(client) = self.created.get(&(rec.entity.to_string(), id)) {
            return Ok(Some(*client));
        }
        let Some(expr) = client_sql(rec, "o") else {
            return Ok(None);
        };
        let found: Option<Option<String>> = sqlx::query_scalar(&format!(
            "SELECT {expr} FROM {} o WHERE o.id = ?",
            rec.table
        ))
        .bind(id.to_string())
        .fetch_optional(&mut *w.tx)
        .await?;
        Ok(found.flatten().and_then(|f| Uuid::parse_str(&f).ok()))
    }

    pub(crate) async fn allows(
        &mut self,
        w: &mut WriteTx<'_>,
        actor: &Actor,
        c: &outpost_proto::ChangeRecord,
    ) -> CoreResult<bool> {
        let Some(rec) = super::record(&c.entity) else {
            return Ok(true); // unknown entities are refused later, with a message
        };
        if actor.clients.is_none() || rec.client == ClientOf::Everyone {
            return Ok(true);
        }
        let field_uuid = |k: &str| {
            c.fields
                .get(k)
                .and_then(serde_json::Value::as_str)
                .and_then(|s| Uuid::parse_str(s).ok())
        };
        // Links must stay inside the user's clients, or a record of theirs would show
        // another client's names.
        for link in rec.links {
            let Some(target) = super::record(link.entity) else {
                continue;
            };
            let Some(parent) = field_uuid(link.field) else {
                continue;
            };
            let owner = match target.client {
                ClientOf::Everyone => continue,
                ClientOf::Itself => Some(parent),
                _ => self.owner(w, target, parent).await?,
            };
            if owner.is_some_and(|client| !actor.may_see(client)) {
                return Ok(false);
            }
        }
        let key = (c.entity.clone(), c.entity_id);
        if let Some(client) = self.created.get(&key) {
            return Ok(actor.may_see(*client));
        }
        let id = c.entity_id.to_string();
        let exists: Option<String> =
            sqlx::query_scalar(&format!("SELECT id FROM {} WHERE id = ?", rec.table))
                .bind(&id)
                .fetch_optional(&mut *w.tx)
                .await?;
        if exists.is_some() {
            let seen = visible_ids(&mut w.tx, rec, &[id], actor).await?;
            return Ok(!seen.is_empty());
        }
        // A new record: whose client would it belong to?
        let client = match rec.client {
            // A scoped user cannot add clients; sync records are the server's to make.
            ClientOf::Itself | ClientOf::Named | ClientOf::Everyone => None,
            ClientOf::Column(col) => field_uuid(col),
            ClientOf::Parent { field, entity } => {
                match (field_uuid(field), super::record(entity)) {
                    (Some(parent), Some(target)) => self.owner(w, target, parent).await?,
                    _ => None,
                }
            }
        };
        match client {
            Some(client) if actor.may_see(client) => {
                self.created.insert(key, client);
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}
