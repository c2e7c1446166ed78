//! SLA policies: first-response and resolution targets per priority, counted in business
//! time (a time zone, working week days, working hours). Deadlines are computed here when a
//! ticket is created or its priority or status changes, and stored, so the queue can filter
//! and sort on them in SQL.

use crate::clock::{from_ms, to_ms};
use crate::error::{invalid, CoreResult};
use crate::store::record::{Derive, HookFuture, SyncedRecord};
use crate::store::{Actor, Core, WriteTx};
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use outpost_proto::{Priority, SlaPolicy, SlaState, SlaTarget, TicketStatus};

/// `next_due` of a ticket with no running deadline: sorts after every real one.
pub const NO_DEADLINE: i64 = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

/// Longest target accepted: a year of round-the-clock minutes. Keeps date arithmetic far
/// from chrono's limits whatever an admin types.
pub const MAX_TARGET_MINUTES: i64 = 366 * 24 * 60;

/// Share of a target's business time after which a ticket counts as at risk.
const AT_RISK_NUMERATOR: i64 = 3;
const AT_RISK_DENOMINATOR: i64 = 4;

pub fn default_policy() -> SlaPolicy {
    let t = |priority, first_response_minutes, resolution_minutes| SlaTarget {
        priority,
        first_response_minutes,
        resolution_minutes,
    };
    SlaPolicy {
        timezone: "UTC".into(),
        work_days: vec![1, 2, 3, 4, 5],
        day_start_minute: 8 * 60,
        day_end_minute: 18 * 60,
        targets: vec![
            t(Priority::Critical, 30, 4 * 60),
            t(Priority::High, 60, 8 * 60),
            t(Priority::Normal, 4 * 60, 24 * 60),
            t(Priority::Low, 8 * 60, 48 * 60),
        ],
    }
}

/// Working hours in one time zone.
#[derive(Debug, Clone)]
pub struct BusinessCalendar {
    tz: Tz,
    work_days: [bool; 7], // index 0 = Monday
    start_minute: i64,
    end_minute: i64,
}

// Bounds the day-by-day walk; a validated policy has at least one working day a week.
const MAX_DAYS_WALKED: i64 = 366 * 20;

impl BusinessCalendar {
    pub fn new(policy: &SlaPolicy) -> CoreResult<BusinessCalendar> {
        let tz: Tz = policy.timezone.parse().map_err(|_| {
            invalid(format!(
                "'{}' is not a known time zone; use an IANA name such as Europe/Berlin or America/New_York",
                policy.timezone
            ))
        })?;
        if policy.work_days.is_empty() {
            return Err(invalid(
                "choose at least one working day for the SLA calendar",
            ));
        }
        let mut work_days = [false; 7];
        for &d in &policy.work_days {
            if !(1..=7).contains(&d) {
                return Err(invalid(format!(
                    "working day {d} is not a week day; use 1 (Monday) to 7 (Sunday)"
                )));
            }
            work_days[usize::from(d - 1)] = true;
        }
        let (s, e) = (policy.day_start_minute, policy.day_end_minute);
        if !(0..1440).contains(&s) || !(1..=1440).contains(&e) || s >= e {
            return Err(invalid(
                "working hours must start before they end, within one day (00:00 to 24:00)",
            ));
        }
        Ok(BusinessCalendar {
            tz,
            work_days,
            start_minute: s,
            end_minute: e,
        })
    }

    /// Local wall time `minute` minutes after midnight of `date`, as UTC. A time that does not
    /// exist (a spring-forward gap) moves to the first instant after the gap; an ambiguous one
    /// (fall back) takes the earlier instant.
    fn local_to_utc(&self, date: NaiveDate, minute: i64) -> DateTime<Utc> {
        let (date, minute) = if minute >= 1440 {
            (date.succ_opt().unwrap_or(date), minute - 1440)
        } else {
            (date, minute)
        };
        let naive = date.and_hms_opt(0, 0, 0).unwrap_or_default() + Duration::minutes(minute);
        let mut probe = naive;
        for _ in 0..4 {
            if let Some(t) = self.tz.from_local_datetime(&probe).earliest() {
                return t.with_timezone(&Utc);
            }
            probe += Duration::minutes(30);
        }
        Utc.from_utc_datetime(&naive)
    }

