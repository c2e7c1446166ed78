//! Client scopes in sync: the server sends a console only the records of the clients its
//! user may see; a console drops what its user may no longer see.

use crate::error::CoreResult;
use crate::store::{Actor, WriteTx};
use uuid::Uuid;

/// The SQL expression (over the entity's own table, unaliased) giving the client a record
/// belongs to; None for records every console receives (users, settings, saved views).
pub(crate) fn client_expr(entity: &str) -> Option<&'static str> {
    Some(match entity {
        "client" => "clients.id",
        "site" => "sites.client_id",
        "contact" => "contacts.client_id",
        "asset" => "assets.client_id",
        "ticket" => "tickets.client_id",
        "comment" => "(SELECT k.client_id FROM tickets k WHERE k.id = comments.ticket_id)",
        "time_entry" => "(SELECT k.client_id FROM tickets k WHERE k.id = time_entries.ticket_id)",
        "conflict" => {
            "(CASE conflicts.entity \
               WHEN 'client' THEN conflicts.entity_id \
               WHEN 'ticket' THEN (SELECT k.client_id FROM tickets k WHERE k.id = conflicts.entity_id) \
               WHEN 'site' THEN (SELECT k.client_id FROM sites k WHERE k.id = conflicts.entity_id) \
               WHEN 'contact' THEN (SELECT k.client_id FROM contacts k WHERE k.id = conflicts.entity_id) \
               WHEN 'asset' THEN (SELECT k.client_id FROM assets k WHERE k.id = conflicts.entity_id) \
             END)"
        }
        _ => return None,
    })
}

