//! Alerts: rules per organisation with per-client overrides, judged on what endpoints report,
//! and the tickets they open. A firing opens one ticket per endpoint and rule (with the
//! busiest processes, for CPU and memory), notes it on that ticket while it keeps firing, and
//! when it clears (below threshold − hysteresis, for as many samples) comments and, if the
//! rule says so, resolves it. Every firing is kept as alert history.
//!
//! This layer sits above fleet (what endpoints report) and desk (tickets): it is where the
//! two meet. Streaks (consecutive samples) live in memory; a restart keeps what is firing,
//! since open alerts are read back from the store.

use crate::clock::{from_ms, to_ms};
use crate::desk::sla::engine_in;
use crate::desk::tickets::{insert_comment, insert_ticket, set_status_at, TicketDraft};
use crate::error::{invalid, CoreError, CoreResult};
use crate::fleet::telemetry::{Arrival, IngestReport, Observation};
use crate::store::record::{ClientOf, Link, Merge, SyncedRecord};
use crate::store::{opt_uuid, parse_uuid, Actor, Core, Op, WriteTx};
use chrono::Duration;
use outpost_proto::{
    Alert, AlertKind, AlertPage, AlertQuery, AlertRule, AlertState, NewAlertRule, NewTicket,
    Priority, ProcessUse, TicketStatus, UpdateAlertRule,
};
use serde_json::json;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use std::collections::HashMap;
use std::sync::Mutex;
use uuid::Uuid;

pub(crate) const ALERT_RULE_RECORD: SyncedRecord = SyncedRecord {
    admin_only: true,
    since: 3,
    links: &[Link {
        field: "client_id",
        entity: "client",
        required: false,
    }],
    moves_updated_at: true,
    stamps: &["created_at", "updated_at"],
    merge: &[("kind", Merge::SetOnce), ("client_id", Merge::SetOnce)],
    ..SyncedRecord::table(
        "alert_rule",
        "alert_rules",
        &[
            "client_id",
            "kind",
            "threshold",
            "samples",
            "hysteresis",
            "service",
            "priority",
            "resolve_on_clear",
            "enabled",
        ],
    )
};

pub(crate) const ALERT_RECORD: SyncedRecord = SyncedRecord {
    since: 3,
    client: ClientOf::Parent {
        field: "asset_id",
        entity: "asset",
    },
    links: &[
        Link {
            field: "rule_id",
            entity: "alert_rule",
            required: true,
        },
        Link {
            field: "asset_id",
            entity: "asset",
            required: true,
        },
        Link {
            field: "ticket_id",
            entity: "ticket",
            required: false,
        },
    ],
    moves_updated_at: true,
    stamps: &["created_at", "updated_at"],
    // The gateway's host writes what the endpoint does; people acknowledge.
    merge: &[
        ("rule_id", Merge::SetOnce),
        ("asset_id", Merge::SetOnce),
        ("subject", Merge::SetOnce),
        ("opened_at", Merge::SetOnce),
        ("state", Merge::Latest),
        ("priority", Merge::Latest),
        ("message", Merge::Latest),
        ("value", Merge::Latest),
        ("ticket_id", Merge::Latest),
        ("cleared_at", Merge::Latest),
    ],
    ..SyncedRecord::table(
        "alert",
        "alerts",
        &[
            "rule_id",
            "asset_id",
            "subject",
            "state",
            "priority",
            "message",
            "value",
            "ticket_id",
            "opened_at",
            "cleared_at",
            "acknowledged_at",
            "acknowledged_by",
        ],
    )
};

/// The organisation's rules a store with a gateway starts with (an admin edits them).
const DEFAULT_RULES: &[(AlertKind, f64, i64, f64, Priority)] = &[
    (AlertKind::Disk, 90.0, 1, 2.0, Priority::High),
    (AlertKind::Cpu, 85.0, 10, 10.0, Priority::Normal),
    (AlertKind::Memory, 95.0, 10, 5.0, Priority::Normal),
    (AlertKind::Temperature, 80.0, 3, 5.0, Priority::High),
    (AlertKind::Offline, 15.0, 1, 0.0, Priority::High),
    (AlertKind::Reboot, 7.0, 1, 0.0, Priority::Low),
    (AlertKind::Updates, 50.0, 1, 0.0, Priority::Low),
];

fn rule_from_row(r: &SqliteRow) -> CoreResult<AlertRule> {
    let kind: String = r.get("kind");
    let priority: String = r.get("priority");
    Ok(AlertRule {
        id: parse_uuid(r.get("id"))?,
        client_id: opt_uuid(r.get("client_id"))?,
        client_name: r.get("client_name"),
        kind: AlertKind::parse(&kind)
            .ok_or_else(|| CoreError::Internal(format!("unknown alert kind {kind}")))?,
        threshold: r.get("threshold"),
        samples: r.get("samples"),
        hysteresis: r.get("hysteresis"),
        service: r.get("service"),
        priority: Priority::parse(&priority).unwrap_or(Priority::Normal),
        resolve_on_clear: r.get::<i64, _>("resolve_on_clear") != 0,
        enabled: r.get::<i64, _>("enabled") != 0,
        created_at: from_ms(r.get("created_at")),
        updated_at: from_ms(r.get("updated_at")),
    })
}

