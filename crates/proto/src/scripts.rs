//! Remote scripts: the library, signed run requests as they travel, what the agent reports
//! about a run, and what consoles read. The signed bytes themselves are defined by
//! `crates/agent/PROTOCOL.md` (and implemented by `outpost-trust`); here they are base64
//! strings, so these types stay plain data.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

// ---------------------------------------------------------------- signed things

/// A body and the Ed25519 signature over its domain string and bytes (both base64).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SignedBlob {
    pub body: String,
    pub signature: String,
}

/// A second technician's signature over the same request bytes (two-person rule).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RunApproval {
    pub certificate: SignedBlob,
    pub signature: String,
}

/// A run request as a technician's desktop app signed it, with the signer's certificate.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SignedRunRequest {
    pub request: SignedBlob,
    pub certificate: SignedBlob,
    #[serde(default)]
    pub approvals: Vec<RunApproval>,
}

// ---------------------------------------------------------------- the agent's channel

/// The gateway hands an agent a run: the signed request and the script body it names.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RunOrder {
    pub run_id: Uuid,
    pub signed: SignedRunRequest,
    pub script_body: String,
}

/// Root-signed trust material the gateway passes on (the agent checks every piece itself).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct TrustUpdate {
    /// The organisation's root public key (hex): taken once by an agent that has none.
    #[serde(default)]
    pub root_key: Option<String>,
    /// The newest hand-over from a root to the next (for agents that know only one).
    #[serde(default)]
    pub rotation: Option<SignedBlob>,
    /// Every hand-over, oldest first: an agent follows the chain from the root it pinned.
    #[serde(default)]
    pub rotations: Vec<SignedBlob>,
    /// The newest revocation list.
    #[serde(default)]
    pub revocation: Option<SignedBlob>,
}

/// How an agent stands on trust, said in its hello.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct AgentTrust {
    /// The pinned root's fingerprint, if it has one.
    pub root_fingerprint: Option<String>,
    /// `enrollment` (checked against the fingerprint the admin saw), `first_use`, or `none`.
    pub pinned: String,
    /// The revocation list it holds.
    pub revocation_seq: u64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, TS, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OutputStream {
    Stdout,
    Stderr,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, TS, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// The process exited by itself (see the exit code).
    Exited,
    /// Killed, with every process it started, when the timeout passed.
    TimedOut,
    /// Killed, with every process it started, at a technician's request.
    Cancelled,
    /// It could not be started (the interpreter failed to launch).
    Failed,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum RunEventKind {
    /// Every check passed and the process started.
    Started { pid: u32 },
    /// A piece of output, in order (at most [`RUN_OUTPUT_CHUNK_BYTES`] of the script's bytes).
    Output { stream: OutputStream, data: String },
    Finished {
        outcome: RunOutcome,
        exit_code: Option<i32>,
        started_at: DateTime<Utc>,
        ended_at: DateTime<Utc>,
        stdout_truncated: bool,
        stderr_truncated: bool,
    },
    /// The agent would not run it: a stable `code` and a sentence saying why.
    Refused { code: String, message: String },
}

/// What an agent reports about a run; numbered like every queued message, so a result
/// waits on disk while the server is away and is stored once.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RunEvent {
    pub seq: u64,
    pub run_id: Uuid,
    pub at: DateTime<Utc>,
    pub event: RunEventKind,
}

/// Output kept per stream of a run; past it the stream is marked truncated.
pub const RUN_OUTPUT_CAP_BYTES: usize = 1024 * 1024;
/// The largest piece of output in one message.
pub const RUN_OUTPUT_CHUNK_BYTES: usize = 32 * 1024;

// ---------------------------------------------------------------- trust, for consoles

/// The organisation's root public key as the server knows it (the private half is in an
/// admin's keyring).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct TrustRoot {
    /// Hex.
    pub public_key: String,
    pub fingerprint: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