    fn window(&self, date: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let weekday = date.weekday().num_days_from_monday() as usize;
        if !self.work_days[weekday] {
            return None;
        }
        Some((
            self.local_to_utc(date, self.start_minute),
            self.local_to_utc(date, self.end_minute),
        ))
    }

    fn local_date(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.tz).date_naive()
    }

    /// The instant `minutes` of business time after `start`.
    pub fn add_business_minutes(&self, start: DateTime<Utc>, minutes: i64) -> DateTime<Utc> {
        let mut remaining = Duration::minutes(minutes.clamp(0, 100 * MAX_TARGET_MINUTES));
        let mut cursor = start;
        // Start a day early: in zones east of UTC a window can begin on the previous UTC date.
        let mut date = self.local_date(start);
        for _ in 0..MAX_DAYS_WALKED {
            if let Some((open, close)) = self.window(date) {
                if cursor < close {
                    let from = cursor.max(open);
                    let available = close - from;
                    if remaining <= available {
                        return from + remaining;
                    }
                    remaining -= available;
                    cursor = close;
                }
            }
            match date.succ_opt() {
                Some(d) => date = d,
                None => break,
            }
        }
        cursor
            .checked_add_signed(remaining)
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// Business minutes (rounded down) between two instants; zero when `end <= start`.
    pub fn business_minutes_between(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> i64 {
        if end <= start {
            return 0;
        }
        let mut total = Duration::zero();
        let mut date = self.local_date(start);
        let last = self.local_date(end);
        for _ in 0..MAX_DAYS_WALKED {
            if date > last {
                break;
            }
            if let Some((open, close)) = self.window(date) {
                let from = open.max(start);
                let to = close.min(end);
                if to > from {
                    total += to - from;
                }
            }
            match date.succ_opt() {
                Some(d) => date = d,
                None => break,
            }
        }
        total.num_minutes()
    }
}

/// Stored SLA deadlines of one ticket (ms since epoch), all `None` without a target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SlaDeadlines {
    pub fr_due: Option<i64>,
    pub fr_risk_at: Option<i64>,
    pub res_due: Option<i64>,
    pub res_risk_at: Option<i64>,
}

/// What the deadlines of a ticket depend on.
#[derive(Debug, Clone, Copy)]
pub struct SlaClockState {
    pub created_at: DateTime<Utc>,
    pub priority: Priority,
    pub status: TicketStatus,
    pub first_response_at: Option<DateTime<Utc>>,
    pub paused_since: Option<DateTime<Utc>>,
    /// Business minutes spent waiting on the client so far (not counting an ongoing pause).
    pub paused_minutes: i64,
}

pub struct SlaEngine {
    calendar: BusinessCalendar,
    policy: SlaPolicy,
}

impl SlaEngine {
    pub fn new(policy: SlaPolicy) -> CoreResult<SlaEngine> {
        let calendar = BusinessCalendar::new(&policy)?;
        for p in Priority::ALL {
            let n = policy.targets.iter().filter(|t| t.priority == p).count();
            if n != 1 {
                return Err(invalid(format!(
                    "the SLA policy needs exactly one target for {} priority (it has {n})",
                    p.as_str()
                )));
            }
        }
        for t in &policy.targets {
            if t.first_response_minutes > MAX_TARGET_MINUTES
                || t.resolution_minutes > MAX_TARGET_MINUTES
            {
                return Err(invalid(format!(
                    "SLA targets for {} priority must be at most {MAX_TARGET_MINUTES} minutes (a year)",
                    t.priority.as_str()
                )));
            }
            if t.first_response_minutes <= 0 || t.resolution_minutes <= 0 {
                return Err(invalid(format!(
                    "SLA targets for {} priority must be positive numbers of minutes",
                    t.priority.as_str()
                )));
            }
            if t.first_response_minutes > t.resolution_minutes {
                return Err(invalid(format!(
                    "the first-response target for {} priority is longer than its resolution target",
                    t.priority.as_str()
                )));
            }
        }
        Ok(SlaEngine { calendar, policy })
    }

    pub fn calendar(&self) -> &BusinessCalendar {
        &self.calendar
    }

