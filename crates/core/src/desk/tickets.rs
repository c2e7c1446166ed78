//! Tickets: the service desk. Creation, edits with status rules, tags, comments, time
//! entries, the queue (filters, sort, full-text search) and a ticket's history.

use crate::clients::{ensure_client, ensure_site_of};
use crate::clock::{from_ms, to_ms};
use crate::desk::sla::{next_due, opt_time, parse_state, state_sql, SlaClockState, SlaEngine};
use crate::error::{invalid, CoreError, CoreResult};
use crate::store::record::{ClientOf, Derive, ExtraField, HookFuture, Link, SyncedRecord};
use crate::store::{opt_uuid, parse_uuid, Actor, Core, Op, WriteTx};
use crate::sync::Merge;
use chrono::{DateTime, Duration, Utc};
use outpost_proto::{
    Comment, FieldChange, HistoryEntry, NewComment, NewTicket, NewTimeEntry, Priority, QueueCounts,
    Role, SlaState, Ticket, TicketDetail, TicketPage, TicketQuery, TicketSla, TicketSort,
    TicketStatus, TimeEntry, UpdateTicket,
};
use serde_json::{json, Map, Value};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use uuid::Uuid;

pub const MAX_TITLE: usize = 200;
pub const MAX_BODY: usize = 20_000;
pub const MAX_TAGS: usize = 20;
pub const MAX_PAGE: i64 = 500;
/// One time entry covers at most a day; longer work is logged per day.
pub const MAX_ENTRY_MINUTES: i64 = 24 * 60;
const FIRST_TICKET_NUMBER: i64 = 1001;

fn title(t: &str) -> CoreResult<String> {
    let t = t.trim();
    if t.is_empty() {
        return Err(invalid(
            "title must not be empty; say in a few words what is wrong",
        ));
    }
    if t.chars().any(char::is_control) {
        return Err(invalid(
            "title must be one line of text (no line breaks or control characters)",
        ));
    }
    if t.chars().count() > MAX_TITLE {
        return Err(invalid(format!(
            "title is {} characters; keep it to {MAX_TITLE} and put details in the description",
            t.chars().count()
        )));
    }
    Ok(t.to_string())
}

fn body(field: &str, b: &str, allow_empty: bool) -> CoreResult<String> {
    if !allow_empty && b.trim().is_empty() {
        return Err(invalid(format!("{field} must not be empty")));
    }
    if b.chars().count() > MAX_BODY {
        return Err(invalid(format!(
            "{field} must be at most {MAX_BODY} characters"
        )));
    }
    Ok(b.to_string())
}

fn tags(raw: &[String]) -> CoreResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for t in raw {
        let t = t.trim().to_lowercase();
        if t.is_empty() {
            continue;
        }
        if t.chars().count() > 40
            || !t
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' ' | '.' | '/'))
        {
            return Err(invalid(format!(
                "tag '{t}' must be at most 40 letters, digits, spaces or - _ . /"
            )));
        }
        if !out.contains(&t) {
            out.push(t);
        }
    }
    if out.len() > MAX_TAGS {
        return Err(invalid(format!(
            "a ticket may have at most {MAX_TAGS} tags"
        )));
    }
    out.sort();
    Ok(out)
}

/// Which status moves a technician may make. `new` is only ever the first status, and a
/// closed ticket is final (a follow-up gets a new ticket, so reports stay honest).
pub fn check_transition(from: TicketStatus, to: TicketStatus) -> CoreResult<()> {
    use TicketStatus::*;
    if from == to {
        return Ok(());
    }
    match (from, to) {
        (_, New) => Err(invalid(format!(
            "a ticket cannot go back to new (it is {}); use open instead",
            from.as_str()
        ))),
        (Closed, _) => Err(CoreError::Conflict(
            "this ticket is closed and cannot change status; open a follow-up ticket instead"
                .into(),
        )),
        (Resolved, WaitingOnClient) => Err(invalid(
            "a resolved ticket cannot wait on the client; reopen it (open) first",
        )),
        _ => Ok(()),
    }
}

/// The stored fields of a ticket that edits work on.
#[derive(Debug, Clone)]
struct TicketState {
    rid: i64,
    title: String,
    description: String,
    status: TicketStatus,
    priority: Priority,
    client_id: Uuid,
    site_id: Option<Uuid>,
    contact_id: Option<Uuid>,
    assignee_id: Option<Uuid>,
    created_at: DateTime<Utc>,
    first_response_at: Option<DateTime<Utc>>,
    resolved_at: Option<DateTime<Utc>>,
    paused_since: Option<DateTime<Utc>>,
    paused_minutes: i64,
    tags: Vec<String>,
}

impl TicketState {
    fn clock(&self) -> SlaClockState {
        SlaClockState {
            created_at: self.created_at,
            priority: self.priority,
            status: self.status,
            first_response_at: self.first_response_at,
            paused_since: self.paused_since,
            paused_minutes: self.paused_minutes,
        }
    }
}

/// How a ticket's fields merge when two replicas wrote them at once (every other field is
/// what a person edits: the later write wins and the other is kept as a conflict). The first
/// response is the earliest public reply on any replica; the SLA clock state travels with the
/// status change that moved it, so it follows whichever status wins and never conflicts.
pub(crate) const TICKET_MERGE: &[(&str, Merge)] = &[
    ("first_response_at", Merge::Earliest),
    ("resolved_at", Merge::Derived),
    ("paused_since", Merge::Derived),
    ("paused_minutes", Merge::Derived),
    ("created_at", Merge::SetOnce),
];

const TICKET_LINKS: &[Link] = &[
    Link {
        field: "client_id",
        entity: "client",
        required: true,
    },
    Link {
        field: "site_id",
        entity: "site",
        required: false,
    },
    Link {
        field: "contact_id",
        entity: "contact",
        required: false,
    },
    Link {
        field: "assignee_id",
        entity: "user",
        required: false,
    },
];

/// Tickets sync to the consoles of people who may see their client; their tags travel as a
/// field of the ticket. Deadlines, the priority rank and time totals are derived on every
/// store, never taken from the wire.
pub(crate) const TICKET_RECORD: SyncedRecord = SyncedRecord {
    merge: TICKET_MERGE,
    client: ClientOf::Column("client_id"),
    links: TICKET_LINKS,
    moves_updated_at: true,
    stamps: &[],
    extra: Some(ExtraField {
        name: "tags",
        read: read_tags,
        write: write_tags_value,
        snapshot_sql: "json((SELECT json_group_array(tag) FROM \
                       (SELECT tag FROM ticket_tags WHERE ticket_id = tickets.id ORDER BY tag)))",
        drop_sql: "DELETE FROM ticket_tags WHERE ticket_id IN ({gone})",
    }),
    derive_on_insert: Some(derived_on_insert),
    after_apply: Some(after_remote_write),
    after_creates: Some(after_remote_creates),
    server_insert: Some(renumber_if_taken),
    drop_also: &[
        "DELETE FROM ticket_fts WHERE rowid IN (SELECT rid FROM tickets WHERE id IN ({gone}))",
    ],
    ..SyncedRecord::table(
        "ticket",
        "tickets",
        &[
            "number",
            "title",
            "description",
            "status",
            "priority",
            "client_id",
            "site_id",
            "contact_id",
            "assignee_id",
            "created_at",
            "first_response_at",
            "resolved_at",
            "paused_since",
            "paused_minutes",
        ],
    )
};

/// Comments are only ever added; each links to its ticket's row for full-text search.
pub(crate) const COMMENT_RECORD: SyncedRecord = SyncedRecord {
    client: ClientOf::Parent {
        field: "ticket_id",
        entity: "ticket",
    },
    links: &[
        Link {
            field: "ticket_id",
            entity: "ticket",
            required: true,
        },
        Link {
            field: "author_id",
            entity: "user",
            required: true,
        },
    ],
    append_only: true,
    rowid_link: Some(("ticket_rid", "tickets", "ticket_id")),
    ..SyncedRecord::table(
        "comment",
        "comments",
        &["ticket_id", "author_id", "body", "internal", "created_at"],
    )
};

