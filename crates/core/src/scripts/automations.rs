//! Automations: runs a technician signs ahead, started later by a schedule or by an alert.
//! Each run is an ordinary signed run request (one per endpoint and time for a schedule;
//! `runs_per_endpoint` per endpoint, over the whole validity, for an alert), so agents need
//! nothing new and the server can do no more than start what was signed: a schedule's run
//! only inside its own time's window, an alert's at most as many times as the signer allowed.
//! The cooldown between two alert runs is the server's courtesy; the pool size is the bound
//! a compromised server cannot pass.

use crate::clock::{from_ms, to_ms};
use crate::error::{invalid, CoreError, CoreResult};
use crate::fleet::runs::publish_run;
use crate::scripts::runs::{
    insert_run, needs_second_technician, state_when_approved, store_approval,
};
use crate::store::{parse_uuid, Actor, Core, Op, WriteTx};
use chrono::{DateTime, TimeZone, Utc};
use outpost_proto::{
    AlertKind, ApproveAutomation, Automation, AutomationState, AutomationTrigger, NewAutomation,
    RunParameter, SchedulePreview, ScheduleQuery, SignAutomation,
};
use serde_json::json;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// The longest an automation's signatures last (a run request's longest window).
pub const MAX_AUTOMATION_DAYS: i64 = 31;
/// Times a schedule may sign per endpoint (hourly: about eight days).
pub const MAX_SCHEDULED_TIMES: usize = 200;
/// Runs an alert automation may sign per endpoint.
pub const MAX_STANDBY_RUNS: i64 = 10;
/// Signed runs in one automation, all endpoints together.
pub const MAX_AUTOMATION_RUNS: usize = 20_000;
/// How long after its time a scheduled run may still start (an endpoint that was asleep).
pub const SCHEDULE_GRACE_SECS: i64 = 3600;

/// A cron pattern (five fields: minute hour day-of-month month day-of-week) read in a zone.
pub struct Schedule {
    cron: croner::Cron,
    zone: chrono_tz::Tz,
}

pub fn parse_schedule(pattern: &str, time_zone: &str) -> CoreResult<Schedule> {
    let zone: chrono_tz::Tz = time_zone.parse().map_err(|_| {
        invalid(format!(
            "time zone {time_zone:?} is not an IANA zone name (like Europe/Berlin or UTC)"
        ))
    })?;
    if pattern.len() > 200 {
        return Err(invalid("a schedule is at most 200 characters"));
    }
    if pattern.trim().is_empty() {
        return Err(invalid(
            "a schedule needs a cron pattern (minute hour day month weekday, e.g. 0 2 * * SUN)",
        ));
    }
    let cron = croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Disallowed)
        .year(croner::parser::Year::Disallowed)
        .build()
        .parse(pattern)
        .map_err(|e| {
            invalid(format!(
                "the schedule {pattern:?} is not a cron pattern of five fields (minute hour \
                 day month weekday): {e}"
            ))
        })?;
    Ok(Schedule { cron, zone })
}

impl Schedule {
    pub fn describe(&self) -> String {
        self.cron.describe().trim_end_matches('.').to_string()
    }

    /// Its times (unix seconds) from `from` (inclusive) to `until` (exclusive), at most
    /// `max`.
    pub fn times(&self, from: i64, until: i64, max: usize) -> Vec<i64> {
        let Some(start) = self.zone.timestamp_opt(from, 0).single() else {
            return Vec::new();
        };
        self.cron
            .iter_from(start, croner::Direction::Forward)
            .map(|t| t.timestamp())
            .take_while(|t| *t < until)
            .take(max)
            .collect()
    }

    /// The signed window of each time in [from, until): from the time to an hour later, or
    /// to just before the next time when that comes sooner, never past `until`.
    pub fn windows(&self, from: i64, until: i64) -> CoreResult<Vec<(i64, i64)>> {
        let times = self.times(from, until.saturating_add(SCHEDULE_GRACE_SECS), usize::MAX);
        let inside = times.iter().filter(|t| **t < until).count();
        if inside == 0 {
            return Err(invalid(
                "the schedule has no time inside the automation's validity: sign it for longer \
                 or check the pattern",
            ));
        }
        if inside > MAX_SCHEDULED_TIMES {
            return Err(invalid(format!(
                "the schedule has {inside} times in that validity; at most \
                 {MAX_SCHEDULED_TIMES} are signed ahead: sign it for fewer days"
            )));
        }
        Ok(times
            .iter()
            .take(inside)
            .enumerate()
            .map(|(i, t)| {
                let next = times.get(i + 1).copied().unwrap_or(i64::MAX);
                let end = (t + SCHEDULE_GRACE_SECS).min(next - 1).min(until);
                (*t, end.max(*t))
            })
            .collect())
    }
}

