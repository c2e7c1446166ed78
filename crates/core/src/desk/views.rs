//! Saved queue views: built-in ones every technician gets, plus each person's own.

use crate::clock::to_ms;
use crate::error::{invalid, CoreError, CoreResult};
use crate::store::record::{Link, SyncedRecord};
use crate::store::{parse_uuid, Actor, Core};
use outpost_proto::{NewSavedView, SavedView, TicketQuery, TicketSort};
use sqlx::Row;
use uuid::Uuid;

/// Saved queue views reach every console; a view's place in the list is its creation time.
pub(crate) const SAVED_VIEW_RECORD: SyncedRecord = SyncedRecord {
    links: &[Link {
        field: "owner_id",
        entity: "user",
        required: false,
    }],
    stamps: &["created_at", "position"],
    ..SyncedRecord::table("saved_view", "saved_views", &["owner_id", "name", "query"])
};

fn builtin(n: u128, name: &str, query: TicketQuery) -> SavedView {
    SavedView {
        id: Uuid::from_u128(n),
        name: name.into(),
        query,
        builtin: true,
    }
}

fn active() -> TicketQuery {
    TicketQuery {
        status: Some("active".into()),
        ..Default::default()
    }
}

/// The views that ship with every store, in rail order.
pub fn builtin_views() -> Vec<SavedView> {
    vec![
        builtin(
            1,
            "My open tickets",
            TicketQuery {
                assignee: Some("me".into()),
                ..active()
            },
        ),
        builtin(
            2,
            "Unassigned",
            TicketQuery {
                assignee: Some("none".into()),
                ..active()
            },
        ),
        builtin(
            3,
            "Breaching today",
            TicketQuery {
                due_today: Some(true),
                ..active()
            },
        ),
        builtin(
            4,
            "Breached",
            TicketQuery {
                sla: Some("breached".into()),
                ..active()
            },
        ),
        builtin(5, "All open", active()),
        builtin(
            6,
            "Recently resolved",
            TicketQuery {
                status: Some("resolved,closed".into()),
                sort: Some(TicketSort::Updated),
                ..Default::default()
            },
        ),
    ]
}

impl Core {
    pub async fn list_views(&self, actor: &Actor) -> CoreResult<Vec<SavedView>> {
        let mut views = builtin_views();
        if let Some(me) = actor.user_id {
            let rows = sqlx::query(
                "SELECT id, name, query FROM saved_views WHERE owner_id = ? ORDER BY position, created_at",
            )
            .bind(me.to_string())
            .fetch_all(&self.pool)
            .await?;
            for r in rows {
                let query: String = r.get("query");
                views.push(SavedView {
                    id: parse_uuid(r.get("id"))?,
                    name: r.get("name"),
                    query: stored_query(&query),
                    builtin: false,
                });
            }
        }
        Ok(views)
    }

    pub async fn create_view(&self, actor: &Actor, req: NewSavedView) -> CoreResult<SavedView> {
        let owner = actor
            .user_id
            .ok_or_else(|| invalid("saved views belong to a person; log in first"))?;
        let name = req.name.trim().to_string();
        if name.is_empty() || name.chars().count() > 80 {
            return Err(invalid("view name must be 1 to 80 characters"));
        }
        // Reject a query the queue would refuse, so a saved view always opens.
        self.list_tickets(
            actor,
            &TicketQuery {
                limit: Some(1),
                ..req.query.clone()
            },
        )
        .await?;
        let id = Uuid::now_v7();
        let json = serde_json::to_string(&req.query).map_err(|e| invalid(e.to_string()))?;
        let mut w = self.write(actor).await?;
        sqlx::query(
            "INSERT INTO saved_views (id, owner_id, name, query, position, created_at) \
             VALUES (?, ?, ?, ?, (SELECT coalesce(max(position), 0) + 1 FROM saved_views), ?)",
        )
        .bind(id.to_string())
        .bind(owner.to_string())
        .bind(&name)
        .bind(&json)
        .bind(to_ms(w.now))
        .execute(&mut *w.tx)
        .await?;
        w.inserted(
            "view.create",
            "saved_view",
            id,
            serde_json::json!({"owner_id": owner, "name": name, "query": req.query}),
        )
        .await?;
        w.commit().await?;
        Ok(SavedView {
            id,
            name,
            query: req.query,
            builtin: false,
        })
    }

    pub async fn delete_view(&self, actor: &Actor, id: Uuid) -> CoreResult<()> {
        if builtin_views().iter().any(|v| v.id == id) {
            return Err(CoreError::Conflict(
                "built-in views cannot be deleted".into(),
            ));
        }
        let owner = actor.user_id.map(|u| u.to_string()).unwrap_or_default();
        let mut w = self.write(actor).await?;
        let gone = sqlx::query("DELETE FROM saved_views WHERE id = ? AND owner_id = ?")
            .bind(id.to_string())
            .bind(&owner)
            .execute(&mut *w.tx)
            .await?;
        if gone.rows_affected() == 0 {
            return Err(CoreError::NotFound(format!("you have no saved view {id}")));
        }
        w.record_change(
            "saved_view",
            id,
            crate::store::Op::Delete,
            serde_json::json!({}),
        )
        .await?;
        w.audit("view.delete", "saved_view", id, None, None).await?;
        w.commit().await?;
        Ok(())
    }
}

/// A saved view's query as stored, read as far as this version understands it: a view saved
/// by a newer console may carry filters this one does not know, which are left out rather
/// than turning the view into the whole queue (requests refuse unknown fields; stored views
/// must not).
fn stored_query(text: &str) -> TicketQuery {
    let Ok(mut value) = serde_json::from_str::<serde_json::Value>(text) else {
        return TicketQuery::default();
    };
    for _ in 0..32 {
        match serde_json::from_value::<TicketQuery>(value.clone()) {
            Ok(q) => return q,
            Err(e) => {
                let message = e.to_string();
                let unknown = message
                    .strip_prefix("unknown field `")
                    .and_then(|rest| rest.split('`').next());
                let removed = match (unknown, value.as_object_mut()) {
                    (Some(field), Some(map)) => map.remove(field).is_some(),
                    _ => false,
                };
                if !removed {
                    return TicketQuery::default();
                }
            }
        }
    }
    TicketQuery::default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_saved_by_a_newer_version_keeps_the_filters_this_one_knows() {
        let q = stored_query(r#"{"status":"open","colour":"red","q":"printer"}"#);
        assert_eq!(q.q.as_deref(), Some("printer"));
        assert!(q.status.is_some());
        assert_eq!(stored_query("not json"), TicketQuery::default());
    }
}
