//! Mail out: the organisation's SMTP server, the templates, and the outbox.
//!
//! What to mail is planned from the change log (a public reply, a new ticket with a contact,
//! a resolution) like webhooks, into `outbox` rows keyed by what they came from. The host's
//! sender (outpost-server) claims due rows, commits `handed_over` just before the mail
//! server gets the message's last byte, and records the outcome; after a crash, a mail that
//! was surely not handed over goes again and one that may have been waits for a person. So a
//! mail is sent once, or a person is asked — never twice by itself.

use super::render::{default_template, fill, kind_str, one_line, parse_kind, PLACEHOLDERS};
use super::vault;
use crate::clock::{from_ms, to_ms};
use crate::error::{invalid, CoreError, CoreResult};
use crate::store::{opt_uuid, parse_uuid, Actor, Core};
use chrono::{DateTime, Utc};
use outpost_proto::{
    DecideOutboxMail, MailPreview, MailStep, MailTemplate, MailTemplateKind, OutboxDecision,
    OutboxMail, OutboxPage, OutboxQuery, OutboxState, PreviewMailTemplate, Role, SetMailTemplate,
    SetSmtpSettings, SmtpSecurity, SmtpSettings, SmtpTestRequest, SmtpTestResult,
};
use serde_json::{json, Value};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// The most addresses a desk mail copies (a mailed-in Cc line of thousands is cut here).
pub const MAX_CC: usize = 50;

/// Tries before a mail that keeps failing for a passing reason is given up.
pub const MAIL_TRIES: i64 = 10;
/// The longest wait between tries.
const MAX_WAIT: Duration = Duration::from_secs(3600);

/// The mail server as the sender uses it (password opened).
#[derive(Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: String,
    pub password: Option<String>,
    pub from_address: String,
    pub from_name: String,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("from_address", &self.from_address)
            .finish_non_exhaustive()
    }
}

/// A mail the sender is to send now.
#[derive(Debug, Clone)]
pub struct PendingMail {
    pub id: Uuid,
    /// `reply`, `acknowledgement`, `resolved` or `test`.
    pub kind: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: String,
    pub body: String,
    /// Without the angle brackets.
    pub message_id: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub attempts: i64,
    /// A file sent with it (a scheduled report's PDF).
    pub attachment: Option<MailAttachment>,
}

#[derive(Debug, Clone)]
pub struct MailAttachment {
    pub file_name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl PendingMail {
    /// Written by the desk itself, not a person (RFC 3834: mail programs do not auto-reply).
    pub fn automatic(&self) -> bool {
        self.kind != "reply"
    }
}

/// What sending one mail came to.
#[derive(Debug, Clone, PartialEq)]
pub enum MailOutcome {
    Sent,
    Failed {
        step: MailStep,
        /// The server refused for good (5xx), or the mail can never go as it is.
        permanent: bool,
        message: String,
    },
}

/// Runs "send a test mail" for the core (the host has the SMTP client).
pub trait SmtpTester: Send + Sync {
    fn test(
        &self,
        config: SmtpConfig,
        to: String,
    ) -> Pin<Box<dyn Future<Output = SmtpTestResult> + Send>>;
}

#[derive(Default)]
pub(crate) struct Tester(std::sync::RwLock<Option<Arc<dyn SmtpTester>>>);

pub fn step_name(step: MailStep) -> &'static str {
    match step {
        MailStep::Dns => "finding the mail server (DNS)",
        MailStep::Connect => "connecting",
        MailStep::Tls => "encrypting (TLS)",
        MailStep::Auth => "logging in",
        MailStep::Sender => "the sender address",
        MailStep::Recipient => "a recipient",
        MailStep::Message => "the message",
    }
}

fn security_str(s: SmtpSecurity) -> &'static str {
    match s {
        SmtpSecurity::Tls => "tls",
        SmtpSecurity::Starttls => "starttls",
        SmtpSecurity::None => "none",
    }
}

fn parse_security(s: &str) -> SmtpSecurity {
    match s {
        "tls" => SmtpSecurity::Tls,
        "starttls" => SmtpSecurity::Starttls,
        _ => SmtpSecurity::None,
    }
}

fn state_str(s: OutboxState) -> &'static str {
    match s {
        OutboxState::Queued => "queued",
        OutboxState::Sending => "sending",
        OutboxState::Unsure => "unsure",
        OutboxState::Sent => "sent",
        OutboxState::Failed => "failed",
    }
}

fn parse_state(s: &str) -> OutboxState {
    match s {
        "queued" => OutboxState::Queued,
        "sending" => OutboxState::Sending,
        "unsure" => OutboxState::Unsure,
        "sent" => OutboxState::Sent,
        _ => OutboxState::Failed,
    }
}

