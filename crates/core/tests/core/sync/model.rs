//! Model-based randomized simulation of sync: 2-4 consoles and a server (all real cores on
//! real SQLite files) work offline, sync over a faulty in-memory link, skew and rewind their
//! clocks, crash between pages and get restored from old backups. After healing, every
//! console must equal the server, nothing appended may be lost or duplicated, and every
//! overwritten value must either have been seen by its overwriter or be kept in a conflict.
//! Failing seeds are kept by proptest in `proptest-regressions/`.

use crate::sync::Link;
use crate::{fixture, monday_10};
use chrono::Duration;
use outpost_core::desk::sla::{default_policy, SlaEngine};
use outpost_core::{Actor, Core, ManualClock};
use outpost_proto::{
    NewComment, NewTicket, NewTimeEntry, Priority, TicketQuery, TicketStatus, UpdateTicket,
};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use uuid::Uuid;

#[derive(Debug, Clone)]
enum Fault {
    None,
    DropRequest,
    DropResponse,
    /// A page is applied but the cursor is reset, as if the console died before storing it.
    CrashAfterPage,
    /// An old page arrives again (duplicated or reordered by the network).
    ReplayOldPage,
}

#[derive(Debug, Clone)]
enum Step {
    Retitle {
        console: usize,
        ticket: usize,
    },
    Reprioritise {
        console: usize,
        ticket: usize,
        priority: usize,
    },
    Move {
        console: usize,
        ticket: usize,
        status: usize,
    },
    Comment {
        console: usize,
        ticket: usize,
    },
    LogTime {
        console: usize,
        ticket: usize,
        minutes: i64,
    },
    NewTicket {
        console: usize,
    },
    Sync {
        console: usize,
        fault: Fault,
    },
    Clock {
        console: usize,
        minutes: i64,
    },
    Backup {
        console: usize,
    },
    Restore {
        console: usize,
    },
}

fn step() -> impl Strategy<Value = Step> {
    let c = 0..4usize;
    let t = 0..3usize;
    prop_oneof![
        3 => (c.clone(), t.clone()).prop_map(|(console, ticket)| Step::Retitle { console, ticket }),
        1 => (c.clone(), t.clone(), 0..4usize).prop_map(|(console, ticket, priority)| Step::Reprioritise { console, ticket, priority }),
        2 => (c.clone(), t.clone(), 0..5usize).prop_map(|(console, ticket, status)| Step::Move { console, ticket, status }),
        2 => (c.clone(), t.clone()).prop_map(|(console, ticket)| Step::Comment { console, ticket }),
        1 => (c.clone(), t.clone(), 1..120i64).prop_map(|(console, ticket, minutes)| Step::LogTime { console, ticket, minutes }),
        1 => c.clone().prop_map(|console| Step::NewTicket { console }),
        4 => (c.clone(), prop_oneof![
                4 => Just(Fault::None), 1 => Just(Fault::DropRequest), 1 => Just(Fault::DropResponse),
                1 => Just(Fault::CrashAfterPage), 1 => Just(Fault::ReplayOldPage)])
            .prop_map(|(console, fault)| Step::Sync { console, fault }),
        2 => (c.clone(), -240..240i64).prop_map(|(console, minutes)| Step::Clock { console, minutes }),
        1 => c.clone().prop_map(|console| Step::Backup { console }),
        1 => c.prop_map(|console| Step::Restore { console }),
    ]
}

struct Console {
    core: Core,
    clock: Arc<ManualClock>,
    backup: Option<tempfile::TempDir>,
    /// Work done here since the backup; a restore loses what had not reached the server.
    since_backup: Vec<Work>,
    _dirs: Vec<tempfile::TempDir>,
}

enum Work {
    Comment(String),
    Time {
        id: Uuid,
        ticket: Uuid,
        minutes: i64,
    },
    Ticket(Uuid),
}

/// What the model knows must be true after healing.
#[derive(Default)]
struct Model {
    comments: BTreeSet<String>,
    minutes: BTreeMap<Uuid, i64>,
    tickets: Vec<Uuid>,
}