    fn target(&self, p: Priority) -> Option<&SlaTarget> {
        self.policy.targets.iter().find(|t| t.priority == p)
    }

    pub fn deadlines(&self, s: &SlaClockState) -> SlaDeadlines {
        let Some(target) = self.target(s.priority) else {
            return SlaDeadlines::default();
        };
        let at = |minutes: i64| to_ms(self.calendar.add_business_minutes(s.created_at, minutes));
        let risk = |minutes: i64| minutes * AT_RISK_NUMERATOR / AT_RISK_DENOMINATOR;
        let fr = target.first_response_minutes;
        let res = target.resolution_minutes + s.paused_minutes;
        SlaDeadlines {
            fr_due: Some(at(fr)),
            fr_risk_at: Some(at(risk(fr))),
            res_due: Some(at(res)),
            res_risk_at: Some(at(risk(target.resolution_minutes) + s.paused_minutes)),
        }
    }

    /// Business minutes of the pause that ends at `now`.
    pub fn pause_minutes(&self, paused_since: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
        self.calendar.business_minutes_between(paused_since, now)
    }
}

/// The deadline the queue sorts by: the first response while none was given, then resolution.
/// Paused and finished tickets have none running.
pub fn next_due(s: &SlaClockState, d: &SlaDeadlines) -> i64 {
    if s.status.is_done() || s.paused_since.is_some() {
        return NO_DEADLINE;
    }
    let fr = if s.first_response_at.is_none() {
        d.fr_due
    } else {
        None
    };
    match (fr, d.res_due) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b).unwrap_or(NO_DEADLINE),
    }
}

/// SQL for a ticket's SLA state at `now_ms` over the `tickets` row aliased `t`. This is the one
/// definition of the state: the queue filters on it and every ticket read returns it.
pub(crate) fn state_sql(now_ms: i64) -> String {
    format!(
        "(CASE \
          WHEN t.res_due IS NULL THEN 'none' \
          WHEN t.status IN ('resolved','closed') THEN \
            CASE WHEN t.resolved_at <= t.res_due \
                  AND coalesce(t.first_response_at, t.resolved_at) <= t.fr_due THEN 'met' \
                 ELSE 'breached' END \
          WHEN t.first_response_at > t.fr_due \
            OR (t.first_response_at IS NULL AND t.fr_due < {now_ms}) THEN 'breached' \
          WHEN t.paused_since IS NOT NULL THEN 'paused' \
          WHEN t.res_due < {now_ms} THEN 'breached' \
          WHEN (t.first_response_at IS NULL AND t.fr_risk_at < {now_ms}) \
            OR t.res_risk_at < {now_ms} THEN 'at_risk' \
          ELSE 'on_track' END)"
    )
}

pub(crate) fn parse_state(s: &str) -> SlaState {
    SlaState::parse(s).unwrap_or(SlaState::None)
}

pub(crate) fn opt_time(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.map(from_ms)
}

pub(crate) const POLICY_KEY: &str = "sla_policy";

impl Core {
    /// The organisation's zone (the SLA policy's): reports count days in it.
    pub(crate) async fn organisation_zone(&self) -> CoreResult<Tz> {
        let policy = self.sla_policy().await?;
        policy.timezone.parse().map_err(|_| {
            crate::error::CoreError::Internal(format!(
                "the SLA policy's time zone '{}' is not known",
                policy.timezone
            ))
        })
    }

    pub async fn sla_policy(&self) -> CoreResult<SlaPolicy> {
        let json: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = ?")
            .bind(POLICY_KEY)
            .fetch_optional(&self.pool)
            .await?;
        Ok(json
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_else(default_policy))
    }
}

/// The SLA engine as the write transaction sees the policy, so a ticket written while the
/// policy changes gets deadlines from the policy in force when it commits.
pub(crate) async fn engine_in(w: &mut crate::store::WriteTx<'_>) -> CoreResult<SlaEngine> {
    let json: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = ?")
        .bind(POLICY_KEY)
        .fetch_optional(&mut *w.tx)
        .await?;
    let policy = json
        .and_then(|j| serde_json::from_str(&j).ok())
        .unwrap_or_else(default_policy);
    // A stored policy was valid when stored; fall back to the default rather than fail writes.
    SlaEngine::new(policy).or_else(|_| SlaEngine::new(default_policy()))
}

