//! Sync between consoles and a server, all real cores on real SQLite files, over an
//! in-memory transport that can lose requests and responses.

mod landed;
mod model;
mod scope;

use crate::{fixture, monday_10, Fixture};
use chrono::Duration;
use outpost_core::sync::{SyncTransport, TransportError};
use outpost_core::{Actor, Core, CoreError, ManualClock};
use outpost_proto::{
    NewComment, NewTicket, NewTimeEntry, Priority, PullPage, PushRequest, PushResponse,
    TicketQuery, TicketStatus, UpdateTicket,
};
use std::cell::Cell;
use std::sync::Arc;
use uuid::Uuid;

/// Calls the server core directly; can drop the next request or the next response.
pub struct Link<'a> {
    pub server: &'a Core,
    pub actor: Actor,
    pub drop_request: Cell<bool>,
    pub drop_response: Cell<bool>,
    /// Snapshot requests answered so far, and the one (1-based) to lose; 0: none.
    pub snapshot_calls: Cell<usize>,
    pub lose_snapshot: Cell<usize>,
}

impl<'a> Link<'a> {
    pub fn new(server: &'a Core, actor: &Actor) -> Self {
        Link {
            server,
            actor: actor.clone(),
            drop_request: Cell::new(false),
            drop_response: Cell::new(false),
            snapshot_calls: Cell::new(0),
            lose_snapshot: Cell::new(0),
        }
    }
}

fn transport_error(e: CoreError) -> TransportError {
    match e {
        CoreError::SyncGap { expected } => TransportError::Gap { expected },
        CoreError::ReplicaReused => TransportError::ReplicaReused,
        other => TransportError::Other(other.to_string()),
    }
}

impl SyncTransport for Link<'_> {
    async fn push(&self, req: &PushRequest) -> Result<PushResponse, TransportError> {
        if self.drop_request.replace(false) {
            return Err(TransportError::Offline("request lost".into()));
        }
        let r = self
            .server
            .accept_push(&self.actor, req.clone())
            .await
            .map_err(transport_error)?;
        if self.drop_response.replace(false) {
            return Err(TransportError::Other(
                "response lost after the server committed".into(),
            ));
        }
        Ok(r)
    }
    async fn pull(&self, after: i64, limit: i64) -> Result<PullPage, TransportError> {
        self.server
            .pull_changes(&self.actor, after, Some(limit))
            .await
            .map_err(transport_error)
    }
    async fn pull_entity(
        &self,
        entity: &str,
        after: i64,
        limit: i64,
    ) -> Result<PullPage, TransportError> {
        self.server
            .pull_entity_changes(&self.actor, entity, after, Some(limit))
            .await
            .map_err(transport_error)
    }
    async fn checksums(&self) -> Result<Vec<outpost_proto::EntityChecksum>, TransportError> {
        self.server
            .checksums(&self.actor)
            .await
            .map_err(transport_error)
    }
    async fn snapshot(
        &self,
        entity: &str,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<outpost_proto::SnapshotPage, TransportError> {
        if self.drop_request.replace(false) {
            return Err(TransportError::Offline("request lost".into()));
        }
        let n = self.snapshot_calls.get() + 1;
        self.snapshot_calls.set(n);
        if self.lose_snapshot.get() == n {
            return Err(TransportError::Offline("connection dropped".into()));
        }
        self.server
            .snapshot(&self.actor, entity, after, Some(limit))
            .await
            .map_err(transport_error)
    }
}

/// A console: its own store and clock, bootstrapped from the server.
pub struct Console {
    pub core: Core,
    pub clock: Arc<ManualClock>,
    pub _dir: tempfile::TempDir,
}

pub async fn console(link: &Link<'_>) -> Console {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(monday_10()));
    let core = Core::open_dir(dir.path(), clock.clone()).await.unwrap();
    core.set_server(Some("http://127.0.0.1:9")).await.unwrap();
    core.sync_once(link, 50).await.unwrap();
    Console {
        core,
        clock,
        _dir: dir,
    }
}

async fn server_with_ticket() -> (Fixture, Actor, Uuid) {
    let f = fixture().await;
    let (_, admin) = f.admin().await;
    let client = f.client(&admin, "Acme").await;
    let t = f.ticket(&admin, client, "Printer").await;
    (f, admin, t.id)
}

async fn ticket(core: &Core, actor: &Actor, id: Uuid) -> outpost_proto::TicketDetail {
    core.get_ticket(actor, id).await.unwrap()
}

#[tokio::test]
async fn a_console_bootstraps_from_the_server() {
    let (f, admin, id) = server_with_ticket().await;
    let link = Link::new(&f.core, &admin);
    let c = console(&link).await;
    let t = ticket(&c.core, &admin, id).await.ticket;
    assert_eq!(
        (t.title.as_str(), t.number, t.client_name.as_str()),
        ("Printer", 1001, "Acme")
    );
    assert_eq!(
        t.sla,
        ticket(&f.core, &admin, id).await.ticket.sla,
        "same deadlines everywhere"
    );
    let status = c.core.sync_status().await.unwrap();
    assert_eq!(status.pending, 0);
    assert!(status.last_sync_at.is_some());
}