const STATUSES: [TicketStatus; 5] = [
    TicketStatus::Open,
    TicketStatus::InProgress,
    TicketStatus::WaitingOnClient,
    TicketStatus::Resolved,
    TicketStatus::Closed,
];

async fn run(consoles_n: usize, steps: Vec<Step>) {
    let f = fixture().await;
    let (_, admin) = f.admin().await;
    let client = f.client(&admin, "Acme").await;
    let mut model = Model::default();
    for i in 0..2 {
        let t = f
            .core
            .create_ticket(
                &admin,
                NewTicket {
                    title: format!("Seed {i}"),
                    client_id: client,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        model.tickets.push(t.id);
    }
    let link = Link::new(&f.core, &admin);
    let mut consoles = Vec::new();
    for _ in 0..consoles_n {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(monday_10()));
        let core = Core::open_dir(dir.path(), clock.clone()).await.unwrap();
        core.set_server(Some("http://127.0.0.1:9")).await.unwrap();
        core.sync_once(&link, 7).await.unwrap();
        consoles.push(Console {
            core,
            clock,
            backup: None,
            since_backup: Vec::new(),
            _dirs: vec![dir],
        });
    }
    let mut serial = 0;
    for s in steps {
        serial += 1;
        let idx = |c: usize| c % consoles_n;
        match s {
            Step::Retitle { console, ticket } => {
                let c = &consoles[idx(console)];
                let id = known_ticket(&c.core, &admin, &model, ticket).await;
                let _ = c
                    .core
                    .update_ticket(
                        &admin,
                        id,
                        UpdateTicket {
                            title: Some(format!("T{serial}")),
                            ..Default::default()
                        },
                    )
                    .await;
            }
            Step::Reprioritise {
                console,
                ticket,
                priority,
            } => {
                let c = &consoles[idx(console)];
                let id = known_ticket(&c.core, &admin, &model, ticket).await;
                let p = Priority::ALL[priority % 4];
                let _ = c
                    .core
                    .update_ticket(
                        &admin,
                        id,
                        UpdateTicket {
                            priority: Some(p),
                            ..Default::default()
                        },
                    )
                    .await;
            }
            Step::Move {
                console,
                ticket,
                status,
            } => {
                let c = &consoles[idx(console)];
                let id = known_ticket(&c.core, &admin, &model, ticket).await;
                // Refused moves (closed is final) are fine: they change nothing.
                let _ = c
                    .core
                    .update_ticket(
                        &admin,
                        id,
                        UpdateTicket {
                            status: Some(STATUSES[status % 5]),
                            ..Default::default()
                        },
                    )
                    .await;
            }
            Step::Comment { console, ticket } => {
                let c = &mut consoles[idx(console)];
                let id = known_ticket(&c.core, &admin, &model, ticket).await;
                let body = format!("comment {serial}");
                c.core
                    .add_comment(
                        &admin,
                        id,
                        NewComment {
                            body: body.clone(),
                            internal: Some(serial % 2 == 0),
                        },
                    )
                    .await
                    .unwrap();
                model.comments.insert(body.clone());
                c.since_backup.push(Work::Comment(body));
            }
            Step::LogTime {
                console,
                ticket,
                minutes,
            } => {
                let c = &mut consoles[idx(console)];
                let id = known_ticket(&c.core, &admin, &model, ticket).await;
                let e = c
                    .core
                    .add_time_entry(
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
                *model.minutes.entry(id).or_default() += minutes;
                c.since_backup.push(Work::Time {
                    id: e.id,
                    ticket: id,
                    minutes,
                });
            }
            Step::NewTicket { console } => {
                let c = &mut consoles[idx(console)];
                let t = c
                    .core
                    .create_ticket(
                        &admin,
                        NewTicket {
                            title: format!("New {serial}"),
                            client_id: client,
                            ..Default::default()
                        },
                    )
                    .await
                    .unwrap();
                model.tickets.push(t.id);
                c.since_backup.push(Work::Ticket(t.id));
            }
            Step::Sync { console, fault } => {
                let c = &consoles[idx(console)];
                match fault {
                    Fault::None => {}
                    Fault::DropRequest => link.drop_request.set(true),
                    Fault::DropResponse => link.drop_response.set(true),
                    Fault::CrashAfterPage => {
                        let before: i64 = sqlx::query_scalar("SELECT cursor FROM sync_state")
                            .fetch_one(c.core.pool())
                            .await
                            .unwrap();
                        let page = f.core.pull_changes(&admin, before, Some(5)).await.unwrap();
                        c.core.apply_pull(&page).await.unwrap();
                        sqlx::query("UPDATE sync_state SET cursor = ?")
                            .bind(before)
                            .execute(c.core.pool())
                            .await
                            .unwrap();
                    }
                    Fault::ReplayOldPage => {
                        let page = f.core.pull_changes(&admin, 0, Some(9)).await.unwrap();
                        c.core.apply_pull(&page).await.unwrap();
                    }
                }
                // Faults make a round fail; the store must stay usable and consistent.
                let _ = c.core.sync_once(&link, 7).await;
                link.drop_request.set(false);
                link.drop_response.set(false);
            }
            Step::Clock { console, minutes } => {
                consoles[idx(console)]
                    .clock
                    .advance(Duration::minutes(minutes));
            }
            Step::Backup { console } => {
                let c = &mut consoles[idx(console)];
                let dir = tempfile::tempdir().unwrap();
                sqlx::query(&format!(
                    "VACUUM INTO '{}'",
                    dir.path().join("outpost.db").display()
                ))
                .execute(c.core.pool())
                .await
                .unwrap();
                c.backup = Some(dir);
                c.since_backup.clear();
            }
            Step::Restore { console } => {
                let c = &mut consoles[idx(console)];
                if let Some(dir) = c.backup.take() {
                    // Work that never reached the server goes with the restore, as it would.
                    for work in c.since_backup.drain(..) {
                        let on_server = |table: &str, id: String| {
                            let sql = format!("SELECT count(*) FROM {table} WHERE {}", id);
                            sql
                        };
                        let (sql, bind) = match &work {
                            Work::Comment(body) => {
                                (on_server("comments", "body = ?".into()), body.clone())
                            }
                            Work::Time { id, .. } => {
                                (on_server("time_entries", "id = ?".into()), id.to_string())
                            }
                            Work::Ticket(id) => {
                                (on_server("tickets", "id = ?".into()), id.to_string())
                            }
                        };
                        let n: i64 = sqlx::query_scalar(&sql)
                            .bind(bind)
                            .fetch_one(f.core.pool())
                            .await
                            .unwrap();
                        if n > 0 {
                            continue;
                        }
                        match work {
                            Work::Comment(body) => {
                                model.comments.remove(&body);
                            }
                            Work::Time {
                                ticket, minutes, ..
                            } => {
                                *model.minutes.entry(ticket).or_default() -= minutes;
                            }
                            Work::Ticket(id) => model.tickets.retain(|t| *t != id),
                        }
                    }
                    c.core.pool().close().await;
                    let core = Core::open_dir(dir.path(), c.clock.clone()).await.unwrap();
                    let old = std::mem::replace(&mut c.core, core);
                    drop(old);
                    c._dirs.push(dir);
                }
            }
        }
    }

    // Heal: every console syncs until nothing moves.
    for _ in 0..3 {
        for c in &consoles {
            c.core.sync_once(&link, 7).await.unwrap();
        }
    }
    check(&f.core, &admin, &consoles, &model).await;
    // The checksums agree too: no console needs a repair.
    for (i, c) in consoles.iter().enumerate() {
        let repaired = c.core.verify_sync(&link, 7).await.unwrap();
        assert!(
            repaired.is_empty(),
            "console {i} had to re-sync {repaired:?}"
        );
    }
}

/// A ticket this console has (created elsewhere and not synced yet: fall back to a seed).
async fn known_ticket(core: &Core, actor: &Actor, model: &Model, n: usize) -> Uuid {
    let id = model.tickets[n % model.tickets.len()];
    if core.get_ticket(actor, id).await.is_ok() {
        id
    } else {
        model.tickets[n % 2]
    }
}

#[derive(Debug, PartialEq)]
struct TicketView {
    title: String,
    priority: Priority,
    status: TicketStatus,
    number: i64,
    comments: BTreeSet<String>,
    minutes: i64,
    sla: outpost_proto::TicketSla,
}

async fn snapshot(core: &Core, actor: &Actor) -> BTreeMap<Uuid, TicketView> {
    let all = core
        .list_tickets(
            actor,
            &TicketQuery {
                limit: Some(500),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut out = BTreeMap::new();
    for t in all.items {
        let d = core.get_ticket(actor, t.id).await.unwrap();
        out.insert(
            t.id,
            TicketView {
                title: t.title,
                priority: t.priority,
                status: t.status,
                number: t.number,
                comments: d.comments.into_iter().map(|c| c.body).collect(),
                minutes: t.total_minutes,
                sla: TicketSlaShape::from(t.sla),
            },
        );
    }
    out
}

/// SLA state depends on each store's own "now"; the deadlines must match.
struct TicketSlaShape;
impl TicketSlaShape {
    #[allow(clippy::new_ret_no_self)]
    fn from(mut s: outpost_proto::TicketSla) -> outpost_proto::TicketSla {
        s.state = outpost_proto::SlaState::None;
        s
    }
}

async fn check(server: &Core, admin: &Actor, consoles: &[Console], model: &Model) {
    let truth = snapshot(server, admin).await;
    for (i, c) in consoles.iter().enumerate() {
        assert_eq!(
            c.core.sync_status().await.unwrap().pending,
            0,
            "console {i} has unsent changes"
        );
        let mine = snapshot(&c.core, admin).await;
        assert_eq!(mine, truth, "console {i} differs from the server");
    }
    // Every ticket the model created exists; every comment exactly once; time adds up.
    for id in &model.tickets {
        assert!(truth.contains_key(id), "ticket {id} was lost");
    }
    let mut seen = BTreeSet::new();
    for t in truth.values() {
        for c in &t.comments {
            assert!(seen.insert(c.clone()), "comment '{c}' appears twice");
        }
    }
    assert_eq!(seen, model.comments, "comments lost or invented");
    for (id, minutes) in model
        .minutes
        .iter()
        .filter(|(id, _)| model.tickets.contains(id))
    {
        assert_eq!(truth[id].minutes, *minutes, "time on {id}");
    }
    let numbers: BTreeSet<i64> = truth.values().map(|t| t.number).collect();
    assert_eq!(
        numbers.len(),
        truth.len(),
        "ticket numbers are unique after sync"
    );
    let dup: i64 = sqlx::query_scalar("SELECT count(*) - count(DISTINCT change_id) FROM changes")
        .fetch_one(server.pool())
        .await
        .unwrap();
    assert_eq!(dup, 0, "a change id is on the server twice");

    // No silent loss: a title that is not the final one was either seen by the edit that
    // replaced it, or kept as the losing value of a conflict. And for every field people
    // edit, a conflict names a write that really happened.
    for field in ["title", "priority", "status"] {
        let rows: Vec<(String, String, String, String)> = sqlx::query_as(&format!(
            "SELECT entity_id, hlc || '/' || change_id, json_extract(fields, '$.{field}'), \
             coalesce(json_extract(base, '$.{field}'), '') FROM changes \
             WHERE entity = 'ticket' AND json_extract(fields, '$.{field}') IS NOT NULL"
        ))
        .fetch_all(server.pool())
        .await
        .unwrap();
        let lost: BTreeSet<(String, String)> = sqlx::query_as::<_, (String, String)>(
            "SELECT entity_id, lost_hlc FROM conflicts WHERE field = ?",
        )
        .bind(field)
        .fetch_all(server.pool())
        .await
        .unwrap()
        .into_iter()
        .collect();
        for (id, hlc, value, _) in &rows {
            let t = &truth[&Uuid::parse_str(id).unwrap()];
            let final_value = match field {
                "title" => t.title.clone(),
                "priority" => t.priority.as_str().to_string(),
                _ => t.status.as_str().to_string(),
            };
            // Only titles are unique per write; two people setting the same status or
            // priority is agreement, not a loss.
            if *value == final_value || field != "title" {
                continue;
            }
            let superseded = rows.iter().any(|(i2, _, _, base)| i2 == id && base == hlc);
            assert!(
                superseded || lost.contains(&(id.clone(), hlc.clone())),
                "{field} '{value}' of {id} vanished without a conflict"
            );
        }
        // And no conflict is invented: each lost value is a write that really happened.
        for (id, version) in &lost {
            assert!(
                rows.iter().any(|(i2, v, _, _)| i2 == id && v == version),
                "a conflict on {field} of {id} names a write that never happened"
            );
        }
    }
    // Derived and earliest-wins fields never conflict: only what people edit does.
    let derived: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT field, kept_value, lost_value FROM conflicts WHERE entity = 'conflict' \
         OR (entity = 'ticket' AND field IN \
         ('first_response_at', 'resolved_at', 'paused_since', 'paused_minutes', 'created_at'))",
    )
    .fetch_all(server.pool())
    .await
    .unwrap();
    assert!(
        derived.is_empty(),
        "conflicts on fields nobody edits: {derived:?}"
    );

    // Every store's SLA clock is the replay of the merged status history (computed here,
    // from the server's moves), and the first response the earliest public reply or
    // resolution anywhere.
    let engine = SlaEngine::new(default_policy()).unwrap();
    for id in truth.keys() {
        let reference = reference_clock(server, &engine, *id).await;
        let stores = std::iter::once(server).chain(consoles.iter().map(|c| &c.core));
        for (i, core) in stores.enumerate() {
            assert_eq!(
                stored_clock(core, *id).await,
                reference,
                "store {i} (0 is the server), ticket {id}: clock differs from the merged history"
            );
        }
    }
}

/// Minutes paused, pause start, resolution and first response, as a store holds them.
type Clock = (i64, Option<i64>, Option<i64>, Option<i64>);

async fn stored_clock(core: &Core, id: Uuid) -> Clock {
    sqlx::query_as(
        "SELECT paused_minutes, paused_since, resolved_at, first_response_at FROM tickets WHERE id = ?",
    )
    .bind(id.to_string())
    .fetch_one(core.pool())
    .await
    .unwrap()
}

/// The model of the SLA clock: the status moves in the order the status merged, each
/// pausing, resuming or resolving as the policy says; the first response is the earliest
/// public reply, or resolution as its author made it.
async fn reference_clock(server: &Core, engine: &SlaEngine, id: Uuid) -> Clock {
    type MoveRow = (String, i64, String, Option<i64>, i64, Option<i64>);
    let moves: Vec<MoveRow> = sqlx::query_as(
        "SELECT status, at, from_status, from_paused_since, from_paused_minutes, from_resolved_at \
         FROM status_moves WHERE ticket_id = ? ORDER BY version, id",
    )
    .bind(id.to_string())
    .fetch_all(server.pool())
    .await
    .unwrap();
    let done = |s: &str| matches!(s, "resolved" | "closed");
    let replied: Option<i64> = sqlx::query_scalar(
        "SELECT min(created_at) FROM comments WHERE ticket_id = ? AND internal = 0",
    )
    .bind(id.to_string())
    .fetch_one(server.pool())
    .await
    .unwrap();
    // A resolution is a response too, at the time its author made it.
    let resolved_first = moves
        .iter()
        .filter(|(to, _, from, ..)| done(to) && !done(from))
        .map(|(_, at, ..)| *at)
        .min();
    let response = match (replied, resolved_first) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let Some(first) = moves.first() else {
        return (0, None, None, response);
    };
    let mut status = first.2.clone();
    let (mut since, mut minutes, mut resolved) = (first.3, first.4, first.5);
    for (to, at, ..) in &moves {
        if *to == status {
            continue;
        }
        if let Some(s) = since.take() {
            minutes += engine.pause_minutes(from_ms(s), from_ms(*at));
        }
        if to == "waiting_on_client" {
            since = Some(*at);
        }
        if done(to) && !done(&status) {
            resolved = Some(*at);
        }
        if !done(to) {
            resolved = None;
        }
        status = to.clone();
    }
    (minutes, since, resolved, response)
}

fn from_ms(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, max_shrink_iters: 200, ..ProptestConfig::default() })]

    #[test]
    fn consoles_converge_with_the_server_and_lose_nothing(
        consoles in 2..5usize,
        steps in proptest::collection::vec(step(), 1..40),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(run(consoles, steps));
    }
}