/// Time entries are only ever added; a ticket's totals are recounted from them.
pub(crate) const TIME_ENTRY_RECORD: SyncedRecord = SyncedRecord {
    client: ClientOf::Parent {
        field: "ticket_id",
        entity: "ticket",
    },
    links: &[
        Link {
            field: "ticket_id",
            entity: "ticket",
            required: true,
        },
        Link {
            field: "technician_id",
            entity: "user",
            required: true,
        },
    ],
    append_only: true,
    after_apply: Some(after_remote_time),
    after_creates: Some(after_remote_time_entries),
    ..SyncedRecord::table(
        "time_entry",
        "time_entries",
        &[
            "ticket_id",
            "technician_id",
            "started_at",
            "minutes",
            "billable",
            "note",
        ],
    )
};

/// A ticket's status moves: only ever added, they reach every store that holds the ticket,
/// and each store replays the SLA clock from them (see [`replay_clock`]).
pub(crate) const STATUS_MOVE_RECORD: SyncedRecord = SyncedRecord {
    client: ClientOf::Parent {
        field: "ticket_id",
        entity: "ticket",
    },
    links: &[Link {
        field: "ticket_id",
        entity: "ticket",
        required: true,
    }],
    append_only: true,
    since: 2,
    after_apply: Some(after_remote_move),
    after_creates: Some(after_remote_moves),
    ..SyncedRecord::table(
        "status_move",
        "status_moves",
        &[
            "ticket_id",
            "status",
            "at",
            "version",
            "from_status",
            "from_paused_since",
            "from_paused_minutes",
            "from_resolved_at",
        ],
    )
};

fn after_remote_move<'a>(
    w: &'a mut WriteTx<'_>,
    c: &'a outpost_proto::ChangeRecord,
    _written: &'a [&'a str],
    derive: &'a Derive,
) -> HookFuture<'a> {
    Box::pin(async move {
        let engine: &SlaEngine = derive.get()?;
        if let Some(t) = c.fields.get("ticket_id").and_then(Value::as_str) {
            replay_clock(w, engine, parse_uuid(t)?).await?;
        }
        Ok(())
    })
}

/// The tickets a run of remote records (moves, time entries) belongs to, each once.
fn tickets_of<'a>(run: &'a [&'a outpost_proto::ChangeRecord]) -> Vec<&'a str> {
    let mut tickets: Vec<&str> = run
        .iter()
        .filter_map(|c| c.fields.get("ticket_id").and_then(Value::as_str))
        .collect();
    tickets.sort_unstable();
    tickets.dedup();
    tickets
}

fn after_remote_moves<'a>(
    w: &'a mut WriteTx<'_>,
    run: &'a [&'a outpost_proto::ChangeRecord],
    derive: &'a Derive,
) -> HookFuture<'a> {
    Box::pin(async move {
        let engine: &SlaEngine = derive.get()?;
        for t in tickets_of(run) {
            replay_clock(w, engine, parse_uuid(t)?).await?;
        }
        Ok(())
    })
}

/// Records a status move made here, with the clock its author saw before it and the
/// version of the status it wrote (so every store replays moves in the order the status
/// merges).
async fn record_move(
    w: &mut WriteTx<'_>,
    ticket: Uuid,
    before: &TicketState,
    to: TicketStatus,
) -> CoreResult<()> {
    let clocks =
        crate::store::versions::load_clocks(&mut w.tx, "ticket", &ticket.to_string()).await?;
    let version = clocks
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let id = Uuid::now_v7();
    let at = w.now_ms();
    let fields = json!({
        "ticket_id": ticket, "status": to.as_str(), "at": at, "version": version,
        "from_status": before.status.as_str(),
        "from_paused_since": before.paused_since.map(to_ms),
        "from_paused_minutes": before.paused_minutes,
        "from_resolved_at": before.resolved_at.map(to_ms),
    });
    sqlx::query(
        "INSERT INTO status_moves (id, ticket_id, status, at, version, from_status, \
         from_paused_since, from_paused_minutes, from_resolved_at, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(ticket.to_string())
    .bind(to.as_str())
    .bind(at)
    .bind(&version)
    .bind(before.status.as_str())
    .bind(before.paused_since.map(to_ms))
    .bind(before.paused_minutes)
    .bind(before.resolved_at.map(to_ms))
    .bind(at)
    .execute(&mut *w.tx)
    .await?;
    w.record_change("status_move", id, Op::Insert, fields).await
}

/// The SLA clock replayed from the merged history of a ticket's status moves: from the
/// clock the first move's author saw, each move in the order the status merges. Every
/// store holds the same moves, so every store ends with the same clock, whoever was
/// offline when. A ticket with no recorded moves keeps the clock it has (false).
pub(crate) async fn replay_clock(
    w: &mut WriteTx<'_>,
    engine: &SlaEngine,
    ticket: Uuid,
) -> CoreResult<bool> {
    type MoveRow = (String, i64, String, Option<i64>, i64, Option<i64>);
    let moves: Vec<MoveRow> = sqlx::query_as(
        "SELECT status, at, from_status, from_paused_since, from_paused_minutes, \
         from_resolved_at FROM status_moves WHERE ticket_id = ? ORDER BY version, id",
    )
    .bind(ticket.to_string())
    .fetch_all(&mut *w.tx)
    .await?;
    let Some(first) = moves.first() else {
        return Ok(false);
    };
    let stored = match load_state(w, ticket).await {
        Ok(s) => s,
        Err(CoreError::NotFound(_)) => return Ok(false), // not here (yet): nothing to replay
        Err(e) => return Err(e),
    };
    // Moves replay in the order the status merges, so a complete history ends with the
    // status the ticket has. One that does not is not complete here yet (its move is still
    // on the way) or was moved by a console that records no moves (an older version): the
    // clock its change carried stands until the history catches up.
    if moves.last().map(|m| m.0.as_str()) != Some(stored.status.as_str()) {
        return Ok(false);
    }
    let mut s = stored.clone();
    s.status = TicketStatus::parse(&first.2).unwrap_or(TicketStatus::New);
    s.paused_since = first.3.map(from_ms);
    s.paused_minutes = first.4;
    s.resolved_at = first.5.map(from_ms);
    for (status, at, ..) in &moves {
        if let Some(to) = TicketStatus::parse(status) {
            apply_status(&mut s, to, from_ms(*at), engine);
        }
    }
    // The status itself merges as a person's edit, and the first response is the earliest
    // one any author recorded (a public reply, or a resolution as its author made it): the
    // replay decides only the pause and resolution clock.
    s.status = stored.status;
    s.first_response_at = stored.first_response_at;
    store_sla(w, engine, ticket, &s).await?;
    Ok(true)
}

/// Fields whose change moves a ticket's SLA clocks.
const SLA_FIELDS: &[&str] = &[
    "status",
    "priority",
    "created_at",
    "first_response_at",
    "resolved_at",
    "paused_since",
    "paused_minutes",
];

fn read_tags<'a>(w: &'a mut WriteTx<'_>, id: Uuid) -> HookFuture<'a, Value> {
    Box::pin(async move {
        let tags: Vec<String> =
            sqlx::query_scalar("SELECT tag FROM ticket_tags WHERE ticket_id = ? ORDER BY tag")
                .bind(id.to_string())
                .fetch_all(&mut *w.tx)
                .await?;
        Ok(json!(tags))
    })
}

fn write_tags_value<'a>(w: &'a mut WriteTx<'_>, id: Uuid, v: &'a Value) -> HookFuture<'a> {
    Box::pin(async move {
        let list: Vec<String> = serde_json::from_value(v.clone()).unwrap_or_default();
        write_tags(w, id, &list).await
    })
}