const RULE_SELECT: &str = "SELECT r.*, (SELECT name FROM clients c WHERE c.id = r.client_id) \
    AS client_name FROM alert_rules r";

fn check_threshold(kind: AlertKind, t: f64, hysteresis: f64) -> CoreResult<()> {
    let (lo, hi, unit) = match kind {
        AlertKind::Disk | AlertKind::Cpu | AlertKind::Memory => (0.0, 100.0, "%"),
        AlertKind::Temperature => (0.0, 150.0, "°C"),
        AlertKind::Service => (0.0, 1.0, ""),
        AlertKind::Offline => (0.05, 100_000.0, "minutes"),
        AlertKind::Reboot => (0.0, 3650.0, "days"),
        AlertKind::Updates => (0.0, 100_000.0, "updates"),
    };
    if !t.is_finite() || t < lo || t > hi {
        return Err(invalid(format!(
            "a {} rule's threshold must be between {lo} and {hi} {unit}",
            kind.as_str()
        )));
    }
    if !hysteresis.is_finite() || hysteresis < 0.0 || hysteresis > hi {
        return Err(invalid(
            "hysteresis must be zero or more, within the threshold's range",
        ));
    }
    Ok(())
}

/// A number as a person writes it: whole when it is, else with one decimal.
fn n(v: f64) -> String {
    if (v - v.round()).abs() < 0.05 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// What a rule says about one value, in words.
fn describe(kind: AlertKind, subject: &str, value: f64, threshold: f64) -> String {
    let (v, t) = (n(value), n(threshold));
    match kind {
        AlertKind::Disk => format!("disk {subject} {v} % full (limit {t} %)"),
        AlertKind::Cpu => format!("CPU {v} % busy (limit {t} %)"),
        AlertKind::Memory => format!("memory {v} % used (limit {t} %)"),
        AlertKind::Temperature => format!("{v} °C (limit {t} °C)"),
        AlertKind::Service => format!("service {subject} is not running"),
        AlertKind::Offline => format!("no word from the agent for {v} minutes"),
        AlertKind::Reboot => format!("a reboot has been pending for {v} days"),
        AlertKind::Updates => format!("{v} OS updates pending (limit {t})"),
    }
}

#[derive(Clone, Debug)]
struct Rule {
    id: Uuid,
    client: Option<Uuid>,
    kind: AlertKind,
    threshold: f64,
    samples: u32,
    hysteresis: f64,
    service: Option<String>,
}

#[derive(Default, Clone, Copy)]
struct Streak {
    over: u32,
    under: u32,
    firing: bool,
    since_note: u32,
}

/// The rules as last read, and every streak.
#[derive(Default)]
pub(crate) struct AlertMemory {
    version: u64,
    loaded: bool,
    rules: Vec<Rule>,
    streaks: HashMap<(Uuid, Uuid, String), Streak>,
}

/// What the judging decided, done afterwards in the store.
#[derive(Debug)]
enum Decision {
    Fire {
        rule: Uuid,
        asset: Uuid,
        subject: String,
        value: f64,
        processes: Vec<ProcessUse>,
    },
    Note {
        rule: Uuid,
        asset: Uuid,
        subject: String,
        value: f64,
    },
    Clear {
        rule: Uuid,
        asset: Uuid,
        subject: String,
        value: f64,
    },
}

impl AlertMemory {
    /// The rules that apply to a client's endpoints: its own, and the organisation's it does
    /// not override.
    fn rules_for(&self, client: Uuid) -> Vec<Rule> {
        let own: Vec<&Rule> = self
            .rules
            .iter()
            .filter(|r| r.client == Some(client))
            .collect();
        let mut out: Vec<Rule> = own.iter().map(|r| (*r).clone()).collect();
        for r in self.rules.iter().filter(|r| r.client.is_none()) {
            if !own
                .iter()
                .any(|o| o.kind == r.kind && o.service == r.service)
            {
                out.push(r.clone());
            }
        }
        out
    }

    /// One sample of one subject against one rule.
    fn judge(
        &mut self,
        rule: &Rule,
        asset: Uuid,
        subject: &str,
        value: f64,
        processes: &[ProcessUse],
        out: &mut Vec<Decision>,
    ) {
        let over = value > rule.threshold;
        let under = value < rule.threshold - rule.hysteresis
            || (rule.hysteresis == 0.0 && value <= rule.threshold);
        let s = self
            .streaks
            .entry((rule.id, asset, subject.to_string()))
            .or_default();
        if over {
            s.over += 1;
            s.under = 0;
        } else if under {
            s.under += 1;
            s.over = 0;
        } else {
            // Between the threshold and its hysteresis: neither firing nor clearing.
            s.over = 0;
            s.under = 0;
        }
        let samples = rule.samples.max(1);
        if !s.firing && s.over >= samples {
            s.firing = true;
            s.since_note = 0;
            out.push(Decision::Fire {
                rule: rule.id,
                asset,
                subject: subject.into(),
                value,
                processes: processes.to_vec(),
            });
        } else if s.firing && over {
            s.since_note += 1;
            // While it keeps firing, the ticket hears of it now and then (not every minute).
            if s.since_note >= (samples * 5).max(5) {
                s.since_note = 0;
                out.push(Decision::Note {
                    rule: rule.id,
                    asset,
                    subject: subject.into(),
                    value,
                });
            }
        } else if s.firing && s.under >= samples {
            s.firing = false;
            out.push(Decision::Clear {
                rule: rule.id,
                asset,
                subject: subject.into(),
                value,
            });
        }
    }

    fn observe(&mut self, o: &Observation, now_ms: i64, out: &mut Vec<Decision>) {
        match o {
            Observation::Heartbeat {
                asset_id,
                client_id,
                cpu,
                memory,
                disks,
                temperature,
                top_processes,
            } => {
                for rule in self.rules_for(*client_id) {
                    match rule.kind {
                        AlertKind::Cpu => {
                            self.judge(&rule, *asset_id, "", *cpu, top_processes, out)
                        }
                        AlertKind::Memory => {
                            self.judge(&rule, *asset_id, "", *memory, top_processes, out)
                        }
                        AlertKind::Temperature => {
                            if let Some(t) = temperature {
                                self.judge(&rule, *asset_id, "", *t, &[], out)
                            }
                        }
                        AlertKind::Disk => {
                            for (mount, used) in disks {
                                self.judge(&rule, *asset_id, mount, *used, &[], out)
                            }
                        }
                        _ => {}
                    }
                }
            }
            Observation::Inventory {
                asset_id,
                client_id,
                services,
                pending_updates,
                reboot_since,
            } => {
                for rule in self.rules_for(*client_id) {
                    match rule.kind {
                        AlertKind::Service => {
                            let (Some(name), Some(list)) = (&rule.service, services) else {
                                continue;
                            };
                            // A named service that is missing is not running either.
                            let running = list.iter().any(|(n, r)| n == name && *r);
                            let v = if running { 0.0 } else { 1.0 };
                            let probe = Rule {
                                threshold: 0.5,
                                hysteresis: 0.0,
                                ..rule.clone()
                            };
                            self.judge(&probe, *asset_id, name, v, &[], out);
                        }
                        AlertKind::Updates => {
                            if let Some(n) = pending_updates {
                                self.judge(&rule, *asset_id, "", *n as f64, &[], out)
                            }
                        }
                        AlertKind::Reboot => {
                            let days = reboot_since
                                .map_or(0.0, |since| (now_ms - since) as f64 / 86_400_000.0);
                            self.judge(&rule, *asset_id, "", days, &[], out)
                        }
                        _ => {}
                    }
                }
            }
        }
    }
}

fn alerts_actor() -> Actor {
    Actor {
        user_id: None,
        name: "Outpost alerts".into(),
        role: outpost_proto::Role::Admin,
        clients: None,
    }
}

const ALERT_SELECT: &str = "SELECT al.*, r.kind, a.name AS asset_name, a.client_id, \
    (SELECT name FROM clients c WHERE c.id = a.client_id) AS client_name, \
    (SELECT number FROM tickets t WHERE t.id = al.ticket_id) AS ticket_number \
    FROM alerts al JOIN alert_rules r ON r.id = al.rule_id JOIN assets a ON a.id = al.asset_id";

fn alert_from_row(r: &SqliteRow) -> CoreResult<Alert> {
    let kind: String = r.get("kind");
    let state: String = r.get("state");
    let priority: String = r.get("priority");
    Ok(Alert {
        id: parse_uuid(r.get("id"))?,
        rule_id: parse_uuid(r.get("rule_id"))?,
        kind: AlertKind::parse(&kind).unwrap_or(AlertKind::Cpu),
        asset_id: parse_uuid(r.get("asset_id"))?,
        asset_name: r.get("asset_name"),
        client_id: parse_uuid(r.get("client_id"))?,
        client_name: r
            .get::<Option<String>, _>("client_name")
            .unwrap_or_default(),
        subject: r.get("subject"),
        state: if state == "firing" {
            AlertState::Firing
        } else {
            AlertState::Cleared
        },
        priority: Priority::parse(&priority).unwrap_or(Priority::Normal),
        message: r.get("message"),
        value: r.get("value"),
        ticket_id: opt_uuid(r.get("ticket_id"))?,
        ticket_number: r.get("ticket_number"),
        opened_at: from_ms(r.get("opened_at")),
        cleared_at: r.get::<Option<i64>, _>("cleared_at").map(from_ms),
        acknowledged_at: r.get::<Option<i64>, _>("acknowledged_at").map(from_ms),
        acknowledged_by: r.get("acknowledged_by"),
    })
}

/// The person alert tickets and notes are written as (no login).
async fn alerts_user(w: &mut WriteTx<'_>) -> CoreResult<Uuid> {
    crate::auth::service_user(w, "outpost-alerts", "Outpost alerts").await
}

impl Core {
    fn alert_memory(&self) -> std::sync::Arc<Mutex<AlertMemory>> {
        self.domain_state::<Mutex<AlertMemory>>()
    }

    /// Reads the rules again if they changed since they were last read (here, or by a
    /// console's sync), and, the first time, which alerts are firing (so a restart does not
    /// open them twice).
    async fn refresh_alert_rules(&self) -> CoreResult<()> {
        let (count, latest): (i64, Option<i64>) =
            sqlx::query_as("SELECT count(*), max(updated_at) FROM alert_rules")
                .fetch_one(&self.pool)
                .await?;
        let version = (count as u64) << 44 ^ latest.unwrap_or(0) as u64;
        {
            let memory = self.alert_memory();
            let m = memory.lock().unwrap_or_else(|p| p.into_inner());
            if m.loaded && m.version == version {
                return Ok(());
            }
        }
        let rules: Vec<Rule> = sqlx::query("SELECT * FROM alert_rules WHERE enabled = 1")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                let kind: String = r.get("kind");
                Ok(Rule {
                    id: parse_uuid(r.get("id"))?,
                    client: opt_uuid(r.get("client_id"))?,
                    kind: AlertKind::parse(&kind).unwrap_or(AlertKind::Cpu),
                    threshold: r.get("threshold"),
                    samples: r.get::<i64, _>("samples").clamp(1, 1440) as u32,
                    hysteresis: r.get("hysteresis"),
                    service: r.get("service"),
                })
            })
            .collect::<CoreResult<_>>()?;
        let firing: Vec<(String, String, String)> =
            sqlx::query_as("SELECT rule_id, asset_id, subject FROM alerts WHERE state = 'firing'")
                .fetch_all(&self.pool)
                .await?;
        let memory = self.alert_memory();
        let mut m = memory.lock().unwrap_or_else(|p| p.into_inner());
        if !m.loaded {
            for (rule, asset, subject) in firing {
                let key = (parse_uuid(&rule)?, parse_uuid(&asset)?, subject);
                m.streaks.entry(key).or_default().firing = true;
            }
        }
        m.rules = rules;
        m.version = version;
        m.loaded = true;
        Ok(())
    }

    /// Stores what agents sent, then judges it against the alert rules (the gateway's
    /// entry point).
    pub async fn receive(&self, batch: &[Arrival]) -> CoreResult<IngestReport> {
        let report = self.ingest(batch).await?;
        if !report.ended_runs.is_empty() {
            // Stored already: a failure to note it on its ticket is said, not fatal.
            if let Err(e) = self.note_runs_on_tickets(&report.ended_runs).await {
                tracing::warn!(error = %e, "a run's result could not be noted on its ticket");
            }
        }
        if !report.observations.is_empty() {
            self.refresh_alert_rules().await?;
            let mut decisions = Vec::new();
            {
                let memory = self.alert_memory();
                let mut m = memory.lock().unwrap_or_else(|p| p.into_inner());
                let now = to_ms(self.now());
                for o in &report.observations {
                    m.observe(o, now, &mut decisions);
                }
            }
            self.act_on(decisions).await?;
        }
        Ok(report)
    }

    /// The gateway host's periodic work: silent endpoints go offline, offline and reboot
    /// rules are judged on the clock, the organisation's default rules exist.
    pub async fn fleet_upkeep(&self, silent: Duration) -> CoreResult<()> {
        self.ensure_default_alert_rules().await?;
        self.sweep_silent_endpoints(silent).await?;
        self.refresh_alert_rules().await?;
        let now = to_ms(self.now());
        // (asset, client, online, last seen, reboot pending since)
        type ClockRow = (String, String, i64, Option<i64>, Option<i64>);
        let rows: Vec<ClockRow> = sqlx::query_as(
            "SELECT e.id, a.client_id, e.online, e.last_seen, e.reboot_since \
             FROM endpoint_status e JOIN assets a ON a.id = e.id \
             WHERE (e.online = 0 AND e.last_seen IS NOT NULL) OR e.reboot_since IS NOT NULL \
             OR e.id IN (SELECT al.asset_id FROM alerts al JOIN alert_rules r ON r.id = al.rule_id \
                         WHERE al.state = 'firing' AND r.kind IN ('offline', 'reboot'))",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut decisions = Vec::new();
        {
            let memory = self.alert_memory();
            let mut m = memory.lock().unwrap_or_else(|p| p.into_inner());
            for (asset, client, online, last_seen, reboot_since) in rows {
                let (asset, client) = (parse_uuid(&asset)?, parse_uuid(&client)?);
                for rule in m.rules_for(client) {
                    let value = match rule.kind {
                        AlertKind::Offline if online == 0 => {
                            (now - last_seen.unwrap_or(now)) as f64 / 60_000.0
                        }
                        AlertKind::Offline => 0.0,
                        AlertKind::Reboot => {
                            reboot_since.map_or(0.0, |s| (now - s) as f64 / 86_400_000.0)
                        }
                        _ => continue,
                    };
                    // Clock rules fire on the first sample over (the time is the duration).
                    let once = Rule {
                        samples: 1,
                        ..rule.clone()
                    };
                    let before = decisions.len();
                    m.judge(&once, asset, "", value, &[], &mut decisions);
                    // The note cadence is for sampled rules; the clock ticks every sweep.
                    decisions.truncate(
                        before
                            + decisions[before..]
                                .iter()
                                .filter(|d| !matches!(d, Decision::Note { .. }))
                                .count(),
                    );
                }
            }
        }
        self.act_on(decisions).await?;
        self.roll_up_metrics().await
    }

    /// Makes the organisation's default rules, once per store that runs a gateway.
    pub async fn ensure_default_alert_rules(&self) -> CoreResult<()> {
        let seeded: Option<i64> =
            sqlx::query_scalar("SELECT value FROM counters WHERE name = 'alert_rules_seeded'")
                .fetch_optional(&self.pool)
                .await?;
        if seeded.is_some() {
            return Ok(());
        }
        let actor = alerts_actor();
        let mut w = self.write(&actor).await?;
        for (kind, threshold, samples, hysteresis, priority) in DEFAULT_RULES {
            insert_rule(
                &mut w,
                None,
                *kind,
                *threshold,
                *samples,
                *hysteresis,
                None,
                *priority,
                true,
                true,
            )
            .await?;
        }
        sqlx::query("INSERT INTO counters (name, value) VALUES ('alert_rules_seeded', 1)")
            .execute(&mut *w.tx)
            .await?;
        w.commit().await?;
        Ok(())
    }

    async fn act_on(&self, decisions: Vec<Decision>) -> CoreResult<()> {
        for d in decisions {
            // One decision per transaction: a failure (a rule deleted meanwhile) costs only
            // itself, and is said in the log.
            if let Err(e) = self.act(&d).await {
                tracing::warn!(error = %e, decision = ?d, "an alert could not be recorded");
            }
        }
        Ok(())
    }

    async fn act(&self, d: &Decision) -> CoreResult<()> {
        let actor = alerts_actor();
        let mut w = self.write(&actor).await?;
        let engine = engine_in(&mut w).await?;
        let now = w.now;
        let (rule_id, asset, subject, value) = match d {
            Decision::Fire {
                rule,
                asset,
                subject,
                value,
                ..
            }
            | Decision::Note {
                rule,
                asset,
                subject,
                value,
            }
            | Decision::Clear {
                rule,
                asset,
                subject,
                value,
            } => (*rule, *asset, subject.as_str(), *value),
        };
        let rule = sqlx::query(&format!("{RULE_SELECT} WHERE r.id = ?"))
            .bind(rule_id.to_string())
            .fetch_optional(&mut *w.tx)
            .await?
            .map(|r| rule_from_row(&r))
            .transpose()?
            .ok_or_else(|| CoreError::NotFound(format!("alert rule {rule_id} is gone")))?;
        let (asset_name, client_id, site_id): (String, String, Option<String>) =
            sqlx::query_as("SELECT name, client_id, site_id FROM assets WHERE id = ?")
                .bind(asset.to_string())
                .fetch_one(&mut *w.tx)
                .await?;
        let message = describe(rule.kind, subject, value, rule.threshold);
        let open: Option<(String, Option<String>)> = sqlx::query_as(
            "SELECT id, ticket_id FROM alerts WHERE rule_id = ? AND asset_id = ? AND subject = ? \
             AND state = 'firing'",
        )
        .bind(rule_id.to_string())
        .bind(asset.to_string())
        .bind(subject)
        .fetch_optional(&mut *w.tx)
        .await?;
        let author = alerts_user(&mut w).await?;
        let mut started_runs = false;
        match d {
            Decision::Fire { processes, .. } => {
                if open.is_some() {
                    return Ok(());
                }
                // The rule's ticket for this endpoint, if a person has not closed it yet.
                let reuse: Option<String> = sqlx::query_scalar(
                    "SELECT al.ticket_id FROM alerts al JOIN tickets t ON t.id = al.ticket_id \
                     WHERE al.rule_id = ? AND al.asset_id = ? AND al.subject = ? \
                     AND t.status NOT IN ('resolved', 'closed') ORDER BY al.opened_at DESC LIMIT 1",
                )
                .bind(rule_id.to_string())
                .bind(asset.to_string())
                .bind(subject)
                .fetch_optional(&mut *w.tx)
                .await?;
                let mut text = format!(
                    "{message}.\n\nEndpoint: {asset_name}\nRule: {} above {}",
                    rule.kind.as_str(),
                    rule.threshold
                );
                if !processes.is_empty() {
                    text.push_str("\n\nBusiest processes at the time:\n");
                    for p in processes.iter().take(10) {
                        text.push_str(&format!(
                            "- {} (pid {}): CPU {:.0} %, memory {:.0} MiB\n",
                            p.name,
                            p.pid,
                            p.cpu_pct,
                            p.memory_bytes as f64 / 1_048_576.0
                        ));
                    }
                }
                let ticket = match reuse {
                    Some(t) => {
                        let t = parse_uuid(&t)?;
                        insert_comment(
                            &mut w,
                            &engine,
                            t,
                            author,
                            &format!("Firing again: {text}"),
                            true,
                            now,
                        )
                        .await?;
                        t
                    }
                    None => {
                        let title: String = format!("Alert: {message} on {asset_name}")
                            .chars()
                            .take(200)
                            .collect();
                        let draft = TicketDraft::from_request(NewTicket {
                            title,
                            client_id: parse_uuid(&client_id)?,
                            priority: Some(rule.priority),
                            description: Some(text.chars().take(19_000).collect()),
                            site_id: opt_uuid(site_id)?,
                            contact_id: None,
                            assignee_id: None,
                            tags: Some(vec!["alert".into(), rule.kind.as_str().into()]),
                        })?;
                        insert_ticket(&mut w, &engine, &draft, now).await?.0
                    }
                };
                let id = Uuid::now_v7();
                let at = w.now_ms();
                sqlx::query(
                    "INSERT INTO alerts (id, rule_id, asset_id, subject, state, priority, message, \
                     value, ticket_id, opened_at, created_at, updated_at) \
                     VALUES (?, ?, ?, ?, 'firing', ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(id.to_string())
                .bind(rule_id.to_string())
                .bind(asset.to_string())
                .bind(subject)
                .bind(rule.priority.as_str())
                .bind(&message)
                .bind(value)
                .bind(ticket.to_string())
                .bind(at)
                .bind(at)
                .bind(at)
                .execute(&mut *w.tx)
                .await?;
                w.inserted(
                    "alert.fire",
                    "alert",
                    id,
                    json!({"rule_id": rule_id.to_string(), "asset_id": asset.to_string(),
                           "subject": subject, "state": "firing",
                           "priority": rule.priority.as_str(), "message": message,
                           "value": value, "ticket_id": ticket.to_string(), "opened_at": at,
                           "created_at": at, "updated_at": at}),
                )
                .await?;
                // Automations for this alert start the runs their signer left on standby.
                let started =
                    crate::scripts::automations::start_on_alert(&mut w, rule.kind, asset, ticket)
                        .await?;
                if !started.is_empty() {
                    let lines: Vec<String> = started
                        .iter()
                        .map(|(a, s)| format!("- {s} (automation “{a}”)"))
                        .collect();
                    insert_comment(
                        &mut w,
                        &engine,
                        ticket,
                        author,
                        &format!(
                            "Started on this endpoint, signed ahead:\n{}\n\nEach result is \
                             noted here when it ends.",
                            lines.join("\n")
                        ),
                        true,
                        now,
                    )
                    .await?;
                    started_runs = true;
                }
            }
            Decision::Note { .. } => {
                let Some((id, ticket)) = open else {
                    return Ok(());
                };
                update_alert(&mut w, &id, json!({"message": message, "value": value})).await?;
                if let Some(t) = ticket {
                    insert_comment(
                        &mut w,
                        &engine,
                        parse_uuid(&t)?,
                        author,
                        &format!("Still firing: {message}."),
                        true,
                        now,
                    )
                    .await?;
                }
            }
            Decision::Clear { .. } => {
                let Some((id, ticket)) = open else {
                    return Ok(());
                };
                let cleared = format!(
                    "Cleared: {}",
                    describe(rule.kind, subject, value, rule.threshold)
                );
                let at = w.now_ms();
                update_alert(
                    &mut w,
                    &id,
                    json!({"state": "cleared", "cleared_at": at, "value": value}),
                )
                .await?;
                if let Some(t) = ticket {
                    let t = parse_uuid(&t)?;
                    insert_comment(
                        &mut w,
                        &engine,
                        t,
                        author,
                        &format!("{cleared}."),
                        true,
                        now,
                    )
                    .await?;
                    if rule.resolve_on_clear {
                        let status: String =
                            sqlx::query_scalar("SELECT status FROM tickets WHERE id = ?")
                                .bind(t.to_string())
                                .fetch_one(&mut *w.tx)
                                .await?;
                        if status != "resolved" && status != "closed" {
                            set_status_at(&mut w, &engine, t, TicketStatus::Resolved, now).await?;
                        }
                    }
                }
            }
        }
        w.commit().await?;
        if started_runs {
            self.announce("runs.new", Uuid::nil());
        }
        Ok(())
    }

    /// Everyone logged in may read the rules: they explain the alerts.
    pub async fn list_alert_rules(&self, _actor: &Actor) -> CoreResult<Vec<AlertRule>> {
        sqlx::query(&format!(
            "{RULE_SELECT} ORDER BY r.client_id IS NOT NULL, client_name, r.kind, r.created_at"
        ))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(rule_from_row)
        .collect()
    }

    async fn alert_rule(&self, id: Uuid) -> CoreResult<AlertRule> {
        sqlx::query(&format!("{RULE_SELECT} WHERE r.id = ?"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?
            .map(|r| rule_from_row(&r))
            .transpose()?
            .ok_or_else(|| CoreError::NotFound(format!("alert rule {id} does not exist")))
    }

    pub async fn create_alert_rule(
        &self,
        actor: &Actor,
        req: NewAlertRule,
    ) -> CoreResult<AlertRule> {
        actor.require_admin()?;
        let samples = req.samples.unwrap_or(1);
        if !(1..=1440).contains(&samples) {
            return Err(invalid("samples must be between 1 and 1440"));
        }
        let hysteresis = req.hysteresis.unwrap_or(0.0);
        check_threshold(req.kind, req.threshold, hysteresis)?;
        let service = req
            .service
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        match (req.kind, &service) {
            (AlertKind::Service, None) => {
                return Err(invalid(
                    "a service rule names the service to watch (service)",
                ))
            }
            (AlertKind::Service, Some(s)) if s.chars().count() > 300 => {
                return Err(invalid("service must be at most 300 characters"))
            }
            (AlertKind::Service, _) => {}
            (_, Some(_)) => return Err(invalid("only a service rule names a service")),
            _ => {}
        }
        let mut w = self.write(actor).await?;
        if let Some(c) = req.client_id {
            crate::clients::ensure_client(&mut w, c).await?;
        }
        let id = insert_rule(
            &mut w,
            req.client_id,
            req.kind,
            req.threshold,
            samples,
            hysteresis,
            service.as_deref(),
            req.priority.unwrap_or(Priority::Normal),
            req.resolve_on_clear.unwrap_or(true),
            req.enabled.unwrap_or(true),
        )
        .await?;
        w.commit().await?;
        self.alert_rule(id).await
    }

    pub async fn update_alert_rule(
        &self,
        actor: &Actor,
        id: Uuid,
        req: UpdateAlertRule,
    ) -> CoreResult<AlertRule> {
        actor.require_admin()?;
        let cur = self.alert_rule(id).await?;
        let threshold = req.threshold.unwrap_or(cur.threshold);
        let hysteresis = req.hysteresis.unwrap_or(cur.hysteresis);
        check_threshold(cur.kind, threshold, hysteresis)?;
        let samples = req.samples.unwrap_or(cur.samples);
        if !(1..=1440).contains(&samples) {
            return Err(invalid("samples must be between 1 and 1440"));
        }
        let before = json!({"threshold": cur.threshold, "samples": cur.samples,
            "hysteresis": cur.hysteresis, "priority": cur.priority.as_str(),
            "resolve_on_clear": cur.resolve_on_clear as i64, "enabled": cur.enabled as i64});
        let after = json!({"threshold": threshold, "samples": samples, "hysteresis": hysteresis,
            "priority": req.priority.unwrap_or(cur.priority).as_str(),
            "resolve_on_clear": req.resolve_on_clear.unwrap_or(cur.resolve_on_clear) as i64,
            "enabled": req.enabled.unwrap_or(cur.enabled) as i64});
        let mut w = self.write(actor).await?;
        if before != after {
            sqlx::query("UPDATE alert_rules SET updated_at = ? WHERE id = ?")
                .bind(w.now_ms())
                .bind(id.to_string())
                .execute(&mut *w.tx)
                .await?;
        }
        crate::clients::record_edit(
            &mut w,
            "alert_rules",
            "alert_rule",
            id,
            crate::clients::as_map(before),
            crate::clients::as_map(after),
        )
        .await?;
        w.commit().await?;
        self.alert_rule(id).await
    }

    pub async fn list_alerts(&self, actor: &Actor, q: &AlertQuery) -> CoreResult<AlertPage> {
        let limit = q.limit.unwrap_or(100);
        if !(1..=500).contains(&limit) {
            return Err(invalid("limit must be between 1 and 500"));
        }
        let offset = q.offset.unwrap_or(0).max(0);
        let mut wh = vec![actor.client_condition("a.client_id")];
        let mut binds: Vec<String> = Vec::new();
        if let Some(s) = q.state {
            wh.push(format!(
                "al.state = '{}'",
                if s == AlertState::Firing {
                    "firing"
                } else {
                    "cleared"
                }
            ));
        }
        if let Some(a) = q.asset_id {
            wh.push("al.asset_id = ?".into());
            binds.push(a.to_string());
        }
        if let Some(c) = q.client_id {
            wh.push("a.client_id = ?".into());
            binds.push(c.to_string());
        }
        if let Some(k) = q.kind {
            wh.push("r.kind = ?".into());
            binds.push(k.as_str().into());
        }
        if let Some(t) = q.ticket_id {
            wh.push("al.ticket_id = ?".into());
            binds.push(t.to_string());
        }
        if q.unacknowledged == Some(true) {
            wh.push("al.acknowledged_at IS NULL".into());
        }
        let where_sql = wh.join(" AND ");
        let from = "FROM alerts al JOIN alert_rules r ON r.id = al.rule_id \
                    JOIN assets a ON a.id = al.asset_id";
        let count_sql = format!(
            "SELECT count(*), coalesce(sum(al.state = 'firing'), 0) {from} WHERE {where_sql}"
        );
        let mut count = sqlx::query_as::<_, (i64, i64)>(&count_sql);
        for b in &binds {
            count = count.bind(b.as_str());
        }
        let (total, firing) = count.fetch_one(&self.pool).await?;
        let page_sql = format!(
            "{ALERT_SELECT} WHERE {where_sql} ORDER BY al.state = 'firing' DESC, \
             al.opened_at DESC LIMIT {limit} OFFSET {offset}"
        );
        let mut page = sqlx::query(&page_sql);
        for b in &binds {
            page = page.bind(b.as_str());
        }
        let items = page
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(alert_from_row)
            .collect::<CoreResult<_>>()?;
        Ok(AlertPage {
            items,
            total,
            firing,
        })
    }

    /// Someone has seen the alert and is on it.
    pub async fn acknowledge_alert(&self, actor: &Actor, id: Uuid) -> CoreResult<Alert> {
        actor.require_write()?;
        let row = sqlx::query(&format!("{ALERT_SELECT} WHERE al.id = ?"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?
            .map(|r| alert_from_row(&r))
            .transpose()?;
        let alert = match row {
            Some(a) if actor.may_see(a.client_id) => a,
            _ => return Err(CoreError::NotFound(format!("alert {id} does not exist"))),
        };
        if alert.acknowledged_at.is_none() {
            let mut w = self.write(actor).await?;
            let at = w.now_ms();
            sqlx::query("UPDATE alerts SET updated_at = ? WHERE id = ?")
                .bind(at)
                .bind(id.to_string())
                .execute(&mut *w.tx)
                .await?;
            crate::clients::record_edit(
                &mut w,
                "alerts",
                "alert",
                id,
                crate::clients::as_map(json!({"acknowledged_at": null, "acknowledged_by": null})),
                crate::clients::as_map(
                    json!({"acknowledged_at": at, "acknowledged_by": actor.name}),
                ),
            )
            .await?;
            w.commit().await?;
        }
        let row = sqlx::query(&format!("{ALERT_SELECT} WHERE al.id = ?"))
            .bind(id.to_string())
            .fetch_one(&self.pool)
            .await?;
        alert_from_row(&row)
    }
}

async fn update_alert(w: &mut WriteTx<'_>, id: &str, fields: serde_json::Value) -> CoreResult<()> {
    let serde_json::Value::Object(map) = &fields else {
        return Ok(());
    };
    let sets: Vec<String> = map.keys().map(|k| format!("{k} = ?")).collect();
    let sql = format!(
        "UPDATE alerts SET {}, updated_at = ? WHERE id = ?",
        sets.join(", ")
    );
    let mut q = sqlx::query(&sql);
    for v in map.values() {
        q = match v {
            serde_json::Value::Null => q.bind(None::<String>),
            serde_json::Value::String(s) => q.bind(s.clone()),
            serde_json::Value::Number(n) if n.is_i64() => q.bind(n.as_i64()),
            other => q.bind(other.as_f64()),
        };
    }
    q.bind(w.now_ms()).bind(id).execute(&mut *w.tx).await?;
    w.record_change("alert", parse_uuid(id)?, Op::Update, fields)
        .await
}

#[allow(clippy::too_many_arguments)]
async fn insert_rule(
    w: &mut WriteTx<'_>,
    client: Option<Uuid>,
    kind: AlertKind,
    threshold: f64,
    samples: i64,
    hysteresis: f64,
    service: Option<&str>,
    priority: Priority,
    resolve_on_clear: bool,
    enabled: bool,
) -> CoreResult<Uuid> {
    let id = Uuid::now_v7();
    let now = w.now_ms();
    sqlx::query(
        "INSERT INTO alert_rules (id, client_id, kind, threshold, samples, hysteresis, service, \
         priority, resolve_on_clear, enabled, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(client.map(|c| c.to_string()))
    .bind(kind.as_str())
    .bind(threshold)
    .bind(samples)
    .bind(hysteresis)
    .bind(service)
    .bind(priority.as_str())
    .bind(resolve_on_clear as i64)
    .bind(enabled as i64)
    .bind(now)
    .bind(now)
    .execute(&mut *w.tx)
    .await?;
    w.inserted(
        "alert_rule.create",
        "alert_rule",
        id,
        json!({"client_id": client.map(|c| c.to_string()), "kind": kind.as_str(),
               "threshold": threshold, "samples": samples, "hysteresis": hysteresis,
               "service": service, "priority": priority.as_str(),
               "resolve_on_clear": resolve_on_clear as i64, "enabled": enabled as i64,
               "created_at": now, "updated_at": now}),
    )
    .await?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(threshold: f64, samples: u32, hysteresis: f64) -> Rule {
        Rule {
            id: Uuid::now_v7(),
            client: None,
            kind: AlertKind::Cpu,
            threshold,
            samples,
            hysteresis,
            service: None,
        }
    }

    #[test]
    fn a_rule_fires_after_its_samples_and_clears_only_below_its_hysteresis() {
        let mut m = AlertMemory::default();
        let r = rule(85.0, 3, 10.0);
        let asset = Uuid::now_v7();
        let mut out = Vec::new();
        for v in [90.0, 95.0] {
            m.judge(&r, asset, "", v, &[], &mut out);
        }
        assert!(out.is_empty(), "two samples are not three");
        m.judge(&r, asset, "", 91.0, &[], &mut out);
        assert!(matches!(out.as_slice(), [Decision::Fire { .. }]));
        // 80 is under the threshold but not under threshold − hysteresis: still firing.
        for _ in 0..5 {
            m.judge(&r, asset, "", 80.0, &[], &mut out);
        }
        assert_eq!(out.len(), 1);
        for _ in 0..3 {
            m.judge(&r, asset, "", 50.0, &[], &mut out);
        }
        assert!(
            matches!(out.last(), Some(Decision::Clear { .. })),
            "{out:?}"
        );
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn a_client_rule_replaces_the_organisations_rule_of_its_kind() {
        let client = Uuid::now_v7();
        let org = rule(85.0, 1, 0.0);
        let mut own = rule(50.0, 1, 0.0);
        own.client = Some(client);
        let mut disk = rule(90.0, 1, 0.0);
        disk.kind = AlertKind::Disk;
        let m = AlertMemory {
            rules: vec![org.clone(), own.clone(), disk.clone()],
            ..Default::default()
        };
        let ids: Vec<Uuid> = m.rules_for(client).iter().map(|r| r.id).collect();
        assert_eq!(ids, vec![own.id, disk.id]);
        let other: Vec<Uuid> = m.rules_for(Uuid::now_v7()).iter().map(|r| r.id).collect();
        assert_eq!(other, vec![org.id, disk.id]);
    }
}
