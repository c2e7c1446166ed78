//! Mail in: the mailboxes the server reads, and what each mail becomes — a new ticket for the
//! right client, a comment on the ticket it answers, or nothing (an auto-reply, a bounce, our
//! own mail, a loop, a duplicate). Each mail is decided and stored in one transaction with
//! the note that it was taken, so a mail is never imported twice.

use super::mail::{check_address, check_host, mail_from};
use super::render::{one_line, ticket_number_in};
use super::vault;
use crate::clients::insert_contact;
use crate::clock::{from_ms, to_ms};
use crate::desk::tickets::{insert_client_comment, insert_ticket, set_status_at, TicketDraft};
use crate::error::{invalid, CoreError, CoreResult};
use crate::store::{opt_uuid, parse_uuid, Actor, Core, Op, WriteTx};
use outpost_proto::{
    Contact, IncomingAttachment, IncomingMail, MailSender, Mailbox, NewMailbox, Priority,
    TicketStatus,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use uuid::Uuid;

/// Mail over this size is not imported (it is left in the mailbox, marked read).
pub const MAX_MAIL_BYTES: u64 = 25 * 1024 * 1024;
/// Where mail from unknown senders of a mailbox without a client goes.
pub const UNSORTED_CLIENT: &str = "Unsorted mail";
const MAIL_USER: (&str, &str) = ("outpost-mail", "Mail in");
/// A sender's identical mail within this time is a loop, not news.
const LOOP_WINDOW_MS: i64 = 3_600_000;
const FREE_MAIL: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "msn.com",
    "yahoo.com",
    "icloud.com",
    "me.com",
    "aol.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "proton.me",
    "protonmail.com",
    "t-online.de",
    "mail.com",
    "yandex.ru",
    "outlook.de",
    "hotmail.de",
];

/// A mailbox as the poller uses it (password opened).
#[derive(Clone)]
pub struct MailboxConfig {
    pub id: Uuid,
    pub host: String,
    pub port: u16,
    pub tls: bool,
    pub username: String,
    pub password: String,
    pub folder: String,
    pub uidvalidity: Option<u32>,
    pub last_uid: u32,
}

/// What became of one mail.
#[derive(Debug, Clone, PartialEq)]
pub enum ImportOutcome {
    NewTicket {
        ticket_id: Uuid,
        number: i64,
    },
    Comment {
        ticket_id: Uuid,
        number: i64,
        reopened: bool,
    },
    Ignored {
        reason: String,
    },
    /// This mailbox's UID was taken before.
    AlreadyTaken,
}

fn domain(addr: &str) -> String {
    addr.rsplit_once('@')
        .map(|(_, d)| d.to_ascii_lowercase())
        .unwrap_or_default()
}