impl Core {
    /// Replaces the SLA policy and recomputes the deadlines of every unfinished ticket.
    pub async fn set_sla_policy(&self, actor: &Actor, policy: SlaPolicy) -> CoreResult<SlaPolicy> {
        actor.require_admin()?;
        let engine = SlaEngine::new(policy.clone())?;
        let before = self.sla_policy().await?;
        let mut w = self.write(actor).await?;
        let json = serde_json::to_string(&policy).map_err(|e| invalid(e.to_string()))?;
        sqlx::query("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
            .bind(POLICY_KEY)
            .bind(&json)
            .execute(&mut *w.tx)
            .await?;
        crate::desk::tickets::recompute_open_deadlines(&mut w, &engine).await?;
        let id = uuid::Uuid::nil();
        w.updated(
            "sla_policy.update",
            "settings",
            id,
            serde_json::json!({ POLICY_KEY: before }),
            serde_json::json!({ POLICY_KEY: policy }),
        )
        .await?;
        w.commit().await?;
        Ok(policy)
    }
}

/// The SLA policy syncs as one record of its own (not a table row); only admins' consoles
/// change it on the server. A policy that arrives recomputes every open ticket's deadlines.
pub(crate) const SETTINGS_RECORD: SyncedRecord = SyncedRecord {
    admin_only: true,
    checked: false,
    stamps: &[],
    apply_own: Some(apply_remote_policy),
    snapshot_own: Some(policy_snapshot),
    ..SyncedRecord::table("settings", "", &[])
};

fn apply_remote_policy<'a>(
    w: &'a mut WriteTx<'_>,
    c: &'a outpost_proto::ChangeRecord,
    derive: &'a mut Derive,
) -> HookFuture<'a> {
    Box::pin(async move {
        let Some(policy) = c.fields.get(POLICY_KEY) else {
            return Ok(());
        };
        let id = uuid::Uuid::nil().to_string();
        let mut clocks = crate::store::versions::load_clocks(&mut w.tx, "settings", &id).await?;
        let version = crate::store::versions::clock_key(&c.hlc, c.change_id);
        if clocks
            .get(POLICY_KEY)
            .and_then(serde_json::Value::as_str)
            .is_some_and(|k| version.as_str() <= k)
        {
            return Ok(());
        }
        let parsed: SlaPolicy = serde_json::from_value(policy.clone()).map_err(|e| {
            invalid(format!(
                "change {} has an unreadable SLA policy: {e}",
                c.change_id
            ))
        })?;
        let fresh = SlaEngine::new(parsed)?;
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES (?, ?) \
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        )
        .bind(POLICY_KEY)
        .bind(policy.to_string())
        .execute(&mut *w.tx)
        .await?;
        clocks.insert(POLICY_KEY.into(), serde_json::json!(version));
        crate::store::versions::store_clocks(&mut w.tx, "settings", &id, &clocks).await?;
        crate::desk::tickets::recompute_open_deadlines(w, &fresh).await?;
        *derive = Derive::new(fresh);
        Ok(())
    })
}

fn policy_snapshot(pool: &sqlx::SqlitePool) -> HookFuture<'_, Vec<outpost_proto::SnapshotRecord>> {
    Box::pin(async move {
        let value: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = ?")
            .bind(POLICY_KEY)
            .fetch_optional(pool)
            .await?;
        let Some(value) = value else {
            return Ok(Vec::new());
        };
        let versions: Option<String> = sqlx::query_scalar(
            "SELECT clocks FROM record_clocks WHERE entity = 'settings' AND entity_id = ?",
        )
        .bind(uuid::Uuid::nil().to_string())
        .fetch_optional(pool)
        .await?;
        Ok(vec![outpost_proto::SnapshotRecord {
            id: uuid::Uuid::nil(),
            fields: serde_json::json!({
                POLICY_KEY: serde_json::from_str::<serde_json::Value>(&value)
                    .unwrap_or(serde_json::Value::Null)
            }),
            versions: serde_json::Value::Object(
                versions
                    .map(|v| crate::store::versions::decode_clocks(&v))
                    .unwrap_or_default(),
            ),
            created: None,
        }])
    })
}