/// How a new automation's validity is cut to what can be signed: at most
/// [`MAX_AUTOMATION_DAYS`], and for a schedule at most [`MAX_SCHEDULED_TIMES`] times.
pub fn signable_until(schedule: Option<&Schedule>, from: i64, days: i64) -> i64 {
    let until = from + days.clamp(1, MAX_AUTOMATION_DAYS) * 86_400;
    match schedule {
        Some(s) => {
            let times = s.times(from, until, MAX_SCHEDULED_TIMES + 1);
            match times.get(MAX_SCHEDULED_TIMES) {
                Some(t) => *t,
                None => until,
            }
        }
        None => until,
    }
}

/// What a console signs for an automation: its validity and each run's window per endpoint.
pub struct SigningPlan {
    pub valid_from: i64,
    pub valid_until: i64,
    pub time_zone: String,
    /// One entry per run to sign for each endpoint.
    pub windows: Vec<(i64, i64)>,
}

/// Plans the runs a console signs for `input` over `endpoints` endpoints at `now`, within its
/// certificate (ending at `certificate_ends`): the checks the server makes, before thousands
/// of signatures are made for nothing.
pub fn plan_signing(
    input: &SignAutomation,
    endpoints: usize,
    now: i64,
    certificate_ends: i64,
) -> CoreResult<SigningPlan> {
    let days = input.valid_days.unwrap_or(MAX_AUTOMATION_DAYS);
    if !(1..=MAX_AUTOMATION_DAYS).contains(&days) {
        return Err(invalid(format!(
            "valid_days must be 1 to {MAX_AUTOMATION_DAYS}"
        )));
    }
    let time_zone = input.time_zone.clone().unwrap_or_else(|| "UTC".into());
    let schedule = match input.trigger {
        AutomationTrigger::Schedule => Some(parse_schedule(
            input.schedule.as_deref().unwrap_or_default(),
            &time_zone,
        )?),
        AutomationTrigger::Alert => None,
    };
    // Runs signed now may start at once (a schedule's current time, an alert firing now).
    let from = now - 60;
    let until = signable_until(schedule.as_ref(), from, days).min(certificate_ends);
    if until <= now {
        return Err(CoreError::Forbidden(
            "your signing certificate has expired: ask an admin to renew it".into(),
        ));
    }
    let windows = match &schedule {
        Some(s) => s.windows(from, until)?,
        None => {
            let pool = input.runs_per_endpoint.unwrap_or(1);
            if !(1..=MAX_STANDBY_RUNS).contains(&pool) {
                return Err(invalid(format!(
                    "runs_per_endpoint must be 1 to {MAX_STANDBY_RUNS}"
                )));
            }
            vec![(from, until); pool as usize]
        }
    };
    let total = windows.len() * endpoints;
    if total > MAX_AUTOMATION_RUNS {
        return Err(invalid(format!(
            "that is {total} signed runs; at most {MAX_AUTOMATION_RUNS} per automation: fewer \
             endpoints or days"
        )));
    }
    Ok(SigningPlan {
        valid_from: from,
        valid_until: until,
        time_zone,
        windows,
    })
}

pub fn preview_schedule(q: &ScheduleQuery, now: DateTime<Utc>) -> CoreResult<SchedulePreview> {
    let s = parse_schedule(&q.schedule, q.time_zone.as_deref().unwrap_or("UTC"))?;
    let from = now.timestamp();
    let until = from + MAX_AUTOMATION_DAYS * 86_400;
    let all = s.times(from, until, MAX_SCHEDULED_TIMES + 1);
    Ok(SchedulePreview {
        description: s.describe(),
        next: all
            .iter()
            .take(5)
            .map(|t| from_ms(t.saturating_mul(1000)))
            .collect(),
        runs_per_endpoint: all.len().min(MAX_SCHEDULED_TIMES) as i64,
    })
}

