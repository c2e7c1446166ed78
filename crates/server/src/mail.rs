//! The mail sender: sends the outbox through the organisation's SMTP server, recording
//! `handed_over` before each message's last byte (see outpost_core::notify::mail), and
//! answers "send a test mail".

use outpost_core::notify::mail::{MailOutcome, PendingMail, SmtpConfig, SmtpTester};
use outpost_core::Core;
use outpost_mail::smtp;
use outpost_proto::SmtpTestResult;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct MailConfig {
    /// How often the outbox is looked at.
    pub tick: Duration,
    /// The wait after a first failure; it doubles each time, up to an hour.
    pub retry_base: Duration,
    /// Each network wait of an SMTP session.
    pub timeout: Duration,
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            tick: Duration::from_secs(1),
            retry_base: Duration::from_secs(60),
            timeout: Duration::from_secs(30),
        }
    }
}

fn server_of(c: &SmtpConfig, timeout: Duration) -> smtp::Server {
    smtp::Server {
        host: c.host.clone(),
        port: c.port,
        security: c.security,
        username: c.username.clone(),
        password: c.password.clone(),
        timeout,
    }
}

struct Tester(Duration);

impl SmtpTester for Tester {
    fn test(
        &self,
        config: SmtpConfig,
        to: String,
    ) -> Pin<Box<dyn Future<Output = SmtpTestResult> + Send>> {
        let timeout = self.0;
        Box::pin(async move {
            smtp::test(
                &server_of(&config, timeout),
                &config.from_address,
                &config.from_name,
                &to,
            )
            .await
        })
    }
}

fn outgoing(config: &SmtpConfig, m: &PendingMail) -> smtp::Outgoing {
    smtp::Outgoing {
        from_address: config.from_address.clone(),
        from_name: config.from_name.clone(),
        to: m.to.clone(),
        cc: m.cc.clone(),
        subject: m.subject.clone(),
        body: m.body.clone(),
        message_id: m.message_id.clone(),
        in_reply_to: m
            .in_reply_to
            .as_ref()
            .map(|r| r.trim_matches(['<', '>']).to_string()),
        references: m
            .references
            .iter()
            .map(|r| r.trim_matches(['<', '>']).to_string())
            .collect(),
        date: m.created_at.into(),
        automatic: m.automatic(),
        attachments: m
            .attachment
            .iter()
            .map(|a| (a.file_name.clone(), a.content_type.clone(), a.bytes.clone()))
            .collect(),
    }
}

fn failed(f: smtp::Failure) -> MailOutcome {
    MailOutcome::Failed {
        step: f.step,
        permanent: f.permanent,
        message: f.message,
    }
}

/// Sends one mail over `conn` (connecting first when there is none): envelope, handed
/// over, message. A connection that failed is dropped; one still good stays for the next.
async fn send_one(
    core: &Core,
    config: &SmtpConfig,
    timeout: Duration,
    conn: &mut Option<smtp::Connection>,
    m: &PendingMail,
) -> MailOutcome {
    let bytes = match smtp::compose(&outgoing(config, m)) {
        Ok(b) => b,
        Err(f) => return failed(f),
    };
    let mut c = match conn.take() {
        Some(c) => c,
        None => match smtp::connect(&server_of(config, timeout)).await {
            Ok(c) => c,
            Err(f) => return failed(f),
        },
    };
    let recipients: Vec<String> = m.to.iter().chain(&m.cc).cloned().collect();
    if let Err(f) = c.begin(&config.from_address, &recipients).await {
        if c.reset().await {
            *conn = Some(c);
        }
        return failed(f);
    }
    // From here the mail server may keep the message even if we stop: say so first.
    if let Err(e) = core.mark_handed_over(m.id).await {
        return MailOutcome::Failed {
            step: outpost_proto::MailStep::Message,
            permanent: false,
            message: format!("could not note the handover: {e}"),
        };
    }
    match c.finish(&bytes).await {
        Ok(()) => {
            *conn = Some(c);
            MailOutcome::Sent
        }
        Err(f) => {
            // Refused after DATA: that transaction is over; a broken line is dropped.
            if c.reset().await {
                *conn = Some(c);
            }
            failed(f)
        }
    }
}

/// Starts the sender (and registers the test-mail runner) until the process ends.
pub fn start(core: Arc<Core>, config: MailConfig) -> tokio::task::JoinHandle<()> {
    core.set_smtp_tester(Arc::new(Tester(config.timeout)));
    tokio::spawn(async move {
        match core.recover_outbox().await {
            Ok((again, unsure)) if again + unsure > 0 => tracing::warn!(
                again,
                unsure,
                "mail caught mid-send by the last stop: {again} queued again (surely not \
                 delivered), {unsure} wait for a person (may have arrived)"
            ),
            Ok(_) => {}
            Err(e) => tracing::error!("checking the outbox after a start: {e}"),
        }
        let mut tick = tokio::time::interval(config.tick);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let smtp = match core.smtp_config().await {
                Ok(Some(c)) => c,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!("reading the mail settings: {e}");
                    continue;
                }
            };
            loop {
                let due = match core.claim_due_mails(20).await {
                    Ok(d) => d,
                    Err(e) => {
                        tracing::warn!("reading the outbox: {e}");
                        break;
                    }
                };
                if due.is_empty() {
                    break;
                }
                // One connection carries the batch (a transaction per mail).
                let mut conn = None;
                for m in due {
                    let outcome = send_one(&core, &smtp, config.timeout, &mut conn, &m).await;
                    if let MailOutcome::Failed { message, .. } = &outcome {
                        tracing::warn!(mail = %m.id, "sending mail failed: {message}");
                    }
                    if let Err(e) = core
                        .record_mail_try(m.id, &outcome, config.retry_base)
                        .await
                    {
                        tracing::warn!("recording a mail: {e}");
                    }
                }
                if let Some(c) = conn {
                    c.quit().await;
                }
            }
        }
    })
}

