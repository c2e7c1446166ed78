//! Making runs from signed requests. The server checks everything it can before anything
//! is sent (an unknown interpreter, a missing or mistyped parameter, a script for another
//! OS, a target outside the signer's clients are refused here with a clear message), but
//! it is the agent's checks that count: these are for the technician's sake.

use crate::error::{invalid, CoreError, CoreResult};
use crate::fleet::runs::{publish_run, run_from_row, RUN_SELECT};
use crate::store::{parse_uuid, Actor, Core, Op, WriteTx};
use outpost_proto::{
    ApproveRun, AutomationTrigger, NewRuns, ParameterKind, Run, RunList, RunParameter, RunQuery,
    RunState, ScriptOs, SignedRunRequest, TwoPersonRule,
};
use outpost_trust::{AgentView, ParameterValue, RevocationBody, SignedRun};
use serde_json::json;
use sqlx::Row;
use std::collections::HashSet;
use uuid::Uuid;

/// Runs in one request: a bulk run is one signed request per endpoint.
pub const MAX_RUNS_PER_REQUEST: usize = 5_000;
/// The two-person rule: whether a run over this many endpoints and clients must wait for
/// another technician's approval.
pub fn needs_second_technician(rule: &TwoPersonRule, endpoints: usize, clients: usize) -> bool {
    endpoints as i64 > rule.endpoints || clients as i64 > rule.clients
}

/// What the rule asks, in words (for the message that refuses an unapproved wide run).
pub(crate) fn wide_words(rule: &TwoPersonRule) -> String {
    format!(
        "more than {} endpoint{} or more than {} client{}",
        rule.endpoints,
        if rule.endpoints == 1 { "" } else { "s" },
        rule.clients,
        if rule.clients == 1 { "" } else { "s" }
    )
}

/// The signed request as the trust crate reads it.
pub fn signed_run_from_wire(s: &SignedRunRequest) -> CoreResult<SignedRun> {
    let v = serde_json::to_value(s).map_err(|e| invalid(e.to_string()))?;
    serde_json::from_value(v).map_err(|e| invalid(format!("the signed run request: {e}")))
}

fn os_matches(script: ScriptOs, endpoint_os: &str) -> bool {
    let os = endpoint_os.to_lowercase();
    match script {
        ScriptOs::Any => true,
        ScriptOs::Windows => os.contains("windows"),
        ScriptOs::Macos => os.contains("mac") || os.contains("darwin"),
        // An endpoint not saying Windows or macOS is taken for a Unix the script may fit.
        ScriptOs::Linux => !(os.contains("windows") || os.contains("mac") || os.contains("darwin")),
    }
}

pub(crate) struct ApprovalJudge {
    root: outpost_trust::ed25519_dalek::VerifyingKey,
    revocations: RevocationBody,
    now: i64,
}

/// Where an approved run goes: to its agent, or (signed ahead by an automation) to wait
/// for its time or its alert.
pub(crate) fn state_when_approved(trigger: Option<AutomationTrigger>) -> &'static str {
    match trigger {
        None => "waiting",
        Some(AutomationTrigger::Schedule) => "scheduled",
        Some(AutomationTrigger::Alert) => "standby",
    }
}

/// Keeps an approval that was judged; a complete run goes to `when_complete`
/// ([`state_when_approved`]).
pub(crate) async fn store_approval(
    w: &mut WriteTx<'_>,
    run: &Run,
    signed: &str,
    complete: bool,
    approver: &str,
    when_complete: &str,
) -> CoreResult<()> {
    let next = if complete {
        when_complete
    } else {
        "awaiting_approval"
    };
    sqlx::query(
        "UPDATE runs SET signed = ?, state = ? WHERE id = ? AND state = 'awaiting_approval'",
    )
    .bind(signed)
    .bind(next)
    .bind(run.id.to_string())
    .execute(&mut *w.tx)
    .await?;
    w.audit(
        "run.approve",
        "run",
        run.id,
        None,
        Some(json!({"approver": approver, "complete": complete})),
    )
    .await?;
    if run.automation_id.is_none() {
        publish_run(w, run.id, Op::Update).await?;
    }
    Ok(())
}

