//! What agents report, checked and stored: heartbeats become a metrics row per minute and
//! the endpoint's latest health; inventories are merged, their differences kept as history.
//!
//! Everything here is hostile input: sizes are capped, numbers must be possible, times must
//! not be far in the future, text is stored as data (the UI renders it as text). A message
//! that fails is refused whole; nothing of it is stored.

use crate::clients::{as_map, record_edit};
use crate::clock::to_ms;
use crate::error::{invalid, CoreResult};
use crate::fleet::agents::{agent_line, AgentSession};
use crate::fleet::inventory::{check_inventory, differences, merge};
use crate::fleet::metrics::{to_stored, Bucket};
use crate::fleet::status::{judge, publish, PUBLISH_EVERY_MS};
use crate::store::{Actor, Core, Op, WriteTx};
use chrono::{DateTime, Duration, Utc};
use outpost_proto::{AgentMessage, Heartbeat, Inventory, InventoryReport, ProcessUse, Stat};
use serde_json::json;
use uuid::Uuid;

/// How far ahead of the server's clock a report may be (clocks drift).
const MAX_FUTURE: Duration = Duration::minutes(5);
/// How old a replayed report may be (the raw metrics are kept 7 days).
const MAX_AGE: Duration = Duration::days(7);

fn check_stat(field: &str, s: &Stat, lo: f64, hi: f64) -> CoreResult<()> {
    for v in [s.min, s.avg, s.max] {
        if !v.is_finite() || v < lo || v > hi {
            return Err(invalid(format!(
                "{field} must be between {lo} and {hi} (got {v})"
            )));
        }
    }
    if s.min > s.avg + 1e-9 || s.avg > s.max + 1e-9 {
        return Err(invalid(format!("{field} must have min <= avg <= max")));
    }
    Ok(())
}

fn check_time(field: &str, at: DateTime<Utc>, now: DateTime<Utc>) -> CoreResult<()> {
    if at > now + MAX_FUTURE {
        return Err(invalid(format!(
            "{field} is in the future ({at}); check the endpoint's clock"
        )));
    }
    if at < now - MAX_AGE {
        return Err(invalid(format!(
            "{field} is older than 7 days ({at}); it is no longer kept"
        )));
    }
    Ok(())
}

pub(crate) fn check_heartbeat(h: &Heartbeat, now: DateTime<Utc>) -> CoreResult<()> {
    check_time("heartbeat time", h.at, now)?;
    if !(1..=3600).contains(&h.window_secs) {
        return Err(invalid("window_secs must be between 1 and 3600"));
    }
    if !(1..=3600).contains(&h.samples) {
        return Err(invalid("samples must be between 1 and 3600"));
    }
    check_stat("cpu", &h.cpu, 0.0, 100.0)?;
    check_stat("memory", &h.memory, 0.0, 100.0)?;
    check_stat("net_in", &h.net_in, 0.0, 1e12)?;
    check_stat("net_out", &h.net_out, 0.0, 1e12)?;
    if let Some(t) = &h.temperature {
        check_stat("temperature", t, -60.0, 150.0)?;
    }
    if h.disks.len() > 64 {
        return Err(invalid("a heartbeat may name at most 64 disks"));
    }
    for d in &h.disks {
        agent_line("disk mount", &d.mount, 300)?;
        if !d.used_pct.is_finite() || !(0.0..=100.0).contains(&d.used_pct) {
            return Err(invalid(format!(
                "disk {} use must be between 0 and 100 %",
                d.mount
            )));
        }
    }
    if h.top_processes.len() > 20 {
        return Err(invalid("a heartbeat may name at most 20 processes"));
    }
    for p in &h.top_processes {
        agent_line("process name", &p.name, 200)?;
        if !p.cpu_pct.is_finite() || !(0.0..=100_000.0).contains(&p.cpu_pct) {
            return Err(invalid("a process's CPU use must be a possible percentage"));
        }
    }
    Ok(())
}

/// Checks a message as the gateway receives it, before it is queued for storing.
pub fn check_message(m: &AgentMessage, now: DateTime<Utc>) -> CoreResult<()> {
    match m {
        AgentMessage::Hello { agent_version, .. } => {
            agent_line("agent_version", agent_version, 50).map(|_| ())
        }
        AgentMessage::Heartbeat(h) => check_heartbeat(h, now),
        AgentMessage::Inventory(r) => {
            check_time("inventory time", r.at, now)?;
            check_inventory(&r.inventory, r.full)
        }
        AgentMessage::Run(e) => crate::fleet::runs::check_run_event(e, now),
        AgentMessage::Trust(t) => t.root_fingerprint.as_deref().map_or(Ok(()), |f| {
            agent_line("root_fingerprint", f, 100).map(|_| ())
        }),
    }
}

