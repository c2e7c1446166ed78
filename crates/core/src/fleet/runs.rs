//! Runs as the gateway sees them: which signed runs wait for a connected agent, and what
//! agents report about them (started, output, finished, refused). Agent reports are hostile
//! input like the rest: a report about a run that is not the agent's is ignored, output is
//! capped, text is stored as data. Making runs (checking them against the library) is
//! `scripts`, above this layer.

use crate::clock::{from_ms, to_ms};
use crate::error::{invalid, CoreError, CoreResult};
use crate::fleet::agents::agent_line;
use crate::fleet::telemetry::Arrival;
use crate::store::record::{ClientOf, Link, Merge, SyncedRecord};
use crate::store::{parse_uuid, Core, Op, WriteTx};
use chrono::{DateTime, Utc};
use outpost_proto::{
    OutputStream, Run, RunEvent, RunEventKind, RunOrder, RunOutcome, RunParameter, RunState,
    SignedRunRequest, RUN_OUTPUT_CAP_BYTES, RUN_OUTPUT_CHUNK_BYTES,
};
use serde_json::json;
use sqlx::Row;
use uuid::Uuid;

/// The columns of a run that reach consoles (what it ran, who signed it, how it ended).
const RUN_COLUMNS: &[&str] = &[
    "state",
    "script_id",
    "script_version",
    "asset_id",
    "agent_id",
    "client_id",
    "signer_user_id",
    "signer_name",
    "signer_key",
    "signed",
    "parameters",
    "not_before",
    "not_after",
    "created_at",
    "created_by",
    "started_at",
    "ended_at",
    "outcome",
    "exit_code",
    "stdout",
    "stderr",
    "stdout_truncated",
    "stderr_truncated",
    "refusal_code",
    "refusal",
    "cancel_requested_at",
    "ticket_id",
    "automation_id",
    "triggered_at",
];

/// Runs reach consoles as records only the server writes: a console that was offline sees
/// the results of what it signed at its next sync. A run is published when it is made (or
/// its automation starts it), approved, cancelled and when it ends, never per piece of
/// output.
pub(crate) const RUN_RECORD: SyncedRecord = SyncedRecord {
    since: 5,
    client: ClientOf::Column("client_id"),
    links: &[
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
    server_only: true,
    // Its state moves on the server between a console's pulls.
    checked: false,
    only: Some("runs.automation_id IS NULL OR runs.triggered_at IS NOT NULL"),
    merge: &[
        ("script_id", Merge::SetOnce),
        ("script_version", Merge::SetOnce),
        ("asset_id", Merge::SetOnce),
        ("agent_id", Merge::SetOnce),
        ("client_id", Merge::SetOnce),
        ("signer_user_id", Merge::SetOnce),
        ("signer_name", Merge::SetOnce),
        ("signer_key", Merge::SetOnce),
        ("parameters", Merge::SetOnce),
        ("not_before", Merge::SetOnce),
        ("not_after", Merge::SetOnce),
        ("created_at", Merge::SetOnce),
        ("created_by", Merge::SetOnce),
        ("automation_id", Merge::SetOnce),
        // The rest is edited by the server alone: its newest write wins.
    ],
    ..SyncedRecord::table("run", "runs", RUN_COLUMNS)
};

/// Records the run as it stands now in the change log (the whole row; a console takes the
/// server's newest write of each field).
pub(crate) async fn publish_run(w: &mut WriteTx<'_>, id: Uuid, op: Op) -> CoreResult<()> {
    let pairs: Vec<String> = RUN_COLUMNS.iter().map(|c| format!("'{c}', {c}")).collect();
    let row: Option<String> = sqlx::query_scalar(&format!(
        "SELECT json_object({}) FROM runs WHERE id = ?",
        pairs.join(", ")
    ))
    .bind(id.to_string())
    .fetch_optional(&mut *w.tx)
    .await?;
    let Some(row) = row else { return Ok(()) };
    let fields: serde_json::Value = serde_json::from_str(&row)
        .map_err(|e| CoreError::Internal(format!("a run as JSON: {e}")))?;
    w.record_change("run", id, op, fields).await
}

/// Checks a run report before it is queued for storing (times, sizes, words).
pub(crate) fn check_run_event(e: &RunEvent, now: DateTime<Utc>) -> CoreResult<()> {
    if e.at > now + chrono::Duration::minutes(5) {
        return Err(invalid(
            "the run report is from the future; check the endpoint's clock",
        ));
    }
    match &e.event {
        RunEventKind::Started { .. } => {}
        // Lossy UTF-8 can turn one byte into three.
        RunEventKind::Output { data, .. } => {
            if data.len() > RUN_OUTPUT_CHUNK_BYTES * 3 {
                return Err(invalid(format!(
                    "a piece of run output must be at most {RUN_OUTPUT_CHUNK_BYTES} bytes"
                )));
            }
        }
        RunEventKind::Finished {
            started_at,
            ended_at,
            ..
        } => {
            if ended_at < started_at {
                return Err(invalid("a run cannot end before it started"));
            }
        }
        RunEventKind::Refused { code, message } => {
            if code.is_empty()
                || code.len() > 40
                || !code.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            {
                return Err(invalid("a refusal code is 1 to 40 lowercase letters and _"));
            }
            agent_line("refusal", message, 500)?;
        }
    }
    Ok(())
}

fn outcome_str(o: RunOutcome) -> &'static str {
    match o {
        RunOutcome::Exited => "exited",
        RunOutcome::TimedOut => "timed_out",
        RunOutcome::Cancelled => "cancelled",
        RunOutcome::Failed => "failed",
    }
}