/// A SQL condition over the entity's table: the rows this person may see.
pub(crate) fn row_condition(entity: &str, actor: &Actor) -> String {
    match (client_expr(entity), &actor.clients) {
        // Conflicts on records of no client (users, settings, views) are everyone's.
        (Some(expr), Some(_)) if entity == "conflict" => {
            format!("({expr} IS NULL OR {})", actor.client_condition(expr))
        }
        (Some(expr), Some(_)) => actor.client_condition(expr),
        _ => "1".into(),
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
/// no longer hold it). This console's own change records stay as its history.
async fn drop_outside(w: &mut WriteTx<'_>, keep: &[Uuid]) -> CoreResult<()> {
    let keep_list = keep
        .iter()
        .map(|id| format!("'{id}'"))
        .collect::<Vec<_>>()
        .join(",");
    let gone_tickets = format!("SELECT id FROM tickets WHERE client_id NOT IN ({keep_list})");
    let statements = [
        format!(
            "DELETE FROM conflicts WHERE NOT ({})",
            client_expr("conflict")
                .map(|e| format!("coalesce({e}, '') IN ({keep_list}, '')"))
                .unwrap_or_default()
        ),
        format!(
            "DELETE FROM record_clocks WHERE entity = 'ticket' AND entity_id IN ({gone_tickets})"
        ),
        format!(
            "DELETE FROM record_clocks WHERE entity = 'site' AND entity_id IN \
             (SELECT id FROM sites WHERE client_id NOT IN ({keep_list}))"
        ),
        format!(
            "DELETE FROM record_clocks WHERE entity = 'contact' AND entity_id IN \
             (SELECT id FROM contacts WHERE client_id NOT IN ({keep_list}))"
        ),
        format!(
            "DELETE FROM record_clocks WHERE entity = 'client' AND entity_id NOT IN ({keep_list})"
        ),
        format!(
            "DELETE FROM record_clocks WHERE entity = 'asset' AND entity_id IN \
             (SELECT id FROM assets WHERE client_id NOT IN ({keep_list}))"
        ),
        format!("DELETE FROM assets WHERE client_id NOT IN ({keep_list})"),
        format!("DELETE FROM time_entries WHERE ticket_id IN ({gone_tickets})"),
        format!("DELETE FROM comments WHERE ticket_id IN ({gone_tickets})"),
        format!("DELETE FROM ticket_tags WHERE ticket_id IN ({gone_tickets})"),
        format!(
            "DELETE FROM ticket_fts WHERE rowid IN \
             (SELECT rid FROM tickets WHERE client_id NOT IN ({keep_list}))"
        ),
        format!("DELETE FROM tickets WHERE client_id NOT IN ({keep_list})"),
        format!("DELETE FROM contacts WHERE client_id NOT IN ({keep_list})"),
        format!("DELETE FROM sites WHERE client_id NOT IN ({keep_list})"),
        format!("DELETE FROM user_clients WHERE client_id NOT IN ({keep_list})"),
        format!("DELETE FROM clients WHERE id NOT IN ({keep_list})"),
    ];
    for sql in statements {
        sqlx::query(&sql).execute(&mut *w.tx).await?;
    }
    Ok(())
}

/// The ids among `ids` (records of one entity type) that this person may see.
pub(crate) async fn visible_ids(
    w: &mut sqlx::SqliteConnection,
    entity: &str,
    table: &str,
    ids: &[String],
    actor: &Actor,
) -> CoreResult<std::collections::HashSet<String>> {
    super::ids_present(w, table, "id", ids, &row_condition(entity, actor)).await
}

/// Decides, change by change, which changes of one push a scoped user may make: records of
/// their clients, including ones created earlier in the same push.
#[derive(Default)]
pub(crate) struct PushScope {
    /// Records created earlier in this push and allowed, with their client.
    created: std::collections::HashMap<(String, Uuid), Uuid>,
}

impl PushScope {
    pub(crate) async fn allows(
        &mut self,
        w: &mut WriteTx<'_>,
        actor: &Actor,
        c: &outpost_proto::ChangeRecord,
    ) -> CoreResult<bool> {
        if actor.clients.is_none() || client_expr(&c.entity).is_none() {
            return Ok(true);
        }
        let Some(spec) = super::spec(&c.entity) else {
            return Ok(true); // unknown entities are refused later, with a message
        };
        let field_uuid = |k: &str| {
            c.fields
                .get(k)
                .and_then(serde_json::Value::as_str)
                .and_then(|s| Uuid::parse_str(s).ok())
        };
        if let Some(client) = field_uuid("client_id") {
            if !actor.may_see(client) {
                return Ok(false);
            }
        }
        // Links to a site or contact must stay inside the user's clients too, or a record
        // of theirs would show another client's names.
        for (field, entity, table) in [
            ("site_id", "site", "sites"),
            ("contact_id", "contact", "contacts"),
        ] {
            let Some(parent) = field_uuid(field) else {
                continue;
            };
            let owner = match self.created.get(&(entity.to_string(), parent)) {
                Some(client) => Some(*client),
                None => {
                    let found: Option<String> =
                        sqlx::query_scalar(&format!("SELECT client_id FROM {table} WHERE id = ?"))
                            .bind(parent.to_string())
                            .fetch_optional(&mut *w.tx)
                            .await?;
                    found.and_then(|f| Uuid::parse_str(&f).ok())
                }
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
            sqlx::query_scalar(&format!("SELECT id FROM {} WHERE id = ?", spec.table))
                .bind(&id)
                .fetch_optional(&mut *w.tx)
                .await?;
        if exists.is_some() {
            let seen = visible_ids(&mut w.tx, &c.entity, spec.table, &[id], actor).await?;
            return Ok(!seen.is_empty());
        }
        // A new record: whose client would it belong to?
        let client = match c.entity.as_str() {
            "client" => None, // a scoped user cannot add clients
            "comment" | "time_entry" => match field_uuid("ticket_id") {
                Some(t) => match self.created.get(&("ticket".to_string(), t)) {
                    Some(client) => Some(*client),
                    None => {
                        let found: Option<String> =
                            sqlx::query_scalar("SELECT client_id FROM tickets WHERE id = ?")
                                .bind(t.to_string())
                                .fetch_optional(&mut *w.tx)
                                .await?;
                        found.and_then(|f| Uuid::parse_str(&f).ok())
                    }
                },
                None => None,
            },
            _ => field_uuid("client_id"),
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
