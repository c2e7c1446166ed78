//! Who may run what on an endpoint. The server stores and forwards what is defined here but
//! cannot make any of it: every run request is signed by a technician whose certificate is
//! signed by the organisation's root key, and the agent checks all of it before it starts a
//! process. `crates/agent/PROTOCOL.md` documents the exact bytes, so that a third party can
//! write a signer or a verifier from the document alone; this crate is our implementation
//! of that document.
//!
//! Every signed thing travels as `{"body": base64, "signature": base64}`: the signature is
//! over a fixed domain string followed by the body bytes as sent, and the verifier decodes
//! the fields from those same bytes (nothing is re-encoded before checking).

mod encoding;
pub mod recovery;
pub mod seal;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use encoding::{Reader, Writer};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub use ed25519_dalek;

/// Parameter names that would change how an interpreter runs (the script's environment).
pub const RESERVED_PARAMETER_NAMES: [&str; 16] = [
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "IFS",
    "ENV",
    "BASH_ENV",
    "PS4",
    "SHELLOPTS",
    "SYSTEMROOT",
    "COMSPEC",
    "PATHEXT",
    "TEMP",
    "TMP",
    "TMPDIR",
];
pub const RESERVED_PARAMETER_PREFIXES: [&str; 6] =
    ["LD_", "DYLD_", "PYTHON", "PERL", "BASH_FUNC", "OUTPOST_"];

/// Whether `name` may name a parameter: `[A-Z][A-Z0-9_]*`, at most 64, not reserved.
pub fn parameter_name_allowed(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_uppercase())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        && !RESERVED_PARAMETER_NAMES.contains(&name)
        && !RESERVED_PARAMETER_PREFIXES
            .iter()
            .any(|p| name.starts_with(p))
}

/// Domain strings, prepended to the body before signing, so a signature made for one kind of
/// thing can never be taken for another.
pub const CERTIFICATE_DOMAIN: &[u8] = b"outpost/technician-certificate/v1\0";
pub const RUN_DOMAIN: &[u8] = b"outpost/run-request/v1\0";
pub const APPROVAL_DOMAIN: &[u8] = b"outpost/run-approval/v1\0";
pub const REVOCATION_DOMAIN: &[u8] = b"outpost/revocation-list/v1\0";
pub const ROTATION_DOMAIN: &[u8] = b"outpost/root-rotation/v1\0";

/// The interpreters an agent knows, by their names in a run request.
pub const INTERPRETERS: [&str; 5] = ["bash", "sh", "powershell", "cmd", "python"];

/// The longest validity window a run request may have (a run for an endpoint that is away
/// for a month). It also bounds how long an agent must remember a nonce.
pub const MAX_RUN_WINDOW_SECS: i64 = 31 * 24 * 3600;
/// Clocks disagree: a request may start this much before its not-before on the agent's clock.
pub const CLOCK_SKEW_SECS: i64 = 300;
/// The longest timeout a run may ask for (a day).
pub const MAX_TIMEOUT_SECS: u32 = 24 * 3600;

/// Why something signed was not accepted. `code()` is the stable word reported back and
/// audited; the message says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("malformed: {0}")]
    Malformed(String),
    #[error("the key is a weak (small-order) Ed25519 key")]
    WeakKey,
    #[error("the signature does not verify")]
    BadSignature,
    #[error("the certificate is not signed by the root key this agent trusts")]
    UntrustedCertificate,
    #[error("the certificate is not valid now (valid {not_before} to {not_after}, now {now})")]
    CertificateNotValid {
        not_before: i64,
        not_after: i64,
        now: i64,
    },
    #[error("the technician's key was revoked")]
    Revoked,
    #[error(
        "the request was signed knowing revocation list {need}, but this agent holds list \
         {have}: the server has not delivered the newer list"
    )]
    RevocationListBehind { have: u64, need: u64 },
    #[error("revocation list {offered} is older than list {held}, which this agent holds")]
    RevocationListRollback { held: u64, offered: u64 },
    #[error("the request is for agent {wanted}, not this one")]
    WrongTarget { wanted: Uuid },
    #[error("the request is for client {wanted}, not this endpoint's client")]
    WrongClient { wanted: Uuid },
    #[error("the technician's certificate does not cover this endpoint's client")]
    ClientNotAllowed,
    #[error("the request is not valid yet (from {not_before}, now {now})")]
    NotYetValid { not_before: i64, now: i64 },
    #[error("the request expired at {not_after} (now {now})")]
    Expired { not_after: i64, now: i64 },
    #[error("the request's validity window is longer than {MAX_RUN_WINDOW_SECS} s")]
    WindowTooLong,
    #[error("this request was run before (its nonce is known)")]
    Replayed,
    #[error("the script body does not match the signed hash")]
    ScriptMismatch,
    #[error("the interpreter {0:?} is not one this agent knows")]
    UnknownInterpreter(String),
    #[error("the interpreter {0:?} is not installed on this endpoint")]
    InterpreterMissing(String),
    #[error("the run needs {needed} approval(s) by other technicians; {valid} verify")]
    NotApproved { needed: u8, valid: u8 },
    #[error("a secret parameter could not be opened with this agent's key")]
    SecretUnreadable,
    #[error("the root rotation is not signed by the root this agent trusts")]
    UntrustedRotation,
}