/// A signed run the server checked, ready to keep.
pub(crate) struct CheckedRun<'a> {
    pub wire: &'a SignedRunRequest,
    pub verified: outpost_trust::Verified,
    pub asset: Uuid,
    pub client: Uuid,
    /// Its parameters as consoles show them (sealed ones without a value).
    pub shown: Vec<RunParameter>,
    /// Everything verified but the approvals it asks for.
    pub awaiting: bool,
}

/// Keeps a checked run in `state`. A run signed ahead (scheduled, standby) reaches consoles
/// only once it is started; others at once.
pub(crate) async fn insert_run(
    w: &mut WriteTx<'_>,
    actor: &Actor,
    c: &CheckedRun<'_>,
    state: &str,
    ticket_id: Option<Uuid>,
    automation_id: Option<Uuid>,
) -> CoreResult<()> {
    let req = &c.verified.request;
    let signed_json = serde_json::to_string(c.wire).map_err(|e| invalid(e.to_string()))?;
    let existing: Option<String> = sqlx::query_scalar("SELECT signed FROM runs WHERE id = ?")
        .bind(req.run_id.to_string())
        .fetch_optional(&mut *w.tx)
        .await?;
    match existing {
        Some(s) if s == signed_json => return Ok(()),
        Some(_) => {
            return Err(CoreError::Conflict(format!(
                "run {} exists with other contents; sign a new request",
                req.run_id
            )))
        }
        None => {}
    }
    sqlx::query(
        "INSERT INTO runs (id, state, script_id, script_version, asset_id, agent_id, \
         client_id, signer_user_id, signer_name, signer_key, signed, parameters, \
         not_before, not_after, created_at, created_by, ticket_id, automation_id) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(req.run_id.to_string())
    .bind(state)
    .bind(req.script_id.to_string())
    .bind(req.script_version as i64)
    .bind(c.asset.to_string())
    .bind(req.target_agent.to_string())
    .bind(c.client.to_string())
    .bind(c.verified.signer.user_id.to_string())
    .bind(&c.verified.signer.name)
    .bind(hex::encode(c.verified.signer.public_key))
    .bind(&signed_json)
    .bind(json!(c.shown).to_string())
    .bind(req.not_before * 1000)
    .bind(req.not_after * 1000)
    .bind(w.now_ms())
    .bind(&actor.name)
    .bind(ticket_id.map(|t| t.to_string()))
    .bind(automation_id.map(|t| t.to_string()))
    .execute(&mut *w.tx)
    .await?;
    if automation_id.is_none() {
        w.audit(
            "run.sign",
            "run",
            req.run_id,
            None,
            Some(json!({"script_id": req.script_id.to_string(),
                        "version": req.script_version,
                        "asset_id": c.asset.to_string(),
                        "signer": c.verified.signer.name,
                        "parameters": c.shown})),
        )
        .await?;
    }
    if state != "scheduled" && state != "standby" {
        publish_run(w, req.run_id, Op::Insert).await?;
    }
    Ok(())
}

impl Core {
    /// Stores signed runs (all or none) and tells the gateway. A request already stored
    /// with the same bytes is taken again without a second run (a console retrying).
    pub async fn create_runs(&self, actor: &Actor, input: NewRuns) -> CoreResult<Vec<Run>> {
        actor.require_write()?;
        if input.runs.is_empty() {
            return Err(invalid(
                "runs is empty: send one signed request per endpoint",
            ));
        }
        if input.runs.len() > MAX_RUNS_PER_REQUEST {
            return Err(invalid(format!(
                "at most {MAX_RUNS_PER_REQUEST} runs per request; send the rest in another"
            )));
        }
        let checked = self
            .check_signed_runs(actor, &input.runs, input.ticket_id, false)
            .await?;
        let clients: HashSet<Uuid> = checked.iter().map(|c| c.client).collect();
        let rule = self.two_person_rule().await?;
        if needs_second_technician(&rule, checked.len(), clients.len())
            && checked
                .iter()
                .any(|c| c.verified.request.approvals_required == 0)
        {
            return Err(invalid(format!(
                "a run on {} needs a second technician's approval: sign it with an approval \
                 required",
                wide_words(&rule)
            )));
        }

        let mut w = self.write(actor).await?;
        let mut ids = Vec::with_capacity(checked.len());
        for c in &checked {
            let state = if c.awaiting {
                "awaiting_approval"
            } else {
                "waiting"
            };
            insert_run(&mut w, actor, c, state, input.ticket_id, None).await?;
            ids.push(c.verified.request.run_id);
        }
        w.commit().await?;
        self.announce("runs.new", Uuid::nil());
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(self.get_run(actor, id).await?);
        }
        Ok(out)
    }

    /// Every check the server can make of signed runs before it keeps them. `ahead`: runs
    /// an automation signed for later, judged as at their not-before (and their signer's
    /// certificate must last their whole window).
    pub(crate) async fn check_signed_runs<'a>(
        &self,
        actor: &Actor,
        runs: &'a [SignedRunRequest],
        ticket_id: Option<Uuid>,
        ahead: bool,
    ) -> CoreResult<Vec<CheckedRun<'a>>> {
        let ticket_client = match ticket_id {
            Some(t) => {
                let c: Option<String> =
                    sqlx::query_scalar("SELECT client_id FROM tickets WHERE id = ?")
                        .bind(t.to_string())
                        .fetch_optional(&self.pool)
                        .await?;
                let c = c
                    .map(|c| parse_uuid(&c))
                    .transpose()?
                    .filter(|c| actor.may_see(*c))
                    .ok_or_else(|| CoreError::NotFound(format!("ticket {t} does not exist")))?;
                Some(c)
            }
            None => None,
        };
        let root = self.root_verifying_key().await?.ok_or_else(|| {
            CoreError::Conflict(
                "the organisation has no root key yet, so no run can be signed; an admin makes \
                 one in the desktop app (Settings → Script signing)"
                    .into(),
            )
        })?;
        let revocations = self.current_revocation_body(&root).await?;
        let now = self.now();
        let mut checked = Vec::with_capacity(runs.len());
        for (i, wire) in runs.iter().enumerate() {
            let at = |m: String| invalid(format!("run {}: {m}", i + 1));
            let signed = signed_run_from_wire(wire).map_err(|e| at(e.to_string()))?;
            let claims = signed.claims().map_err(|e| at(e.to_string()))?;
            let agent = sqlx::query(
                "SELECT g.id, g.asset_id, g.revoked_at, a.client_id, a.os, a.name \
                 FROM agents g JOIN assets a ON a.id = g.asset_id WHERE g.id = ?",
            )
            .bind(claims.target_agent.to_string())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| {
                at(format!(
                    "agent {} is not enrolled here",
                    claims.target_agent
                ))
            })?;
            if agent.get::<Option<i64>, _>("revoked_at").is_some() {
                return Err(at(format!(
                    "agent {} was revoked or replaced; sign for the endpoint's current agent",
                    claims.target_agent
                )));
            }
            let client = parse_uuid(agent.get("client_id"))?;
            actor
                .require_client(client)
                .map_err(|e| at(e.to_string()))?;
            let judged_at = if ahead {
                now.timestamp().max(claims.not_before)
            } else {
                now.timestamp()
            };
            let view = AgentView {
                root: &root,
                agent_id: claims.target_agent,
                client_id: Some(client),
                revocations: &revocations,
                now: judged_at,
            };
            // Approvals come last in the checks: a request that only lacks them is kept
            // until another technician approves it.
            let (verified, awaiting) = match outpost_trust::verify_run(&signed, &view) {
                Ok(v) => (v, false),
                Err(outpost_trust::Refusal::NotApproved { .. }) => {
                    // Everything else verified; read the signer from the certificate.
                    let signer = signed
                        .certificate
                        .verify(&root, judged_at)
                        .map_err(|e| at(e.to_string()))?;
                    (
                        outpost_trust::Verified {
                            request: signed.claims().map_err(|e| at(e.to_string()))?,
                            signer,
                        },
                        true,
                    )
                }
                Err(e) => return Err(at(format!("{e} ({})", e.code()))),
            };
            if actor.user_id != Some(verified.signer.user_id) {
                return Err(at(
                    "a run is sent by the technician who signed it (this one was signed by \
                     someone else)"
                        .into(),
                ));
            }
            let revoked: Option<i64> = sqlx::query_scalar(
                "SELECT 1 FROM technician_certificates WHERE public_key = ? AND revoked_at IS NOT NULL",
            )
            .bind(hex::encode(verified.signer.public_key))
            .fetch_optional(&self.pool)
            .await?;
            if revoked.is_some() {
                return Err(at("the signing key was revoked".into()));
            }
            let req = &verified.request;
            if ahead && verified.signer.not_after < req.not_after {
                return Err(at(format!(
                    "the signer's certificate ends at {}, before this run's window does: sign \
                     until then, or have the certificate renewed",
                    crate::clock::from_ms(verified.signer.not_after * 1000).to_rfc3339()
                )));
            }
            let version = self
                .script_version_with_hash(
                    req.script_id,
                    req.script_version as i64,
                    &hex::encode(req.script_hash),
                )
                .await?
                .ok_or_else(|| {
                    at(format!(
                        "script {} has no version {}",
                        req.script_id, req.script_version
                    ))
                })?;
            if version.body_sha256 != hex::encode(req.script_hash) {
                return Err(at(
                    "the signed script hash is not the hash of that version's body".into(),
                ));
            }
            if version.interpreter.as_str() != req.interpreter {
                return Err(at(format!(
                    "the script runs with {}, the request says {}",
                    version.interpreter.as_str(),
                    req.interpreter
                )));
            }
            let os: String = agent.get("os");
            if !os_matches(version.os, &os) {
                return Err(at(format!(
                    "{:?} is a {} script; {} runs {os}",
                    version.name,
                    version.os.as_str(),
                    agent.get::<String, _>("name")
                )));
            }
            let mut shown = Vec::new();
            let mut given = HashSet::new();
            for p in &req.parameters {
                let spec = version
                    .parameters
                    .iter()
                    .find(|s| s.name == p.name)
                    .ok_or_else(|| {
                        at(format!("{:?} takes no parameter {}", version.name, p.name))
                    })?;
                if !given.insert(p.name.clone()) {
                    return Err(at(format!("parameter {} is given twice", p.name)));
                }
                match (&p.value, spec.kind) {
                    (ParameterValue::Sealed(_), ParameterKind::Secret) => {
                        shown.push(RunParameter {
                            name: p.name.clone(),
                            value: None,
                        })
                    }
                    (ParameterValue::Sealed(_), _) => {
                        return Err(at(format!("{} is not a secret; send it as text", p.name)))
                    }
                    (ParameterValue::Text(_), ParameterKind::Secret) => {
                        return Err(at(format!(
                            "{} is a secret: it must be sealed to the agent, never sent in clear",
                            p.name
                        )))
                    }
                    (ParameterValue::Text(t), _) => {
                        crate::scripts::library::check_parameter_value(spec, t)
                            .map_err(|e| at(e.to_string()))?;
                        shown.push(RunParameter {
                            name: p.name.clone(),
                            value: Some(t.clone()),
                        });
                    }
                }
            }
            if let Some(missing) = version
                .parameters
                .iter()
                .find(|s| s.required && !given.contains(&s.name))
            {
                return Err(at(format!("parameter {} is required", missing.name)));
            }
            if ticket_client.is_some_and(|c| c != client) {
                return Err(at(
                    "the endpoint belongs to another client than the ticket".into()
                ));
            }
            checked.push(CheckedRun {
                wire,
                verified,
                asset: parse_uuid(agent.get("asset_id"))?,
                client,
                shown,
                awaiting,
            });
        }
        Ok(checked)
    }

    pub async fn get_run(&self, actor: &Actor, id: Uuid) -> CoreResult<Run> {
        let r = sqlx::query(&format!("{RUN_SELECT} WHERE r.id = ?"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| CoreError::NotFound(format!("run {id} does not exist")))?;
        let run = run_from_row(&r)?;
        actor
            .require_client(run.client_id)
            .map_err(|_| CoreError::NotFound(format!("run {id} does not exist")))?;
        Ok(run)
    }

    pub async fn list_runs(&self, actor: &Actor, q: RunQuery) -> CoreResult<RunList> {
        let limit = q.limit.unwrap_or(100).clamp(1, 1000);
        // Runs signed ahead and not started are an automation's, not history: shown when
        // asked for by state or automation.
        let filter = format!(
            "{} AND (?1 IS NULL OR r.asset_id = ?1) AND (?2 IS NULL OR r.state = ?2) \
             AND (?3 IS NULL OR r.automation_id = ?3) \
             AND (?2 IS NOT NULL OR ?3 IS NOT NULL OR r.automation_id IS NULL \
                  OR r.triggered_at IS NOT NULL)",
            actor.client_condition("r.client_id")
        );
        let asset = q.asset_id.map(|a| a.to_string());
        let state = q.state.map(|s| s.as_str());
        let automation = q.automation_id.map(|a| a.to_string());
        let total: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM runs r WHERE {filter}"))
            .bind(&asset)
            .bind(state)
            .bind(&automation)
            .fetch_one(&self.pool)
            .await?;
        let order = if q.automation_id.is_some() {
            "r.not_before, r.created_at"
        } else {
            "r.created_at DESC"
        };
        let rows = sqlx::query(&format!(
            "{RUN_SELECT} WHERE {filter} ORDER BY {order} LIMIT ?4"
        ))
        .bind(&asset)
        .bind(state)
        .bind(&automation)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(RunList {
            items: rows.iter().map(run_from_row).collect::<CoreResult<_>>()?,
            total,
        })
    }

    /// A second technician approves a run waiting for it. Nobody approves their own run; the
    /// approval must verify (a current, unrevoked certificate of the approving person, over
    /// the exact request bytes). With enough approvals the run goes to its agent.
    pub async fn approve_run(&self, actor: &Actor, id: Uuid, input: ApproveRun) -> CoreResult<Run> {
        actor.require_write()?;
        let run = self.get_run(actor, id).await?;
        let judge = self.approval_judge().await?;
        let (signed, complete, approver) = self
            .judge_approval(actor, &judge, &run, input.approval)
            .await?;
        let trigger = match run.automation_id {
            Some(a) => Some(self.get_automation(actor, a).await?.trigger),
            None => None,
        };
        let mut w = self.write(actor).await?;
        let when_complete = state_when_approved(trigger);
        store_approval(&mut w, &run, &signed, complete, &approver, when_complete).await?;
        w.commit().await?;
        if complete {
            self.announce("runs.new", Uuid::nil());
        }
        self.get_run(actor, id).await
    }

    /// What judging approvals needs: the root, the revocations, the time.
    pub(crate) async fn approval_judge(&self) -> CoreResult<ApprovalJudge> {
        let root = self
            .root_verifying_key()
            .await?
            .ok_or_else(|| CoreError::Conflict("the organisation has no root key".into()))?;
        let revocations = self.current_revocation_body(&root).await?;
        Ok(ApprovalJudge {
            root,
            revocations,
            now: self.now().timestamp(),
        })
    }

    /// The run's signed request with `approval` added, whether that completes it, and who
    /// approved; or why the approval does not count.
    pub(crate) async fn judge_approval(
        &self,
        actor: &Actor,
        judge: &ApprovalJudge,
        run: &Run,
        approval: outpost_proto::RunApproval,
    ) -> CoreResult<(String, bool, String)> {
        if run.state != RunState::AwaitingApproval {
            return Err(CoreError::Conflict(format!(
                "the run is {}, not waiting for an approval",
                run.state.as_str()
            )));
        }
        let approval: outpost_trust::Approval = serde_json::from_value(json!(approval))
            .map_err(|e| invalid(format!("the approval: {e}")))?;
        // Runs signed ahead are judged as at their start (as the agent will).
        let now = judge.now.max(run.not_before.timestamp());
        let approver = approval
            .certificate
            .verify(&judge.root, now)
            .map_err(|e| invalid(format!("the approver's certificate: {e}")))?;
        if actor.user_id != Some(approver.user_id) {
            return Err(invalid(
                "an approval is sent by the technician whose key made it",
            ));
        }
        let stored: String = sqlx::query_scalar("SELECT signed FROM runs WHERE id = ?")
            .bind(run.id.to_string())
            .fetch_one(&self.pool)
            .await?;
        let wire: SignedRunRequest = serde_json::from_str(&stored)
            .map_err(|e| CoreError::Internal(format!("a stored signed run: {e}")))?;
        let mut signed = signed_run_from_wire(&wire)?;
        if signed
            .certificate
            .claims()
            .is_ok_and(|c| c.user_id == approver.user_id)
        {
            return Err(invalid(
                "nobody approves their own run: ask another technician",
            ));
        }
        if signed.approvals.iter().any(|a| {
            a.certificate
                .claims()
                .is_ok_and(|c| c.user_id == approver.user_id)
        }) {
            return Err(CoreError::Conflict("you approved this run already".into()));
        }
        signed.approvals.push(approval);
        let view = AgentView {
            root: &judge.root,
            agent_id: run.agent_id,
            client_id: Some(run.client_id),
            revocations: &judge.revocations,
            now,
        };
        // Approvals that count, before and with this one: it must add one.
        let counted = |run: &outpost_trust::SignedRun| match outpost_trust::verify_run(run, &view) {
            Ok(_) => Ok((true, u8::MAX)),
            Err(outpost_trust::Refusal::NotApproved { valid, .. }) => Ok((false, valid)),
            Err(e) => Err(invalid(format!("{e} ({})", e.code()))),
        };
        let mut without = signed.clone();
        without.approvals.pop();
        let (_, before) = counted(&without)?;
        let (complete, after) = counted(&signed)?;
        if !complete && after <= before {
            return Err(invalid(
                "the approval does not verify over this run's request (or its key is revoked)",
            ));
        }
        let new_wire: SignedRunRequest = serde_json::from_value(json!(signed))
            .map_err(|e| CoreError::Internal(e.to_string()))?;
        let text =
            serde_json::to_string(&new_wire).map_err(|e| CoreError::Internal(e.to_string()))?;
        Ok((text, complete, approver.name))
    }

    /// Stops a run: one not yet started never starts; a running one is killed by its agent
    /// with every process it started.
    pub async fn cancel_run(&self, actor: &Actor, id: Uuid) -> CoreResult<Run> {
        actor.require_write()?;
        let run = self.get_run(actor, id).await?;
        let mut w = self.write(actor).await?;
        match run.state {
            RunState::Waiting
            | RunState::AwaitingApproval
            | RunState::Scheduled
            | RunState::Standby => {
                sqlx::query(
                    "UPDATE runs SET state = 'cancelled', cancel_requested_at = ?1, ended_at = ?1 \
                     WHERE id = ?2 AND state IN \
                     ('waiting', 'awaiting_approval', 'scheduled', 'standby')",
                )
                .bind(w.now_ms())
                .bind(id.to_string())
                .execute(&mut *w.tx)
                .await?;
            }
            RunState::Running => {
                sqlx::query("UPDATE runs SET cancel_requested_at = ? WHERE id = ?")
                    .bind(w.now_ms())
                    .bind(id.to_string())
                    .execute(&mut *w.tx)
                    .await?;
            }
            s => {
                return Err(CoreError::Conflict(format!(
                    "the run is {} already; there is nothing to cancel",
                    s.as_str()
                )))
            }
        }
        w.audit("run.cancel", "run", id, None, None).await?;
        // One signed ahead was never published (consoles do not hold it).
        if !matches!(run.state, RunState::Scheduled | RunState::Standby) {
            publish_run(&mut w, id, Op::Update).await?;
        }
        w.commit().await?;
        self.announce("run.cancel", id);
        self.get_run(actor, id).await
    }
}