fn fingerprint(m: &IncomingMail) -> String {
    let mut h = Sha256::new();
    for part in [&m.from_address.to_ascii_lowercase(), &m.subject, &m.text] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

const MAILBOX_SELECT: &str = "SELECT m.*, c.name AS client_name, \
    (SELECT count(*) FROM imported_mails i WHERE i.mailbox_id = m.id AND i.outcome <> 'ignored') AS imported, \
    (SELECT count(*) FROM imported_mails i WHERE i.mailbox_id = m.id AND i.outcome = 'ignored') AS ignored \
    FROM mailboxes m LEFT JOIN clients c ON c.id = m.client_id";

fn mailbox_from_row(r: &SqliteRow) -> CoreResult<Mailbox> {
    Ok(Mailbox {
        id: parse_uuid(r.get("id"))?,
        host: r.get("host"),
        port: r.get::<i64, _>("port") as u16,
        tls: r.get::<i64, _>("tls") != 0,
        username: r.get("username"),
        folder: r.get("folder"),
        client_id: opt_uuid(r.get("client_id"))?,
        client_name: r.get("client_name"),
        created_at: from_ms(r.get("created_at")),
        last_checked_at: r.get::<Option<i64>, _>("last_checked_at").map(from_ms),
        last_error: r.get("last_error"),
        imported: r.get("imported"),
        ignored: r.get("ignored"),
    })
}

/// The ticket a mail answers: by its threading headers, else by `[#n]` in the subject when
/// the sender belongs to the ticket's client (anyone can type a number).
async fn answered_ticket(
    w: &mut WriteTx<'_>,
    m: &IncomingMail,
) -> CoreResult<Option<(Uuid, i64, String)>> {
    for id in m.in_reply_to.iter().chain(m.references.iter().rev()) {
        let found: Option<(String, i64, String)> = sqlx::query_as(
            "SELECT t.id, t.number, t.status FROM ticket_mail_ids x JOIN tickets t ON t.id = x.ticket_id \
             WHERE x.message_id = ?",
        )
        .bind(id.trim_matches(['<', '>']))
        .fetch_optional(&mut *w.tx)
        .await?;
        if let Some((id, n, status)) = found {
            return Ok(Some((parse_uuid(&id)?, n, status)));
        }
    }
    let Some(number) = ticket_number_in(&m.subject) else {
        return Ok(None);
    };
    let found: Option<(String, i64, String, String)> =
        sqlx::query_as("SELECT id, number, status, client_id FROM tickets WHERE number = ?")
            .bind(number)
            .fetch_optional(&mut *w.tx)
            .await?;
    let Some((id, n, status, client)) = found else {
        return Ok(None);
    };
    let sender = m.from_address.to_ascii_lowercase();
    let known: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM contacts WHERE client_id = ? AND (lower(trim(email)) = ? \
         OR (? NOT IN (SELECT value FROM json_each(?)) AND lower(trim(email)) LIKE '%@' || ?))",
    )
    .bind(&client)
    .bind(&sender)
    .bind(domain(&sender))
    .bind(json!(FREE_MAIL).to_string())
    .bind(domain(&sender))
    .fetch_one(&mut *w.tx)
    .await?;
    if known == 0 {
        return Ok(None);
    }
    Ok(Some((parse_uuid(&id)?, n, status)))
}

/// The client (and contact) of a new ticket from `sender`.
async fn client_for(
    w: &mut WriteTx<'_>,
    sender: &str,
    mailbox_client: Option<Uuid>,
) -> CoreResult<(Uuid, Option<Uuid>)> {
    let sender = sender.to_ascii_lowercase();
    let contact: Option<(String, String)> = sqlx::query_as(
        "SELECT id, client_id FROM contacts WHERE lower(trim(email)) = ? ORDER BY created_at LIMIT 1",
    )
    .bind(&sender)
    .fetch_optional(&mut *w.tx)
    .await?;
    if let Some((contact, client)) = contact {
        return Ok((parse_uuid(&client)?, Some(parse_uuid(&contact)?)));
    }
    let d = domain(&sender);
    if !d.is_empty() && !FREE_MAIL.contains(&d.as_str()) {
        let clients: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT client_id FROM contacts WHERE lower(trim(email)) LIKE '%@' || ?",
        )
        .bind(&d)
        .fetch_all(&mut *w.tx)
        .await?;
        // One client has people at that domain: it is theirs. Several: nobody can tell.
        if let [one] = clients.as_slice() {
            return Ok((parse_uuid(one)?, None));
        }
    }
    if let Some(c) = mailbox_client {
        return Ok((c, None));
    }
    let unsorted: Option<String> = sqlx::query_scalar("SELECT id FROM clients WHERE name = ?")
        .bind(UNSORTED_CLIENT)
        .fetch_optional(&mut *w.tx)
        .await?;
    let id = match unsorted {
        Some(id) => parse_uuid(&id)?,
        None => {
            crate::clients::insert_client(
                w,
                UNSORTED_CLIENT,
                "Mail from senders Outpost could not place. Move each ticket to its client.",
            )
            .await?
        }
    };
    Ok((id, None))
}

fn clip(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max_chars.saturating_sub(30)).collect();
    out.push_str("\n\n[… cut: the mail was longer]");
    out
}