impl Refusal {
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Malformed(_) => "malformed",
            Refusal::WeakKey => "weak_key",
            Refusal::BadSignature => "bad_signature",
            Refusal::UntrustedCertificate => "untrusted_certificate",
            Refusal::CertificateNotValid { .. } => "certificate_not_valid",
            Refusal::Revoked => "revoked",
            Refusal::RevocationListBehind { .. } => "revocation_list_behind",
            Refusal::RevocationListRollback { .. } => "revocation_list_rollback",
            Refusal::WrongTarget { .. } => "wrong_target",
            Refusal::WrongClient { .. } => "wrong_client",
            Refusal::ClientNotAllowed => "client_not_allowed",
            Refusal::NotYetValid { .. } => "not_yet_valid",
            Refusal::Expired { .. } => "expired",
            Refusal::WindowTooLong => "window_too_long",
            Refusal::Replayed => "replayed",
            Refusal::ScriptMismatch => "script_mismatch",
            Refusal::UnknownInterpreter(_) => "unknown_interpreter",
            Refusal::InterpreterMissing(_) => "interpreter_missing",
            Refusal::NotApproved { .. } => "not_approved",
            Refusal::SecretUnreadable => "secret_unreadable",
            Refusal::UntrustedRotation => "untrusted_rotation",
        }
    }
}

// ---------------------------------------------------------------- bytes on the wire

/// Bytes that travel as standard base64 (with padding) in JSON.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Blob(pub Vec<u8>);

impl Serialize for Blob {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&B64.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        B64.decode(s.as_bytes())
            .map(Blob)
            .map_err(|e| serde::de::Error::custom(format!("not base64: {e}")))
    }
}

/// A body and the signature over its domain string and bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signed {
    pub body: Blob,
    pub signature: Blob,
}

fn sign(key: &SigningKey, domain: &[u8], body: Vec<u8>) -> Signed {
    let mut message = domain.to_vec();
    message.extend_from_slice(&body);
    Signed {
        signature: Blob(key.sign(&message).to_bytes().to_vec()),
        body: Blob(body),
    }
}

/// A public key from its 32 bytes, refusing small-order (weak) keys.
pub fn public_key(bytes: &[u8; 32]) -> Result<VerifyingKey, Refusal> {
    let key = VerifyingKey::from_bytes(bytes)
        .map_err(|_| Refusal::Malformed("not an Ed25519 public key".into()))?;
    if key.is_weak() {
        return Err(Refusal::WeakKey);
    }
    Ok(key)
}

/// Strict verification: no weak keys, no non-canonical signatures (no malleability).
fn verify(key: &VerifyingKey, domain: &[u8], signed: &Signed) -> Result<(), Refusal> {
    if key.is_weak() {
        return Err(Refusal::WeakKey);
    }
    let sig: [u8; 64] = signed
        .signature
        .0
        .as_slice()
        .try_into()
        .map_err(|_| Refusal::Malformed("a signature is 64 bytes".into()))?;
    let mut message = domain.to_vec();
    message.extend_from_slice(&signed.body.0);
    key.verify_strict(&message, &Signature::from_bytes(&sig))
        .map_err(|_| Refusal::BadSignature)
}