/// A created ticket's derived columns: computed here, not in a second pass, since this is
/// the hot path of a console's first sync.
fn derived_on_insert(
    fields: &Map<String, Value>,
    created: i64,
    derive: &Derive,
) -> CoreResult<Vec<(&'static str, Value)>> {
    let engine: &SlaEngine = derive.get()?;
    let prio = fields
        .get("priority")
        .and_then(Value::as_str)
        .and_then(Priority::parse)
        .unwrap_or(Priority::Normal);
    let at = fields.get("created_at").cloned().unwrap_or(json!(created));
    let ms = |k: &str| fields.get(k).and_then(Value::as_i64).map(from_ms);
    let clock = SlaClockState {
        created_at: from_ms(at.as_i64().unwrap_or(created)),
        priority: prio,
        status: fields
            .get("status")
            .and_then(Value::as_str)
            .and_then(TicketStatus::parse)
            .unwrap_or(TicketStatus::New),
        first_response_at: ms("first_response_at"),
        paused_since: ms("paused_since"),
        paused_minutes: fields
            .get("paused_minutes")
            .and_then(Value::as_i64)
            .unwrap_or(0),
    };
    let d = engine.deadlines(&clock);
    Ok(vec![
        ("priority_rank", json!(prio.rank())),
        ("updated_at", at.clone()),
        ("created_at", at),
        ("fr_due", json!(d.fr_due)),
        ("fr_risk_at", json!(d.fr_risk_at)),
        ("res_due", json!(d.res_due)),
        ("res_risk_at", json!(d.res_risk_at)),
        ("next_due", json!(next_due(&clock, &d))),
    ])
}

/// The local ticket counter stays above every number this store holds.
async fn raise_counter(w: &mut WriteTx<'_>, number: i64) -> CoreResult<()> {
    sqlx::query(
        "INSERT INTO counters (name, value) VALUES ('ticket_number', ?) \
         ON CONFLICT(name) DO UPDATE SET value = max(value, excluded.value)",
    )
    .bind(number)
    .execute(&mut *w.tx)
    .await?;
    Ok(())
}

/// Keeps derived state right after remote fields landed: the ticket counter, the priority
/// sort rank, the SLA deadlines. (`written` is empty for a create.)
fn after_remote_write<'a>(
    w: &'a mut WriteTx<'_>,
    c: &'a outpost_proto::ChangeRecord,
    written: &'a [&'a str],
    derive: &'a Derive,
) -> HookFuture<'a> {
    Box::pin(async move {
        let engine: &SlaEngine = derive.get()?;
        let inserted = written.is_empty();
        if inserted || written.contains(&"number") {
            if let Some(n) = c.fields.get("number").and_then(Value::as_i64) {
                raise_counter(w, n).await?;
            }
        }
        if written.contains(&"priority") {
            if let Some(p) = c
                .fields
                .get("priority")
                .and_then(Value::as_str)
                .and_then(Priority::parse)
            {
                sqlx::query("UPDATE tickets SET priority_rank = ? WHERE id = ?")
                    .bind(p.rank())
                    .bind(c.entity_id.to_string())
                    .execute(&mut *w.tx)
                    .await?;
            }
        }
        if !inserted && written.iter().any(|f| SLA_FIELDS.contains(f)) {
            // The clock a change carries is its author's view; where the moves are known,
            // the replay of their merged history decides it (also when a re-sync reads
            // the ticket's changes again).
            if !replay_clock(w, engine, c.entity_id).await? {
                refresh_sla(w, engine, c.entity_id).await?;
            }
        }
        Ok(())
    })
}

fn after_remote_creates<'a>(
    w: &'a mut WriteTx<'_>,
    run: &'a [&'a outpost_proto::ChangeRecord],
    _derive: &'a Derive,
) -> HookFuture<'a> {
    Box::pin(async move {
        let top = run
            .iter()
            .filter_map(|c| c.fields.get("number").and_then(Value::as_i64))
            .max();
        if let Some(n) = top {
            raise_counter(w, n).await?;
        }
        Ok(())
    })
}

/// A ticket's time totals, recounted from its entries (never trusted from the wire).
async fn refresh_time_totals(w: &mut WriteTx<'_>, ticket_id: &str) -> CoreResult<()> {
    sqlx::query(
        "UPDATE tickets SET \
         total_minutes = (SELECT coalesce(sum(minutes), 0) FROM time_entries WHERE ticket_id = tickets.id), \
         billable_minutes = (SELECT coalesce(sum(minutes), 0) FROM time_entries \
                             WHERE ticket_id = tickets.id AND billable) \
         WHERE id = ?",
    )
    .bind(ticket_id)
    .execute(&mut *w.tx)
    .await?;
    Ok(())
}

fn after_remote_time<'a>(
    w: &'a mut WriteTx<'_>,
    c: &'a outpost_proto::ChangeRecord,
    _written: &'a [&'a str],
    _derive: &'a Derive,
) -> HookFuture<'a> {
    Box::pin(async move {
        if let Some(t) = c.fields.get("ticket_id").and_then(Value::as_str) {
            refresh_time_totals(w, t).await?;
        }
        Ok(())
    })
}

fn after_remote_time_entries<'a>(
    w: &'a mut WriteTx<'_>,
    run: &'a [&'a outpost_proto::ChangeRecord],
    _derive: &'a Derive,
) -> HookFuture<'a> {
    Box::pin(async move {
        for t in tickets_of(run) {
            refresh_time_totals(w, t).await?;
        }
        Ok(())
    })
}

/// Two consoles offline both numbered a new ticket #1302: the server gives the later one the
/// next free number, as a change of its own that reaches every console.
fn renumber_if_taken<'a>(w: &'a mut WriteTx<'_>, id: Uuid) -> HookFuture<'a> {
    Box::pin(async move {
        let clash: Option<i64> = sqlx::query_scalar(
            "SELECT t.number FROM tickets t WHERE t.id = ? AND EXISTS \
             (SELECT 1 FROM tickets o WHERE o.number = t.number AND o.id <> t.id)",
        )
        .bind(id.to_string())
        .fetch_optional(&mut *w.tx)
        .await?;
        if clash.is_none() {
            return Ok(());
        }
        let number: i64 = sqlx::query_scalar(
            "INSERT INTO counters (name, value) VALUES ('ticket_number', \
               (SELECT coalesce(max(number), 1000) + 1 FROM tickets)) \
             ON CONFLICT(name) DO UPDATE SET value = max(value, (SELECT max(number) FROM tickets)) + 1 \
             RETURNING value",
        )
        .fetch_one(&mut *w.tx)
        .await?;
        sqlx::query("UPDATE tickets SET number = ? WHERE id = ?")
            .bind(number)
            .bind(id.to_string())
            .execute(&mut *w.tx)
            .await?;
        w.record_change("ticket", id, Op::Update, json!({ "number": number }))
            .await
    })
}

/// The SLA clock fields a status move or first reply changes. They travel in change records,
/// so every replica holds the same clock state and recomputes the same deadlines.
fn clock_fields(s: &TicketState) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(
        "first_response_at".into(),
        json!(s.first_response_at.map(to_ms)),
    );
    m.insert("resolved_at".into(), json!(s.resolved_at.map(to_ms)));
    m.insert("paused_since".into(), json!(s.paused_since.map(to_ms)));
    m.insert("paused_minutes".into(), json!(s.paused_minutes));
    m
}