#[tokio::test]
async fn offline_edits_to_different_fields_both_survive() {
    let (f, admin, id) = server_with_ticket().await;
    let link = Link::new(&f.core, &admin);
    let a = console(&link).await;
    let b = console(&link).await;
    a.clock.advance(Duration::minutes(5));
    b.clock.advance(Duration::minutes(6));
    a.core
        .update_ticket(
            &admin,
            id,
            UpdateTicket {
                priority: Some(Priority::High),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    b.core
        .update_ticket(
            &admin,
            id,
            UpdateTicket {
                status: Some(TicketStatus::InProgress),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(a.core.sync_status().await.unwrap().pending, 1);
    for _ in 0..2 {
        a.core.sync_once(&link, 50).await.unwrap();
        b.core.sync_once(&link, 50).await.unwrap();
    }
    for core in [&f.core, &a.core, &b.core] {
        let t = ticket(core, &admin, id).await.ticket;
        assert_eq!(
            (t.priority, t.status),
            (Priority::High, TicketStatus::InProgress)
        );
    }
    assert_eq!(
        f.core.sync_status().await.unwrap().open_conflicts,
        0,
        "no conflict: different fields"
    );
}

#[tokio::test]
async fn concurrent_overwrite_keeps_the_later_value_and_records_the_loser() {
    let (f, admin, id) = server_with_ticket().await;
    let link = Link::new(&f.core, &admin);
    let a = console(&link).await;
    let b = console(&link).await;
    a.clock.advance(Duration::minutes(5));
    b.clock.advance(Duration::minutes(9)); // b writes later
    a.core
        .update_ticket(
            &admin,
            id,
            UpdateTicket {
                title: Some("Printer jams".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    b.core
        .update_ticket(
            &admin,
            id,
            UpdateTicket {
                title: Some("Printer offline".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // b reaches the server first; a's older edit arrives after and loses.
    b.core.sync_once(&link, 50).await.unwrap();
    let report = a.core.sync_once(&link, 50).await.unwrap();
    assert_eq!(report.conflicts, 1);
    b.core.sync_once(&link, 50).await.unwrap();
    for core in [&f.core, &a.core, &b.core] {
        assert_eq!(
            ticket(core, &admin, id).await.ticket.title,
            "Printer offline"
        );
        let conflicts = core.conflicts_for("ticket", id).await.unwrap();
        assert_eq!(conflicts.len(), 1, "the conflict reaches every console");
        assert_eq!(conflicts[0].field, "title");
        assert_eq!(conflicts[0].lost_value, "Printer jams");
        assert_eq!(conflicts[0].kept_value, "Printer offline");
    }
}

#[tokio::test]
async fn a_plain_later_edit_is_not_a_conflict() {
    let (f, admin, id) = server_with_ticket().await;
    let link = Link::new(&f.core, &admin);
    let a = console(&link).await;
    let b = console(&link).await;
    a.core
        .update_ticket(
            &admin,
            id,
            UpdateTicket {
                title: Some("First".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    a.core.sync_once(&link, 50).await.unwrap();
    b.core.sync_once(&link, 50).await.unwrap(); // b has seen "First"
    b.clock.advance(Duration::minutes(1));
    b.core
        .update_ticket(
            &admin,
            id,
            UpdateTicket {
                title: Some("Second".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(b.core.sync_once(&link, 50).await.unwrap().conflicts, 0);
    a.core.sync_once(&link, 50).await.unwrap();
    assert_eq!(ticket(&a.core, &admin, id).await.ticket.title, "Second");
}

#[tokio::test]
async fn comments_and_time_from_everywhere_reach_everyone_once() {
    let (f, admin, id) = server_with_ticket().await;
    let link = Link::new(&f.core, &admin);
    let a = console(&link).await;
    let b = console(&link).await;
    for (core, text, minutes) in [
        (&a.core, "from a", 30),
        (&b.core, "from b", 45),
        (&f.core, "from web", 15),
    ] {
        core.add_comment(
            &admin,
            id,
            NewComment {
                body: text.into(),
                internal: None,
            },
        )
        .await
        .unwrap();
        core.add_time_entry(
            &admin,
            id,
            NewTimeEntry {
                minutes,
                billable: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
    // A lost response after the server committed: the retry must not duplicate anything.
    link.drop_response.set(true);
    assert!(a.core.sync_once(&link, 50).await.is_err());
    // comment, its first-response mark on the ticket, time entry: all still unacknowledged
    assert_eq!(a.core.sync_status().await.unwrap().pending, 3);
    for _ in 0..2 {
        a.core.sync_once(&link, 50).await.unwrap();
        b.core.sync_once(&link, 50).await.unwrap();
    }
    for core in [&f.core, &a.core, &b.core] {
        let d = ticket(core, &admin, id).await;
        let mut bodies: Vec<_> = d.comments.iter().map(|c| c.body.as_str()).collect();
        bodies.sort();
        assert_eq!(bodies, vec!["from a", "from b", "from web"]);
        assert_eq!(d.ticket.total_minutes, 90);
        assert_eq!(d.ticket.billable_minutes, 90);
        assert!(d.ticket.sla.first_response_at.is_some());
    }
    let ids: i64 = sqlx::query_scalar("SELECT count(*) - count(DISTINCT change_id) FROM changes")
        .fetch_one(f.core.pool())
        .await
        .unwrap();
    assert_eq!(ids, 0, "every change id is on the server exactly once");
}

#[tokio::test]
async fn push_is_idempotent_and_gaps_are_refused_with_the_expected_number() {
    let (f, admin, id) = server_with_ticket().await;
    let link = Link::new(&f.core, &admin);
    let a = console(&link).await;
    for n in 0..3 {
        a.core
            .update_ticket(
                &admin,
                id,
                UpdateTicket {
                    title: Some(format!("T{n}")),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
    }
    let changes = a.core.pending_changes(10).await.unwrap();
    assert_eq!(
        changes.iter().map(|c| c.replica_seq).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    let req = PushRequest {
        replica_id: a.core.replica_id(),
        changes: changes.clone(),
    };
    let first = f.core.accept_push(&admin, req.clone()).await.unwrap();
    let again = f.core.accept_push(&admin, req).await.unwrap();
    assert_eq!(first, again, "a retried batch gets the same answer");
    let mut skipping = changes[2].clone();
    skipping.replica_seq = 5;
    skipping.change_id = Uuid::now_v7();
    let gap = f
        .core
        .accept_push(
            &admin,
            PushRequest {
                replica_id: a.core.replica_id(),
                changes: vec![skipping],
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(gap, CoreError::SyncGap { expected: 4 }), "{gap:?}");
    assert_eq!(gap.to_api().expected_seq, Some(4));
}

#[tokio::test]
async fn a_console_restored_from_a_backup_is_rekeyed_and_loses_nothing() {
    let (f, admin, id) = server_with_ticket().await;
    let link = Link::new(&f.core, &admin);
    let a = console(&link).await;
    a.core
        .add_comment(
            &admin,
            id,
            NewComment {
                body: "before backup".into(),
                internal: Some(true),
            },
        )
        .await
        .unwrap();
    a.core.sync_once(&link, 50).await.unwrap();
    // Back up the console's files, then keep working and syncing.
    let backup = tempfile::tempdir().unwrap();
    sqlx::query(&format!(
        "VACUUM INTO '{}'",
        backup.path().join("outpost.db").display()
    ))
    .execute(a.core.pool())
    .await
    .unwrap();
    a.core
        .add_comment(
            &admin,
            id,
            NewComment {
                body: "after backup".into(),
                internal: Some(true),
            },
        )
        .await
        .unwrap();
    a.core.sync_once(&link, 50).await.unwrap();
    let old_replica = a.core.replica_id();
    drop(a);
    // The laptop is restored from the backup and gets new work done.
    let clock = Arc::new(ManualClock::new(monday_10() + Duration::hours(1)));
    let restored = Core::open_dir(backup.path(), clock).await.unwrap();
    assert_eq!(restored.replica_id(), old_replica);
    restored
        .add_comment(
            &admin,
            id,
            NewComment {
                body: "after restore".into(),
                internal: Some(true),
            },
        )
        .await
        .unwrap();
    restored.sync_once(&link, 50).await.unwrap();
    assert_ne!(restored.replica_id(), old_replica, "re-keyed");
    for core in [&f.core, &restored] {
        let mut bodies: Vec<_> = ticket(core, &admin, id)
            .await
            .comments
            .into_iter()
            .map(|c| c.body)
            .collect();
        bodies.sort();
        assert_eq!(
            bodies,
            vec!["after backup", "after restore", "before backup"]
        );
    }
}

#[tokio::test]
async fn offline_tickets_with_the_same_number_are_renumbered_by_the_server() {
    let (f, admin, _) = server_with_ticket().await;
    let link = Link::new(&f.core, &admin);
    let a = console(&link).await;
    let b = console(&link).await;
    let client = f.core.list_clients(&admin).await.unwrap()[0].id;
    let new = |title: &str| NewTicket {
        title: title.into(),
        client_id: client,
        ..Default::default()
    };
    let ta = a.core.create_ticket(&admin, new("From A")).await.unwrap();
    let tb = b.core.create_ticket(&admin, new("From B")).await.unwrap();
    assert_eq!(
        (ta.number, tb.number),
        (1002, 1002),
        "both offline, both took the next number"
    );
    for _ in 0..2 {
        a.core.sync_once(&link, 50).await.unwrap();
        b.core.sync_once(&link, 50).await.unwrap();
    }
    for core in [&f.core, &a.core, &b.core] {
        let all = core
            .list_tickets(
                &admin,
                &TicketQuery {
                    sort: Some(outpost_proto::TicketSort::Number),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let mut numbers: Vec<i64> = all.items.iter().map(|t| t.number).collect();
        numbers.sort();
        assert_eq!(
            numbers,
            vec![1001, 1002, 1003],
            "numbers are unique again everywhere"
        );
    }
    // New tickets continue after the highest number seen.
    let next = a.core.create_ticket(&admin, new("Later")).await.unwrap();
    assert_eq!(next.number, 1004);
}

#[tokio::test]
async fn pull_pages_cover_the_log_at_every_boundary() {
    let (f, admin, _) = server_with_ticket().await;
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM changes")
        .fetch_one(f.core.pool())
        .await
        .unwrap();
    for limit in [1, total - 1, total, total + 1] {
        let mut after = 0;
        let mut seen = 0;
        loop {
            let p = f
                .core
                .pull_changes(&admin, after, Some(limit))
                .await
                .unwrap();
            seen += p.changes.len() as i64;
            assert!(p.changes.len() as i64 <= limit);
            after = p.next_cursor;
            if !p.has_more {
                break;
            }
        }
        assert_eq!(seen, total, "limit {limit}");
        let empty = f
            .core
            .pull_changes(&admin, after, Some(limit))
            .await
            .unwrap();
        assert!(empty.changes.is_empty() && !empty.has_more && empty.next_cursor == after);
    }
    assert!(f.core.pull_changes(&admin, 0, Some(0)).await.is_err());
}

#[tokio::test]
async fn a_first_sync_shows_how_much_is_left_to_fetch() {
    let (f, admin, _) = server_with_ticket().await;
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM changes")
        .fetch_one(f.core.pool())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let c = Core::open_dir(dir.path(), Arc::new(ManualClock::new(monday_10())))
        .await
        .unwrap();
    c.set_server(Some("http://127.0.0.1:9")).await.unwrap();
    let first = f.core.pull_changes(&admin, 0, Some(2)).await.unwrap();
    assert_eq!(first.latest, total);
    c.apply_pull(&first).await.unwrap();
    assert_eq!(c.sync_status().await.unwrap().to_fetch, total - 2);
    c.sync_once(&Link::new(&f.core, &admin), 50).await.unwrap();
    assert_eq!(c.sync_status().await.unwrap().to_fetch, 0);
}

#[tokio::test]
async fn a_drifted_console_is_found_by_checksum_and_repaired() {
    let (f, admin, id) = server_with_ticket().await;
    f.core
        .add_comment(
            &admin,
            id,
            NewComment {
                body: "on the server".into(),
                internal: None,
            },
        )
        .await
        .unwrap();
    let link = Link::new(&f.core, &admin);
    let c = console(&link).await;
    assert_eq!(
        c.core.checksums(&admin).await.unwrap(),
        f.core.checksums(&admin).await.unwrap()
    );
    // Something outside sync changes the console's copy (a bug, a hand edit, a bad restore).
    sqlx::query("UPDATE tickets SET title = 'drifted'")
        .execute(c.core.pool())
        .await
        .unwrap();
    sqlx::query("DELETE FROM comments")
        .execute(c.core.pool())
        .await
        .unwrap();
    let fixed = c.core.verify_sync(&link, 50).await.unwrap();
    assert_eq!(fixed, vec!["ticket".to_string(), "comment".to_string()]);
    let d = ticket(&c.core, &admin, id).await;
    assert_eq!(d.ticket.title, "Printer");
    assert_eq!(d.comments.len(), 1);
    assert_eq!(
        c.core.checksums(&admin).await.unwrap(),
        f.core.checksums(&admin).await.unwrap()
    );
    assert!(
        c.core.verify_sync(&link, 50).await.unwrap().is_empty(),
        "nothing left to repair"
    );
}

#[tokio::test]
async fn replaying_a_page_after_a_crash_changes_nothing() {
    let (f, admin, id) = server_with_ticket().await;
    f.core
        .add_comment(
            &admin,
            id,
            NewComment {
                body: "once".into(),
                internal: None,
            },
        )
        .await
        .unwrap();
    let link = Link::new(&f.core, &admin);
    let c = console(&link).await;
    let page = f.core.pull_changes(&admin, 0, Some(1000)).await.unwrap();
    c.core.apply_pull(&page).await.unwrap();
    c.core.apply_pull(&page).await.unwrap();
    let d = ticket(&c.core, &admin, id).await;
    assert_eq!(d.comments.len(), 1);
    assert_eq!(d.ticket.title, "Printer");
}

#[tokio::test]
async fn a_server_address_must_be_http_or_https() {
    let f = fixture().await;
    let bad = f
        .core
        .set_server(Some("ftp://outpost.example"))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), "validation");
    assert!(bad.to_string().contains("https://"), "{bad}");
    let stored = f
        .core
        .set_server(Some(" https://outpost.example/ "))
        .await
        .unwrap();
    assert_eq!(stored.as_deref(), Some("https://outpost.example"));
    assert_eq!(
        f.core.sync_status().await.unwrap().server_url.as_deref(),
        Some("https://outpost.example")
    );
}

/// A console store that has not synced yet.
async fn fresh_console() -> Console {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(monday_10()));
    let core = Core::open_dir(dir.path(), clock.clone()).await.unwrap();
    core.set_server(Some("http://127.0.0.1:9")).await.unwrap();
    Console {
        core,
        clock,
        _dir: dir,
    }
}

async fn five_tickets() -> (Fixture, Actor, Vec<Uuid>) {
    let (f, admin, first) = server_with_ticket().await;
    let client = f.core.list_clients(&admin).await.unwrap()[0].id;
    let mut ids = vec![first];
    for i in 2..=5 {
        ids.push(f.ticket(&admin, client, &format!("Ticket {i}")).await.id);
    }
    (f, admin, ids)
}

async fn first_ticket(f: &Fixture, admin: &Actor) -> outpost_proto::SnapshotRecord {
    f.core
        .snapshot(admin, "ticket", None, Some(1))
        .await
        .unwrap()
        .records
        .remove(0)
}

#[tokio::test]
async fn snapshot_pages_cover_every_record_at_every_boundary() {
    let (f, admin, ids) = five_tickets().await;
    for limit in [1, 4, 5, 6] {
        let mut after = None;
        let mut seen = Vec::new();
        loop {
            let p = f
                .core
                .snapshot(&admin, "ticket", after, Some(limit))
                .await
                .unwrap();
            assert!(p.records.len() as i64 <= limit);
            seen.extend(p.records.iter().map(|r| r.id));
            if !p.has_more {
                break;
            }
            after = p.records.last().map(|r| r.id);
        }
        let mut want = ids.clone();
        want.sort();
        assert_eq!(seen, want, "limit {limit}: every ticket once, in id order");
        let past_end = f
            .core
            .snapshot(&admin, "ticket", seen.last().copied(), Some(limit))
            .await
            .unwrap();
        assert!(past_end.records.is_empty() && !past_end.has_more);
    }
    let none = f
        .core
        .snapshot(&admin, "conflict", None, Some(3))
        .await
        .unwrap();
    assert!(none.records.is_empty() && !none.has_more);
    // Each record carries its fields, the version it was created with, and the versions of
    // the fields edited since.
    let r = first_ticket(&f, &admin).await;
    assert_eq!(r.fields["title"], "Printer");
    assert!(r.created.as_deref().unwrap().contains('/'));
    assert_eq!(r.versions, serde_json::json!({}), "nothing edited yet");
    f.core
        .update_ticket(
            &admin,
            r.id,
            UpdateTicket {
                title: Some("Printer jams".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let r = first_ticket(&f, &admin).await;
    let edited: Vec<&String> = r.versions.as_object().unwrap().keys().collect();
    assert_eq!(edited, vec!["title"]);
    assert_ne!(r.versions["title"].as_str(), r.created.as_deref());
    assert!(matches!(
        f.core.snapshot(&admin, "invoice", None, None).await,
        Err(CoreError::Validation(_))
    ));
    assert!(matches!(
        f.core.snapshot(&admin, "ticket", None, Some(0)).await,
        Err(CoreError::Validation(_))
    ));
    // Consoles bootstrapped with pages just under, at and over the ticket count agree with
    // the server.
    let link = Link::new(&f.core, &admin);
    for page in [4, 5, 6] {
        let c = fresh_console().await;
        c.core.sync_once(&link, page).await.unwrap();
        assert_eq!(
            c.core.checksums(&admin).await.unwrap(),
            f.core.checksums(&admin).await.unwrap(),
            "page {page}"
        );
        assert_eq!(
            c.core
                .list_tickets(&admin, &TicketQuery::default())
                .await
                .unwrap()
                .total,
            5
        );
    }
}

#[tokio::test]
async fn an_interrupted_first_sync_resumes_where_it_stopped_and_misses_nothing() {
    let (f, admin, ids) = five_tickets().await;
    let link = Link::new(&f.core, &admin);
    // Pages of 2: user, settings, client, site, contact, asset, endpoint, inventory change,
    // alert rule, then tickets 1-2, 3-4, 5. The connection drops on the second page of
    // tickets.
    link.lose_snapshot.set(11);
    let c = fresh_console().await;
    assert!(matches!(
        c.core.sync_once(&link, 2).await,
        Err(CoreError::Offline(_))
    ));
    let (entity, booted): (String, bool) =
        sqlx::query_as("SELECT boot_entity, booted FROM sync_state")
            .fetch_one(c.core.pool())
            .await
            .unwrap();
    assert_eq!((entity.as_str(), booted), ("ticket", false));
    let status = c.core.sync_status().await.unwrap();
    assert!(status.offline);
    // Progress: the three tickets not fetched yet are among what is left.
    assert!(status.to_fetch >= 3, "{status:?}");
    // Meanwhile the server moves on: an edit to a ticket the console already has, a new
    // ticket and a comment.
    let mut sorted = ids.clone();
    sorted.sort();
    f.core
        .update_ticket(
            &admin,
            sorted[0],
            UpdateTicket {
                title: Some("Edited during the snapshot".into()),
                priority: Some(Priority::High),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let client = f.core.list_clients(&admin).await.unwrap()[0].id;
    f.ticket(&admin, client, "Born during the snapshot").await;
    f.core
        .add_comment(
            &admin,
            sorted[4],
            NewComment {
                body: "while you were away".into(),
                internal: None,
            },
        )
        .await
        .unwrap();
    let before = link.snapshot_calls.get();
    c.core.sync_once(&link, 2).await.unwrap();
    // Resumed at the lost page, not from the start: tickets 3-4, tickets 5-6, then
    // status moves, comments, time entries, attachments, alerts, saved views, scripts,
    // script versions, runs, conflicts.
    assert_eq!(link.snapshot_calls.get() - before, 12);
    let t = ticket(&c.core, &admin, sorted[0]).await.ticket;
    assert_eq!(
        (t.title.as_str(), t.priority),
        ("Edited during the snapshot", Priority::High)
    );
    assert_eq!(
        t.sla,
        ticket(&f.core, &admin, sorted[0]).await.ticket.sla,
        "deadlines recomputed for the new priority"
    );
    assert_eq!(
        c.core.checksums(&admin).await.unwrap(),
        f.core.checksums(&admin).await.unwrap()
    );
    // Nothing doubled: another round brings nothing new.
    let again = c.core.sync_once(&link, 2).await.unwrap();
    assert_eq!(again.pulled, 0);
    let status = c.core.sync_status().await.unwrap();
    assert_eq!((status.pending, status.to_fetch), (0, 0));
}

#[tokio::test]
async fn records_made_after_their_parents_were_copied_arrive_through_the_log() {
    let (f, admin, ids) = five_tickets().await;
    let link = Link::new(&f.core, &admin);
    // Pages of 2; the connection drops on the second page of tickets (user, settings,
    // client, site, contact, asset, tickets 1-2, then this one).
    link.lose_snapshot.set(8);
    let c = fresh_console().await;
    assert!(c.core.sync_once(&link, 2).await.is_err());
    let mut sorted = ids.clone();
    sorted.sort();
    // Meanwhile: a new colleague takes a ticket the console has not copied yet and logs time
    // on one it has; a new client with a site gets a ticket with a comment.
    let uma = f
        .core
        .create_user(
            &admin,
            outpost_proto::NewUser {
                username: "uma".into(),
                display_name: "Uma".into(),
                role: outpost_proto::Role::Technician,
                password: "uma password".into(),
            },
        )
        .await
        .unwrap();
    f.core
        .update_ticket(
            &admin,
            sorted[4],
            UpdateTicket {
                assignee_id: Some(Some(uma.id)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    f.core
        .add_time_entry(
            &admin,
            sorted[0],
            NewTimeEntry {
                minutes: 20,
                technician_id: Some(uma.id),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let late = f.client(&admin, "Late Co").await;
    let site = f
        .core
        .create_site(
            &admin,
            late,
            outpost_proto::NewSite {
                name: "Annex".into(),
                address: None,
                timezone: None,
            },
        )
        .await
        .unwrap();
    let late_ticket = f
        .core
        .create_ticket(
            &admin,
            NewTicket {
                title: "Late printer".into(),
                client_id: late,
                site_id: Some(site.id),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    f.core
        .add_comment(
            &admin,
            late_ticket.id,
            NewComment {
                body: "on it".into(),
                internal: None,
            },
        )
        .await
        .unwrap();
    // The console finishes its first sync and holds all of it, as the server does.
    c.core.sync_once(&link, 2).await.unwrap();
    let t = ticket(&c.core, &admin, sorted[4]).await.ticket;
    assert_eq!(t.assignee_id, Some(uma.id));
    let late_here = ticket(&c.core, &admin, late_ticket.id).await;
    assert_eq!(late_here.ticket.site_id, Some(site.id));
    assert_eq!(late_here.comments.len(), 1);
    assert_eq!(
        ticket(&c.core, &admin, sorted[0])
            .await
            .ticket
            .total_minutes,
        20
    );
    assert_eq!(
        c.core.checksums(&admin).await.unwrap(),
        f.core.checksums(&admin).await.unwrap()
    );
}

/// Two consoles offline on one ticket: one sets it In progress and replies to the client,
/// the other sets it Waiting on client and replies too. Whatever order they come back in,
/// the technician sees one conflict (the status, which both people chose), the first
/// response is the earliest reply, and every store holds the same SLA state.
#[tokio::test]
async fn two_offline_consoles_moving_and_answering_one_ticket_make_one_conflict() {
    for a_first in [true, false] {
        let (f, admin, id) = server_with_ticket().await;
        let link = Link::new(&f.core, &admin);
        let a = console(&link).await;
        let b = console(&link).await;
        a.clock.advance(Duration::minutes(5));
        b.clock.advance(Duration::minutes(9));
        for (c, status, reply) in [
            (&a, TicketStatus::InProgress, "Looking at it now"),
            (&b, TicketStatus::WaitingOnClient, "Which printer is it?"),
        ] {
            c.core
                .update_ticket(
                    &admin,
                    id,
                    UpdateTicket {
                        status: Some(status),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            c.core
                .add_comment(
                    &admin,
                    id,
                    NewComment {
                        body: reply.into(),
                        internal: Some(false),
                    },
                )
                .await
                .unwrap();
        }
        let (first, second) = if a_first { (&a, &b) } else { (&b, &a) };
        for _ in 0..2 {
            first.core.sync_once(&link, 50).await.unwrap();
            second.core.sync_once(&link, 50).await.unwrap();
        }
        let reference = ticket(&f.core, &admin, id).await.ticket;
        for core in [&f.core, &a.core, &b.core] {
            let t = ticket(core, &admin, id).await.ticket;
            assert_eq!(
                t.status,
                TicketStatus::WaitingOnClient,
                "the later move wins"
            );
            assert_eq!(
                t.sla.first_response_at,
                Some(monday_10() + Duration::minutes(5)),
                "the earliest public reply is the first response (a first: {a_first})"
            );
            assert_eq!(t.sla, reference.sla, "same SLA state on every store");
            let open: Vec<String> = core
                .conflicts_for("ticket", id)
                .await
                .unwrap()
                .into_iter()
                .filter(|c| !c.resolved)
                .map(|c| c.field)
                .collect();
            assert_eq!(open, vec!["status".to_string()], "a first: {a_first}");
        }
        // Choosing the other status settles the conflict everywhere: the edit saw both.
        a.core
            .update_ticket(
                &admin,
                id,
                UpdateTicket {
                    status: Some(TicketStatus::InProgress),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        for _ in 0..2 {
            a.core.sync_once(&link, 50).await.unwrap();
            b.core.sync_once(&link, 50).await.unwrap();
        }
        for core in [&f.core, &a.core, &b.core] {
            assert_eq!(core.sync_status().await.unwrap().open_conflicts, 0);
            assert_eq!(
                ticket(core, &admin, id).await.ticket.status,
                TicketStatus::InProgress
            );
        }
    }
}

/// When a ticket was opened is set once: a later write from anywhere does not move it (and
/// is no conflict), while the same change's other fields still land.
#[tokio::test]
async fn a_tickets_opening_time_is_set_once() {
    let (f, admin, id) = server_with_ticket().await;
    let opened = ticket(&f.core, &admin, id).await.ticket.created_at;
    let replica = Uuid::now_v7();
    let later = (monday_10() + Duration::hours(1)).timestamp_millis();
    let hlc = format!("{later:015}-{:010}-{}", 0, replica.simple());
    let push = f
        .core
        .accept_push(
            &admin,
            PushRequest {
                replica_id: replica,
                changes: vec![outpost_proto::ChangeRecord {
                    change_id: Uuid::now_v7(),
                    replica_id: replica,
                    replica_seq: 1,
                    hlc,
                    entity: "ticket".into(),
                    entity_id: id,
                    op: "update".into(),
                    fields: serde_json::json!({"created_at": later, "title": "Moved in time?"}),
                    base: serde_json::json!({}),
                }],
            },
        )
        .await
        .unwrap();
    assert_eq!(
        push.conflicts, 1,
        "the title was edited without seeing the current one"
    );
    let t = ticket(&f.core, &admin, id).await.ticket;
    assert_eq!(t.title, "Moved in time?");
    assert_eq!(t.created_at, opened, "the opening time stays");
    let fields: Vec<String> = f
        .core
        .conflicts_for("ticket", id)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.field)
        .collect();
    assert_eq!(fields, vec!["title".to_string()]);
}

/// The policy changes on the server while a console is offline and ends a pause there: the
/// console counted the pause under the old business hours, the server under the new. Once
/// both hold the same moves and the same policy, they hold the same clock, and the
/// checksums need no repair.
#[tokio::test]
async fn a_pause_ended_offline_under_an_old_policy_agrees_after_sync() {
    let (f, admin, id) = server_with_ticket().await;
    f.core
        .update_ticket(
            &admin,
            id,
            UpdateTicket {
                status: Some(TicketStatus::WaitingOnClient),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let link = Link::new(&f.core, &admin);
    let a = console(&link).await;
    a.clock.advance(Duration::hours(3));
    a.core
        .update_ticket(
            &admin,
            id,
            UpdateTicket {
                status: Some(TicketStatus::InProgress),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let clock = |core: &Core| {
        let core = core.pool().clone();
        async move {
            sqlx::query_as::<_, (i64, Option<i64>, Option<i64>)>(
                "SELECT paused_minutes, paused_since, resolved_at FROM tickets WHERE id = ?",
            )
            .bind(id.to_string())
            .fetch_one(&core)
            .await
            .unwrap()
        }
    };
    let counted_offline = clock(&a.core).await;
    // Meanwhile the working day got shorter: the same three hours hold fewer business minutes.
    let mut policy = f.core.sla_policy().await.unwrap();
    policy.day_start_minute = 11 * 60;
    f.clock.advance(Duration::hours(1));
    f.core.set_sla_policy(&admin, policy).await.unwrap();
    for _ in 0..2 {
        a.core.sync_once(&link, 50).await.unwrap();
    }
    let on_server = clock(&f.core).await;
    assert_eq!(
        clock(&a.core).await,
        on_server,
        "same moves, same policy, same clock"
    );
    assert!(on_server.0 > 0, "the pause counts: {on_server:?}");
    assert_eq!(
        ticket(&a.core, &admin, id).await.ticket.sla,
        ticket(&f.core, &admin, id).await.ticket.sla
    );
    assert!(
        a.core.verify_sync(&link, 50).await.unwrap().is_empty(),
        "no repair needed"
    );
    let _ = counted_offline;
}

/// A console of the landed version records no status moves. Its status change on a ticket
/// whose history this store holds keeps the clock it carries (the history does not end
/// with that status), instead of a replay that would contradict the status.
#[tokio::test]
async fn a_status_change_from_a_console_that_records_no_moves_keeps_its_clock() {
    let (f, admin, id) = server_with_ticket().await;
    f.core
        .update_ticket(
            &admin,
            id,
            UpdateTicket {
                status: Some(TicketStatus::InProgress),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let replica = Uuid::now_v7();
    let at = (monday_10() + Duration::hours(2)).timestamp_millis();
    let hlc = format!("{at:015}-{:010}-{}", 0, replica.simple());
    let versions: String = sqlx::query_scalar(
        "SELECT clocks FROM record_clocks WHERE entity = 'ticket' AND entity_id = ?",
    )
    .bind(id.to_string())
    .fetch_one(f.core.pool())
    .await
    .unwrap();
    // The old console had seen the move (its base is the current status version).
    let status_version =
        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&versions)
            .unwrap()
            .into_iter()
            .find(|(_, fields)| {
                fields
                    .as_array()
                    .is_some_and(|f| f.iter().any(|x| x == "status"))
            })
            .map(|(v, _)| v)
            .unwrap();
    let push = f
        .core
        .accept_push(
            &admin,
            PushRequest {
                replica_id: replica,
                changes: vec![outpost_proto::ChangeRecord {
                    change_id: Uuid::now_v7(),
                    replica_id: replica,
                    replica_seq: 1,
                    hlc,
                    entity: "ticket".into(),
                    entity_id: id,
                    op: "update".into(),
                    fields: serde_json::json!({
                        "status": "resolved", "resolved_at": at, "first_response_at": at,
                        "paused_since": null, "paused_minutes": 0,
                    }),
                    base: serde_json::json!({ "status": status_version }),
                }],
            },
        )
        .await
        .unwrap();
    assert_eq!(push.conflicts, 0);
    let t = ticket(&f.core, &admin, id).await.ticket;
    assert_eq!(t.status, TicketStatus::Resolved);
    assert_eq!(
        t.resolved_at.map(|r| r.timestamp_millis()),
        Some(at),
        "the carried clock stands"
    );
}

/// The script library reaches consoles (so runs can be prepared offline) and a console's
/// edits come back; the starter scripts are the same records everywhere, seeded or synced.
#[tokio::test]
async fn the_script_library_syncs_both_ways_and_the_starter_scripts_agree() {
    use outpost_proto::{Interpreter, NewScript, ScriptOs};
    let (f, admin, _) = server_with_ticket().await;
    let script = |body: &str| NewScript {
        name: "Clear the print queue".into(),
        description: String::new(),
        interpreter: Interpreter::Powershell,
        os: ScriptOs::Windows,
        body: body.into(),
        parameters: vec![],
        timeout_secs: 60,
        tags: vec![],
    };
    let made = f
        .core
        .create_script(&admin, script("Stop-Service Spooler"))
        .await
        .unwrap();
    let link = Link::new(&f.core, &admin);
    let c = fresh_console().await;
    // The console seeded its own starter scripts before it ever synced.
    let local = c.core.list_scripts(&admin).await.unwrap();
    c.core.sync_once(&link, 50).await.unwrap();
    let on_console = c.core.list_scripts(&admin).await.unwrap();
    assert_eq!(
        on_console.len(),
        local.len() + 1,
        "one copy of each starter, plus the new one"
    );
    assert!(on_console.iter().any(|s| s.id == made.id));
    assert_eq!(
        c.core.checksums(&admin).await.unwrap(),
        f.core.checksums(&admin).await.unwrap()
    );
    // Offline, the console edits it; the next sync brings version 2 to the server.
    let edited = c
        .core
        .update_script(
            &admin,
            made.id,
            script("Stop-Service Spooler; Start-Service Spooler"),
        )
        .await
        .unwrap();
    assert_eq!(edited.current.version, 2);
    c.core.sync_once(&link, 50).await.unwrap();
    let on_server = f.core.get_script(&admin, made.id).await.unwrap();
    assert_eq!(on_server.current.version, 2);
    assert_eq!(
        on_server.current.body,
        "Stop-Service Spooler; Start-Service Spooler"
    );
    assert_eq!(
        f.core.script_versions(&admin, made.id).await.unwrap().len(),
        2
    );
    assert_eq!(
        c.core.checksums(&admin).await.unwrap(),
        f.core.checksums(&admin).await.unwrap()
    );
}

/// A run's result reaches a console at its next sync (a console that signed offline sees
/// what became of it), and runs signed ahead stay on the server until they start.
#[tokio::test]
async fn runs_reach_consoles_as_the_server_writes_them() {
    use outpost_core::fleet::telemetry::Arrival;
    use outpost_proto::{
        AgentMessage, Interpreter, NewCertificate, NewRuns, NewScript, NewTrustRoot, RunEvent,
        RunEventKind, RunOutcome, RunQuery, RunState, ScriptOs,
    };
    use outpost_trust::{CertificateBody, ClientScope, RunRequest};
    let (f, admin, _) = server_with_ticket().await;
    let client = f.client(&admin, "Runs Ltd").await;
    let now = f.core.now().timestamp();
    let root = outpost_trust::new_signing_key();
    let tech = outpost_trust::new_signing_key();
    f.core
        .set_trust_root(
            &admin,
            NewTrustRoot {
                public_key: hex::encode(root.verifying_key().to_bytes()),
            },
        )
        .await
        .unwrap();
    let serial = uuid::Uuid::now_v7();
    let cert = CertificateBody {
        serial,
        root_key: root.verifying_key().to_bytes(),
        public_key: tech.verifying_key().to_bytes(),
        user_id: admin.user_id.unwrap(),
        name: "Ana Admin".into(),
        not_before: now - 60,
        not_after: now + 30 * 86_400,
        clients: ClientScope::All,
    }
    .sign(&root);
    f.core
        .add_certificate(
            &admin,
            NewCertificate {
                certificate: serde_json::from_value(serde_json::json!(cert)).unwrap(),
            },
        )
        .await
        .unwrap();
    let agent_key = outpost_trust::new_signing_key();
    let (enrolled, session) = crate::fleet::enroll(
        &f,
        &admin,
        client,
        "ws-01",
        "Debian GNU/Linux 12",
        &hex::encode(agent_key.verifying_key().to_bytes()),
    )
    .await;
    let script = f
        .core
        .create_script(
            &admin,
            NewScript {
                name: "Free space".into(),
                description: String::new(),
                interpreter: Interpreter::Bash,
                os: ScriptOs::Linux,
                body: "df -h /".into(),
                parameters: vec![],
                timeout_secs: 60,
                tags: vec![],
            },
        )
        .await
        .unwrap();
    let req = RunRequest {
        run_id: uuid::Uuid::now_v7(),
        nonce: rand::random(),
        target_agent: enrolled.agent_id,
        target_client: client,
        script_id: script.id,
        script_version: 1,
        script_hash: outpost_trust::script_hash("df -h /"),
        interpreter: "bash".into(),
        parameters: vec![],
        timeout_secs: 60,
        not_before: now - 5,
        not_after: now + 3600,
        revocation_seq: 0,
        approvals_required: 0,
        certificate_serial: serial,
    };
    let signed = req.sign(&tech, &cert);
    f.core
        .create_runs(
            &admin,
            NewRuns {
                runs: vec![serde_json::from_value(serde_json::json!(signed)).unwrap()],
                ticket_id: None,
            },
        )
        .await
        .unwrap();

    let link = Link::new(&f.core, &admin);
    let c = console(&link).await;
    let here = c.core.get_run(&admin, req.run_id).await.unwrap();
    assert_eq!(here.state, RunState::Waiting);
    assert_eq!(here.asset_name, "ws-01");

    // The agent runs it and reports; the console learns the result at its next sync.
    let at = f.core.now();
    let report = |seq, event| {
        Arrival::new(
            &session,
            AgentMessage::Run(RunEvent {
                seq,
                run_id: req.run_id,
                at,
                event,
            }),
        )
    };
    f.core
        .receive(&[
            report(1, RunEventKind::Started { pid: 4242 }),
            report(
                2,
                RunEventKind::Output {
                    stream: outpost_proto::OutputStream::Stdout,
                    data: "/dev/sda1  40G  12G  28G  30% /\n".into(),
                },
            ),
            report(
                3,
                RunEventKind::Finished {
                    outcome: RunOutcome::Exited,
                    exit_code: Some(0),
                    started_at: at,
                    ended_at: at,
                    stdout_truncated: false,
                    stderr_truncated: false,
                },
            ),
        ])
        .await
        .unwrap();
    assert_eq!(
        c.core.get_run(&admin, req.run_id).await.unwrap().state,
        RunState::Waiting,
        "not before it syncs"
    );
    c.core.sync_once(&link, 50).await.unwrap();
    let here = c.core.get_run(&admin, req.run_id).await.unwrap();
    assert_eq!(here.state, RunState::Finished);
    assert_eq!(here.exit_code, Some(0));
    assert!(here.stdout.contains("28G"), "{here:?}");
    assert_eq!(here, f.core.get_run(&admin, req.run_id).await.unwrap());
    let listed = c.core.list_runs(&admin, RunQuery::default()).await.unwrap();
    assert_eq!(listed.total, 1);

    // An automation's runs: the one whose time came reaches the console, the rest do not.
    use outpost_core::scripts::automations::{parse_schedule, signable_until};
    let schedule = parse_schedule("* * * * *", "UTC").unwrap();
    let from = now - 60;
    let until = signable_until(Some(&schedule), from, 1);
    let ahead: Vec<outpost_proto::SignedRunRequest> = schedule
        .windows(from, until)
        .unwrap()
        .into_iter()
        .map(|(not_before, not_after)| {
            let r = RunRequest {
                run_id: uuid::Uuid::now_v7(),
                nonce: rand::random(),
                not_before,
                not_after,
                ..req.clone()
            };
            serde_json::from_value(serde_json::json!(r.sign(&tech, &cert))).unwrap()
        })
        .collect();
    let automation = f
        .core
        .create_automation(
            &admin,
            outpost_proto::NewAutomation {
                id: uuid::Uuid::now_v7(),
                name: "Every minute".into(),
                trigger: outpost_proto::AutomationTrigger::Schedule,
                schedule: Some("* * * * *".into()),
                time_zone: Some("UTC".into()),
                alert_kind: None,
                runs_per_endpoint: None,
                cooldown_minutes: None,
                script_id: script.id,
                script_version: 1,
                valid_from: chrono::DateTime::from_timestamp(from, 0).unwrap(),
                valid_until: chrono::DateTime::from_timestamp(until, 0).unwrap(),
                runs: ahead,
            },
        )
        .await
        .unwrap();
    assert_eq!(f.core.start_due_runs().await.unwrap(), 1);
    c.core.sync_once(&link, 50).await.unwrap();
    let here = c.core.list_runs(&admin, RunQuery::default()).await.unwrap();
    assert_eq!(
        here.total, 2,
        "the one-off run and the automation's started one"
    );
    assert!(here
        .items
        .iter()
        .any(|r| r.automation_id == Some(automation.id) && r.triggered_at.is_some()));
    let scheduled = RunQuery {
        state: Some(RunState::Scheduled),
        ..Default::default()
    };
    assert_eq!(
        c.core
            .list_runs(&admin, scheduled.clone())
            .await
            .unwrap()
            .total,
        0
    );
    let kept = f
        .core
        .list_runs(
            &admin,
            RunQuery {
                automation_id: Some(automation.id),
                limit: Some(1000),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .total;
    assert_eq!(
        f.core.list_runs(&admin, scheduled).await.unwrap().total,
        kept - 1,
        "all but the started one wait on the server"
    );
    // The automation's page lists its runs in time order, the started one first.
    let all = f
        .core
        .list_runs(
            &admin,
            RunQuery {
                automation_id: Some(automation.id),
                limit: Some(500),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(all.items[0].triggered_at.is_some(), "{:?}", all.items[0]);
    assert_eq!(all.items.len() as i64, kept);
}

/// A status move is two changes (the ticket and its move) made in one operation: a push page
/// never ends between them, so a console lost after one push cannot leave the server with a
/// status its history does not explain.
#[tokio::test]
async fn an_operation_is_pushed_whole_even_when_a_page_would_split_it() {
    let (f, admin, id) = server_with_ticket().await;
    let link = Link::new(&f.core, &admin);
    let c = console(&link).await;
    c.core
        .update_ticket(
            &admin,
            id,
            UpdateTicket {
                status: Some(TicketStatus::InProgress),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let page = c.core.pending_changes(1).await.unwrap();
    let entities: Vec<&str> = page.iter().map(|ch| ch.entity.as_str()).collect();
    assert_eq!(
        entities,
        ["ticket", "status_move"],
        "one page, the whole operation"
    );
    c.core.sync_once(&link, 1).await.unwrap();
    assert_eq!(
        ticket(&f.core, &admin, id).await.ticket.status,
        TicketStatus::InProgress
    );
    assert_eq!(c.core.sync_status().await.unwrap().pending, 0);
}