fn parse_outcome(s: &str) -> Option<RunOutcome> {
    Some(match s {
        "exited" => RunOutcome::Exited,
        "timed_out" => RunOutcome::TimedOut,
        "cancelled" => RunOutcome::Cancelled,
        "failed" => RunOutcome::Failed,
        _ => return None,
    })
}

/// Stores one fresh report inside the ingest transaction; true when it ended the run.
pub(crate) async fn store_run_event(
    w: &mut WriteTx<'_>,
    a: &Arrival,
    e: &RunEvent,
) -> CoreResult<bool> {
    let run = e.run_id.to_string();
    let agent = a.agent_id.to_string();
    let at = to_ms(e.at);
    let mut ended = false;
    match &e.event {
        RunEventKind::Started { .. } => {
            sqlx::query(
                "UPDATE runs SET state = 'running', started_at = coalesce(started_at, ?1) \
                 WHERE id = ?2 AND agent_id = ?3 AND state IN ('waiting', 'cancelled') \
                 AND ended_at IS NULL",
            )
            .bind(at)
            .bind(&run)
            .bind(&agent)
            .execute(&mut *w.tx)
            .await?;
            // Not published: consoles learn of a run when it is made and when it ends (a
            // bulk run's starts would double the change log for little).
        }
        RunEventKind::Output { stream, data } => {
            let (col, flag) = match stream {
                OutputStream::Stdout => ("stdout", "stdout_truncated"),
                OutputStream::Stderr => ("stderr", "stderr_truncated"),
            };
            // A piece that would pass the cap is not kept, and the stream is marked cut.
            sqlx::query(&format!(
                "UPDATE runs SET \
                 {flag} = CASE WHEN length(CAST({col} AS BLOB)) + length(CAST(?1 AS BLOB)) > ?2 \
                          THEN 1 ELSE {flag} END, \
                 {col} = CASE WHEN length(CAST({col} AS BLOB)) + length(CAST(?1 AS BLOB)) > ?2 \
                          THEN {col} ELSE {col} || ?1 END \
                 WHERE id = ?3 AND agent_id = ?4 AND ended_at IS NULL"
            ))
            .bind(data)
            .bind(RUN_OUTPUT_CAP_BYTES as i64)
            .bind(&run)
            .bind(&agent)
            .execute(&mut *w.tx)
            .await?;
        }
        RunEventKind::Finished {
            outcome,
            exit_code,
            started_at,
            ended_at,
            stdout_truncated,
            stderr_truncated,
        } => {
            let state = if *outcome == RunOutcome::Cancelled {
                "cancelled"
            } else {
                "finished"
            };
            let done = sqlx::query(
                "UPDATE runs SET state = ?1, outcome = ?2, exit_code = ?3, \
                 started_at = coalesce(started_at, ?4), ended_at = ?5, \
                 stdout_truncated = max(stdout_truncated, ?6), \
                 stderr_truncated = max(stderr_truncated, ?7) \
                 WHERE id = ?8 AND agent_id = ?9 AND ended_at IS NULL",
            )
            .bind(state)
            .bind(outcome_str(*outcome))
            .bind(exit_code)
            .bind(to_ms(*started_at))
            .bind(to_ms(*ended_at))
            .bind(*stdout_truncated as i64)
            .bind(*stderr_truncated as i64)
            .bind(&run)
            .bind(&agent)
            .execute(&mut *w.tx)
            .await?
            .rows_affected();
            ended = done > 0;
            if done > 0 {
                w.audit(
                    "run.finish",
                    "run",
                    e.run_id,
                    None,
                    Some(
                        json!({"outcome": outcome_str(*outcome), "exit_code": exit_code,
                                "agent_id": agent}),
                    ),
                )
                .await?;
                publish_run(w, e.run_id, Op::Update).await?;
            }
        }
        RunEventKind::Refused { code, message } => {
            let done = sqlx::query(
                "UPDATE runs SET state = 'refused', refusal_code = ?1, refusal = ?2, \
                 ended_at = ?3 WHERE id = ?4 AND agent_id = ?5 AND ended_at IS NULL",
            )
            .bind(code)
            .bind(message.trim())
            .bind(at)
            .bind(&run)
            .bind(&agent)
            .execute(&mut *w.tx)
            .await?
            .rows_affected();
            ended = done > 0;
            if done > 0 {
                w.audit(
                    "run.refused",
                    "run",
                    e.run_id,
                    None,
                    Some(json!({"code": code, "reason": message.trim(), "agent_id": agent})),
                )
                .await?;
                publish_run(w, e.run_id, Op::Update).await?;
            }
        }
    }
    Ok(ended)
}