async fn load_state(w: &mut WriteTx<'_>, id: Uuid) -> CoreResult<TicketState> {
    let r = sqlx::query(
        "SELECT rid, title, description, status, priority, client_id, site_id, contact_id, \
         assignee_id, created_at, first_response_at, resolved_at, paused_since, paused_minutes, \
         (SELECT group_concat(tag, ',') FROM ticket_tags g WHERE g.ticket_id = tickets.id) AS tags \
         FROM tickets WHERE id = ?",
    )
    .bind(id.to_string())
    .fetch_optional(&mut *w.tx)
    .await?
    .ok_or_else(|| CoreError::NotFound(format!("ticket {id} does not exist")))?;
    let client_id = parse_uuid(r.get("client_id"))?;
    if !w.actor.may_see(client_id) {
        // Out of scope reads exactly like absent: nothing about it leaks.
        return Err(CoreError::NotFound(format!("ticket {id} does not exist")));
    }
    Ok(TicketState {
        rid: r.get("rid"),
        title: r.get("title"),
        description: r.get("description"),
        status: TicketStatus::parse(r.get("status")).unwrap_or(TicketStatus::Open),
        priority: Priority::parse(r.get("priority")).unwrap_or(Priority::Normal),
        client_id,
        site_id: opt_uuid(r.get("site_id"))?,
        contact_id: opt_uuid(r.get("contact_id"))?,
        assignee_id: opt_uuid(r.get("assignee_id"))?,
        created_at: from_ms(r.get("created_at")),
        first_response_at: opt_time(r.get("first_response_at")),
        resolved_at: opt_time(r.get("resolved_at")),
        paused_since: opt_time(r.get("paused_since")),
        paused_minutes: r.get("paused_minutes"),
        tags: split_tags(r.get("tags")),
    })
}