/// Whether `s` is one plain mail address (what a header or an envelope may carry).
pub fn check_address(s: &str) -> Result<(), String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("the address is empty".into());
    }
    if s.len() > 254 {
        return Err(format!("'{s}' is longer than a mail address can be"));
    }
    if s.chars()
        .any(|c| c.is_whitespace() || c.is_control() || "<>,;\"()[]\\".contains(c))
    {
        return Err(format!(
            "'{s}' is not one mail address (no spaces, commas or brackets; one address)"
        ));
    }
    match s.split_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.') =>
        {
            Ok(())
        }
        _ => Err(format!("'{s}' is not a mail address (name@example.com)")),
    }
}

/// Refuses what is not a server name or address (for SMTP and IMAP alike).
pub(crate) fn check_host(host: &str) -> CoreResult<()> {
    if host.is_empty() {
        return Err(invalid(
            "host is empty: give the mail server's name, e.g. mail.example.com",
        ));
    }
    if host.len() > 253
        || host
            .chars()
            .any(|c| !(c.is_ascii_alphanumeric() || "-.:[]_".contains(c)))
    {
        return Err(invalid(format!(
            "host '{host}' is not a server name or address (letters, digits, dots and dashes)"
        )));
    }
    Ok(())
}

/// The wait before try `n + 1` after `n` failed tries: `base`, doubling, at most an hour.
pub fn mail_retry_delay(base: Duration, n: i64) -> Duration {
    base.saturating_mul(2u32.saturating_pow(n.clamp(1, 20) as u32 - 1))
        .min(MAX_WAIT)
}

pub(crate) fn message_domain(from: &str) -> &str {
    from.rsplit_once('@')
        .map(|(_, d)| d)
        .unwrap_or("outpost.invalid")
}

const OUTBOX_SELECT: &str = "SELECT o.*, t.number AS ticket_number FROM outbox o \
    LEFT JOIN tickets t ON t.id = o.ticket_id";

fn outbox_from_row(r: &SqliteRow) -> CoreResult<OutboxMail> {
    let kind: String = r.get("kind");
    let list = |c: &str| -> Vec<String> {
        serde_json::from_str(&r.get::<String, _>(c)).unwrap_or_default()
    };
    let state = parse_state(r.get("state"));
    Ok(OutboxMail {
        id: parse_uuid(r.get("id"))?,
        kind: parse_kind(&kind).unwrap_or(MailTemplateKind::Reply),
        ticket_id: opt_uuid(r.get("ticket_id"))?,
        ticket_number: r.get("ticket_number"),
        to: list("to_addrs"),
        cc: list("cc_addrs"),
        subject: r.get("subject"),
        body: r.get("body"),
        message_id: r.get("message_id"),
        state,
        attempts: r.get("attempts"),
        last_error: r.get("last_error"),
        next_attempt_at: (state == OutboxState::Queued).then(|| from_ms(r.get("next_attempt_at"))),
        created_at: from_ms(r.get("created_at")),
        sent_at: r.get::<Option<i64>, _>("sent_at").map(from_ms),
    })
}

fn pending_from_row(r: &SqliteRow) -> CoreResult<PendingMail> {
    let list = |c: &str| -> Vec<String> {
        serde_json::from_str(&r.get::<String, _>(c)).unwrap_or_default()
    };
    Ok(PendingMail {
        id: parse_uuid(r.get("id"))?,
        kind: r.get("kind"),
        to: list("to_addrs"),
        cc: list("cc_addrs"),
        subject: r.get("subject"),
        body: r.get("body"),
        message_id: r.get("message_id"),
        in_reply_to: r.get("in_reply_to"),
        references: r
            .get::<String, _>("refs")
            .split_whitespace()
            .map(str::to_string)
            .collect(),
        created_at: from_ms(r.get("created_at")),
        attempts: r.get("attempts"),
        attachment: None,
    })
}

/// A stored template, or the default.
async fn template_in(
    conn: &mut SqliteConnection,
    kind: MailTemplateKind,
) -> CoreResult<MailTemplate> {
    let row = sqlx::query("SELECT enabled, subject, body FROM mail_templates WHERE kind = ?")
        .bind(kind_str(kind))
        .fetch_optional(&mut *conn)
        .await?;
    let placeholders = PLACEHOLDERS.iter().map(|p| p.to_string()).collect();
    Ok(match row {
        Some(r) => MailTemplate {
            kind,
            enabled: r.get::<i64, _>("enabled") != 0 || kind == MailTemplateKind::Reply,
            subject: r.get("subject"),
            body: r.get("body"),
            is_default: false,
            placeholders,
        },
        None => {
            let (subject, body) = default_template(kind);
            MailTemplate {
                kind,
                enabled: true,
                subject: subject.into(),
                body: body.into(),
                is_default: true,
                placeholders,
            }
        }
    })
}