pub(crate) const RUN_SELECT: &str = "SELECT r.*, coalesce(a.name, '') AS asset_name, \
     (SELECT t.number FROM tickets t WHERE t.id = r.ticket_id) AS ticket_number, \
     coalesce((SELECT v.name FROM script_versions v WHERE v.script_id = r.script_id \
               AND v.version = r.script_version LIMIT 1), '') AS script_name \
     FROM runs r LEFT JOIN assets a ON a.id = r.asset_id";

pub(crate) fn run_from_row(r: &sqlx::sqlite::SqliteRow) -> CoreResult<Run> {
    let state: String = r.get("state");
    let params: String = r.get("parameters");
    let key: String = r.get("signer_key");
    let signed: SignedRunRequest = serde_json::from_str(r.get("signed"))
        .map_err(|e| CoreError::Internal(format!("a stored signed run: {e}")))?;
    let key_bytes: [u8; 32] = hex::decode(&key)
        .ok()
        .and_then(|b| b.try_into().ok())
        .unwrap_or([0; 32]);
    Ok(Run {
        id: parse_uuid(r.get("id"))?,
        state: RunState::parse(&state)
            .ok_or_else(|| CoreError::Internal(format!("stored run state {state:?}")))?,
        script_id: parse_uuid(r.get("script_id"))?,
        script_version: r.get("script_version"),
        script_name: r.get("script_name"),
        asset_id: parse_uuid(r.get("asset_id"))?,
        asset_name: r.get("asset_name"),
        agent_id: parse_uuid(r.get("agent_id"))?,
        client_id: parse_uuid(r.get("client_id"))?,
        signer: r.get("signer_name"),
        signer_fingerprint: outpost_trust::fingerprint(&key_bytes),
        signed_at: from_ms(r.get("created_at")),
        not_after: from_ms(r.get("not_after")),
        started_at: r.get::<Option<i64>, _>("started_at").map(from_ms),
        ended_at: r.get::<Option<i64>, _>("ended_at").map(from_ms),
        outcome: r
            .get::<Option<String>, _>("outcome")
            .and_then(|o| parse_outcome(&o)),
        exit_code: r.get::<Option<i64>, _>("exit_code").map(|c| c as i32),
        stdout: r.get("stdout"),
        stderr: r.get("stderr"),
        stdout_truncated: r.get::<i64, _>("stdout_truncated") != 0,
        stderr_truncated: r.get::<i64, _>("stderr_truncated") != 0,
        refusal_code: r.get("refusal_code"),
        refusal: r.get("refusal"),
        parameters: serde_json::from_str::<Vec<RunParameter>>(&params)
            .map_err(|e| CoreError::Internal(format!("stored run parameters: {e}")))?,
        approvals_required: signed_claims(&signed).map_or(0, |r| r.approvals_required as i64),
        approved_by: signed
            .approvals
            .iter()
            .filter_map(|a| {
                serde_json::from_value::<outpost_trust::Certificate>(json!(a.certificate)).ok()
            })
            .filter_map(|c| c.claims().ok().map(|b| b.name))
            .collect(),
        request: signed.request.clone(),
        ticket_id: r
            .get::<Option<String>, _>("ticket_id")
            .map(|t| parse_uuid(&t))
            .transpose()?,
        ticket_number: r.get("ticket_number"),
        automation_id: r
            .get::<Option<String>, _>("automation_id")
            .map(|t| parse_uuid(&t))
            .transpose()?,
        triggered_at: r.get::<Option<i64>, _>("triggered_at").map(from_ms),
        not_before: from_ms(r.get("not_before")),
    })
}