const AUTOMATION_SELECT: &str = "SELECT au.*, \
     (SELECT count(*) FROM runs r WHERE r.automation_id = au.id \
      AND r.state IN ('scheduled', 'standby')) AS runs_left, \
     (SELECT count(*) FROM runs r WHERE r.automation_id = au.id \
      AND r.triggered_at IS NOT NULL) AS runs_started, \
     (SELECT count(*) FROM runs r WHERE r.automation_id = au.id AND r.triggered_at IS NOT NULL \
      AND (r.state IN ('refused', 'expired') OR r.outcome IN ('timed_out', 'failed') \
           OR (r.outcome = 'exited' AND r.exit_code != 0))) AS runs_failed, \
     (SELECT min(r.not_before) FROM runs r WHERE r.automation_id = au.id \
      AND r.state = 'scheduled') AS next_run_at, \
     coalesce((SELECT v.name FROM script_versions v WHERE v.script_id = au.script_id \
               AND v.version = au.script_version LIMIT 1), '') AS script_name \
     FROM automations au";

fn uuids(text: &str, what: &str) -> CoreResult<Vec<Uuid>> {
    let list: Vec<String> = serde_json::from_str(text)
        .map_err(|e| CoreError::Internal(format!("stored {what}: {e}")))?;
    list.iter().map(|s| parse_uuid(s)).collect()
}

fn automation_from_row(r: &SqliteRow, now: i64) -> CoreResult<Automation> {
    let trigger: String = r.get("trigger");
    let state: String = r.get("state");
    let valid_until: i64 = r.get("valid_until");
    let schedule: Option<String> = r.get("schedule");
    let zone: String = r.get("time_zone");
    let params: String = r.get("parameters");
    Ok(Automation {
        id: parse_uuid(r.get("id"))?,
        name: r.get("name"),
        trigger: AutomationTrigger::parse(&trigger)
            .ok_or_else(|| CoreError::Internal(format!("stored trigger {trigger:?}")))?,
        schedule_description: schedule
            .as_deref()
            .and_then(|s| parse_schedule(s, &zone).ok())
            .map(|s| s.describe()),
        schedule,
        time_zone: zone,
        alert_kind: r
            .get::<Option<String>, _>("alert_kind")
            .and_then(|k| AlertKind::parse(&k)),
        runs_per_endpoint: r.get("runs_per_endpoint"),
        cooldown_minutes: r.get("cooldown_minutes"),
        script_id: parse_uuid(r.get("script_id"))?,
        script_version: r.get("script_version"),
        script_name: r.get("script_name"),
        parameters: serde_json::from_str::<Vec<RunParameter>>(&params)
            .map_err(|e| CoreError::Internal(format!("stored parameters: {e}")))?,
        assets: uuids(r.get("assets"), "assets")?,
        clients: uuids(r.get("clients"), "clients")?,
        valid_from: from_ms(r.get("valid_from")),
        valid_until: from_ms(valid_until),
        state: match state.as_str() {
            "cancelled" => AutomationState::Cancelled,
            "awaiting_approval" => AutomationState::AwaitingApproval,
            _ if valid_until <= now => AutomationState::Expired,
            _ => AutomationState::Active,
        },
        signer: r.get("signer_name"),
        created_at: from_ms(r.get("created_at")),
        runs_left: r.get("runs_left"),
        runs_started: r.get("runs_started"),
        runs_failed: r.get("runs_failed"),
        next_run_at: r.get::<Option<i64>, _>("next_run_at").map(from_ms),
        cancelled_at: r.get::<Option<i64>, _>("cancelled_at").map(from_ms),
    })
}

impl Core {
    pub fn preview_schedule(&self, q: &ScheduleQuery) -> CoreResult<SchedulePreview> {
        preview_schedule(q, self.now())
    }

