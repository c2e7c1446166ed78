//! Telling the outside world: webhooks now; mail and in-app notifications build on the same
//! events (see docs/design/mail-and-webhooks.md).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

// ---------------------------------------------------------------- webhooks

/// An admin's subscription of a URL to events.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// Where deliveries are POSTed: http or https, not this server itself.
    pub url: String,
    /// Event names: `ticket.created`, `ticket.updated`, `comment.added`, `alert.opened`,
    /// `alert.resolved`, `run.finished`, `report.ready`.
    pub events: Vec<String>,
    /// The HMAC-SHA256 key the receiver checks signatures with (16 to 200 characters);
    /// made here when absent and shown once.
    #[serde(default)]
    #[ts(optional)]
    pub secret: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct Webhook {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<String>,
    /// Only in the answer that created it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub secret: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// Deliveries waiting (queued or being retried).
    pub queued: i64,
    pub delivered: i64,
    /// Deliveries that failed every try and wait in the dead-letter list.
    pub dead: i64,
    pub last_delivered_at: Option<DateTime<Utc>>,
}

/// A delivery that failed every try: what was sent and the last answer seen.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct DeadLetter {
    /// The delivery's id (the `X-Outpost-Delivery` header; a replay keeps it).
    pub id: Uuid,
    pub webhook_id: Uuid,
    pub url: String,
    pub event: String,
    /// The JSON body as sent.
    pub body: String,
    pub attempts: i64,
    /// The last HTTP status received, if the receiver answered at all.
    pub last_status: Option<i64>,
    /// The start of the last answer's body (at most 2 KiB).
    pub last_response: Option<String>,
    /// What went wrong on the last try, in words (timeout, refused, status…).
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub failed_at: DateTime<Utc>,
}

// ---------------------------------------------------------------- mail out

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, TS, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// TLS from the first byte (usually port 465).
    Tls,
    /// Plain, then upgraded with STARTTLS before anything else is said (usually 587).
    Starttls,
    /// No encryption: only for a relay on this machine or a trusted network.
    None,
}