/// What a ticket's placeholders stand for, and where its mail goes.
struct TicketFacts {
    values: BTreeMap<&'static str, String>,
    contact_email: String,
}

async fn ticket_facts(
    conn: &mut SqliteConnection,
    ticket_id: &str,
    organisation: &str,
) -> CoreResult<Option<TicketFacts>> {
    let row = sqlx::query(
        "SELECT t.number, t.title, t.status, t.priority, c.name AS client_name, \
         coalesce(k.name, s.name, '') AS contact_name, \
         coalesce(nullif(trim(k.email), ''), s.address, '') AS contact_email, \
         coalesce(u.display_name, '') AS assignee_name \
         FROM tickets t JOIN clients c ON c.id = t.client_id \
         LEFT JOIN contacts k ON k.id = t.contact_id \
         LEFT JOIN ticket_mail_senders s ON s.ticket_id = t.id \
         LEFT JOIN users u ON u.id = t.assignee_id WHERE t.id = ?",
    )
    .bind(ticket_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let mut values = BTreeMap::new();
    values.insert("ticket.number", r.get::<i64, _>("number").to_string());
    values.insert("ticket.title", r.get::<String, _>("title"));
    values.insert(
        "ticket.status",
        r.get::<String, _>("status").replace('_', " "),
    );
    values.insert("ticket.priority", r.get::<String, _>("priority"));
    values.insert("client.name", r.get::<String, _>("client_name"));
    let contact: String = r.get("contact_name");
    values.insert(
        "contact.name",
        if contact.is_empty() {
            "there".into()
        } else {
            contact
        },
    );
    values.insert("technician.name", r.get::<String, _>("assignee_name"));
    values.insert("comment.body", String::new());
    values.insert("organisation.name", organisation.to_string());
    Ok(Some(TicketFacts {
        values,
        contact_email: r.get::<String, _>("contact_email").trim().to_string(),
    }))
}

/// A change of the log, as the mail and notification planners see it.
pub(crate) struct MailChange<'a> {
    pub entity: &'a str,
    pub op: &'a str,
    pub entity_id: &'a str,
    pub change_id: &'a str,
    pub fields: &'a Value,
    /// When it was written where it was written (ms).
    pub written_at: i64,
}

/// How old what a mail is about may be and still be mailed: a console that connects
/// uploads its history, and a client is not sent acknowledgements for last year's tickets.
fn still_news(kind: MailTemplateKind, c: &MailChange<'_>, now: i64) -> bool {
    let at = |field: &str| c.fields.get(field).and_then(Value::as_i64);
    let (when, window_ms) = match kind {
        MailTemplateKind::Acknowledgement => (at("created_at").unwrap_or(c.written_at), 3_600_000),
        // A reply written offline goes when the console syncs, even days later.
        MailTemplateKind::Reply => (at("created_at").unwrap_or(c.written_at), 7 * 86_400_000),
        _ => (at("resolved_at").unwrap_or(c.written_at), 86_400_000),
    };
    now - when <= window_ms
}