impl Core {
    pub async fn create_mailbox(&self, actor: &Actor, req: NewMailbox) -> CoreResult<Mailbox> {
        actor.require_admin()?;
        let host = req.host.trim().to_ascii_lowercase();
        check_host(&host)?;
        if req.port == 0 {
            return Err(invalid("port must be 1 to 65535 (993 for IMAPS)"));
        }
        let username = req.username.trim().to_string();
        if username.is_empty() || username.chars().count() > 200 {
            return Err(invalid("username must be 1 to 200 characters"));
        }
        if req.password.is_empty() || req.password.chars().count() > 500 {
            return Err(invalid("password must be 1 to 500 characters"));
        }
        let folder = req.folder.trim().to_string();
        if folder.is_empty()
            || folder.chars().count() > 200
            || folder.chars().any(|c| c.is_control() || c == '"')
        {
            return Err(invalid(
                "folder must be a folder name such as INBOX (no quotes or control characters)",
            ));
        }
        let sealed = vault::seal(&vault::load_or_create_key(&self.data_dir)?, &req.password)?;
        let mut w = self.write(actor).await?;
        if let Some(c) = req.client_id {
            crate::clients::ensure_client(&mut w, c).await?;
        }
        let taken: Option<String> = sqlx::query_scalar(
            "SELECT id FROM mailboxes WHERE host = ? AND port = ? AND username = ? AND folder = ?",
        )
        .bind(&host)
        .bind(req.port as i64)
        .bind(&username)
        .bind(&folder)
        .fetch_optional(&mut *w.tx)
        .await?;
        if taken.is_some() {
            return Err(CoreError::Conflict(format!(
                "{username}'s {folder} on {host} is read already"
            )));
        }
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO mailboxes (id, host, port, tls, username, password_sealed, folder, \
             client_id, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(&host)
        .bind(req.port as i64)
        .bind(req.tls)
        .bind(&username)
        .bind(sealed)
        .bind(&folder)
        .bind(req.client_id.map(|c| c.to_string()))
        .bind(&actor.name)
        .bind(w.now_ms())
        .execute(&mut *w.tx)
        .await?;
        w.audit(
            "mailbox.create",
            "mailbox",
            id,
            None,
            Some(
                json!({"host": host, "port": req.port, "tls": req.tls, "username": username,
                        "folder": folder}),
            ),
        )
        .await?;
        w.commit().await?;
        self.mailbox(id).await
    }

    async fn mailbox(&self, id: Uuid) -> CoreResult<Mailbox> {
        let row = sqlx::query(&format!("{MAILBOX_SELECT} WHERE m.id = ?"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| CoreError::NotFound(format!("mailbox {id} does not exist")))?;
        mailbox_from_row(&row)
    }

    pub async fn list_mailboxes(&self, actor: &Actor) -> CoreResult<Vec<Mailbox>> {
        actor.require_admin()?;
        let rows = sqlx::query(&format!("{MAILBOX_SELECT} ORDER BY m.created_at"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(mailbox_from_row).collect()
    }

    pub async fn delete_mailbox(&self, actor: &Actor, id: Uuid) -> CoreResult<()> {
        actor.require_admin()?;
        let before = self.mailbox(id).await?;
        let mut w = self.write(actor).await?;
        sqlx::query("DELETE FROM mailboxes WHERE id = ?")
            .bind(id.to_string())
            .execute(&mut *w.tx)
            .await?;
        w.audit(
            "mailbox.delete",
            "mailbox",
            id,
            Some(json!({"host": before.host, "username": before.username})),
            None,
        )
        .await?;
        w.commit().await
    }

    /// Every mailbox to read, with its password opened.
    pub async fn mailbox_configs(&self) -> CoreResult<Vec<MailboxConfig>> {
        let rows = sqlx::query("SELECT * FROM mailboxes ORDER BY created_at")
            .fetch_all(&self.pool)
            .await?;
        let key = vault::load_or_create_key(&self.data_dir)?;
        rows.iter()
            .map(|r| {
                Ok(MailboxConfig {
                    id: parse_uuid(r.get("id"))?,
                    host: r.get("host"),
                    port: r.get::<i64, _>("port") as u16,
                    tls: r.get::<i64, _>("tls") != 0,
                    username: r.get("username"),
                    password: vault::open(&key, r.get("password_sealed"))?,
                    folder: r.get("folder"),
                    uidvalidity: r.get::<Option<i64>, _>("uidvalidity").map(|v| v as u32),
                    last_uid: r.get::<i64, _>("last_uid") as u32,
                })
            })
            .collect()
    }

    /// Notes a check of a mailbox: how far it has read, or why it could not.
    pub async fn record_mailbox_check(
        &self,
        id: Uuid,
        uidvalidity: Option<u32>,
        last_uid: Option<u32>,
        error: Option<&str>,
    ) -> CoreResult<()> {
        let _guard = self.write_lock_only().await;
        sqlx::query(
            "UPDATE mailboxes SET last_checked_at = ?, last_error = ?, \
             uidvalidity = coalesce(?, uidvalidity), last_uid = coalesce(?, last_uid) WHERE id = ?",
        )
        .bind(to_ms(self.now()))
        .bind(error)
        .bind(uidvalidity.map(i64::from))
        .bind(last_uid.map(i64::from))
        .bind(id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Decides what one mail becomes and stores it, with the note that this mailbox's UID
    /// was taken, in one transaction.
    pub async fn import_mail(
        &self,
        mailbox_id: Uuid,
        uidvalidity: u32,
        uid: u32,
        m: &IncomingMail,
    ) -> CoreResult<ImportOutcome> {
        let system = Actor::system();
        let mut w = self.write(&system).await?;
        let taken: Option<i64> = sqlx::query_scalar(
            "SELECT rid FROM imported_mails WHERE mailbox_id = ? AND uidvalidity = ? AND uid = ?",
        )
        .bind(mailbox_id.to_string())
        .bind(uidvalidity as i64)
        .bind(uid as i64)
        .fetch_optional(&mut *w.tx)
        .await?;
        if taken.is_some() {
            return Ok(ImportOutcome::AlreadyTaken);
        }
        let mailbox_client: Option<Option<String>> =
            sqlx::query_scalar("SELECT client_id FROM mailboxes WHERE id = ?")
                .bind(mailbox_id.to_string())
                .fetch_optional(&mut *w.tx)
                .await?;
        let Some(mailbox_client) = mailbox_client else {
            return Err(CoreError::NotFound(format!(
                "mailbox {mailbox_id} does not exist"
            )));
        };
        let print = fingerprint(m);
        let message_id = if m.message_id.is_empty() {
            format!("no-id-{print}")
        } else {
            m.message_id.trim_matches(['<', '>']).to_string()
        };
        let now = w.now_ms();
        let own = mail_from(&mut w.tx)
            .await?
            .map(|(a, _)| a.to_ascii_lowercase());
        let seen_id: i64 =
            sqlx::query_scalar("SELECT count(*) FROM imported_mails WHERE message_id = ?")
                .bind(&message_id)
                .fetch_one(&mut *w.tx)
                .await?;
        let ours: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE message_id = ?")
            .bind(&message_id)
            .fetch_one(&mut *w.tx)
            .await?;
        let repeated: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM imported_mails WHERE fingerprint = ? AND at > ?",
        )
        .bind(&print)
        .bind(now - LOOP_WINDOW_MS)
        .fetch_one(&mut *w.tx)
        .await?;
        let sender = m.from_address.trim().to_ascii_lowercase();
        let ignored = if let Some(why) = &m.refused {
            Some(why.clone())
        } else if m.size > MAX_MAIL_BYTES {
            Some(format!(
                "the mail is {} MiB, over the {} MiB limit",
                m.size / (1024 * 1024),
                MAX_MAIL_BYTES / (1024 * 1024)
            ))
        } else if let Some(why) = &m.automatic {
            Some(format!(
                "written by a machine ({why}): no ticket, no answer"
            ))
        } else if check_address(&sender).is_err() {
            Some(format!(
                "the sender '{}' is not a mail address",
                m.from_address
            ))
        } else if own.as_deref() == Some(sender.as_str()) || ours > 0 {
            Some("our own mail came back".to_string())
        } else if seen_id > 0 {
            Some("the same mail (Message-ID) was imported already".to_string())
        } else if repeated > 0 {
            Some("the same sender sent the same mail again within an hour (a loop?)".to_string())
        } else {
            None
        };
        let (outcome, result) = if let Some(reason) = ignored {
            (
                ("ignored", Some(reason.clone()), None),
                ImportOutcome::Ignored { reason },
            )
        } else {
            let author = crate::auth::service_user(&mut w, MAIL_USER.0, MAIL_USER.1).await?;
            let from_line = if m.from_name.trim().is_empty() {
                format!("From {sender} by mail:")
            } else {
                format!("From {} <{sender}> by mail:", one_line(&m.from_name))
            };
            let mut text = if m.text.trim().is_empty() && m.attachments.is_empty() {
                "(the mail had no text)".to_string()
            } else {
                m.text.trim().to_string()
            };
            let (files, not_kept) = mail_files(&mut w, m).await?;
            if !not_kept.is_empty() {
                text = format!("{text}\n\n(Not kept: {}.)", not_kept.join("; "));
            }
            let engine = crate::desk::sla::engine_in(&mut w).await?;
            let at = w.now;
            match answered_ticket(&mut w, m).await? {
                // A closed ticket is final: an answer to it is a new ticket.
                Some((ticket, number, status)) if status != "closed" => {
                    let body = clip(&format!("{from_line}\n\n{text}"), 19_000);
                    let comment =
                        insert_client_comment(&mut w, &engine, ticket, author, &body, at).await?;
                    keep_files(
                        &mut w,
                        &self.data_dir,
                        ticket,
                        Some(comment),
                        author,
                        &files,
                    )
                    .await?;
                    let reopened = status == "waiting_on_client";
                    if reopened {
                        set_status_at(&mut w, &engine, ticket, TicketStatus::Open, at).await?;
                    }
                    (
                        ("comment", None, Some(ticket)),
                        ImportOutcome::Comment {
                            ticket_id: ticket,
                            number,
                            reopened,
                        },
                    )
                }
                answered => {
                    let (client, contact) =
                        client_for(&mut w, &sender, opt_uuid(mailbox_client)?).await?;
                    let mut description = format!("{from_line}\n\n{text}");
                    if let Some((_, n, _)) = answered {
                        description =
                            format!("Follow-up to the closed ticket #{n}.\n\n{description}");
                    }
                    let subject = one_line(&m.subject);
                    let title: String = if subject.is_empty() {
                        "(no subject)".into()
                    } else {
                        subject.chars().take(200).collect()
                    };
                    let draft = TicketDraft {
                        title,
                        description: clip(&description, 19_000),
                        priority: Priority::Normal,
                        client_id: client,
                        site_id: None,
                        contact_id: contact,
                        assignee_id: None,
                        tags: vec![],
                    };
                    let (ticket, number) = insert_ticket(&mut w, &engine, &draft, at).await?;
                    keep_files(&mut w, &self.data_dir, ticket, None, author, &files).await?;
                    if contact.is_none() {
                        sqlx::query(
                            "INSERT INTO ticket_mail_senders (ticket_id, address, name) VALUES (?, ?, ?)",
                        )
                        .bind(ticket.to_string())
                        .bind(&sender)
                        .bind(one_line(&m.from_name))
                        .execute(&mut *w.tx)
                        .await?;
                    }
                    (
                        ("ticket", None, Some(ticket)),
                        ImportOutcome::NewTicket {
                            ticket_id: ticket,
                            number,
                        },
                    )
                }
            }
        };
        let (kind, reason, ticket) = outcome;
        if let Some(t) = ticket {
            // The others on the thread get the desk's mail on it too (never ourselves).
            for cc in m.cc.iter().take(super::mail::MAX_CC) {
                let cc = cc.trim().to_ascii_lowercase();
                if check_address(&cc).is_err()
                    || own.as_deref() == Some(cc.as_str())
                    || cc == sender
                {
                    continue;
                }
                sqlx::query(
                    "INSERT OR IGNORE INTO ticket_mail_cc (ticket_id, address) VALUES (?, ?)",
                )
                .bind(t.to_string())
                .bind(&cc)
                .execute(&mut *w.tx)
                .await?;
            }
            // Later replies thread to this mail too.
            sqlx::query(
                "INSERT OR IGNORE INTO ticket_mail_ids (message_id, ticket_id, at) VALUES (?, ?, ?)",
            )
            .bind(&message_id)
            .bind(t.to_string())
            .bind(now)
            .execute(&mut *w.tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO imported_mails (mailbox_id, uidvalidity, uid, message_id, from_address, \
             fingerprint, outcome, reason, ticket_id, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(mailbox_id.to_string())
        .bind(uidvalidity as i64)
        .bind(uid as i64)
        .bind(&message_id)
        .bind(&sender)
        .bind(&print)
        .bind(kind)
        .bind(reason)
        .bind(ticket.map(|t| t.to_string()))
        .bind(now)
        .execute(&mut *w.tx)
        .await?;
        w.commit().await?;
        Ok(result)
    }

    /// The sender of a ticket that came by mail, when they are not a contact yet.
    pub async fn ticket_mail_sender(
        &self,
        actor: &Actor,
        ticket_id: Uuid,
    ) -> CoreResult<MailSender> {
        let ticket = self.ticket(ticket_id).await?;
        actor.require_client(ticket.client_id)?;
        let found: Option<(String, String)> =
            sqlx::query_as("SELECT address, name FROM ticket_mail_senders WHERE ticket_id = ?")
                .bind(ticket_id.to_string())
                .fetch_optional(&self.pool)
                .await?;
        Ok(match found {
            Some((address, name)) => MailSender {
                unknown: true,
                address,
                name,
            },
            None => MailSender {
                unknown: false,
                address: String::new(),
                name: String::new(),
            },
        })
    }

    /// Adds the unknown sender of a mail-made ticket as a contact of its client, and makes
    /// them the ticket's contact (one click).
    pub async fn add_sender_as_contact(
        &self,
        actor: &Actor,
        ticket_id: Uuid,
    ) -> CoreResult<Contact> {
        actor.require_write()?;
        let ticket = self.ticket(ticket_id).await?;
        actor.require_client(ticket.client_id)?;
        let mut w = self.write(actor).await?;
        let sender: Option<(String, String)> =
            sqlx::query_as("SELECT address, name FROM ticket_mail_senders WHERE ticket_id = ?")
                .bind(ticket_id.to_string())
                .fetch_optional(&mut *w.tx)
                .await?;
        let (address, name) = sender.ok_or_else(|| {
            CoreError::Conflict(format!(
                "ticket #{} has no unknown sender to add (it did not come by mail, or its \
                 sender was added already)",
                ticket.number
            ))
        })?;
        let name = if name.is_empty() {
            address.split('@').next().unwrap_or(&address).to_string()
        } else {
            name
        };
        let contact = insert_contact(&mut w, ticket.client_id, None, &name, &address, "").await?;
        let now = w.now_ms();
        sqlx::query("UPDATE tickets SET contact_id = ?, updated_at = ? WHERE id = ?")
            .bind(contact.to_string())
            .bind(now)
            .bind(ticket_id.to_string())
            .execute(&mut *w.tx)
            .await?;
        w.record_change(
            "ticket",
            ticket_id,
            Op::Update,
            json!({"contact_id": contact}),
        )
        .await?;
        sqlx::query("DELETE FROM ticket_mail_senders WHERE ticket_id = ?")
            .bind(ticket_id.to_string())
            .execute(&mut *w.tx)
            .await?;
        w.commit().await?;
        Ok(Contact {
            id: contact,
            client_id: ticket.client_id,
            site_id: None,
            name,
            email: address,
            phone: String::new(),
        })
    }
}

/// The most files one mail may bring (a mail of thousands of tiny parts is not a report).
const MAX_MAIL_FILES: usize = 50;

/// A mail's files that will be kept, and what was left out, in words.
async fn mail_files<'m>(
    w: &mut WriteTx<'_>,
    m: &'m IncomingMail,
) -> CoreResult<(Vec<&'m IncomingAttachment>, Vec<String>)> {
    let max = crate::desk::attachments::max_file_bytes(w).await?;
    let mut kept = Vec::new();
    let mut not_kept = Vec::new();
    for (n, a) in m.attachments.iter().enumerate() {
        let name = crate::desk::attachments::safe_file_name(&a.file_name);
        if n >= MAX_MAIL_FILES {
            not_kept.push(format!(
                "{} more files (a mail brings at most {MAX_MAIL_FILES})",
                m.attachments.len() - MAX_MAIL_FILES
            ));
            break;
        }
        if a.bytes.is_empty() {
            continue;
        }
        if a.bytes.len() as i64 > max {
            not_kept.push(format!(
                "{name}, {}, over the {} limit for one file",
                crate::desk::attachments::human_size(a.bytes.len() as i64),
                crate::desk::attachments::human_size(max)
            ));
            continue;
        }
        kept.push(a);
    }
    Ok((kept, not_kept))
}

async fn keep_files(
    w: &mut WriteTx<'_>,
    data_dir: &std::path::Path,
    ticket: Uuid,
    comment: Option<Uuid>,
    author: Uuid,
    files: &[&IncomingAttachment],
) -> CoreResult<()> {
    for f in files {
        crate::desk::attachments::attach(
            w,
            data_dir,
            crate::desk::attachments::NewFile {
                ticket_id: ticket,
                comment_id: comment,
                file_name: &f.file_name,
                bytes: &f.bytes,
                source: "mail",
                uploaded_by: author,
            },
        )
        .await?;
    }
    Ok(())
}