/// A checked message from a connected agent, waiting to be stored.
pub struct Arrival {
    pub agent_id: Uuid,
    pub asset_id: Uuid,
    pub client_id: Uuid,
    pub asset_no: i64,
    pub message: AgentMessage,
}

impl Arrival {
    pub fn new(session: &AgentSession, message: AgentMessage) -> Arrival {
        Arrival {
            agent_id: session.agent_id,
            asset_id: session.asset_id,
            client_id: session.client_id,
            asset_no: session.asset_no,
            message,
        }
    }
}

/// What a stored message says about its endpoint now (replays of the past say nothing):
/// what alert rules are judged on.
#[derive(Debug, Clone)]
pub enum Observation {
    Heartbeat {
        asset_id: Uuid,
        client_id: Uuid,
        cpu: f64,
        memory: f64,
        /// (mount, % used)
        disks: Vec<(String, f64)>,
        temperature: Option<f64>,
        top_processes: Vec<ProcessUse>,
    },
    Inventory {
        asset_id: Uuid,
        client_id: Uuid,
        /// (name, running), when the report carried services.
        services: Option<Vec<(String, bool)>>,
        pending_updates: Option<i64>,
        /// Since when (ms) a reboot has been pending; None: none is.
        reboot_since: Option<i64>,
    },
}

/// Per arrival whether it was new, and what the new ones say.
pub struct IngestReport {
    pub stored: Vec<bool>,
    pub observations: Vec<Observation>,
    /// Runs that ended in this batch (their tickets get the result).
    pub ended_runs: Vec<Uuid>,
}

fn gateway() -> Actor {
    Actor {
        user_id: None,
        name: "agent gateway".into(),
        role: outpost_proto::Role::Admin,
        clients: None,
    }
}

impl Core {
    /// Stores a batch of arrivals in one transaction (the gateway batches to keep up with
    /// a fleet). A replayed message (its number already stored) is skipped. Returns, per
    /// arrival, whether it was new.
    pub async fn ingest(&self, batch: &[Arrival]) -> CoreResult<IngestReport> {
        let actor = gateway();
        let mut w = self.write(&actor).await?;
        let mut stored = Vec::with_capacity(batch.len());
        let mut observations = Vec::new();
        let mut earliest_bucket: Option<i64> = None;
        let mut run_reports = false;
        let mut ended_runs = Vec::new();
        for a in batch {
            let Some(seq) = a.message.seq() else {
                stored.push(false);
                continue;
            };
            // The number moves forward only; an older or equal one was stored already.
            let inventory = matches!(a.message, AgentMessage::Inventory(_));
            let heartbeat = matches!(a.message, AgentMessage::Heartbeat(_));
            let fresh = sqlx::query(
                "UPDATE agents SET last_seq = ?1, last_seen = max(coalesce(last_seen, 0), ?2), \
                 heartbeats = heartbeats + ?4, inventories = inventories + ?5 \
                 WHERE id = ?3 AND last_seq < ?1 AND revoked_at IS NULL",
            )
            .bind(seq as i64)
            .bind(w.now_ms())
            .bind(a.agent_id.to_string())
            .bind(heartbeat as i64)
            .bind(inventory as i64)
            .execute(&mut *w.tx)
            .await?
            .rows_affected()
                > 0;
            if fresh {
                match &a.message {
                    AgentMessage::Heartbeat(h) => {
                        let (bucket, current) = store_heartbeat(&mut w, a, h).await?;
                        earliest_bucket = Some(earliest_bucket.map_or(bucket, |e| e.min(bucket)));
                        if current {
                            observations.push(Observation::Heartbeat {
                                asset_id: a.asset_id,
                                client_id: a.client_id,
                                cpu: h.cpu.avg,
                                memory: h.memory.avg,
                                disks: h
                                    .disks
                                    .iter()
                                    .map(|d| (d.mount.clone(), d.used_pct))
                                    .collect(),
                                temperature: h.temperature.map(|t| t.max),
                                top_processes: h.top_processes.clone(),
                            });
                        }
                    }
                    AgentMessage::Inventory(r) => {
                        if let Some(o) = store_inventory(&mut w, a, r).await? {
                            observations.push(o);
                        }
                    }
                    AgentMessage::Run(e) => {
                        if crate::fleet::runs::store_run_event(&mut w, a, e).await? {
                            ended_runs.push(e.run_id);
                        }
                        run_reports = true;
                    }
                    AgentMessage::Hello { .. } | AgentMessage::Trust(_) => {}
                }
            }
            stored.push(fresh);
        }
        if let Some(b) = earliest_bucket {
            // Late data (an agent replaying its queue) sends the rollups back over it.
            sqlx::query("UPDATE metric_rollups SET done_until = min(done_until, ?)")
                .bind(b)
                .execute(&mut *w.tx)
                .await?;
        }
        w.commit().await?;
        if run_reports {
            // Consoles watching a run's output poll; this tells live listeners at once.
            self.announce("runs.progress", Uuid::nil());
        }
        Ok(IngestReport {
            stored,
            observations,
            ended_runs,
        })
    }