/// Plans the mail one change calls for (none, or one outbox row). `from` is the
/// organisation's (address, name). Returns whether a mail was queued.
pub(crate) async fn plan_mail(
    conn: &mut SqliteConnection,
    from: &(String, String),
    c: &MailChange<'_>,
    now: i64,
) -> CoreResult<bool> {
    let truthy = |v: Option<&Value>| {
        v.is_some_and(|v| v.as_bool().unwrap_or(false) || v.as_i64().unwrap_or(0) != 0)
    };
    let (kind, source, ticket_id, comment, author) = match (c.entity, c.op) {
        ("comment", "insert") if !truthy(c.fields.get("internal")) => {
            let ticket = c.fields.get("ticket_id").and_then(Value::as_str);
            let Some(ticket) = ticket else {
                return Ok(false);
            };
            (
                MailTemplateKind::Reply,
                format!("reply:{}", c.entity_id),
                ticket.to_string(),
                c.fields
                    .get("body")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                c.fields
                    .get("author_id")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            )
        }
        ("ticket", "insert") => (
            MailTemplateKind::Acknowledgement,
            format!("acknowledgement:{}", c.entity_id),
            c.entity_id.to_string(),
            String::new(),
            None,
        ),
        ("ticket", "update")
            if c.fields.get("status").and_then(Value::as_str) == Some("resolved") =>
        {
            (
                MailTemplateKind::Resolved,
                format!("resolved:{}", c.change_id),
                c.entity_id.to_string(),
                String::new(),
                None,
            )
        }
        _ => return Ok(false),
    };
    if !still_news(kind, c, now) {
        return Ok(false);
    }
    let template = template_in(conn, kind).await?;
    if !template.enabled {
        return Ok(false);
    }
    let Some(mut facts) = ticket_facts(conn, &ticket_id, &from.1).await? else {
        return Ok(false);
    };
    // No contact, or one without an address: nobody to mail.
    if facts.contact_email.is_empty() {
        return Ok(false);
    }
    if let Some(author) = author {
        let user: Option<(String, String)> =
            sqlx::query_as("SELECT username, display_name FROM users WHERE id = ?")
                .bind(&author)
                .fetch_optional(&mut *conn)
                .await?;
        if let Some((username, name)) = user {
            // What a client mailed in (or an alert wrote) is not answered by mail.
            if username == "outpost-mail" || username == "outpost-alerts" {
                return Ok(false);
            }
            facts.values.insert("technician.name", name);
        }
    }
    facts.values.insert("comment.body", comment);
    let (subject, _) = fill(&template.subject, &facts.values);
    let (body, _) = fill(&template.body, &facts.values);
    let subject = one_line(&subject);
    let (state, error) = match check_address(&facts.contact_email) {
        Ok(()) => ("queued", None),
        Err(e) => (
            "failed",
            Some(format!(
                "the contact's mail address cannot be used: {e}; correct it on the contact and \
                 send again"
            )),
        ),
    };
    let cc: Vec<String> = sqlx::query_scalar(
        "SELECT address FROM ticket_mail_cc WHERE ticket_id = ? AND address <> lower(?) \
         ORDER BY address LIMIT ?",
    )
    .bind(&ticket_id)
    .bind(&facts.contact_email)
    .bind(MAX_CC as i64)
    .fetch_all(&mut *conn)
    .await?;
    let id = Uuid::now_v7();
    let message_id = format!("{id}@{}", message_domain(&from.0));
    let thread: Vec<String> = sqlx::query_scalar(
        "SELECT message_id FROM (SELECT message_id, at FROM ticket_mail_ids WHERE ticket_id = ? \
         ORDER BY at DESC LIMIT 20) ORDER BY at",
    )
    .bind(&ticket_id)
    .fetch_all(&mut *conn)
    .await?;
    let refs = thread
        .iter()
        .map(|m| format!("<{m}>"))
        .collect::<Vec<_>>()
        .join(" ");
    let done = sqlx::query(
        "INSERT OR IGNORE INTO outbox (id, source, kind, ticket_id, to_addrs, cc_addrs, subject, \
         body, message_id, in_reply_to, refs, state, next_attempt_at, last_error, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(&source)
    .bind(kind_str(kind))
    .bind(&ticket_id)
    .bind(json!([facts.contact_email]).to_string())
    .bind(json!(cc).to_string())
    .bind(&subject)
    .bind(&body)
    .bind(&message_id)
    .bind(thread.last())
    .bind(refs)
    .bind(state)
    .bind(now)
    .bind(error)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query(
        "INSERT OR IGNORE INTO ticket_mail_ids (message_id, ticket_id, at) VALUES (?, ?, ?)",
    )
    .bind(&message_id)
    .bind(&ticket_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

/// The organisation's From (address, name) while a mail server is set.
pub(crate) async fn mail_from(conn: &mut SqliteConnection) -> CoreResult<Option<(String, String)>> {
    Ok(
        sqlx::query_as("SELECT from_address, from_name FROM smtp_settings WHERE singleton = 1")
            .fetch_optional(&mut *conn)
            .await?,
    )
}

impl Core {
    fn vault_key(&self) -> CoreResult<[u8; 32]> {
        vault::load_or_create_key(&self.data_dir)
    }

    /// Lets "send a test mail" reach the host's SMTP client.
    pub fn set_smtp_tester(&self, tester: Arc<dyn SmtpTester>) {
        *self
            .domain_state::<Tester>()
            .0
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Some(tester);
    }

    pub async fn smtp_settings(&self, actor: &Actor) -> CoreResult<SmtpSettings> {
        actor.require_admin()?;
        let row = sqlx::query("SELECT * FROM smtp_settings WHERE singleton = 1")
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            None => SmtpSettings {
                configured: false,
                host: String::new(),
                port: 587,
                security: SmtpSecurity::Starttls,
                username: String::new(),
                password_set: false,
                from_address: String::new(),
                from_name: String::new(),
                updated_by: None,
                updated_at: None,
            },
            Some(r) => SmtpSettings {
                configured: true,
                host: r.get("host"),
                port: r.get::<i64, _>("port") as u16,
                security: parse_security(r.get("security")),
                username: r.get("username"),
                password_set: r.get::<Option<String>, _>("password_sealed").is_some(),
                from_address: r.get("from_address"),
                from_name: r.get("from_name"),
                updated_by: Some(r.get("updated_by")),
                updated_at: Some(from_ms(r.get("updated_at"))),
            },
        })
    }

    pub async fn set_smtp_settings(
        &self,
        actor: &Actor,
        req: SetSmtpSettings,
    ) -> CoreResult<SmtpSettings> {
        actor.require_admin()?;
        let host = req.host.trim().to_ascii_lowercase();
        check_host(&host)?;
        if req.port == 0 {
            return Err(invalid(
                "port must be 1 to 65535 (465 for TLS, 587 for STARTTLS)",
            ));
        }
        let from_address = req.from_address.trim().to_string();
        check_address(&from_address).map_err(|e| invalid(format!("from_address: {e}")))?;
        let from_name = one_line(&req.from_name);
        if from_name.chars().count() > 100 {
            return Err(invalid("from_name is longer than 100 characters"));
        }
        let username = req.username.unwrap_or_default().trim().to_string();
        if username.chars().count() > 200 || username.chars().any(char::is_control) {
            return Err(invalid(
                "username must be one line of at most 200 characters",
            ));
        }
        let sealed = match &req.password {
            Some(p) if p.chars().count() > 500 => {
                return Err(invalid("password is longer than 500 characters"))
            }
            Some(p) if p.is_empty() => Some(None),
            Some(p) => Some(Some(vault::seal(&self.vault_key()?, p)?)),
            None => None,
        };
        let mut w = self.write(actor).await?;
        let old: Option<Option<String>> =
            sqlx::query_scalar("SELECT password_sealed FROM smtp_settings WHERE singleton = 1")
                .fetch_optional(&mut *w.tx)
                .await?;
        // No username: no login, so a stored password goes too.
        let password = match sealed {
            Some(p) => p,
            None if username.is_empty() => None,
            None => old.flatten(),
        };
        if password.is_some() && username.is_empty() {
            return Err(invalid(
                "a password is set but no username: give the username to log in with, or \
                 remove the password (send an empty one)",
            ));
        }
        sqlx::query(
            "INSERT INTO smtp_settings (singleton, host, port, security, username, \
             password_sealed, from_address, from_name, updated_by, updated_at) \
             VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (singleton) DO UPDATE SET \
             host = excluded.host, port = excluded.port, security = excluded.security, \
             username = excluded.username, password_sealed = excluded.password_sealed, \
             from_address = excluded.from_address, from_name = excluded.from_name, \
             updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        )
        .bind(&host)
        .bind(req.port as i64)
        .bind(security_str(req.security))
        .bind(&username)
        .bind(&password)
        .bind(&from_address)
        .bind(&from_name)
        .bind(&actor.name)
        .bind(w.now_ms())
        .execute(&mut *w.tx)
        .await?;
        // The password itself never reaches the audit log.
        w.audit(
            "mail.smtp.set",
            "smtp_settings",
            Uuid::nil(),
            None,
            Some(
                json!({"host": host, "port": req.port, "security": security_str(req.security),
                        "username": username, "password_set": password.is_some(),
                        "from_address": from_address}),
            ),
        )
        .await?;
        w.commit().await?;
        self.smtp_settings(actor).await
    }

    /// The mail server with its password opened, for the sender; None until one is set.
    pub async fn smtp_config(&self) -> CoreResult<Option<SmtpConfig>> {
        let row = sqlx::query("SELECT * FROM smtp_settings WHERE singleton = 1")
            .fetch_optional(&self.pool)
            .await?;
        let Some(r) = row else { return Ok(None) };
        let password = match r.get::<Option<String>, _>("password_sealed") {
            Some(s) => Some(vault::open(&self.vault_key()?, &s)?),
            None => None,
        };
        Ok(Some(SmtpConfig {
            host: r.get("host"),
            port: r.get::<i64, _>("port") as u16,
            security: parse_security(r.get("security")),
            username: r.get("username"),
            password,
            from_address: r.get("from_address"),
            from_name: r.get("from_name"),
        }))
    }

    /// Sends a test mail now and says in words how far it got.
    pub async fn test_smtp(
        &self,
        actor: &Actor,
        req: SmtpTestRequest,
    ) -> CoreResult<SmtpTestResult> {
        actor.require_admin()?;
        let to = req.to.trim().to_string();
        check_address(&to).map_err(|e| invalid(format!("to: {e}")))?;
        let config = self.smtp_config().await?.ok_or_else(|| {
            invalid("no mail server is set yet: save the SMTP settings first, then test them")
        })?;
        let tester = self
            .domain_state::<Tester>()
            .0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| {
                CoreError::Unavailable("only the Outpost server sends mail; test it there".into())
            })?;
        let result = tester.test(config, to.clone()).await;
        let mut w = self.write(actor).await?;
        w.audit(
            "mail.smtp.test",
            "smtp_settings",
            Uuid::nil(),
            None,
            Some(json!({"to": to, "ok": result.ok, "message": result.message})),
        )
        .await?;
        w.commit().await?;
        Ok(result)
    }

    pub async fn list_mail_templates(&self, actor: &Actor) -> CoreResult<Vec<MailTemplate>> {
        actor.require_write()?;
        let mut conn = self.pool.acquire().await?;
        let mut out = Vec::new();
        for kind in [
            MailTemplateKind::Acknowledgement,
            MailTemplateKind::Reply,
            MailTemplateKind::Resolved,
        ] {
            out.push(template_in(&mut conn, kind).await?);
        }
        Ok(out)
    }

    pub async fn set_mail_template(
        &self,
        actor: &Actor,
        req: SetMailTemplate,
    ) -> CoreResult<MailTemplate> {
        actor.require_admin()?;
        let subject = req.subject.trim().to_string();
        if subject.is_empty() || subject.chars().count() > 300 || subject.contains(['\r', '\n']) {
            return Err(invalid("subject must be one line of 1 to 300 characters"));
        }
        if req.body.trim().is_empty() || req.body.chars().count() > 20_000 {
            return Err(invalid("body must be 1 to 20,000 characters"));
        }
        if matches!(
            req.kind,
            MailTemplateKind::Notification | MailTemplateKind::Report
        ) {
            return Err(invalid(
                "notification and report mails have no template: choose reply, acknowledgement or resolved",
            ));
        }
        let enabled = req.enabled.unwrap_or(true);
        if !enabled && req.kind == MailTemplateKind::Reply {
            return Err(invalid(
                "replies cannot be turned off: a public reply is what the client is sent; \
                 write an internal note instead",
            ));
        }
        let (_, unknown_s) = fill(&subject, &BTreeMap::new());
        let (_, unknown_b) = fill(&req.body, &BTreeMap::new());
        let unknown: Vec<String> = unknown_s
            .into_iter()
            .chain(unknown_b)
            .filter(|u| !PLACEHOLDERS.contains(&u.as_str()))
            .collect();
        if !unknown.is_empty() {
            return Err(invalid(format!(
                "unknown placeholder {}: the placeholders are {}",
                unknown
                    .iter()
                    .map(|u| format!("{{{{{u}}}}}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                PLACEHOLDERS
                    .iter()
                    .map(|p| format!("{{{{{p}}}}}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let mut w = self.write(actor).await?;
        sqlx::query(
            "INSERT INTO mail_templates (kind, enabled, subject, body, updated_by, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (kind) DO UPDATE SET enabled = excluded.enabled, \
             subject = excluded.subject, body = excluded.body, updated_by = excluded.updated_by, \
             updated_at = excluded.updated_at",
        )
        .bind(kind_str(req.kind))
        .bind(enabled)
        .bind(&subject)
        .bind(&req.body)
        .bind(&actor.name)
        .bind(w.now_ms())
        .execute(&mut *w.tx)
        .await?;
        w.audit(
            "mail.template.set",
            "mail_template",
            Uuid::nil(),
            None,
            Some(json!({"kind": kind_str(req.kind), "enabled": enabled, "subject": subject})),
        )
        .await?;
        let t = template_in(&mut w.tx, req.kind).await?;
        w.commit().await?;
        Ok(t)
    }

    /// A template filled in for a ticket this person may see (the newest, unless named).
    pub async fn preview_mail_template(
        &self,
        actor: &Actor,
        req: PreviewMailTemplate,
    ) -> CoreResult<MailPreview> {
        actor.require_write()?;
        let mut conn = self.pool.acquire().await?;
        let ticket: Option<String> = match req.ticket_id {
            Some(id) => {
                let found: Option<(String, String)> =
                    sqlx::query_as("SELECT id, client_id FROM tickets WHERE id = ?")
                        .bind(id.to_string())
                        .fetch_optional(&mut *conn)
                        .await?;
                let (id, client) = found
                    .ok_or_else(|| CoreError::NotFound(format!("ticket {id} does not exist")))?;
                actor.require_client(parse_uuid(&client)?)?;
                Some(id)
            }
            None => {
                sqlx::query_scalar(&format!(
                    "SELECT id FROM tickets WHERE {} ORDER BY rid DESC LIMIT 1",
                    actor.client_condition("client_id")
                ))
                .fetch_optional(&mut *conn)
                .await?
            }
        };
        let organisation = mail_from(&mut conn)
            .await?
            .map(|(_, n)| n)
            .unwrap_or_default();
        let mut values = match &ticket {
            Some(t) => ticket_facts(&mut conn, t, &organisation)
                .await?
                .map(|f| f.values)
                .unwrap_or_default(),
            None => BTreeMap::new(),
        };
        if values.is_empty() {
            // No ticket yet: show the template with an example.
            for (k, v) in [
                ("ticket.number", "1042"),
                ("ticket.title", "Printer offline"),
                ("ticket.status", "open"),
                ("ticket.priority", "normal"),
                ("client.name", "Acme Dental"),
                ("contact.name", "Dana"),
                ("technician.name", ""),
                ("organisation.name", ""),
            ] {
                values.insert(k, v.to_string());
            }
            values.insert("organisation.name", organisation);
        }
        if values.get("technician.name").is_none_or(|n| n.is_empty()) {
            values.insert("technician.name", actor.name.clone());
        }
        values.insert(
            "comment.body",
            if req.kind == MailTemplateKind::Reply {
                "(your reply goes here)".into()
            } else {
                String::new()
            },
        );
        let (subject, mut unknown) = fill(&req.subject, &values);
        let (body, more) = fill(&req.body, &values);
        for u in more {
            if !unknown.contains(&u) {
                unknown.push(u);
            }
        }
        Ok(MailPreview {
            subject: one_line(&subject),
            body,
            unknown,
        })
    }

    /// The outbox, newest first: all of it for admins, mail of their clients' tickets for
    /// technicians.
    pub async fn list_outbox(&self, actor: &Actor, q: &OutboxQuery) -> CoreResult<OutboxPage> {
        actor.require_write()?;
        let limit = q.limit.unwrap_or(100);
        if !(1..=500).contains(&limit) {
            return Err(invalid("limit must be 1 to 500"));
        }
        let offset = q.offset.unwrap_or(0).max(0);
        let scope = if actor.role == Role::Admin && actor.clients.is_none() {
            "1".to_string()
        } else {
            format!(
                "o.ticket_id IS NOT NULL AND {}",
                actor.client_condition("t.client_id")
            )
        };
        let mut filter = scope.clone();
        if let Some(s) = q.state {
            filter.push_str(&format!(" AND o.state = '{}'", state_str(s)));
        }
        if q.ticket_id.is_some() {
            filter.push_str(" AND o.ticket_id = ?");
        }
        let ticket = q.ticket_id.map(|t| t.to_string());
        let list_sql =
            format!("{OUTBOX_SELECT} WHERE {filter} ORDER BY o.rid DESC LIMIT ? OFFSET ?");
        let count_sql = format!(
            "SELECT count(*) FROM outbox o LEFT JOIN tickets t ON t.id = o.ticket_id WHERE {filter}"
        );
        let mut list = sqlx::query(&list_sql);
        let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
        if let Some(t) = &ticket {
            list = list.bind(t);
            count = count.bind(t);
        }
        // One snapshot: the senders move mail between states while a page is read, and the
        // page, its total and its counts must agree.
        let mut read = self.pool.begin().await?;
        let rows = list.bind(limit).bind(offset).fetch_all(&mut *read).await?;
        let total = count.fetch_one(&mut *read).await?;
        let (unsure, failed): (i64, i64) = sqlx::query_as(&format!(
            "SELECT coalesce(sum(o.state = 'unsure'), 0), coalesce(sum(o.state = 'failed'), 0) \
             FROM outbox o LEFT JOIN tickets t ON t.id = o.ticket_id WHERE {scope}"
        ))
        .fetch_one(&mut *read)
        .await?;
        read.commit().await?;
        Ok(OutboxPage {
            items: rows
                .iter()
                .map(outbox_from_row)
                .collect::<CoreResult<_>>()?,
            total,
            unsure,
            failed,
        })
    }

    /// A person's decision on a mail that may have arrived (unsure) or failed.
    pub async fn decide_outbox_mail(
        &self,
        actor: &Actor,
        id: Uuid,
        req: DecideOutboxMail,
    ) -> CoreResult<OutboxMail> {
        actor.require_admin()?;
        let mut w = self.write(actor).await?;
        let state: Option<String> = sqlx::query_scalar("SELECT state FROM outbox WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&mut *w.tx)
            .await?;
        let state =
            state.ok_or_else(|| CoreError::NotFound(format!("mail {id} does not exist")))?;
        if state != "unsure" && state != "failed" {
            return Err(CoreError::Conflict(format!(
                "mail {id} is {state}: only unsure or failed mail waits for a decision"
            )));
        }
        let now = w.now_ms();
        let (sql, action) = match req.decision {
            OutboxDecision::Resend => (
                "UPDATE outbox SET state = 'queued', handed_over = 0, attempts = 0, \
                 next_attempt_at = ?, last_error = NULL WHERE id = ?",
                "mail.resend",
            ),
            OutboxDecision::MarkSent => (
                "UPDATE outbox SET state = 'sent', sent_at = ?, last_error = NULL WHERE id = ?",
                "mail.mark_sent",
            ),
        };
        sqlx::query(sql)
            .bind(now)
            .bind(id.to_string())
            .execute(&mut *w.tx)
            .await?;
        w.audit(action, "outbox", id, Some(json!({"state": state})), None)
            .await?;
        w.commit().await?;
        let row = sqlx::query(&format!("{OUTBOX_SELECT} WHERE o.id = ?"))
            .bind(id.to_string())
            .fetch_one(&self.pool)
            .await?;
        outbox_from_row(&row)
    }

    /// After a start: mail caught mid-send goes again if the mail server surely did not get
    /// it, and waits for a person if it may have. Returns (queued again, unsure).
    pub async fn recover_outbox(&self) -> CoreResult<(u64, u64)> {
        let _guard = self.write_lock_only().await;
        let mut tx = self.pool.begin().await?;
        let again = sqlx::query(
            "UPDATE outbox SET state = 'queued' WHERE state = 'sending' AND handed_over = 0",
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let unsure = sqlx::query(
            "UPDATE outbox SET state = 'unsure', last_error = 'the server stopped while the mail \
             server was taking this mail: it may have arrived. Send it again, or mark it sent' \
             WHERE state = 'sending' AND handed_over = 1",
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok((again, unsure))
    }

    /// Takes up to `limit` due mails for sending (they are `sending` until recorded).
    pub async fn claim_due_mails(&self, limit: i64) -> CoreResult<Vec<PendingMail>> {
        let _guard = self.write_lock_only().await;
        let now = to_ms(self.now());
        let rows = sqlx::query(
            "UPDATE outbox SET state = 'sending', handed_over = 0 WHERE rid IN (SELECT rid FROM \
             outbox WHERE state = 'queued' AND next_attempt_at <= ? ORDER BY rid LIMIT ?) \
             RETURNING *",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut mails = Vec::with_capacity(rows.len());
        for r in &rows {
            let mut mail = pending_from_row(r)?;
            // A report mail carries its kept PDF.
            if let Some(report) = r.get::<Option<String>, _>("report_id") {
                let kept: Option<(String, Vec<u8>)> =
                    sqlx::query_as("SELECT file_name, pdf FROM report_history WHERE id = ?")
                        .bind(&report)
                        .fetch_optional(&self.pool)
                        .await?;
                mail.attachment = kept.map(|(file_name, bytes)| MailAttachment {
                    file_name,
                    content_type: "application/pdf".into(),
                    bytes,
                });
            }
            mails.push(mail);
        }
        mails.sort_by_key(|m| m.id);
        Ok(mails)
    }

    /// Committed just before the mail server gets the message's last byte.
    pub async fn mark_handed_over(&self, id: Uuid) -> CoreResult<()> {
        let _guard = self.write_lock_only().await;
        sqlx::query("UPDATE outbox SET handed_over = 1 WHERE id = ? AND state = 'sending'")
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records how sending went; returns the mail's state afterwards.
    pub async fn record_mail_try(
        &self,
        id: Uuid,
        outcome: &MailOutcome,
        retry_base: Duration,
    ) -> CoreResult<OutboxState> {
        let _guard = self.write_lock_only().await;
        let now = to_ms(self.now());
        let attempts: Option<i64> =
            sqlx::query_scalar("SELECT attempts FROM outbox WHERE id = ? AND state = 'sending'")
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?;
        let Some(attempts) = attempts else {
            return Err(CoreError::Conflict(format!("mail {id} is not being sent")));
        };
        let attempts = attempts + 1;
        let (state, next, error) = match outcome {
            MailOutcome::Sent => (OutboxState::Sent, now, None),
            MailOutcome::Failed {
                step,
                permanent,
                message,
            } => {
                let error = format!("{}: {message}", step_name(*step));
                if *permanent || attempts >= MAIL_TRIES {
                    (OutboxState::Failed, now, Some(error))
                } else {
                    let wait = mail_retry_delay(retry_base, attempts).as_millis() as i64;
                    (OutboxState::Queued, now + wait, Some(error))
                }
            }
        };
        sqlx::query(
            "UPDATE outbox SET state = ?, attempts = ?, next_attempt_at = ?, last_error = ?, \
             handed_over = 0, sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END WHERE id = ?",
        )
        .bind(state_str(state))
        .bind(attempts)
        .bind(next)
        .bind(error)
        .bind(state_str(state))
        .bind(now)
        .bind(id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(state)
    }
}