/// The SHA-256 fingerprint of a public key, as consoles show it (lowercase hex, in groups).
pub fn fingerprint(key: &[u8; 32]) -> String {
    let digest = Sha256::digest(key);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    hex.as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect::<Vec<_>>()
        .join(":")
}

/// Normalises a fingerprint someone typed (case, separators) for comparison.
pub fn normalize_fingerprint(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_hexdigit())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The hash a run request names: SHA-256 of the script body's UTF-8 bytes.
pub fn script_hash(body: &str) -> [u8; 32] {
    Sha256::digest(body.as_bytes()).into()
}

/// A fresh Ed25519 key pair.
pub fn new_signing_key() -> SigningKey {
    SigningKey::from_bytes(&rand::random::<[u8; 32]>())
}

// ---------------------------------------------------------------- certificates

/// Which clients' endpoints a technician may run scripts on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientScope {
    All,
    Only(Vec<Uuid>),
}

impl ClientScope {
    pub fn allows(&self, client: Uuid) -> bool {
        match self {
            ClientScope::All => true,
            ClientScope::Only(list) => list.contains(&client),
        }
    }
}

/// What the root key certifies about a technician's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateBody {
    pub serial: Uuid,
    /// The root key that signs this certificate.
    pub root_key: [u8; 32],
    pub public_key: [u8; 32],
    pub user_id: Uuid,
    pub name: String,
    pub not_before: i64,
    pub not_after: i64,
    pub clients: ClientScope,
}

impl CertificateBody {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.uuid(self.serial)
            .fixed(&self.root_key)
            .fixed(&self.public_key)
            .uuid(self.user_id)
            .str(&self.name)
            .i64(self.not_before)
            .i64(self.not_after);
        match &self.clients {
            ClientScope::All => {
                w.u8(0);
            }
            ClientScope::Only(list) => {
                w.u8(1).u32(list.len() as u32);
                for c in list {
                    w.uuid(*c);
                }
            }
        }
        w.into_bytes()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, Refusal> {
        let mut r = Reader::new(bytes);
        let body = CertificateBody {
            serial: r.uuid("serial")?,
            root_key: r.fixed("root key")?,
            public_key: r.fixed("public key")?,
            user_id: r.uuid("user id")?,
            name: r.str("name")?,
            not_before: r.i64("not before")?,
            not_after: r.i64("not after")?,
            clients: match r.u8("client scope")? {
                0 => ClientScope::All,
                1 => {
                    let n = r.count("clients")?;
                    let mut list = Vec::with_capacity(n.min(1024));
                    for _ in 0..n {
                        list.push(r.uuid("client")?);
                    }
                    ClientScope::Only(list)
                }
                other => {
                    return Err(Refusal::Malformed(format!(
                        "client scope {other} is neither 0 (all) nor 1 (a list)"
                    )))
                }
            },
        };
        r.finish("certificate")?;
        Ok(body)
    }