/// The fields of a stored request, unchecked (they were checked when it was stored).
pub(crate) fn signed_claims(s: &SignedRunRequest) -> Option<outpost_trust::RunRequest> {
    serde_json::from_value::<outpost_trust::SignedRun>(json!(s))
        .ok()?
        .claims()
        .ok()
}

impl Core {
    /// The runs waiting for `agent` (sent again on every connection: a delivery may have
    /// been lost; the agent knows the ones it took). Marks them sent.
    pub async fn runs_for_agent(&self, agent: Uuid) -> CoreResult<Vec<RunOrder>> {
        Ok(self
            .orders("r.agent_id = ?1", Some(agent))
            .await?
            .into_iter()
            .map(|(_, o)| o)
            .collect())
    }

    /// Waiting runs never sent (new ones), with their agents, which may be connected.
    pub async fn unsent_runs(&self) -> CoreResult<Vec<(Uuid, RunOrder)>> {
        self.orders("r.sent_at IS NULL", None).await
    }

    async fn orders(
        &self,
        condition: &str,
        agent: Option<Uuid>,
    ) -> CoreResult<Vec<(Uuid, RunOrder)>> {
        let now = to_ms(self.now());
        let rows = sqlx::query(&format!(
            "SELECT r.id, r.agent_id, r.signed, v.body FROM runs r JOIN script_versions v \
             ON v.id = (SELECT x.id FROM script_versions x WHERE x.script_id = r.script_id \
             AND x.version = r.script_version ORDER BY x.created_at DESC LIMIT 1) \
             WHERE {condition} AND r.state = 'waiting' AND r.not_after > ?2 \
             ORDER BY r.created_at LIMIT 5000"
        ))
        .bind(agent.map(|a| a.to_string()).unwrap_or_default())
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let signed: SignedRunRequest = serde_json::from_str(r.get("signed"))
                .map_err(|e| CoreError::Internal(format!("a stored signed run: {e}")))?;
            out.push((
                parse_uuid(r.get("agent_id"))?,
                RunOrder {
                    run_id: parse_uuid(r.get("id"))?,
                    signed,
                    script_body: r.get("body"),
                },
            ));
        }
        Ok(out)
    }

    /// The gateway handed these runs to their agents.
    pub async fn mark_runs_sent(&self, runs: &[Uuid]) -> CoreResult<()> {
        if runs.is_empty() {
            return Ok(());
        }
        let now = to_ms(self.now());
        let _lock = self.write_lock_only().await;
        let mut tx = self.pool.begin().await?;
        for id in runs {
            sqlx::query("UPDATE runs SET sent_at = coalesce(sent_at, ?) WHERE id = ?")
                .bind(now)
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Runs whose window closed before their agent took them.
    pub async fn expire_runs(&self) -> CoreResult<u64> {
        let actor = crate::store::Actor::system();
        let mut w = self.write(&actor).await?;
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT id, state FROM runs WHERE state IN \
             ('waiting', 'awaiting_approval', 'scheduled', 'standby') AND not_after <= ?",
        )
        .bind(w.now_ms())
        .fetch_all(&mut *w.tx)
        .await?;
        for (id, state) in &rows {
            sqlx::query("UPDATE runs SET state = 'expired', ended_at = ? WHERE id = ?")
                .bind(w.now_ms())
                .bind(id)
                .execute(&mut *w.tx)
                .await?;
            // Runs signed ahead and never started were never published: they stay here.
            if state != "scheduled" && state != "standby" {
                w.audit("run.expire", "run", parse_uuid(id)?, None, None)
                    .await?;
                publish_run(&mut w, parse_uuid(id)?, Op::Update).await?;
            }
        }
        w.commit().await?;
        Ok(rows.len() as u64)
    }

    /// The agent a run was signed for (for the gateway's cancel).
    pub async fn run_agent(&self, run: Uuid) -> CoreResult<Option<Uuid>> {
        let agent: Option<String> = sqlx::query_scalar("SELECT agent_id FROM runs WHERE id = ?")
            .bind(run.to_string())
            .fetch_optional(&self.pool)
            .await?;
        agent.map(|a| parse_uuid(&a)).transpose()
    }
}