fn split_tags(s: Option<String>) -> Vec<String> {
    let mut v: Vec<String> = s
        .unwrap_or_default()
        .split(',')
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

async fn ensure_assignable(w: &mut WriteTx<'_>, user: Uuid) -> CoreResult<()> {
    let role: Option<String> = sqlx::query_scalar("SELECT role FROM users WHERE id = ?")
        .bind(user.to_string())
        .fetch_optional(&mut *w.tx)
        .await?;
    match role.as_deref().and_then(Role::parse) {
        None => Err(invalid(format!(
            "user {user} does not exist; pick an assignee from the list"
        ))),
        Some(Role::Viewer) => Err(invalid(
            "viewers cannot be assigned tickets; pick a technician or admin",
        )),
        Some(_) => Ok(()),
    }
}

async fn ensure_contact_of(w: &mut WriteTx<'_>, contact: Uuid, client: Uuid) -> CoreResult<()> {
    let owner: Option<String> = sqlx::query_scalar("SELECT client_id FROM contacts WHERE id = ?")
        .bind(contact.to_string())
        .fetch_optional(&mut *w.tx)
        .await?;
    match owner {
        Some(c) if c == client.to_string() => Ok(()),
        Some(_) => Err(invalid(format!(
            "contact {contact} belongs to another client"
        ))),
        None => Err(invalid(format!("contact {contact} does not exist"))),
    }
}

pub(crate) async fn write_tags(w: &mut WriteTx<'_>, id: Uuid, tags: &[String]) -> CoreResult<()> {
    sqlx::query("DELETE FROM ticket_tags WHERE ticket_id = ?")
        .bind(id.to_string())
        .execute(&mut *w.tx)
        .await?;
    for t in tags {
        sqlx::query("INSERT INTO ticket_tags (ticket_id, tag) VALUES (?, ?)")
            .bind(id.to_string())
            .bind(t)
            .execute(&mut *w.tx)
            .await?;
    }
    Ok(())
}

/// Validated input of a new ticket.
pub(crate) struct TicketDraft {
    pub title: String,
    pub description: String,
    pub priority: Priority,
    pub client_id: Uuid,
    pub site_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    pub assignee_id: Option<Uuid>,
    pub tags: Vec<String>,
}

impl TicketDraft {
    pub fn from_request(req: NewTicket) -> CoreResult<TicketDraft> {
        Ok(TicketDraft {
            title: title(&req.title)?,
            description: body(
                "description",
                req.description.as_deref().unwrap_or(""),
                true,
            )?,
            priority: req.priority.unwrap_or(Priority::Normal),
            client_id: req.client_id,
            site_id: req.site_id,
            contact_id: req.contact_id,
            assignee_id: req.assignee_id,
            tags: tags(req.tags.as_deref().unwrap_or(&[]))?,
        })
    }
}

/// Inserts a ticket created at `created_at` (now, except for imported or demo history).
pub(crate) async fn insert_ticket(
    w: &mut WriteTx<'_>,
    engine: &SlaEngine,
    d: &TicketDraft,
    created_at: DateTime<Utc>,
) -> CoreResult<(Uuid, i64)> {
    ensure_client(w, d.client_id).await?;
    if let Some(s) = d.site_id {
        ensure_site_of(w, s, d.client_id).await?;
    }
    if let Some(c) = d.contact_id {
        ensure_contact_of(w, c, d.client_id).await?;
    }
    if let Some(a) = d.assignee_id {
        ensure_assignable(w, a).await?;
    }
    let number: i64 = sqlx::query_scalar(
        "INSERT INTO counters (name, value) VALUES ('ticket_number', ?) \
         ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value",
    )
    .bind(FIRST_TICKET_NUMBER)
    .fetch_one(&mut *w.tx)
    .await?;
    let id = Uuid::now_v7();
    let clock = SlaClockState {
        created_at,
        priority: d.priority,
        status: TicketStatus::New,
        first_response_at: None,
        paused_since: None,
        paused_minutes: 0,
    };
    let dl = engine.deadlines(&clock);
    sqlx::query(
        "INSERT INTO tickets (id, number, title, description, status, priority, priority_rank, \
         client_id, site_id, contact_id, assignee_id, created_at, updated_at, fr_due, fr_risk_at, \
         res_due, res_risk_at, next_due) VALUES (?, ?, ?, ?, 'new', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(number)
    .bind(&d.title)
    .bind(&d.description)
    .bind(d.priority.as_str())
    .bind(d.priority.rank())
    .bind(d.client_id.to_string())
    .bind(d.site_id.map(|v| v.to_string()))
    .bind(d.contact_id.map(|v| v.to_string()))
    .bind(d.assignee_id.map(|v| v.to_string()))
    .bind(to_ms(created_at))
    .bind(to_ms(created_at))
    .bind(dl.fr_due)
    .bind(dl.fr_risk_at)
    .bind(dl.res_due)
    .bind(dl.res_risk_at)
    .bind(next_due(&clock, &dl))
    .execute(&mut *w.tx)
    .await?;
    write_tags(w, id, &d.tags).await?;
    w.inserted(
        "ticket.create",
        "ticket",
        id,
        json!({
            "number": number, "title": d.title, "description": d.description,
            "status": "new", "priority": d.priority.as_str(), "client_id": d.client_id,
            "site_id": d.site_id, "contact_id": d.contact_id, "assignee_id": d.assignee_id,
            "tags": d.tags, "created_at": to_ms(created_at),
        }),
    )
    .await?;
    Ok((id, number))
}

/// Writes status/SLA columns after the clock state of a ticket changed.
async fn store_sla(
    w: &mut WriteTx<'_>,
    engine: &SlaEngine,
    id: Uuid,
    s: &TicketState,
) -> CoreResult<()> {
    let clock = s.clock();
    let dl = engine.deadlines(&clock);
    sqlx::query(
        "UPDATE tickets SET fr_due = ?, fr_risk_at = ?, res_due = ?, res_risk_at = ?, next_due = ?, \
         first_response_at = ?, resolved_at = ?, paused_since = ?, paused_minutes = ? WHERE id = ?",
    )
    .bind(dl.fr_due)
    .bind(dl.fr_risk_at)
    .bind(dl.res_due)
    .bind(dl.res_risk_at)
    .bind(next_due(&clock, &dl))
    .bind(s.first_response_at.map(to_ms))
    .bind(s.resolved_at.map(to_ms))
    .bind(s.paused_since.map(to_ms))
    .bind(s.paused_minutes)
    .bind(id.to_string())
    .execute(&mut *w.tx)
    .await?;
    Ok(())
}

/// Applies a status move's effect on the SLA clocks: waiting on the client pauses the
/// resolution clock; resolving stops it (and counts as a response); reopening restarts it.
fn apply_status(s: &mut TicketState, to: TicketStatus, now: DateTime<Utc>, engine: &SlaEngine) {
    let from = s.status;
    if from == to {
        return;
    }
    if let Some(since) = s.paused_since.take() {
        s.paused_minutes += engine.pause_minutes(since, now);
    }
    if to == TicketStatus::WaitingOnClient {
        s.paused_since = Some(now);
    }
    if to.is_done() && !from.is_done() {
        s.resolved_at = Some(now);
        // Resolving counts as a response; the first response is the earliest one.
        s.first_response_at = Some(s.first_response_at.map_or(now, |f| f.min(now)));
    }
    if !to.is_done() {
        s.resolved_at = None;
    }
    s.status = to;
}

/// Recomputes one ticket's stored deadlines from its clock fields (after a remote change).
pub(crate) async fn refresh_sla(
    w: &mut WriteTx<'_>,
    engine: &SlaEngine,
    id: Uuid,
) -> CoreResult<()> {
    let s = load_state(w, id).await?;
    store_sla(w, engine, id, &s).await
}

pub(crate) async fn recompute_open_deadlines(
    w: &mut WriteTx<'_>,
    engine: &SlaEngine,
) -> CoreResult<()> {
    let ids: Vec<String> =
        sqlx::query_scalar("SELECT id FROM tickets WHERE status NOT IN ('resolved','closed')")
            .fetch_all(&mut *w.tx)
            .await?;
    for id in ids {
        let id = parse_uuid(&id)?;
        let s = load_state(w, id).await?;
        store_sla(w, engine, id, &s).await?;
    }
    // Minutes paused are business minutes of the policy: a ticket that ever waited on its
    // client is replayed under the new one, so every store that holds the same moves and the
    // same policy holds the same clock, whenever it replayed before.
    let waited: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT ticket_id FROM status_moves WHERE status = 'waiting_on_client'",
    )
    .fetch_all(&mut *w.tx)
    .await?;
    for id in waited {
        replay_clock(w, engine, parse_uuid(&id)?).await?;
    }
    Ok(())
}

pub(crate) async fn insert_comment(
    w: &mut WriteTx<'_>,
    engine: &SlaEngine,
    ticket_id: Uuid,
    author: Uuid,
    body: &str,
    internal: bool,
    at: DateTime<Utc>,
) -> CoreResult<Uuid> {
    insert_comment_with(w, engine, ticket_id, author, body, internal, at, true).await
}

/// A comment the client wrote (by mail): public, but not the desk's response to anything.
pub(crate) async fn insert_client_comment(
    w: &mut WriteTx<'_>,
    engine: &SlaEngine,
    ticket_id: Uuid,
    author: Uuid,
    body: &str,
    at: DateTime<Utc>,
) -> CoreResult<Uuid> {
    insert_comment_with(w, engine, ticket_id, author, body, false, at, false).await
}

#[allow(clippy::too_many_arguments)]
async fn insert_comment_with(
    w: &mut WriteTx<'_>,
    engine: &SlaEngine,
    ticket_id: Uuid,
    author: Uuid,
    body: &str,
    internal: bool,
    at: DateTime<Utc>,
    responds: bool,
) -> CoreResult<Uuid> {
    let mut s = load_state(w, ticket_id).await?;
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO comments (id, ticket_id, ticket_rid, author_id, body, internal, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(ticket_id.to_string())
    .bind(s.rid)
    .bind(author.to_string())
    .bind(body)
    .bind(internal)
    .bind(to_ms(at))
    .execute(&mut *w.tx)
    .await?;
    sqlx::query("UPDATE tickets SET updated_at = ? WHERE id = ?")
        .bind(to_ms(at))
        .bind(ticket_id.to_string())
        .execute(&mut *w.tx)
        .await?;
    // A public reply is the first response the SLA measures.
    if !internal && responds && s.first_response_at.is_none_or(|f| at < f) {
        s.first_response_at = Some(at);
        store_sla(w, engine, ticket_id, &s).await?;
        w.record_change(
            "ticket",
            ticket_id,
            Op::Update,
            json!({"first_response_at": to_ms(at)}),
        )
        .await?;
    }
    w.inserted(
        "comment.create",
        "comment",
        id,
        json!({"ticket_id": ticket_id, "author_id": author, "body": body, "internal": internal,
               "created_at": to_ms(at)}),
    )
    .await?;
    Ok(id)
}

pub(crate) async fn insert_time_entry(
    w: &mut WriteTx<'_>,
    ticket_id: Uuid,
    technician: Uuid,
    started_at: DateTime<Utc>,
    minutes: i64,
    billable: bool,
    note: &str,
) -> CoreResult<Uuid> {
    let client: Option<String> = sqlx::query_scalar("SELECT client_id FROM tickets WHERE id = ?")
        .bind(ticket_id.to_string())
        .fetch_optional(&mut *w.tx)
        .await?;
    let visible = match client {
        Some(c) => w.actor.may_see(parse_uuid(&c)?),
        None => false,
    };
    if !visible {
        return Err(CoreError::NotFound(format!(
            "ticket {ticket_id} does not exist"
        )));
    }
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO time_entries (id, ticket_id, technician_id, started_at, minutes, billable, \
         note, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(ticket_id.to_string())
    .bind(technician.to_string())
    .bind(to_ms(started_at))
    .bind(minutes)
    .bind(billable)
    .bind(note)
    .bind(w.now_ms())
    .execute(&mut *w.tx)
    .await?;
    sqlx::query(
        "UPDATE tickets SET total_minutes = total_minutes + ?, \
         billable_minutes = billable_minutes + ? WHERE id = ?",
    )
    .bind(minutes)
    .bind(if billable { minutes } else { 0 })
    .bind(ticket_id.to_string())
    .execute(&mut *w.tx)
    .await?;
    w.inserted(
        "time_entry.create",
        "time_entry",
        id,
        json!({"ticket_id": ticket_id, "technician_id": technician, "started_at": to_ms(started_at),
               "minutes": minutes, "billable": billable, "note": note}),
    )
    .await?;
    Ok(id)
}

/// The columns of a `Ticket` row, plus `extra` select expressions (with a leading comma).
fn ticket_select(now_ms: i64, from: &str, extra: &str) -> String {
    // Names come from correlated subqueries, not joins, so the planner always drives the
    // query from the tickets index that matches the filter and sort.
    format!(
        "SELECT t.id, t.number, t.title, t.description, t.status, t.priority, t.client_id, \
         (SELECT name FROM clients c WHERE c.id = t.client_id) AS client_name, t.site_id, \
         t.contact_id, t.assignee_id, \
         (SELECT display_name FROM users u WHERE u.id = t.assignee_id) AS assignee_name, \
         t.created_at, t.updated_at, t.resolved_at, \
         t.first_response_at, t.fr_due, t.res_due, t.total_minutes, t.billable_minutes, \
         {} AS sla_state, \
         (SELECT group_concat(tag, ',') FROM ticket_tags g WHERE g.ticket_id = t.id) AS tags{extra} \
         FROM {from}",
        state_sql(now_ms)
    )
}

fn ticket_from_row(r: &SqliteRow) -> CoreResult<Ticket> {
    Ok(Ticket {
        id: parse_uuid(r.get("id"))?,
        number: r.get("number"),
        title: r.get("title"),
        description: r.get("description"),
        status: TicketStatus::parse(r.get("status")).unwrap_or(TicketStatus::Open),
        priority: Priority::parse(r.get("priority")).unwrap_or(Priority::Normal),
        client_id: parse_uuid(r.get("client_id"))?,
        client_name: r.get("client_name"),
        site_id: opt_uuid(r.get("site_id"))?,
        contact_id: opt_uuid(r.get("contact_id"))?,
        assignee_id: opt_uuid(r.get("assignee_id"))?,
        assignee_name: r.get("assignee_name"),
        tags: split_tags(r.get("tags")),
        sla: TicketSla {
            state: parse_state(r.get("sla_state")),
            first_response_due: opt_time(r.get("fr_due")),
            resolution_due: opt_time(r.get("res_due")),
            first_response_at: opt_time(r.get("first_response_at")),
        },
        total_minutes: r.get("total_minutes"),
        billable_minutes: r.get("billable_minutes"),
        created_at: from_ms(r.get("created_at")),
        updated_at: from_ms(r.get("updated_at")),
        resolved_at: opt_time(r.get("resolved_at")),
    })
}

/// Turns what a person typed into an FTS5 query: every word must match, as a prefix.
/// Quoting each word means no input can be an FTS syntax error.
pub fn fts_query(q: &str) -> Option<String> {
    let words: Vec<String> = q
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(12)
        .map(|w| format!("\"{w}\"*"))
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

enum Bind {
    Int(i64),
    Text(String),
}

fn list_of<T>(
    raw: &Option<String>,
    what: &str,
    parse: impl Fn(&str) -> Option<T>,
    names: &str,
) -> CoreResult<Vec<T>> {
    let mut out = Vec::new();
    for part in raw.as_deref().unwrap_or("").split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        out.push(
            parse(part)
                .ok_or_else(|| invalid(format!("unknown {what} '{part}'; use one of {names}")))?,
        );
    }
    Ok(out)
}

fn placeholders(n: usize) -> String {
    vec!["?"; n].join(",")
}

impl Core {
    fn read_now_ms(&self) -> i64 {
        to_ms(self.now())
    }

    pub(crate) async fn ticket(&self, id: Uuid) -> CoreResult<Ticket> {
        let sql = format!(
            "{} WHERE t.id = ?",
            ticket_select(self.read_now_ms(), "tickets t", "")
        );
        let row = sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| CoreError::NotFound(format!("ticket {id} does not exist")))?;
        ticket_from_row(&row)
    }

    pub async fn create_ticket(&self, actor: &Actor, req: NewTicket) -> CoreResult<Ticket> {
        actor.require_write()?;
        let draft = TicketDraft::from_request(req)?;
        actor.require_client(draft.client_id)?;
        let mut w = self.write(actor).await?;
        let engine = crate::desk::sla::engine_in(&mut w).await?;
        let now = w.now;
        let (id, _) = insert_ticket(&mut w, &engine, &draft, now).await?;
        w.commit().await?;
        self.ticket(id).await
    }

    pub async fn update_ticket(
        &self,
        actor: &Actor,
        id: Uuid,
        req: UpdateTicket,
    ) -> CoreResult<Ticket> {
        actor.require_write()?;
        // Validate everything before touching the store.
        let new_title = req.title.as_deref().map(title).transpose()?;
        let new_desc = req
            .description
            .as_deref()
            .map(|d| body("description", d, true))
            .transpose()?;
        let new_tags = req.tags.as_deref().map(tags).transpose()?;
        let mut w = self.write(actor).await?;
        let engine = crate::desk::sla::engine_in(&mut w).await?;
        let cur = load_state(&mut w, id).await?;
        if cur.status == TicketStatus::Closed {
            return Err(CoreError::Conflict(
                "this ticket is closed and cannot be edited; notes and time can still be added, \
                 or open a follow-up ticket"
                    .into(),
            ));
        }
        let mut next = cur.clone();
        let mut before = Map::new();
        let mut after = Map::new();
        let mut diff = |field: &str, b: Value, a: Value| {
            if b != a {
                before.insert(field.into(), b);
                after.insert(field.into(), a);
            }
        };
        if let Some(t) = new_title {
            diff("title", json!(cur.title), json!(t));
            next.title = t;
        }
        if let Some(d) = new_desc {
            diff("description", json!(cur.description), json!(d));
            next.description = d;
        }
        if let Some(p) = req.priority {
            diff("priority", json!(cur.priority), json!(p));
            next.priority = p;
        }
        if let Some(a) = req.assignee_id {
            if let Some(user) = a.filter(|u| Some(*u) != cur.assignee_id) {
                ensure_assignable(&mut w, user).await?;
            }
            diff("assignee_id", json!(cur.assignee_id), json!(a));
            next.assignee_id = a;
        }
        if let Some(s) = req.site_id {
            if let Some(site) = s {
                ensure_site_of(&mut w, site, cur.client_id).await?;
            }
            diff("site_id", json!(cur.site_id), json!(s));
            next.site_id = s;
        }
        if let Some(c) = req.contact_id {
            if let Some(contact) = c {
                ensure_contact_of(&mut w, contact, cur.client_id).await?;
            }
            diff("contact_id", json!(cur.contact_id), json!(c));
            next.contact_id = c;
        }
        if let Some(t) = new_tags {
            diff("tags", json!(cur.tags), json!(t));
            next.tags = t;
        }
        if let Some(s) = req.status {
            check_transition(cur.status, s)?;
            diff("status", json!(cur.status), json!(s));
            apply_status(&mut next, s, w.now, &engine);
        }
        if after.is_empty() {
            drop(w);
            return self.ticket(id).await;
        }
        sqlx::query(
            "UPDATE tickets SET title = ?, description = ?, status = ?, priority = ?, \
             priority_rank = ?, site_id = ?, contact_id = ?, assignee_id = ?, updated_at = ? \
             WHERE id = ?",
        )
        .bind(&next.title)
        .bind(&next.description)
        .bind(next.status.as_str())
        .bind(next.priority.as_str())
        .bind(next.priority.rank())
        .bind(next.site_id.map(|v| v.to_string()))
        .bind(next.contact_id.map(|v| v.to_string()))
        .bind(next.assignee_id.map(|v| v.to_string()))
        .bind(w.now_ms())
        .bind(id.to_string())
        .execute(&mut *w.tx)
        .await?;
        if after.contains_key("tags") {
            write_tags(&mut w, id, &next.tags).await?;
        }
        if after.contains_key("status") || after.contains_key("priority") {
            store_sla(&mut w, &engine, id, &next).await?;
        }
        let action = if after.contains_key("status") {
            "ticket.status"
        } else {
            "ticket.update"
        };
        let mut synced = after.clone();
        if after.contains_key("status") {
            synced.extend(clock_fields(&next));
        }
        w.record_change("ticket", id, Op::Update, synced.into())
            .await?;
        if let Some(to) = req.status.filter(|_| after.contains_key("status")) {
            record_move(&mut w, id, &cur, to).await?;
            replay_clock(&mut w, &engine, id).await?;
        }
        let edited: Vec<&str> = after.keys().map(String::as_str).collect();
        crate::sync::settle_conflicts(&mut w, "ticket", id, &edited).await?;
        w.audit(
            action,
            "ticket",
            id,
            Some(before.into()),
            Some(after.into()),
        )
        .await?;
        w.commit().await?;
        self.ticket(id).await
    }

    pub async fn add_comment(
        &self,
        actor: &Actor,
        ticket_id: Uuid,
        req: NewComment,
    ) -> CoreResult<Comment> {
        actor.require_write()?;
        let author = actor
            .user_id
            .ok_or_else(|| invalid("comments need a person as author; log in first"))?;
        let text = body("comment", &req.body, false)?;
        let internal = req.internal.unwrap_or(false);
        let mut w = self.write(actor).await?;
        let engine = crate::desk::sla::engine_in(&mut w).await?;
        let now = w.now;
        let id = insert_comment(&mut w, &engine, ticket_id, author, &text, internal, now).await?;
        w.commit().await?;
        Ok(Comment {
            id,
            ticket_id,
            author_id: author,
            author_name: actor.name.clone(),
            body: text,
            internal,
            created_at: now,
        })
    }

    pub async fn add_time_entry(
        &self,
        actor: &Actor,
        ticket_id: Uuid,
        req: NewTimeEntry,
    ) -> CoreResult<TimeEntry> {
        actor.require_write()?;
        if req.minutes <= 0 {
            return Err(invalid(format!(
                "duration must be a positive number of minutes (got {})",
                req.minutes
            )));
        }
        if req.minutes > MAX_ENTRY_MINUTES {
            return Err(invalid(format!(
                "one time entry covers at most {MAX_ENTRY_MINUTES} minutes (a day); split longer work per day"
            )));
        }
        let note = body("note", req.note.as_deref().unwrap_or(""), true)?;
        let me = actor.user_id;
        let technician = match (req.technician_id, me) {
            (Some(t), Some(m)) if t != m => {
                actor.require_admin().map_err(|_| {
                    CoreError::Forbidden("only admins can log time for someone else".into())
                })?;
                t
            }
            (Some(t), _) => t,
            (None, Some(m)) => m,
            (None, None) => return Err(invalid("say which technician did the work")),
        };
        let now = self.now();
        let started_at = req
            .started_at
            .unwrap_or_else(|| now - Duration::minutes(req.minutes));
        if started_at > now + Duration::minutes(5) {
            return Err(invalid("time entries cannot start in the future"));
        }
        if started_at < now - Duration::days(366) {
            return Err(invalid(
                "time entries can be logged for the past year only; check the start date",
            ));
        }
        let billable = req.billable.unwrap_or(true);
        let mut w = self.write(actor).await?;
        ensure_assignable(&mut w, technician).await?;
        let id = insert_time_entry(
            &mut w,
            ticket_id,
            technician,
            started_at,
            req.minutes,
            billable,
            &note,
        )
        .await?;
        w.commit().await?;
        let name: String = sqlx::query_scalar("SELECT display_name FROM users WHERE id = ?")
            .bind(technician.to_string())
            .fetch_one(&self.pool)
            .await?;
        Ok(TimeEntry {
            id,
            ticket_id,
            technician_id: technician,
            technician_name: name,
            started_at,
            minutes: req.minutes,
            billable,
            note,
        })
    }

    pub async fn get_ticket(&self, actor: &Actor, id: Uuid) -> CoreResult<TicketDetail> {
        let ticket = self.ticket(id).await?;
        if !actor.may_see(ticket.client_id) {
            return Err(CoreError::NotFound(format!("ticket {id} does not exist")));
        }
        let comments = sqlx::query(
            "SELECT c.id, c.author_id, u.display_name, c.body, c.internal, c.created_at \
             FROM comments c JOIN users u ON u.id = c.author_id WHERE c.ticket_id = ? \
             ORDER BY c.created_at, c.rid",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(Comment {
                id: parse_uuid(r.get("id"))?,
                ticket_id: id,
                author_id: parse_uuid(r.get("author_id"))?,
                author_name: r.get("display_name"),
                body: r.get("body"),
                internal: r.get("internal"),
                created_at: from_ms(r.get("created_at")),
            })
        })
        .collect::<CoreResult<Vec<_>>>()?;
        let time_entries = sqlx::query(
            "SELECT e.id, e.technician_id, u.display_name, e.started_at, e.minutes, e.billable, \
             e.note FROM time_entries e JOIN users u ON u.id = e.technician_id \
             WHERE e.ticket_id = ? ORDER BY e.started_at",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(TimeEntry {
                id: parse_uuid(r.get("id"))?,
                ticket_id: id,
                technician_id: parse_uuid(r.get("technician_id"))?,
                technician_name: r.get("display_name"),
                started_at: from_ms(r.get("started_at")),
                minutes: r.get("minutes"),
                billable: r.get("billable"),
                note: r.get("note"),
            })
        })
        .collect::<CoreResult<Vec<_>>>()?;
        let history = sqlx::query(
            "SELECT at, actor_name, action, before, after FROM audit_events \
             WHERE entity = 'ticket' AND entity_id = ? ORDER BY seq",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| HistoryEntry {
            at: from_ms(r.get("at")),
            actor_name: r.get("actor_name"),
            action: r.get("action"),
            changes: field_changes(r.get("before"), r.get("after")),
        })
        .collect();
        let conflicts = self
            .conflicts_for("ticket", id)
            .await?
            .into_iter()
            .filter(|c| !c.resolved)
            .collect();
        let attachments =
            crate::desk::attachments::list_for_ticket(&self.pool, &self.data_dir, id).await?;
        Ok(TicketDetail {
            ticket,
            comments,
            time_entries,
            history,
            conflicts,
            attachments,
        })
    }

    /// The queue: filtered, sorted, paged.
    pub async fn list_tickets(&self, actor: &Actor, q: &TicketQuery) -> CoreResult<TicketPage> {
        let limit = q.limit.unwrap_or(50);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(invalid(format!("limit must be between 1 and {MAX_PAGE}")));
        }
        let offset = q.offset.unwrap_or(0);
        if offset < 0 {
            return Err(invalid("offset must not be negative"));
        }
        let now_ms = self.read_now_ms();
        let mut wh: Vec<String> = Vec::new();
        let mut binds: Vec<Bind> = Vec::new();
        if actor.clients.is_some() {
            wh.push(actor.client_condition("t.client_id"));
        }

        let raw_status = q.status.as_deref().unwrap_or("").trim();
        // The open queue without a client or assignee filter reads the covering SLA index;
        // left to itself SQLite picks a narrower index and visits every row.
        let from = if raw_status == "active"
            && q.client_id.is_none()
            && q.assignee.is_none()
            && actor.clients.is_none()
        {
            "tickets t INDEXED BY tickets_active_sla"
        } else {
            "tickets t"
        };
        if raw_status == "active" {
            wh.push("t.active = 1".into());
        } else {
            let statuses = list_of(
                &q.status,
                "status",
                TicketStatus::parse,
                "new, open, in_progress, waiting_on_client, resolved, closed, active",
            )?;
            if !statuses.is_empty() {
                wh.push(format!("t.status IN ({})", placeholders(statuses.len())));
                binds.extend(statuses.iter().map(|s| Bind::Text(s.as_str().into())));
            }
        }
        let prios = list_of(
            &q.priority,
            "priority",
            Priority::parse,
            "low, normal, high, critical",
        )?;
        if !prios.is_empty() {
            wh.push(format!(
                "t.priority_rank IN ({})",
                placeholders(prios.len())
            ));
            binds.extend(prios.iter().map(|p| Bind::Int(p.rank())));
        }
        let states = list_of(
            &q.sla,
            "SLA state",
            SlaState::parse,
            "none, on_track, at_risk, breached, paused, met",
        )?;
        if !states.is_empty() {
            wh.push(format!(
                "{} IN ({})",
                state_sql(now_ms),
                placeholders(states.len())
            ));
            binds.extend(states.iter().map(|s| Bind::Text(s.as_str().into())));
        }
        if let Some(c) = q.client_id {
            wh.push("t.client_id = ?".into());
            binds.push(Bind::Text(c.to_string()));
        }
        match q.assignee.as_deref().map(str::trim) {
            None | Some("") => {}
            Some("none") => wh.push("t.assignee_id IS NULL".into()),
            Some("me") => {
                let me = actor
                    .user_id
                    .ok_or_else(|| invalid("'me' needs a logged-in user"))?;
                wh.push("t.assignee_id = ?".into());
                binds.push(Bind::Text(me.to_string()));
            }
            Some(other) => {
                let id = Uuid::parse_str(other).map_err(|_| {
                    invalid(format!(
                        "assignee '{other}' must be a user id, 'me' or 'none'"
                    ))
                })?;
                wh.push("t.assignee_id = ?".into());
                binds.push(Bind::Text(id.to_string()));
            }
        }
        if let Some(tag) = q.tag.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            wh.push("t.id IN (SELECT ticket_id FROM ticket_tags WHERE tag = ?)".into());
            binds.push(Bind::Text(tag.to_lowercase()));
        }
        if q.due_today == Some(true) {
            let end = self.end_of_today().await?;
            wh.push(format!("t.next_due <= {end}"));
        }
        if let Some(raw) = q
            .opened_on
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
        {
            let day = chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| {
                invalid(format!(
                    "opened_on '{raw}' is not a date; write it as YYYY-MM-DD"
                ))
            })?;
            let zone = self.organisation_zone().await?;
            let next = day.succ_opt().unwrap_or(day);
            wh.push("t.created_at >= ? AND t.created_at < ?".into());
            binds.push(Bind::Int(crate::clock::midnight(zone, day)));
            binds.push(Bind::Int(crate::clock::midnight(zone, next)));
        }
        let mut fts_match: Option<String> = None;
        if let Some(text) = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            let number = text.trim_start_matches('#').parse::<i64>().ok();
            let fts = fts_query(text);
            let mut any: Vec<String> = Vec::new();
            if let Some(n) = number {
                any.push("t.number = ?".into());
                binds.push(Bind::Int(n));
            }
            if let Some(m) = fts {
                any.push("t.rid IN search".into());
                fts_match = Some(m);
            }
            if any.is_empty() {
                wh.push("0".into());
            } else {
                wh.push(format!("({})", any.join(" OR ")));
            }
        }
        let where_sql = if wh.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", wh.join(" AND "))
        };
        let reverse = q.reverse.unwrap_or(false);
        let (asc, desc) = if reverse {
            ("DESC", "ASC")
        } else {
            ("ASC", "DESC")
        };
        let order = match q.sort.unwrap_or_default() {
            TicketSort::SlaDue => format!("t.next_due {asc}, t.priority_rank {asc}, t.rid {asc}"),
            TicketSort::Updated => format!("t.updated_at {desc}, t.rid {desc}"),
            TicketSort::Created => format!("t.rid {desc}"),
            TicketSort::Priority => {
                format!("t.priority_rank {asc}, t.next_due {asc}, t.rid {asc}")
            }
            TicketSort::Number => format!("t.number {desc}"),
        };
        // The full-text match runs once per call: a materialised CTE that both the page and
        // its total read. The total is an uncorrelated subquery, so SQLite computes it once.
        let with = match &fts_match {
            Some(_) => "WITH search(rid) AS MATERIALIZED \
                        (SELECT rowid FROM ticket_fts WHERE ticket_fts MATCH ?) "
                .to_string(),
            None => String::new(),
        };
        let count_sql = format!("SELECT count(*) FROM {from}{where_sql}");
        let page_sql = format!(
            "{with}{}{where_sql} ORDER BY {order} LIMIT {limit} OFFSET {offset}",
            ticket_select(now_ms, from, &format!(", ({count_sql}) AS total"))
        );
        let count_sql = format!("{with}{count_sql}");
        let mut page = sqlx::query(&page_sql);
        let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
        if let Some(m) = &fts_match {
            page = page.bind(m.as_str());
            count = count.bind(m.as_str());
        }
        // The total's binds come first: its subquery stands in the select list.
        for b in binds.iter().chain(binds.iter()) {
            page = match b {
                Bind::Int(i) => page.bind(*i),
                Bind::Text(s) => page.bind(s.as_str()),
            };
        }
        for b in &binds {
            count = match b {
                Bind::Int(i) => count.bind(*i),
                Bind::Text(s) => count.bind(s.as_str()),
            };
        }
        let rows = page.fetch_all(&self.pool).await?;
        // A page past the end has no row to carry the total.
        let total = match rows.first() {
            Some(r) => r.get("total"),
            None => count.fetch_one(&self.pool).await?,
        };
        Ok(TicketPage {
            items: rows
                .iter()
                .map(ticket_from_row)
                .collect::<CoreResult<_>>()?,
            total,
        })
    }

    /// End of the current day in the SLA calendar's time zone, in ms.
    async fn end_of_today(&self) -> CoreResult<i64> {
        let policy = self.sla_policy().await?;
        let tz: chrono_tz::Tz = policy.timezone.parse().unwrap_or(chrono_tz::UTC);
        let local = self.now().with_timezone(&tz).date_naive();
        let next = local.succ_opt().unwrap_or(local);
        let midnight = next.and_hms_opt(0, 0, 0).unwrap_or_default();
        use chrono::TimeZone;
        Ok(tz
            .from_local_datetime(&midnight)
            .earliest()
            .map(|t| to_ms(t.with_timezone(&Utc)))
            .unwrap_or(i64::MAX))
    }

    pub async fn list_tags(&self, actor: &Actor) -> CoreResult<Vec<String>> {
        let sql = match actor.clients {
            None => "SELECT DISTINCT tag FROM ticket_tags ORDER BY tag".to_string(),
            Some(_) => format!(
                "SELECT DISTINCT g.tag FROM ticket_tags g JOIN tickets t ON t.id = g.ticket_id \
                 WHERE {} ORDER BY g.tag",
                actor.client_condition("t.client_id")
            ),
        };
        Ok(sqlx::query_scalar(&sql).fetch_all(&self.pool).await?)
    }

    pub async fn queue_counts(&self, actor: &Actor) -> CoreResult<QueueCounts> {
        let now_ms = self.read_now_ms();
        let state = state_sql(now_ms);
        let me = actor.user_id.map(|u| u.to_string()).unwrap_or_default();
        let r = sqlx::query(&format!(
            "SELECT \
               coalesce(sum(t.assignee_id = ?), 0) AS my_open, \
               coalesce(sum(t.assignee_id IS NULL), 0) AS unassigned, \
               coalesce(sum({state} = 'breached'), 0) AS breached, \
               coalesce(sum({state} = 'at_risk'), 0) AS at_risk \
             FROM tickets t WHERE t.active = 1 AND {}",
            actor.client_condition("t.client_id")
        ))
        .bind(me)
        .fetch_one(&self.pool)
        .await?;
        Ok(QueueCounts {
            my_open: r.get("my_open"),
            unassigned: r.get("unassigned"),
            breached: r.get("breached"),
            at_risk: r.get("at_risk"),
        })
    }
}