    /// Signed by the root (whose public key must be `root_key`).
    pub fn sign(&self, root: &SigningKey) -> Certificate {
        Certificate(sign(root, CERTIFICATE_DOMAIN, self.encode()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Certificate(pub Signed);

impl Certificate {
    /// The body, if the signature verifies with `root` (whatever the time).
    pub fn verify_signature(&self, root: &VerifyingKey) -> Result<CertificateBody, Refusal> {
        let body = CertificateBody::decode(&self.0.body.0)?;
        if body.root_key != root.to_bytes() {
            return Err(Refusal::UntrustedCertificate);
        }
        verify(root, CERTIFICATE_DOMAIN, &self.0).map_err(|e| match e {
            Refusal::BadSignature => Refusal::UntrustedCertificate,
            other => other,
        })?;
        public_key(&body.public_key)?;
        Ok(body)
    }

    /// The body, if it chains to `root` and is valid at `now` (unix seconds).
    pub fn verify(&self, root: &VerifyingKey, now: i64) -> Result<CertificateBody, Refusal> {
        let body = self.verify_signature(root)?;
        if now < body.not_before || now > body.not_after {
            return Err(Refusal::CertificateNotValid {
                not_before: body.not_before,
                not_after: body.not_after,
                now,
            });
        }
        Ok(body)
    }

    /// The body without any check (for showing what a certificate claims).
    pub fn claims(&self) -> Result<CertificateBody, Refusal> {
        CertificateBody::decode(&self.0.body.0)
    }
}

// ---------------------------------------------------------------- revocation

/// The root's list of technician keys that must no longer be obeyed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RevocationBody {
    pub root_key: [u8; 32],
    /// Grows by one with every list the root signs.
    pub seq: u64,
    pub issued_at: i64,
    pub revoked: Vec<[u8; 32]>,
}

impl RevocationBody {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.fixed(&self.root_key)
            .u64(self.seq)
            .i64(self.issued_at)
            .u32(self.revoked.len() as u32);
        for k in &self.revoked {
            w.fixed(k);
        }
        w.into_bytes()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, Refusal> {
        let mut r = Reader::new(bytes);
        let root_key = r.fixed("root key")?;
        let seq = r.u64("sequence")?;
        let issued_at = r.i64("issued at")?;
        let n = r.count("revoked keys")?;
        let mut revoked = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            revoked.push(r.fixed("revoked key")?);
        }
        r.finish("revocation list")?;
        Ok(RevocationBody {
            root_key,
            seq,
            issued_at,
            revoked,
        })
    }

    pub fn sign(&self, root: &SigningKey) -> RevocationList {
        RevocationList(sign(root, REVOCATION_DOMAIN, self.encode()))
    }

    pub fn is_revoked(&self, key: &[u8; 32]) -> bool {
        self.revoked.contains(key)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RevocationList(pub Signed);

impl RevocationList {
    pub fn verify(&self, root: &VerifyingKey) -> Result<RevocationBody, Refusal> {
        let body = RevocationBody::decode(&self.0.body.0)?;
        if body.root_key != root.to_bytes() {
            return Err(Refusal::UntrustedCertificate);
        }
        verify(root, REVOCATION_DOMAIN, &self.0)?;
        Ok(body)
    }

    /// A newer list than `held`, if it verifies; an older one is a rollback.
    pub fn verify_newer(
        &self,
        root: &VerifyingKey,
        held: u64,
    ) -> Result<Option<RevocationBody>, Refusal> {
        let body = self.verify(root)?;
        if body.seq < held {
            return Err(Refusal::RevocationListRollback {
                held,
                offered: body.seq,
            });
        }
        Ok((body.seq > held).then_some(body))
    }
}

// ---------------------------------------------------------------- root rotation

/// The current root hands trust to a new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationBody {
    pub old_root: [u8; 32],
    pub new_root: [u8; 32],
    pub issued_at: i64,
}

impl RotationBody {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.fixed(&self.old_root)
            .fixed(&self.new_root)
            .i64(self.issued_at);
        w.into_bytes()
    }
    pub fn decode(bytes: &[u8]) -> Result<Self, Refusal> {
        let mut r = Reader::new(bytes);
        let body = RotationBody {
            old_root: r.fixed("old root")?,
            new_root: r.fixed("new root")?,
            issued_at: r.i64("issued at")?,
        };
        r.finish("root rotation")?;
        Ok(body)
    }
    pub fn sign(&self, old_root: &SigningKey) -> RootRotation {
        RootRotation(sign(old_root, ROTATION_DOMAIN, self.encode()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RootRotation(pub Signed);

impl RootRotation {
    /// The new root, if `current` signed the hand-over.
    pub fn verify(&self, current: &VerifyingKey) -> Result<VerifyingKey, Refusal> {
        let body = RotationBody::decode(&self.0.body.0)?;
        if body.old_root != current.to_bytes() {
            return Err(Refusal::UntrustedRotation);
        }
        verify(current, ROTATION_DOMAIN, &self.0).map_err(|_| Refusal::UntrustedRotation)?;
        public_key(&body.new_root)
    }
}

// ---------------------------------------------------------------- run requests

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParameterValue {
    Text(String),
    /// Sealed to the target agent's key (see [`seal`]); only that agent can read it.
    Sealed(Vec<u8>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    pub name: String,
    pub value: ParameterValue,
}

/// What a technician signs: run this script, with these parameters, on that one agent,
/// within this window, once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRequest {
    pub run_id: Uuid,
    pub nonce: [u8; 16],
    pub target_agent: Uuid,
    pub target_client: Uuid,
    pub script_id: Uuid,
    pub script_version: u32,
    /// [`script_hash`] of the body the agent is given.
    pub script_hash: [u8; 32],
    pub interpreter: String,
    pub parameters: Vec<Parameter>,
    pub timeout_secs: u32,
    pub not_before: i64,
    pub not_after: i64,
    /// The newest revocation list the signer had seen: an agent holding an older one
    /// refuses, so a server cannot hide a revocation from it.
    pub revocation_seq: u64,
    /// How many other technicians must approve (the two-person rule for wide runs).
    pub approvals_required: u8,
    /// The certificate the signer sends with it.
    pub certificate_serial: Uuid,
}

impl RunRequest {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.uuid(self.run_id)
            .fixed(&self.nonce)
            .uuid(self.target_agent)
            .uuid(self.target_client)
            .uuid(self.script_id)
            .u32(self.script_version)
            .fixed(&self.script_hash)
            .str(&self.interpreter)
            .u32(self.parameters.len() as u32);
        for p in &self.parameters {
            w.str(&p.name);
            match &p.value {
                ParameterValue::Text(t) => w.u8(0).str(t),
                ParameterValue::Sealed(b) => w.u8(1).bytes(b),
            };
        }
        w.u32(self.timeout_secs)
            .i64(self.not_before)
            .i64(self.not_after)
            .u64(self.revocation_seq)
            .u8(self.approvals_required)
            .uuid(self.certificate_serial);
        w.into_bytes()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, Refusal> {
        let mut r = Reader::new(bytes);
        let run_id = r.uuid("run id")?;
        let nonce = r.fixed("nonce")?;
        let target_agent = r.uuid("target agent")?;
        let target_client = r.uuid("target client")?;
        let script_id = r.uuid("script id")?;
        let script_version = r.u32("script version")?;
        let script_hash = r.fixed("script hash")?;
        let interpreter = r.str("interpreter")?;
        let n = r.count("parameters")?;
        let mut parameters = Vec::with_capacity(n.min(64));
        for _ in 0..n {
            let name = r.str("parameter name")?;
            let value = match r.u8("parameter kind")? {
                0 => ParameterValue::Text(r.str("parameter value")?),
                1 => ParameterValue::Sealed(r.bytes("sealed parameter")?.to_vec()),
                k => {
                    return Err(Refusal::Malformed(format!(
                        "parameter kind {k} is neither 0 (text) nor 1 (sealed)"
                    )))
                }
            };
            parameters.push(Parameter { name, value });
        }
        let request = RunRequest {
            run_id,
            nonce,
            target_agent,
            target_client,
            script_id,
            script_version,
            script_hash,
            interpreter,
            parameters,
            timeout_secs: r.u32("timeout")?,
            not_before: r.i64("not before")?,
            not_after: r.i64("not after")?,
            revocation_seq: r.u64("revocation sequence")?,
            approvals_required: r.u8("approvals required")?,
            certificate_serial: r.uuid("certificate serial")?,
        };
        r.finish("run request")?;
        Ok(request)
    }

    /// Signed by a technician, sent with their certificate.
    pub fn sign(&self, technician: &SigningKey, certificate: &Certificate) -> SignedRun {
        SignedRun {
            request: sign(technician, RUN_DOMAIN, self.encode()),
            certificate: certificate.clone(),
            approvals: Vec::new(),
        }
    }
}

/// A second technician's signature over the same request bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    pub certificate: Certificate,
    pub signature: Blob,
}

/// A run request as it travels: the signed request, the signer's certificate, approvals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedRun {
    pub request: Signed,
    pub certificate: Certificate,
    #[serde(default)]
    pub approvals: Vec<Approval>,
}

impl SignedRun {
    /// The request's fields, unchecked (for routing and showing; never for deciding to run).
    pub fn claims(&self) -> Result<RunRequest, Refusal> {
        RunRequest::decode(&self.request.body.0)
    }

    /// Adds `approver`'s signature over the request bytes.
    pub fn approve(&mut self, approver: &SigningKey, certificate: &Certificate) {
        let mut message = APPROVAL_DOMAIN.to_vec();
        message.extend_from_slice(&self.request.body.0);
        self.approvals.push(Approval {
            certificate: certificate.clone(),
            signature: Blob(approver.sign(&message).to_bytes().to_vec()),
        });
    }
}

/// What an agent knows when it judges a run request.
pub struct AgentView<'a> {
    pub root: &'a VerifyingKey,
    pub agent_id: Uuid,
    /// The client the agent was enrolled for (None: enrolled before agents learnt it).
    pub client_id: Option<Uuid>,
    pub revocations: &'a RevocationBody,
    pub now: i64,
}

/// A request that verified: what to run, and who signed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub request: RunRequest,
    pub signer: CertificateBody,
}

/// Every check but the stateful ones (the nonce, which the agent remembers, and the script
/// body, which comes beside the request): chain, signature, target, window, revocation,
/// approvals.
pub fn verify_run(run: &SignedRun, view: &AgentView) -> Result<Verified, Refusal> {
    let signer = run.certificate.verify(view.root, view.now)?;
    if view.revocations.is_revoked(&signer.public_key) {
        return Err(Refusal::Revoked);
    }
    let key = public_key(&signer.public_key)?;
    verify(&key, RUN_DOMAIN, &run.request)?;
    let request = RunRequest::decode(&run.request.body.0)?;
    if request.certificate_serial != signer.serial {
        return Err(Refusal::Malformed(
            "the request names another certificate than the one sent with it".into(),
        ));
    }
    if request.revocation_seq > view.revocations.seq {
        return Err(Refusal::RevocationListBehind {
            have: view.revocations.seq,
            need: request.revocation_seq,
        });
    }
    if request.target_agent != view.agent_id {
        return Err(Refusal::WrongTarget {
            wanted: request.target_agent,
        });
    }
    if let Some(client) = view.client_id {
        if request.target_client != client {
            return Err(Refusal::WrongClient {
                wanted: request.target_client,
            });
        }
    }
    if !signer.clients.allows(request.target_client) {
        return Err(Refusal::ClientNotAllowed);
    }
    // Checked: extreme times must not wrap into a "short" window.
    let window = request.not_after.checked_sub(request.not_before);
    if !window.is_some_and(|w| (0..=MAX_RUN_WINDOW_SECS).contains(&w)) {
        return Err(Refusal::WindowTooLong);
    }
    if view.now.saturating_add(CLOCK_SKEW_SECS) < request.not_before {
        return Err(Refusal::NotYetValid {
            not_before: request.not_before,
            now: view.now,
        });
    }
    if view.now > request.not_after {
        return Err(Refusal::Expired {
            not_after: request.not_after,
            now: view.now,
        });
    }
    if !INTERPRETERS.contains(&request.interpreter.as_str()) {
        return Err(Refusal::UnknownInterpreter(request.interpreter.clone()));
    }
    if request.timeout_secs == 0 || request.timeout_secs > MAX_TIMEOUT_SECS {
        return Err(Refusal::Malformed(format!(
            "the timeout must be 1..={MAX_TIMEOUT_SECS} seconds"
        )));
    }
    if request.approvals_required > 0 {
        let valid = count_approvals(run, &signer, view);
        if valid < request.approvals_required {
            return Err(Refusal::NotApproved {
                needed: request.approvals_required,
                valid,
            });
        }
    }
    Ok(Verified { request, signer })
}

/// Approvals by distinct technicians other than the signer, each valid now and not revoked.
fn count_approvals(run: &SignedRun, signer: &CertificateBody, view: &AgentView) -> u8 {
    let mut seen: Vec<Uuid> = vec![signer.user_id];
    for a in &run.approvals {
        let Ok(cert) = a.certificate.verify(view.root, view.now) else {
            continue;
        };
        if seen.contains(&cert.user_id) || view.revocations.is_revoked(&cert.public_key) {
            continue;
        }
        let Ok(key) = public_key(&cert.public_key) else {
            continue;
        };
        let ok = verify(
            &key,
            APPROVAL_DOMAIN,
            &Signed {
                body: run.request.body.clone(),
                signature: a.signature.clone(),
            },
        )
        .is_ok();
        if ok {
            seen.push(cert.user_id);
        }
    }
    (seen.len() - 1).min(u8::MAX as usize) as u8
}

#[cfg(test)]
mod tests;