    /// Keeps an automation and every run signed for it (all or none), after checking each
    /// run as a run to send is checked, and that together they are exactly what the
    /// automation says: its script, its endpoints, its times or its pool, one parameter set.
    pub async fn create_automation(
        &self,
        actor: &Actor,
        input: NewAutomation,
    ) -> CoreResult<Automation> {
        actor.require_write()?;
        let name = input.name.trim().to_string();
        if name.is_empty() || name.chars().count() > 120 {
            return Err(invalid("an automation's name is 1 to 120 characters"));
        }
        let (from, until) = (input.valid_from.timestamp(), input.valid_until.timestamp());
        let now = self.now().timestamp();
        if until <= from {
            return Err(invalid("valid_until must come after valid_from"));
        }
        if until - from > MAX_AUTOMATION_DAYS * 86_400 {
            return Err(invalid(format!(
                "an automation is signed for at most {MAX_AUTOMATION_DAYS} days; sign it again \
                 to go on"
            )));
        }
        if until <= now {
            return Err(invalid("the automation's validity has passed already"));
        }
        if input.runs.is_empty() {
            return Err(invalid(
                "runs is empty: send the runs signed for the automation",
            ));
        }
        if input.runs.len() > MAX_AUTOMATION_RUNS {
            return Err(invalid(format!(
                "at most {MAX_AUTOMATION_RUNS} signed runs per automation: fewer endpoints or \
                 fewer days"
            )));
        }
        let zone = input.time_zone.clone().unwrap_or_else(|| "UTC".into());
        let (schedule, windows, pool) = match input.trigger {
            AutomationTrigger::Schedule => {
                if input.alert_kind.is_some() {
                    return Err(invalid("a scheduled automation has no alert_kind"));
                }
                let pattern = input.schedule.as_deref().unwrap_or_default();
                let schedule = parse_schedule(pattern, &zone)?;
                // Times whose window closed while the console signed and sent are dropped
                // (they can never run); every other time must be there.
                let windows: HashSet<(i64, i64)> = schedule
                    .windows(from, until)?
                    .into_iter()
                    .filter(|(_, end)| *end > now)
                    .collect();
                if windows.is_empty() {
                    return Err(invalid(
                        "every time of the schedule inside its validity has passed: sign it again",
                    ));
                }
                (Some(pattern.trim().to_string()), windows, 0)
            }
            AutomationTrigger::Alert => {
                if input.schedule.is_some() {
                    return Err(invalid("an alert automation has no schedule"));
                }
                let Some(kind) = input.alert_kind else {
                    return Err(invalid(
                        "an alert automation names the alert_kind that starts it (disk, cpu, …)",
                    ));
                };
                if kind == AlertKind::Offline {
                    return Err(invalid(
                        "an endpoint that is offline cannot run a script: choose another alert",
                    ));
                }
                let pool = input.runs_per_endpoint.unwrap_or(1);
                if !(1..=MAX_STANDBY_RUNS).contains(&pool) {
                    return Err(invalid(format!(
                        "runs_per_endpoint must be 1 to {MAX_STANDBY_RUNS}"
                    )));
                }
                (None, HashSet::from([(from, until)]), pool)
            }
        };
        let cooldown = input.cooldown_minutes.unwrap_or(60);
        if !(0..=7 * 24 * 60).contains(&cooldown) {
            return Err(invalid("cooldown_minutes must be 0 to 10080 (a week)"));
        }
        let live: Vec<_> = input
            .runs
            .iter()
            .filter(|r| {
                crate::scripts::runs::signed_run_from_wire(r)
                    .ok()
                    .and_then(|s| s.claims().ok())
                    .is_none_or(|c| c.not_after > now)
            })
            .cloned()
            .collect();
        if live.is_empty() {
            return Err(invalid("every run sent has expired already: sign it again"));
        }
        let checked = self.check_signed_runs(actor, &live, None, true).await?;
        // Runs per endpoint; with no time twice, a schedule's count means every time.
        let mut per_asset: HashMap<Uuid, usize> = HashMap::new();
        let mut seen_times = HashSet::new();
        let mut clients = HashSet::new();
        let shown = checked[0].shown.clone();
        for (i, c) in checked.iter().enumerate() {
            let at = |m: &str| invalid(format!("run {}: {m}", i + 1));
            let req = &c.verified.request;
            if req.script_id != input.script_id
                || i64::from(req.script_version) != input.script_version
            {
                return Err(at(
                    "it is for another script or version than the automation",
                ));
            }
            if c.shown != shown {
                return Err(at("its parameters differ from the automation's other runs"));
            }
            if !windows.contains(&(req.not_before, req.not_after)) {
                return Err(at(match input.trigger {
                    AutomationTrigger::Schedule => {
                        "its window is not one of the schedule's times (time to an hour later)"
                    }
                    AutomationTrigger::Alert => "its window is not the automation's validity",
                }));
            }
            if input.trigger == AutomationTrigger::Schedule
                && !seen_times.insert((c.asset, req.not_before))
            {
                return Err(at("the endpoint has a run for that time already"));
            }
            *per_asset.entry(c.asset).or_default() += 1;
            clients.insert(c.client);
        }
        let expected = match input.trigger {
            AutomationTrigger::Schedule => windows.len(),
            AutomationTrigger::Alert => pool as usize,
        };
        if let Some((asset, n)) = per_asset.iter().find(|(_, n)| **n != expected) {
            return Err(invalid(format!(
                "endpoint {asset} has {n} signed runs; the automation needs {expected} each"
            )));
        }
        let rule = self.two_person_rule().await?;
        if needs_second_technician(&rule, per_asset.len(), clients.len())
            && checked
                .iter()
                .any(|c| c.verified.request.approvals_required == 0)
        {
            return Err(invalid(format!(
                "an automation on {} needs a second technician's approval: sign it with an \
                 approval required",
                crate::scripts::runs::wide_words(&rule)
            )));
        }
        let awaiting = checked.iter().any(|c| c.awaiting);
        let signer = &checked[0].verified.signer;
        let mut assets: Vec<Uuid> = per_asset.keys().copied().collect();
        assets.sort();
        let mut client_list: Vec<Uuid> = clients.into_iter().collect();
        client_list.sort();

        let mut w = self.write(actor).await?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM automations WHERE id = ?")
            .bind(input.id.to_string())
            .fetch_optional(&mut *w.tx)
            .await?;
        if exists.is_some() {
            return Err(CoreError::Conflict(format!(
                "automation {} exists already",
                input.id
            )));
        }
        sqlx::query(
            "INSERT INTO automations (id, name, trigger, schedule, time_zone, alert_kind, \
             runs_per_endpoint, cooldown_minutes, script_id, script_version, parameters, assets, \
             clients, valid_from, valid_until, state, signer_user_id, signer_name, created_at, \
             created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(input.id.to_string())
        .bind(&name)
        .bind(input.trigger.as_str())
        .bind(&schedule)
        .bind(&zone)
        .bind(input.alert_kind.map(|k| k.as_str()))
        .bind(pool.max(1))
        .bind(cooldown)
        .bind(input.script_id.to_string())
        .bind(input.script_version)
        .bind(json!(shown).to_string())
        .bind(json!(assets).to_string())
        .bind(json!(client_list).to_string())
        .bind(from * 1000)
        .bind(until * 1000)
        .bind(if awaiting {
            "awaiting_approval"
        } else {
            "active"
        })
        .bind(signer.user_id.to_string())
        .bind(&signer.name)
        .bind(w.now_ms())
        .bind(&actor.name)
        .execute(&mut *w.tx)
        .await?;
        let state = match (awaiting, input.trigger) {
            (true, _) => "awaiting_approval",
            (false, AutomationTrigger::Schedule) => "scheduled",
            (false, AutomationTrigger::Alert) => "standby",
        };
        for c in &checked {
            insert_run(&mut w, actor, c, state, None, Some(input.id)).await?;
        }
        w.audit(
            "automation.sign",
            "automation",
            input.id,
            None,
            Some(json!({"name": name, "trigger": input.trigger.as_str(),
                        "schedule": schedule, "alert_kind": input.alert_kind.map(|k| k.as_str()),
                        "script_id": input.script_id.to_string(),
                        "version": input.script_version, "endpoints": assets.len(),
                        "runs": checked.len(), "signer": signer.name,
                        "valid_until": until * 1000, "parameters": shown})),
        )
        .await?;
        w.commit().await?;
        self.get_automation(actor, input.id).await
    }

    pub async fn get_automation(&self, actor: &Actor, id: Uuid) -> CoreResult<Automation> {
        let gone = || CoreError::NotFound(format!("automation {id} does not exist"));
        let r = sqlx::query(&format!("{AUTOMATION_SELECT} WHERE au.id = ?"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(gone)?;
        let a = automation_from_row(&r, to_ms(self.now()))?;
        if !a.clients.iter().all(|c| actor.may_see(*c)) {
            return Err(gone());
        }
        Ok(a)
    }

    /// Automations whose every endpoint this person may see, newest first.
    pub async fn list_automations(&self, actor: &Actor) -> CoreResult<Vec<Automation>> {
        let rows = sqlx::query(&format!(
            "{AUTOMATION_SELECT} ORDER BY au.state = 'cancelled', au.created_at DESC LIMIT 500"
        ))
        .fetch_all(&self.pool)
        .await?;
        let now = to_ms(self.now());
        let mut out = Vec::new();
        for r in &rows {
            let a = automation_from_row(r, now)?;
            if a.clients.iter().all(|c| actor.may_see(*c)) {
                out.push(a);
            }
        }
        Ok(out)
    }

    /// Stops an automation: none of its runs signed ahead will start. Runs it started
    /// already go on (each can be cancelled on its own).
    pub async fn cancel_automation(&self, actor: &Actor, id: Uuid) -> CoreResult<Automation> {
        actor.require_write()?;
        let a = self.get_automation(actor, id).await?;
        if a.state == AutomationState::Cancelled {
            return Err(CoreError::Conflict(
                "the automation is cancelled already".into(),
            ));
        }
        let mut w = self.write(actor).await?;
        let now = w.now_ms();
        sqlx::query(
            "UPDATE automations SET state = 'cancelled', cancelled_at = ?, cancelled_by = ? \
             WHERE id = ?",
        )
        .bind(now)
        .bind(&actor.name)
        .bind(id.to_string())
        .execute(&mut *w.tx)
        .await?;
        let dropped = sqlx::query(
            "UPDATE runs SET state = 'cancelled', cancel_requested_at = ?1, ended_at = ?1 \
             WHERE automation_id = ?2 AND state IN ('scheduled', 'standby', 'awaiting_approval')",
        )
        .bind(now)
        .bind(id.to_string())
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
        w.audit(
            "automation.cancel",
            "automation",
            id,
            None,
            Some(json!({"runs_dropped": dropped})),
        )
        .await?;
        w.commit().await?;
        self.get_automation(actor, id).await
    }

    /// A second technician approves every run of an automation over the two-person limits
    /// (one approval per run, all or none). Once none waits, the automation is active.
    pub async fn approve_automation(
        &self,
        actor: &Actor,
        id: Uuid,
        input: ApproveAutomation,
    ) -> CoreResult<Automation> {
        actor.require_write()?;
        let a = self.get_automation(actor, id).await?;
        if a.state != AutomationState::AwaitingApproval {
            return Err(CoreError::Conflict(
                "the automation is not waiting for an approval".into(),
            ));
        }
        if input.approvals.is_empty() {
            return Err(invalid("approvals is empty: approve each of its runs"));
        }
        let judge = self.approval_judge().await?;
        let mut judged = Vec::with_capacity(input.approvals.len());
        let mut seen = HashSet::new();
        for (i, item) in input.approvals.into_iter().enumerate() {
            let at = |e: CoreError| invalid(format!("approval {}: {e}", i + 1));
            if !seen.insert(item.run_id) {
                return Err(at(invalid("its run is approved twice in this request")));
            }
            let run = self.get_run(actor, item.run_id).await.map_err(at)?;
            if run.automation_id != Some(id) {
                return Err(at(invalid("its run is not one of this automation's")));
            }
            let (signed, complete, approver) = self
                .judge_approval(actor, &judge, &run, item.approval)
                .await
                .map_err(at)?;
            judged.push((run, signed, complete, approver));
        }
        let when_complete = state_when_approved(Some(a.trigger));
        let mut w = self.write(actor).await?;
        for (run, signed, complete, approver) in &judged {
            store_approval(&mut w, run, signed, *complete, approver, when_complete).await?;
        }
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM runs WHERE automation_id = ? AND state = 'awaiting_approval'",
        )
        .bind(id.to_string())
        .fetch_one(&mut *w.tx)
        .await?;
        if waiting == 0 {
            sqlx::query("UPDATE automations SET state = 'active' WHERE id = ?")
                .bind(id.to_string())
                .execute(&mut *w.tx)
                .await?;
        }
        w.audit(
            "automation.approve",
            "automation",
            id,
            None,
            Some(json!({"approved_runs": judged.len(), "complete": waiting == 0})),
        )
        .await?;
        w.commit().await?;
        self.get_automation(actor, id).await
    }

    /// Scheduled runs whose time has come go to their agents (the gateway's clock).
    pub async fn start_due_runs(&self) -> CoreResult<u64> {
        let now = to_ms(self.now());
        let due: Vec<String> = sqlx::query_scalar(
            "SELECT r.id FROM runs r JOIN automations au ON au.id = r.automation_id \
             WHERE r.state = 'scheduled' AND r.not_before <= ?1 AND r.not_after > ?1 \
             AND au.state = 'active' LIMIT 5000",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        if due.is_empty() {
            return Ok(0);
        }
        let system = Actor::system();
        let mut w = self.write(&system).await?;
        let mut started = 0;
        for id in &due {
            let done = sqlx::query(
                "UPDATE runs SET state = 'waiting', triggered_at = ? WHERE id = ? \
                 AND state = 'scheduled'",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *w.tx)
            .await?
            .rows_affected();
            if done > 0 {
                publish_run(&mut w, parse_uuid(id)?, Op::Insert).await?;
                started += 1;
            }
        }
        w.commit().await?;
        if started > 0 {
            self.announce("runs.new", Uuid::nil());
        }
        Ok(started)
    }
}

/// An alert of `kind` fired on `asset`: each active automation for that alert and endpoint
/// starts one of its standby runs (unless its cooldown since the last one has not passed),
/// attached to the alert's ticket. Returns what it started: (automation name, script name).
pub(crate) async fn start_on_alert(
    w: &mut WriteTx<'_>,
    kind: AlertKind,
    asset: Uuid,
    ticket: Uuid,
) -> CoreResult<Vec<(String, String)>> {
    let now = w.now_ms();
    let automations: Vec<(String, String, i64, String)> = sqlx::query_as(
        "SELECT au.id, au.name, au.cooldown_minutes, \
         coalesce((SELECT v.name FROM script_versions v WHERE v.script_id = au.script_id \
                   AND v.version = au.script_version LIMIT 1), '') \
         FROM automations au WHERE au.trigger = 'alert' AND au.alert_kind = ?1 \
         AND au.state = 'active' AND au.valid_until > ?2 \
         AND EXISTS (SELECT 1 FROM runs r WHERE r.automation_id = au.id AND r.asset_id = ?3 \
                     AND r.state = 'standby')",
    )
    .bind(kind.as_str())
    .bind(now)
    .bind(asset.to_string())
    .fetch_all(&mut *w.tx)
    .await?;
    let mut started = Vec::new();
    for (automation, name, cooldown, script) in automations {
        let last: Option<i64> = sqlx::query_scalar(
            "SELECT max(triggered_at) FROM runs WHERE automation_id = ? AND asset_id = ?",
        )
        .bind(&automation)
        .bind(asset.to_string())
        .fetch_one(&mut *w.tx)
        .await?;
        if last.is_some_and(|l| now - l < cooldown * 60_000) {
            continue;
        }
        let run: Option<String> = sqlx::query_scalar(
            "SELECT id FROM runs WHERE automation_id = ? AND asset_id = ? AND state = 'standby' \
             AND not_before <= ? AND not_after > ? ORDER BY created_at, id LIMIT 1",
        )
        .bind(&automation)
        .bind(asset.to_string())
        .bind(now + outpost_trust::CLOCK_SKEW_SECS * 1000)
        .bind(now)
        .fetch_optional(&mut *w.tx)
        .await?;
        let Some(run) = run else { continue };
        sqlx::query(
            "UPDATE runs SET state = 'waiting', triggered_at = ?, ticket_id = ? WHERE id = ?",
        )
        .bind(now)
        .bind(ticket.to_string())
        .bind(&run)
        .execute(&mut *w.tx)
        .await?;
        w.audit(
            "automation.start",
            "run",
            parse_uuid(&run)?,
            None,
            Some(json!({"automation_id": automation, "alert": kind.as_str(),
                        "asset_id": asset.to_string()})),
        )
        .await?;
        publish_run(w, parse_uuid(&run)?, Op::Insert).await?;
        started.push((name, script));
    }
    Ok(started)
}