/// How mailboxes are read.
#[derive(Debug, Clone)]
pub struct MailInConfig {
    /// How long to wait between checks (or in IDLE) when nothing happens.
    pub poll: Duration,
    /// How often the list of mailboxes is read again.
    pub rescan: Duration,
    pub timeout: Duration,
}

impl Default for MailInConfig {
    fn default() -> Self {
        MailInConfig {
            poll: Duration::from_secs(60),
            rescan: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
        }
    }
}

/// Reads every mailbox, one task each (a mailbox that is down holds up only itself).
pub fn start_mail_in(core: Arc<Core>, config: MailInConfig) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut running: std::collections::HashMap<uuid::Uuid, tokio::task::JoinHandle<()>> =
            Default::default();
        loop {
            match core.mailbox_configs().await {
                Ok(boxes) => {
                    let ids: std::collections::HashSet<_> = boxes.iter().map(|b| b.id).collect();
                    running.retain(|id, task| {
                        let keep = ids.contains(id) && !task.is_finished();
                        if !keep {
                            task.abort();
                        }
                        keep
                    });
                    for b in boxes {
                        if running.contains_key(&b.id) {
                            continue;
                        }
                        let (core, config) = (core.clone(), config.clone());
                        running.insert(b.id, tokio::spawn(read_mailbox(core, b.id, config)));
                    }
                }
                Err(e) => tracing::warn!("reading the mailboxes: {e}"),
            }
            tokio::time::sleep(config.rescan).await;
        }
    })
}

async fn read_mailbox(core: Arc<Core>, id: uuid::Uuid, config: MailInConfig) {
    use outpost_mail::imap::ImapServer;
    loop {
        let Some(b) = core
            .mailbox_configs()
            .await
            .ok()
            .and_then(|all| all.into_iter().find(|b| b.id == id))
        else {
            return;
        };
        let server = ImapServer {
            host: b.host.clone(),
            port: b.port,
            tls: b.tls,
            username: b.username.clone(),
            password: b.password.clone(),
            folder: b.folder.clone(),
            timeout: config.timeout,
        };
        // It only ever returns with an error: note it, wait a little, connect again.
        let Err(e) = follow_mailbox(&core, id, &server, &b, &config).await;
        tracing::warn!(mailbox = %id, "reading mail: {e}");
        let _ = core.record_mailbox_check(id, None, None, Some(&e)).await;
        tokio::time::sleep(config.poll.min(Duration::from_secs(30))).await;
    }
}

/// Takes what is new, then waits (IDLE or a pause) and takes again, until an error.
async fn follow_mailbox(
    core: &Core,
    id: uuid::Uuid,
    server: &outpost_mail::imap::ImapServer,
    b: &outpost_core::notify::mail_in::MailboxConfig,
    config: &MailInConfig,
) -> Result<std::convert::Infallible, String> {
    let mut conn = outpost_mail::imap::Connection::open(server).await?;
    let mut last = if b.uidvalidity == Some(conn.uidvalidity) {
        b.last_uid
    } else {
        0
    };
    loop {
        last = take_new(core, id, &mut conn, last).await?;
        if conn.idle {
            conn = conn.idle(config.poll).await?;
        } else {
            tokio::time::sleep(config.poll).await;
        }
    }
}

/// Imports every mail above `last`; returns the new last UID.
async fn take_new(
    core: &Core,
    id: uuid::Uuid,
    conn: &mut outpost_mail::imap::Connection,
    mut last: u32,
) -> Result<u32, String> {
    use outpost_core::notify::mail_in::MAX_MAIL_BYTES;
    let validity = conn.uidvalidity;
    for uid in conn.new_uids(last).await? {
        let (size, bytes) = conn.fetch(uid, MAX_MAIL_BYTES).await?;
        let refused = |why: String| outpost_proto::IncomingMail {
            message_id: format!("refused-{validity}-{uid}@{id}"),
            size,
            refused: Some(why),
            ..Default::default()
        };
        let mail = match bytes {
            // Not downloaded: the core refuses it by its size, in words.
            None if size > MAX_MAIL_BYTES => outpost_proto::IncomingMail {
                message_id: format!("too-big-{validity}-{uid}@{id}"),
                size,
                ..Default::default()
            },
            None => refused("the server sent no body for it".into()),
            Some(raw) => outpost_mail::parse::parse(&raw)
                .unwrap_or_else(|| refused("not a readable mail (malformed MIME)".into())),
        };
        match core.import_mail(id, validity, uid, &mail).await {
            Ok(outcome) => tracing::debug!(mailbox = %id, uid, ?outcome, "mail taken"),
            Err(e) => return Err(format!("storing mail {uid}: {e}")),
        }
        conn.mark_processed(uid).await?;
        last = uid;
        core.record_mailbox_check(id, Some(validity), Some(uid), None)
            .await
            .map_err(|e| e.to_string())?;
    }
    core.record_mailbox_check(id, Some(validity), None, None)
        .await
        .map_err(|e| e.to_string())?;
    Ok(last)
}