/// The organisation's outgoing mail server.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct SetSmtpSettings {
    pub host: String,
    #[schema(minimum = 1, maximum = 65535)]
    pub port: u16,
    pub security: SmtpSecurity,
    /// Empty or absent: the server takes mail without logging in.
    #[serde(default)]
    #[ts(optional)]
    pub username: Option<String>,
    /// Absent keeps the stored password; empty removes it.
    #[serde(default)]
    #[ts(optional)]
    pub password: Option<String>,
    /// The address mail comes from (and clients reply to).
    pub from_address: String,
    /// The name shown with it ("Acme IT Service Desk").
    pub from_name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct SmtpSettings {
    /// False until an admin has set the mail server: nothing is mailed before.
    pub configured: bool,
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: String,
    /// Whether a password is stored (it is never shown).
    pub password_set: bool,
    pub from_address: String,
    pub from_name: String,
    pub updated_by: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct SmtpTestRequest {
    /// Who receives the test mail.
    pub to: String,
}

/// The steps of sending a mail, in order: a failure names the one it stopped at.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, TS, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MailStep {
    /// Finding the server's address.
    Dns,
    /// Opening the connection.
    Connect,
    /// Encrypting it.
    Tls,
    /// Logging in.
    Auth,
    /// The server taking the sender address.
    Sender,
    /// The server taking a recipient.
    Recipient,
    /// The server taking the message itself.
    Message,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct SmtpTestResult {
    pub ok: bool,
    /// Where it failed.
    pub step: Option<MailStep>,
    /// What happened, in words (what the server said, when it said something).
    pub message: String,
}

/// The mails the desk sends by itself.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, TS, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MailTemplateKind {
    /// A technician's public reply on a ticket.
    Reply,
    /// A new ticket with a contact: "we have it, it is #1042".
    Acknowledgement,
    /// The ticket was resolved.
    Resolved,
    /// A notification mailed to a technician (no template to edit).
    Notification,
    /// A client's service report mailed by its schedule, the PDF attached (no template).
    Report,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct MailTemplate {
    pub kind: MailTemplateKind,
    /// Off: this kind of mail is not sent (replies cannot be turned off).
    pub enabled: bool,
    pub subject: String,
    pub body: String,
    /// Whether it is still the one Outpost came with.
    pub is_default: bool,
    /// The placeholders it may use (`{{ticket.number}}`…).
    pub placeholders: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct SetMailTemplate {
    pub kind: MailTemplateKind,
    #[serde(default)]
    #[ts(optional)]
    pub enabled: Option<bool>,
    #[schema(min_length = 1, max_length = 300)]
    pub subject: String,
    #[schema(min_length = 1, max_length = 20000)]
    pub body: String,
}

/// A template (as stored, or as being edited) filled in for a ticket.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct PreviewMailTemplate {
    pub kind: MailTemplateKind,
    pub subject: String,
    pub body: String,
    /// The ticket to fill it with (default: the newest one).
    #[serde(default)]
    #[ts(optional)]
    pub ticket_id: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct MailPreview {
    pub subject: String,
    pub body: String,
    /// Placeholders that mean nothing (they are left as written).
    pub unknown: Vec<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, TS, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// Waiting for its turn or its next try.
    Queued,
    /// Being sent now.
    Sending,
    /// The server stopped while the mail server was taking it: it may have arrived. A person
    /// decides (send again, or mark sent); it is never sent twice by itself.
    Unsure,
    Sent,
    /// Refused for good, or every try failed.
    Failed,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct OutboxMail {
    pub id: Uuid,
    pub kind: MailTemplateKind,
    pub ticket_id: Option<Uuid>,
    pub ticket_number: Option<i64>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: String,
    pub body: String,
    pub message_id: String,
    pub state: OutboxState,
    pub attempts: i64,
    /// The step and words of the last failure.
    pub last_error: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, TS, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OutboxQuery {
    #[serde(default)]
    #[ts(optional)]
    pub state: Option<OutboxState>,
    #[serde(default)]
    #[ts(optional)]
    pub ticket_id: Option<Uuid>,
    /// 1..=500, default 100.
    #[serde(default)]
    #[ts(optional)]
    pub limit: Option<i64>,
    #[serde(default)]
    #[ts(optional)]
    pub offset: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct OutboxPage {
    pub items: Vec<OutboxMail>,
    pub total: i64,
    /// How many wait for a person's decision (unsure) or failed.
    pub unsure: i64,
    pub failed: i64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, TS, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OutboxDecision {
    /// Queue it again (an unsure or failed mail).
    Resend,
    /// It did arrive: stop asking.
    MarkSent,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct DecideOutboxMail {
    pub decision: OutboxDecision,
}

// ---------------------------------------------------------------- mail in

/// An IMAP mailbox the desk reads: new mail becomes tickets, replies become comments.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct NewMailbox {
    pub host: String,
    #[schema(minimum = 1, maximum = 65535)]
    pub port: u16,
    /// TLS from the first byte (IMAPS, usually 993); false only for a server on this
    /// machine or a trusted network.
    pub tls: bool,
    pub username: String,
    pub password: String,
    /// The folder to read (INBOX).
    pub folder: String,
    /// Mail from unknown senders of this mailbox goes to this client (else "Unsorted mail").
    #[serde(default)]
    #[ts(optional)]
    pub client_id: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct Mailbox {
    pub id: Uuid,
    pub host: String,
    pub port: u16,
    pub tls: bool,
    pub username: String,
    pub folder: String,
    pub client_id: Option<Uuid>,
    pub client_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_checked_at: Option<DateTime<Utc>>,
    /// Why the last check failed, in words; None when it worked.
    pub last_error: Option<String>,
    /// Mails that became a ticket or a comment.
    pub imported: i64,
    /// Mails recognised as auto-replies, bounces, loops or duplicates (no ticket).
    pub ignored: i64,
}

/// One mail as read from a mailbox, already parsed (outpost-mail) into safe text. Not on the
/// wire: the server hands it to the core.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IncomingMail {
    /// Without angle brackets; may be empty (then a fingerprint stands in).
    pub message_id: String,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    pub from_address: String,
    pub from_name: String,
    pub subject: String,
    /// Plain text (HTML turned into text), quoted history folded away.
    pub text: String,
    /// Why it is written by a machine (Auto-Submitted, Precedence, a bounce…), if it is.
    pub automatic: Option<String>,
    pub cc: Vec<String>,
    pub size: u64,
    /// Why it cannot be taken at all (over the size cap, not a readable mail).
    pub refused: Option<String>,
    /// Its files (inline images included).
    pub attachments: Vec<IncomingAttachment>,
}

/// Who wrote a ticket that came by mail, when they are not a contact yet.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct MailSender {
    /// False: the ticket has no unknown sender (it did not come by mail, or they were added).
    pub unknown: bool,
    pub address: String,
    pub name: String,
}

// ---------------------------------------------------------------- notifications

/// What a technician is told about.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, TS, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// A ticket was assigned to me (by someone else).
    Assigned,
    /// A client replied by mail on my ticket.
    ClientReplied,
    /// Someone wrote @my-username in an internal note.
    Mentioned,
    /// My ticket has less than a quarter of its SLA time left.
    SlaAtRisk,
    /// My ticket missed its SLA target.
    SlaBreached,
    /// An alert opened for a client I am limited to.
    AlertOpened,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct Notification {
    pub id: Uuid,
    pub kind: NotificationKind,
    pub ticket_id: Option<Uuid>,
    pub title: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct NotificationList {
    /// Newest first.
    pub items: Vec<Notification>,
    pub unread: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct MarkNotificationsRead {
    /// These; absent: all of mine.
    #[serde(default)]
    #[ts(optional)]
    pub ids: Option<Vec<Uuid>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct NotificationPrefs {
    pub in_app: Vec<NotificationKind>,
    pub by_mail: Vec<NotificationKind>,
    /// Where mail notifications go (empty: none are mailed).
    pub mail_to: String,
}

// ---------------------------------------------------------------- attachments

/// A file on a ticket or one of its comments. The metadata reaches every console that holds
/// the ticket; the bytes are fetched on first open and then kept.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct Attachment {
    pub id: Uuid,
    pub ticket_id: Uuid,
    /// The comment it came with (a reply's files, a mail's attachments); None: the ticket's.
    pub comment_id: Option<Uuid>,
    /// The name as given, made safe: no folders, no control characters.
    pub file_name: String,
    /// What it is served as, decided from its bytes and name (never what the sender claimed).
    pub content_type: String,
    pub size: i64,
    /// SHA-256 of the bytes, hex: the name they are stored under.
    pub sha256: String,
    /// Where it came from: `upload` or `mail`.
    pub source: String,
    pub uploaded_by: Uuid,
    pub uploaded_by_name: String,
    pub created_at: DateTime<Utc>,
    /// An image the console may show inline (PNG, JPEG, GIF or WebP by its bytes).
    pub preview: bool,
    /// Why opening it deserves care, in words (a program, or a name that hides one); None:
    /// an ordinary file.
    pub warning: Option<String>,
    /// Its bytes are in this store (false on a console that has not opened it yet).
    pub available: bool,
}

/// A file sent as JSON (the desktop app; over HTTP files are sent as multipart form data).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct NewAttachment {
    pub ticket_id: Uuid,
    #[serde(default)]
    pub comment_id: Option<Uuid>,
    pub file_name: String,
    /// The bytes, base64.
    pub data_base64: String,
}

/// A file's bytes as JSON (the desktop app; over HTTP `GET /attachments/{id}` sends them).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
pub struct AttachmentContent {
    pub attachment: Attachment,
    pub data_base64: String,
}

/// How large a file may be attached (admins).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AttachmentSettings {
    /// The largest file accepted, in MiB (1 to 100).
    pub max_file_mib: i64,
}

/// One attachment of a mail as read from a mailbox. Not on the wire.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IncomingAttachment {
    pub file_name: String,
    pub bytes: Vec<u8>,
}