impl Core {
    /// Notes the result of each ended run on the ticket it was run from (an internal
    /// comment by the technician who signed it), once.
    pub async fn note_runs_on_tickets(&self, runs: &[Uuid]) -> CoreResult<()> {
        for id in runs {
            let row = sqlx::query(&format!(
                "{} WHERE r.id = ? AND r.ticket_id IS NOT NULL AND r.noted = 0",
                crate::fleet::runs::RUN_SELECT
            ))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
            let Some(row) = row else { continue };
            let run = run_from_row(&row)?;
            let (Some(ticket), Ok(author)) = (
                run.ticket_id,
                parse_uuid(row.get::<&str, _>("signer_user_id")),
            ) else {
                continue;
            };
            let tail = |s: &str| {
                let chars: Vec<char> = s.chars().collect();
                let keep = chars.len().min(4000);
                let cut = chars.len() > keep;
                format!(
                    "{}{}",
                    if cut { "…\n" } else { "" },
                    chars[chars.len() - keep..].iter().collect::<String>()
                )
            };
            let result = match (run.state, run.outcome, run.exit_code) {
                (RunState::Refused, _, _) => format!(
                    "refused by the agent: {}",
                    run.refusal.clone().unwrap_or_default()
                ),
                (_, Some(outpost_proto::RunOutcome::TimedOut), _) => "timed out".into(),
                (_, Some(outpost_proto::RunOutcome::Cancelled), _) => "cancelled".into(),
                (_, Some(outpost_proto::RunOutcome::Failed), _) => "could not start".into(),
                (_, _, Some(code)) => format!("exit code {code}"),
                _ => run.state.as_str().into(),
            };
            let mut text = format!(
                "Ran {} v{} on {} (signed by {}): {result}.",
                run.script_name, run.script_version, run.asset_name, run.signer
            );
            if !run.stdout.is_empty() {
                text.push_str(&format!("\n\nOutput:\n{}", tail(&run.stdout)));
            }
            if !run.stderr.is_empty() {
                text.push_str(&format!("\n\nErrors:\n{}", tail(&run.stderr)));
            }
            let actor = Actor {
                user_id: Some(author),
                name: run.signer.clone(),
                role: outpost_proto::Role::Technician,
                clients: None,
            };
            let mut w = self.write(&actor).await?;
            let engine = crate::desk::sla::engine_in(&mut w).await?;
            let now = w.now;
            crate::desk::tickets::insert_comment(&mut w, &engine, ticket, author, &text, true, now)
                .await?;
            sqlx::query("UPDATE runs SET noted = 1 WHERE id = ?")
                .bind(id.to_string())
                .execute(&mut *w.tx)
                .await?;
            w.commit().await?;
        }
        Ok(())
    }
}