/// Where the organisation stands on signing: its root (if made) and newest revocation list.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct TrustState {
    pub root: Option<TrustRoot>,
    pub revocation_seq: u64,
    /// When a run or an automation waits for a second technician.
    #[serde(default)]
    pub two_person_rule: TwoPersonRule,
}

/// The two-person rule: a run or an automation over more endpoints, or more clients, than
/// these waits for another technician's approval (`PUT /api/v1/trust/two-person-rule`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, TS, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TwoPersonRule {
    /// 0..=100000 (default 50; 0: every run needs a second technician).
    pub endpoints: i64,
    /// 0..=10000 (default 1: a run over two clients needs a second technician).
    pub clients: i64,
}

impl Default for TwoPersonRule {
    fn default() -> Self {
        TwoPersonRule {
            endpoints: 50,
            clients: 1,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct NewTrustRoot {
    /// The root's Ed25519 public key, hex.
    pub public_key: String,
}

/// A technician certificate the root signed, as the server keeps it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct TechnicianCertificate {
    pub serial: Uuid,
    pub user_id: Uuid,
    pub name: String,
    /// Hex.
    pub public_key: String,
    pub fingerprint: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    /// None: every client.
    pub clients: Option<Vec<Uuid>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Signed by a root that was since rotated away: no longer good for signing.
    #[serde(default)]
    pub superseded_at: Option<DateTime<Utc>>,
    pub certificate: SignedBlob,
}

/// `POST /api/v1/trust/rotations`: the current root hands over to a new one (signed by the
/// current root), with the new root's first revocation list (carrying every key revoked so
/// far).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct NewRootRotation {
    pub rotation: SignedBlob,
    pub revocation: SignedBlob,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct NewCertificate {
    pub certificate: SignedBlob,
}

/// A technician asks for their key to be certified.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct NewCertificateRequest {
    /// The technician's Ed25519 public key (hex), made in their desktop app's keyring.
    pub public_key: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct CertificateRequest {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub public_key: String,
    pub fingerprint: String,
    pub requested_at: DateTime<Utc>,
    /// `pending` or `issued`.
    pub state: String,
    /// The clients the person may see (None: every client): what a certificate should cover.
    pub clients: Option<Vec<Uuid>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct NewRevocationList {
    pub list: SignedBlob,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct RevocationState {
    pub seq: u64,
    pub list: Option<SignedBlob>,
}

// ---------------------------------------------------------------- the library

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, TS, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Interpreter {
    Bash,
    Sh,
    Powershell,
    Cmd,
    Python,
}

impl Interpreter {
    pub const ALL: [Interpreter; 5] = [
        Interpreter::Bash,
        Interpreter::Sh,
        Interpreter::Powershell,
        Interpreter::Cmd,
        Interpreter::Python,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Interpreter::Bash => "bash",
            Interpreter::Sh => "sh",
            Interpreter::Powershell => "powershell",
            Interpreter::Cmd => "cmd",
            Interpreter::Python => "python",
        }
    }
    pub fn parse(s: &str) -> Option<Interpreter> {
        Interpreter::ALL.into_iter().find(|i| i.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, TS, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum ScriptOs {
    Linux,
    Macos,
    Windows,
    Any,
}

impl ScriptOs {
    pub fn as_str(self) -> &'static str {
        match self {
            ScriptOs::Linux => "linux",
            ScriptOs::Macos => "macos",
            ScriptOs::Windows => "windows",
            ScriptOs::Any => "any",
        }
    }
    pub fn parse(s: &str) -> Option<ScriptOs> {
        [
            ScriptOs::Linux,
            ScriptOs::Macos,
            ScriptOs::Windows,
            ScriptOs::Any,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, TS, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ParameterKind {
    String,
    Number,
    Choice,
    /// Sealed to the target agent; never stored or shown in clear.
    Secret,
}

/// A typed parameter; it reaches the script as an environment variable of the same name.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScriptParameter {
    /// `[A-Z][A-Z0-9_]*`, at most 64 characters.
    pub name: String,
    pub kind: ParameterKind,
    #[serde(default)]
    #[ts(optional)]
    pub label: Option<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    #[ts(optional)]
    pub default: Option<String>,
    /// With `choice`: the values allowed.
    #[serde(default)]
    pub choices: Vec<String>,
}

/// A new script, or a new version of one (every edit is a version).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct NewScript {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub interpreter: Interpreter,
    pub os: ScriptOs,
    pub body: String,
    #[serde(default)]
    pub parameters: Vec<ScriptParameter>,
    /// 1..=86400.
    pub timeout_secs: i64,
    #[serde(default)]
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct ScriptVersion {
    pub script_id: Uuid,
    pub version: i64,
    pub name: String,
    pub description: String,
    pub interpreter: Interpreter,
    pub os: ScriptOs,
    pub body: String,
    /// SHA-256 of the body, hex: what a run request signs.
    pub body_sha256: String,
    pub parameters: Vec<ScriptParameter>,
    pub timeout_secs: i64,
    pub tags: Vec<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// A script and its current version.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct Script {
    pub id: Uuid,
    pub current: ScriptVersion,
    pub versions: i64,
    /// Shipped with Outpost (the starter library).
    pub starter: bool,
}

// ---------------------------------------------------------------- runs

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, TS, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// Signed, and waiting for another technician's approval (the two-person rule).
    AwaitingApproval,
    /// Signed ahead by a schedule: waits for its time (its not-before).
    Scheduled,
    /// Signed ahead for an alert automation: starts if the alert fires on the endpoint.
    Standby,
    /// Signed and stored; the agent has not started it (offline, or not yet sent).
    Waiting,
    Running,
    Finished,
    /// The agent refused it (see the refusal).
    Refused,
    /// Its not-after passed before the agent could take it.
    Expired,
    Cancelled,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::AwaitingApproval => "awaiting_approval",
            RunState::Scheduled => "scheduled",
            RunState::Standby => "standby",
            RunState::Waiting => "waiting",
            RunState::Running => "running",
            RunState::Finished => "finished",
            RunState::Refused => "refused",
            RunState::Expired => "expired",
            RunState::Cancelled => "cancelled",
        }
    }
    pub fn parse(s: &str) -> Option<RunState> {
        [
            RunState::AwaitingApproval,
            RunState::Scheduled,
            RunState::Standby,
            RunState::Waiting,
            RunState::Running,
            RunState::Finished,
            RunState::Refused,
            RunState::Expired,
            RunState::Cancelled,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

/// `POST /api/v1/runs`: one signed request per target.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct NewRuns {
    pub runs: Vec<SignedRunRequest>,
    /// Run from this ticket (or its alert): the result is noted on it.
    #[serde(default)]
    #[ts(optional)]
    pub ticket_id: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct Run {
    pub id: Uuid,
    pub state: RunState,
    pub script_id: Uuid,
    pub script_version: i64,
    pub script_name: String,
    pub asset_id: Uuid,
    pub asset_name: String,
    pub agent_id: Uuid,
    pub client_id: Uuid,
    pub signer: String,
    pub signer_fingerprint: String,
    pub signed_at: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub outcome: Option<RunOutcome>,
    pub exit_code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub stdout_truncated: bool,
    pub stderr_truncated: bool,
    /// With `refused`: the agent's reason code and sentence.
    pub refusal_code: Option<String>,
    pub refusal: Option<String>,
    /// Parameters as signed (sealed ones without their value).
    pub parameters: Vec<RunParameter>,
    /// Approvals the signer asked for, and who gave them.
    pub approvals_required: i64,
    pub approved_by: Vec<String>,
    /// The signed request itself: what a second technician's approval signs.
    pub request: SignedBlob,
    /// The ticket it was run from: its result is noted there as an internal comment.
    pub ticket_id: Option<Uuid>,
    pub ticket_number: Option<i64>,
    /// The automation that signed it ahead, and when its time came or its alert fired.
    pub automation_id: Option<Uuid>,
    pub triggered_at: Option<DateTime<Utc>>,
    /// When it may start (its signed not-before).
    pub not_before: DateTime<Utc>,
}

/// `POST /api/v1/runs/{id}/approve`: a second technician's signature over the request.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct ApproveRun {
    pub approval: RunApproval,
}

/// The desktop app approves a run with this technician's key.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct ApproveRunHere {
    pub run_id: Uuid,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct RunParameter {
    pub name: String,
    /// None when sealed to the agent (a secret).
    pub value: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, IntoParams, Default)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RunQuery {
    #[serde(default)]
    #[ts(optional)]
    pub asset_id: Option<Uuid>,
    #[serde(default)]
    #[ts(optional)]
    pub automation_id: Option<Uuid>,
    #[serde(default)]
    #[ts(optional)]
    pub state: Option<RunState>,
    #[serde(default)]
    #[ts(optional)]
    pub limit: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct RunList {
    pub items: Vec<Run>,
    pub total: i64,
}

// ---------------------------------------------------------------- signing (desktop app)

/// Where this console stands on signing runs.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct SigningStatus {
    /// The organisation's root, as its server (or this console, standalone) knows it.
    pub organisation_root: Option<TrustRoot>,
    /// This machine's keyring holds the root's private key (an admin's console).
    pub root_key_here: bool,
    /// The fingerprint of this technician's key in this machine's keyring.
    pub technician_key: Option<String>,
    /// The root-signed certificate for that key, if there is one.
    pub certificate: Option<TechnicianCertificate>,
    /// Runs can be signed on this console now.
    pub can_sign: bool,
    /// What to do next, in words.
    pub next_step: String,
    /// Runs signed while the server could not be reached, waiting to be sent.
    pub runs_waiting_to_send: i64,
}

/// An admin sets up signing: the organisation's root (when it has none) and their own
/// technician key and certificate.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct SetupSigning {
    /// Encrypts the root's recovery file (at least 12 characters).
    pub passphrase: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct SigningSetUp {
    pub status: SigningStatus,
    /// Where the root's recovery file was written (save it somewhere safe, off this machine).
    pub recovery_file: Option<String>,
}

/// An admin's console certifies a pending request with the root in its keyring.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct CertifyRequest {
    pub request_id: Uuid,
    /// 1..=365 (default 90).
    #[serde(default)]
    #[ts(optional)]
    pub days: Option<i64>,
}

/// An admin's console revokes a technician's key with the root in its keyring.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct RevokeCertificate {
    pub serial: Uuid,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RunValue {
    pub name: String,
    pub value: String,
}

/// Sign a library script's current version for each endpoint and send the runs.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct SignRuns {
    pub script_id: Uuid,
    /// The endpoints (asset ids): one signed request each.
    pub assets: Vec<Uuid>,
    #[serde(default)]
    pub parameters: Vec<RunValue>,
    /// How long a run may wait for an offline endpoint, 1..=744 hours (default 24).
    #[serde(default)]
    #[ts(optional)]
    pub valid_hours: Option<i64>,
    /// Run from this ticket: the result is noted on it.
    #[serde(default)]
    #[ts(optional)]
    pub ticket_id: Option<Uuid>,
}

// ---------------------------------------------------------------- automations

/// What starts an automation's runs.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, TS, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AutomationTrigger {
    /// A cron pattern: one run per endpoint at each of its times.
    Schedule,
    /// An alert of a kind firing on one of the endpoints.
    Alert,
}

impl AutomationTrigger {
    pub fn as_str(self) -> &'static str {
        match self {
            AutomationTrigger::Schedule => "schedule",
            AutomationTrigger::Alert => "alert",
        }
    }
    pub fn parse(s: &str) -> Option<AutomationTrigger> {
        match s {
            "schedule" => Some(AutomationTrigger::Schedule),
            "alert" => Some(AutomationTrigger::Alert),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, TS, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AutomationState {
    /// Over the two-person limits: waits for another technician to approve its runs.
    AwaitingApproval,
    Active,
    /// Its validity window has passed: sign it again to go on.
    Expired,
    Cancelled,
}

/// Runs signed ahead, with what may start them: a schedule or an alert. The server holds
/// the signed runs and starts them when their time comes or their alert fires; it cannot
/// make more, nor change what they run.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct Automation {
    pub id: Uuid,
    pub name: String,
    pub trigger: AutomationTrigger,
    pub schedule: Option<String>,
    /// The schedule in words ("At 02:00 on Sunday").
    pub schedule_description: Option<String>,
    pub time_zone: String,
    pub alert_kind: Option<crate::AlertKind>,
    pub runs_per_endpoint: i64,
    pub cooldown_minutes: i64,
    pub script_id: Uuid,
    pub script_version: i64,
    pub script_name: String,
    pub parameters: Vec<RunParameter>,
    pub assets: Vec<Uuid>,
    pub clients: Vec<Uuid>,
    pub valid_from: DateTime<Utc>,
    pub valid_until: DateTime<Utc>,
    pub state: AutomationState,
    pub signer: String,
    pub created_at: DateTime<Utc>,
    /// Signed runs not used yet (scheduled or on standby).
    pub runs_left: i64,
    /// Runs it started, and how many of them failed (exit code not 0, refused, timed out).
    pub runs_started: i64,
    pub runs_failed: i64,
    pub next_run_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

/// `POST /api/v1/automations`: the automation and every run signed for it (one per
/// endpoint and time for a schedule; `runs_per_endpoint` per endpoint for an alert).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct NewAutomation {
    pub id: Uuid,
    pub name: String,
    pub trigger: AutomationTrigger,
    #[serde(default)]
    #[ts(optional)]
    pub schedule: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub time_zone: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub alert_kind: Option<crate::AlertKind>,
    #[serde(default)]
    #[ts(optional)]
    pub runs_per_endpoint: Option<i64>,
    #[serde(default)]
    #[ts(optional)]
    pub cooldown_minutes: Option<i64>,
    pub script_id: Uuid,
    pub script_version: i64,
    pub valid_from: DateTime<Utc>,
    pub valid_until: DateTime<Utc>,
    pub runs: Vec<SignedRunRequest>,
}

/// The desktop app signs an automation with this technician's key and sends it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct SignAutomation {
    pub name: String,
    pub trigger: AutomationTrigger,
    #[serde(default)]
    #[ts(optional)]
    pub schedule: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub time_zone: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub alert_kind: Option<crate::AlertKind>,
    #[serde(default)]
    #[ts(optional)]
    pub runs_per_endpoint: Option<i64>,
    #[serde(default)]
    #[ts(optional)]
    pub cooldown_minutes: Option<i64>,
    pub script_id: Uuid,
    pub assets: Vec<Uuid>,
    #[serde(default)]
    pub parameters: Vec<RunValue>,
    /// How long the signatures last, 1..=31 days (default 31).
    #[serde(default)]
    #[ts(optional)]
    pub valid_days: Option<i64>,
}

/// `GET /api/v1/automations/schedule`: what a cron pattern means, and its next times.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ScheduleQuery {
    pub schedule: String,
    #[serde(default)]
    #[ts(optional)]
    pub time_zone: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct SchedulePreview {
    pub description: String,
    pub next: Vec<DateTime<Utc>>,
    /// Times within the longest validity (31 days): how many runs per endpoint it signs.
    pub runs_per_endpoint: i64,
}

/// One approval for one of an automation's runs.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct RunApprovalFor {
    pub run_id: Uuid,
    pub approval: RunApproval,
}

/// `POST /api/v1/automations/{id}/approve`: a second technician's approval of every run.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct ApproveAutomation {
    pub approvals: Vec<RunApprovalFor>,
}

/// The desktop app approves an automation with this technician's key.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct ApproveAutomationHere {
    pub automation_id: Uuid,
}