    /// Whether the gateway should ask for a whole inventory (it holds none for the asset).
    pub async fn needs_full_inventory(&self, asset: Uuid) -> CoreResult<bool> {
        let known: Option<Option<i64>> =
            sqlx::query_scalar("SELECT inventory_at FROM endpoint_status WHERE id = ?")
                .bind(asset.to_string())
                .fetch_optional(&self.pool)
                .await?;
        Ok(!matches!(known, Some(Some(_))))
    }

    /// An agent connected (`online`) or its connection ended.
    pub async fn set_agent_connected(
        &self,
        session: &AgentSession,
        online: bool,
        version: Option<&str>,
    ) -> CoreResult<()> {
        let actor = gateway();
        let mut w = self.write(&actor).await?;
        let id = session.asset_id.to_string();
        let now = w.now_ms();
        if let Some(v) = version {
            sqlx::query("UPDATE agents SET version = ? WHERE id = ?")
                .bind(v)
                .bind(session.agent_id.to_string())
                .execute(&mut *w.tx)
                .await?;
            sqlx::query("UPDATE endpoint_status SET agent_version = ? WHERE id = ?")
                .bind(v)
                .bind(&id)
                .execute(&mut *w.tx)
                .await?;
        }
        set_online(&mut w, &id, online, now).await?;
        publish(&mut w, session.asset_id, false).await?;
        w.commit().await
    }

    /// Marks offline the endpoints not heard from for `silent` (a connection that died
    /// without closing); returns their assets.
    pub async fn sweep_silent_endpoints(&self, silent: Duration) -> CoreResult<Vec<Uuid>> {
        let actor = gateway();
        let mut w = self.write(&actor).await?;
        let cutoff = to_ms(w.now - silent);
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM endpoint_status WHERE online = 1 AND coalesce(last_seen, 0) < ?",
        )
        .bind(cutoff)
        .fetch_all(&mut *w.tx)
        .await?;
        let now = w.now_ms();
        let mut out = Vec::new();
        for id in ids {
            set_online(&mut w, &id, false, now).await?;
            let asset = crate::store::parse_uuid(&id)?;
            publish(&mut w, asset, false).await?;
            out.push(asset);
        }
        // Endpoints whose health has not travelled for a while travel now.
        let stale: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM endpoint_status WHERE online = 1 AND published_at < ? LIMIT 2000",
        )
        .bind(now - PUBLISH_EVERY_MS)
        .fetch_all(&mut *w.tx)
        .await?;
        for id in stale {
            publish(&mut w, crate::store::parse_uuid(&id)?, false).await?;
        }
        w.commit().await?;
        Ok(out)
    }
}

/// cpu, memory and fullest disk (%), and whether a reboot is pending.
type LatestHealth = (Option<f64>, Option<f64>, Option<f64>, i64);