fn field_changes(before: Option<String>, after: Option<String>) -> Vec<FieldChange> {
    let parse = |s: Option<String>| -> Map<String, Value> {
        s.and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default()
    };
    let (b, a) = (parse(before), parse(after));
    let show = |v: Option<&Value>| match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    if b.is_empty() {
        return Vec::new(); // creation: the ticket itself shows the values
    }
    a.keys()
        .map(|k| FieldChange {
            field: k.clone(),
            before: show(b.get(k)),
            after: show(a.get(k)),
        })
        .collect()
}

/// Moves a ticket's status at a given time (imports and demo history; edits use
/// `Core::update_ticket`, which applies the same rules).
pub(crate) async fn set_status_at(
    w: &mut WriteTx<'_>,
    engine: &SlaEngine,
    id: Uuid,
    to: TicketStatus,
    at: DateTime<Utc>,
) -> CoreResult<()> {
    let cur = load_state(w, id).await?;
    check_transition(cur.status, to)?;
    let mut next = cur.clone();
    apply_status(&mut next, to, at, engine);
    sqlx::query("UPDATE tickets SET status = ?, updated_at = ? WHERE id = ?")
        .bind(to.as_str())
        .bind(to_ms(at))
        .bind(id.to_string())
        .execute(&mut *w.tx)
        .await?;
    store_sla(w, engine, id, &next).await?;
    let mut synced = clock_fields(&next);
    synced.insert("status".into(), json!(to));
    w.record_change("ticket", id, Op::Update, synced.into())
        .await?;
    w.audit(
        "ticket.status",
        "ticket",
        id,
        Some(json!({"status": cur.status})),
        Some(json!({"status": to})),
    )
    .await
}