async fn set_online(w: &mut WriteTx<'_>, id: &str, online: bool, now: i64) -> CoreResult<()> {
    let row: Option<LatestHealth> = sqlx::query_as(
        "SELECT cpu_pct, memory_pct, disk_pct, reboot_required FROM endpoint_status WHERE id = ?",
    )
    .bind(id)
    .fetch_optional(&mut *w.tx)
    .await?;
    let Some((cpu, mem, disk, reboot)) = row else {
        return Ok(());
    };
    let disks: Vec<(String, f64)> = disk.map(|d| (String::new(), d)).into_iter().collect();
    let (state, reasons) = judge(online, cpu, mem, &disks, reboot != 0);
    sqlx::query(
        "UPDATE endpoint_status SET online = ?, health = ?, reasons = ?, updated_at = ?, \
         last_seen = CASE WHEN ? THEN ? ELSE last_seen END WHERE id = ?",
    )
    .bind(online as i64)
    .bind(state.as_str())
    .bind(serde_json::to_string(&reasons).unwrap_or_default())
    .bind(now)
    .bind(online)
    .bind(now)
    .bind(id)
    .execute(&mut *w.tx)
    .await?;
    Ok(())
}

/// One heartbeat: its minute of metrics, and (unless it is older than what is shown) the
/// endpoint's latest health. Returns the minute's bucket, and whether it is the latest word.
async fn store_heartbeat(
    w: &mut WriteTx<'_>,
    a: &Arrival,
    h: &Heartbeat,
) -> CoreResult<(i64, bool)> {
    let at = h.at.timestamp();
    let bucket = (at - 1).div_euclid(60) * 60;
    let fullest = h
        .disks
        .iter()
        .map(|d| d.used_pct)
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    let disk = fullest.map(|v| Stat {
        min: v,
        avg: v,
        max: v,
    });
    let b = Bucket {
        cpu: Some(h.cpu),
        memory: Some(h.memory),
        disk,
        net_in: Some(h.net_in),
        net_out: Some(h.net_out),
        temperature: h.temperature,
    };
    let v = to_stored(&b);
    // One row per minute. A second heartbeat of the same minute (an agent reporting more
    // often) folds in; a replayed one never gets here (its number was stored).
    let mut merge = String::new();
    for c in ["cpu", "mem", "disk", "in", "out", "temp"] {
        merge.push_str(&format!(
            ", {c}_lo = min(coalesce({c}_lo, excluded.{c}_lo), coalesce(excluded.{c}_lo, {c}_lo)), \
             {c}_hi = max(coalesce({c}_hi, excluded.{c}_hi), coalesce(excluded.{c}_hi, {c}_hi)), \
             {c}_av = CAST(round((coalesce({c}_av, excluded.{c}_av) * n + \
             coalesce(excluded.{c}_av, {c}_av)) * 1.0 / (n + 1)) AS INTEGER)"
        ));
    }
    let sql = format!(
        "INSERT INTO metrics_1m (asset_no, at, n, cpu_lo, cpu_av, cpu_hi, mem_lo, mem_av, mem_hi, \
         disk_lo, disk_av, disk_hi, in_lo, in_av, in_hi, out_lo, out_av, out_hi, temp_lo, \
         temp_av, temp_hi) VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (asset_no, at) DO UPDATE SET n = n + 1{merge}"
    );
    let mut q = sqlx::query(&sql).bind(a.asset_no).bind(bucket);
    for x in v {
        q = q.bind(x);
    }
    q.execute(&mut *w.tx).await?;

    let at_ms = to_ms(h.at);
    // last seen, reboot pending, health last published and when, CPU known
    type Shown = (Option<i64>, i64, String, i64, Option<f64>);
    let row: Option<Shown> = sqlx::query_as(
        "SELECT last_seen, reboot_required, published_health, published_at, cpu_pct \
         FROM endpoint_status WHERE id = ?",
    )
    .bind(a.asset_id.to_string())
    .fetch_optional(&mut *w.tx)
    .await?;
    let Some((last_seen, reboot, published_health, published_at, known_cpu)) = row else {
        return Ok((bucket, false));
    };
    if last_seen.is_some_and(|l| l > at_ms + 60_000) {
        // A replayed old minute: history only, the health shown is newer.
        return Ok((bucket, false));
    }
    let disks: Vec<(String, f64)> = h
        .disks
        .iter()
        .map(|d| (d.mount.clone(), d.used_pct))
        .collect();
    let (state, reasons) = judge(
        true,
        Some(h.cpu.avg),
        Some(h.memory.avg),
        &disks,
        reboot != 0,
    );
    let now = w.now_ms();
    sqlx::query(
        "UPDATE endpoint_status SET online = 1, last_seen = max(coalesce(last_seen, 0), ?), \
         cpu_pct = ?, memory_pct = ?, disk_pct = ?, health = ?, reasons = ?, updated_at = ? \
         WHERE id = ?",
    )
    .bind(at_ms.min(now))
    .bind(round1(h.cpu.avg))
    .bind(round1(h.memory.avg))
    .bind(fullest.map(round1))
    .bind(state.as_str())
    .bind(serde_json::to_string(&reasons).unwrap_or_default())
    .bind(now)
    .bind(a.asset_id.to_string())
    .execute(&mut *w.tx)
    .await?;
    // Consoles hear of a change of health at once, of the first numbers at once, and of
    // the rest every 15 minutes.
    if published_health != state.as_str()
        || known_cpu.is_none()
        || now - published_at >= PUBLISH_EVERY_MS
    {
        publish(w, a.asset_id, false).await?;
    }
    // A replayed minute that is still recent counts for alerts only if it is the newest.
    Ok((bucket, now - at_ms < 5 * 60_000))
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// One inventory report: merged into what is known, its differences kept as history, the
/// asset's operating system and serial brought up to date.
async fn store_inventory(
    w: &mut WriteTx<'_>,
    a: &Arrival,
    r: &InventoryReport,
) -> CoreResult<Option<Observation>> {
    let asset = a.asset_id;
    let current: Option<(Option<String>, Option<i64>)> =
        sqlx::query_as("SELECT inventory, reboot_since FROM endpoint_status WHERE id = ?")
            .bind(asset.to_string())
            .fetch_optional(&mut *w.tx)
            .await?;
    let Some((current, reboot_since)) = current else {
        return Ok(None);
    };
    let before: Option<Inventory> = current.and_then(|t| serde_json::from_str(&t).ok());
    let after = merge(before.clone(), &r.inventory, r.full);
    let changes = match &before {
        Some(b) => differences(b, &after),
        None => Vec::new(),
    };
    let at_ms = to_ms(r.at);
    let now = w.now_ms();
    for (kind, summary) in &changes {
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO inventory_changes (id, asset_id, at, kind, summary, created_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(asset.to_string())
        .bind(at_ms)
        .bind(kind)
        .bind(summary)
        .bind(now)
        .execute(&mut *w.tx)
        .await?;
        w.record_change(
            "inventory_change",
            id,
            Op::Insert,
            json!({"asset_id": asset.to_string(), "at": at_ms, "kind": kind,
                   "summary": summary, "created_at": now}),
        )
        .await?;
    }
    let pending = after
        .updates
        .as_ref()
        .and_then(|u| u.pending.as_ref())
        .map(|p| p.len() as i64);
    let reboot = after.updates.as_ref().is_some_and(|u| u.reboot_required);
    let reboot_since = match (reboot, reboot_since) {
        (false, _) => None,
        (true, Some(since)) => Some(since),
        (true, None) => Some(at_ms.min(now)),
    };
    let text = serde_json::to_string(&after).map_err(|e| invalid(e.to_string()))?;
    sqlx::query(
        "UPDATE endpoint_status SET inventory = ?, inventory_at = ?, pending_updates = ?, \
         reboot_required = ?, reboot_since = ?, updated_at = ? WHERE id = ?",
    )
    .bind(&text)
    .bind(at_ms)
    .bind(pending)
    .bind(reboot as i64)
    .bind(reboot_since)
    .bind(now)
    .bind(asset.to_string())
    .execute(&mut *w.tx)
    .await?;
    publish(w, asset, true).await?;

    // The device record follows what the machine says it runs.
    if let Some(sys) = &after.system {
        let os = format!("{} {}", sys.os_name, sys.os_version)
            .trim()
            .chars()
            .take(200)
            .collect::<String>();
        let current: Option<(String, String)> =
            sqlx::query_as("SELECT os, serial FROM assets WHERE id = ?")
                .bind(asset.to_string())
                .fetch_optional(&mut *w.tx)
                .await?;
        if let Some((old_os, old_serial)) = current {
            let serial = if sys.serial.is_empty() {
                old_serial.clone()
            } else {
                sys.serial.chars().take(100).collect()
            };
            record_edit(
                w,
                "assets",
                "asset",
                asset,
                as_map(json!({"os": old_os, "serial": old_serial})),
                as_map(json!({"os": os, "serial": serial})),
            )
            .await?;
        }
    }
    Ok(Some(Observation::Inventory {
        asset_id: asset,
        client_id: a.client_id,
        services: r
            .inventory
            .services
            .as_ref()
            .map(|list| list.iter().map(|s| (s.name.clone(), s.running)).collect()),
        pending_updates: pending,
        reboot_since,
    }))
}
