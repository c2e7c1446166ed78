//! SMTP out with lettre's connection driven one command at a time: DNS, connect, TLS,
//! login, sender, recipients, then the message — each failure says which and whether trying
//! again later can help (4xx, network) or not (5xx).

use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::ClientId;
use lettre::Address;
use outpost_proto::{MailStep, SmtpSecurity, SmtpTestResult};
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

/// A mail server to send through.
#[derive(Clone)]
pub struct Server {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: String,
    pub password: Option<String>,
    /// For each step's network wait.
    pub timeout: Duration,
}

/// One message as the desk writes it.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub from_address: String,
    pub from_name: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: String,
    pub body: String,
    /// Without angle brackets.
    pub message_id: String,
    pub in_reply_to: Option<String>,
    /// Without angle brackets, oldest first.
    pub references: Vec<String>,
    pub date: SystemTime,
    /// Written by the desk itself: `Auto-Submitted: auto-generated`, so mail programs do not
    /// answer it with an auto-reply.
    pub automatic: bool,
    /// Files sent with the text: (name, content type, bytes).
    pub attachments: Vec<(String, String, Vec<u8>)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub step: MailStep,
    /// Trying again will not help (a 5xx answer, or a message that cannot be written).
    pub permanent: bool,
    pub message: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.step, self.message)
    }
}

fn fail(step: MailStep, permanent: bool, message: impl Into<String>) -> Failure {
    Failure {
        step,
        permanent,
        message: message.into(),
    }
}

/// What lettre's error says, as a failure of `step`.
fn smtp_failure(step: MailStep, e: lettre::transport::smtp::Error) -> Failure {
    let permanent = e.is_permanent();
    let text = match e.status() {
        Some(code) => format!("the server answered {code}: {}", root_cause(&e)),
        None if e.is_timeout() => "no answer in time (timeout)".into(),
        None if e.is_tls() => format!("TLS failed: {}", root_cause(&e)),
        None => root_cause(&e),
    };
    let step = if e.is_tls() { MailStep::Tls } else { step };
    fail(step, permanent, text)
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cur = e;
    while let Some(next) = cur.source() {
        let t = next.to_string();
        if !text.contains(&t) {
            text = format!("{text}: {t}");
        }
        cur = next;
    }
    text
}

#[derive(Clone)]
struct AutoSubmitted;

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted)
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-generated".into())
    }
}

fn address(s: &str) -> Result<Address, Failure> {
    s.trim().parse::<Address>().map_err(|e| {
        fail(
            MailStep::Recipient,
            true,
            format!("'{s}' is not a mail address: {e}"),
        )
    })
}

/// The message as bytes (ASCII: non-ASCII text is encoded), or why it cannot be written.
pub fn compose(m: &Outgoing) -> Result<Vec<u8>, Failure> {
    let from = Mailbox::new(
        (!m.from_name.is_empty()).then(|| m.from_name.clone()),
        address(&m.from_address).map_err(|f| Failure {
            step: MailStep::Sender,
            ..f
        })?,
    );
    let mut b = lettre::Message::builder()
        .from(from)
        .subject(m.subject.clone())
        .message_id(Some(format!("<{}>", m.message_id)))
        .date(m.date);
    for to in &m.to {
        b = b.to(Mailbox::new(None, address(to)?));
    }
    for cc in &m.cc {
        b = b.cc(Mailbox::new(None, address(cc)?));
    }
    if let Some(r) = &m.in_reply_to {
        b = b.in_reply_to(format!("<{r}>"));
    }
    if !m.references.is_empty() {
        b = b.references(
            m.references
                .iter()
                .map(|r| format!("<{r}>"))
                .collect::<Vec<_>>()
                .join(" "),
        );
    }
    if m.automatic {
        b = b.header(AutoSubmitted);
    }
    let built = if m.attachments.is_empty() {
        b.header(ContentType::TEXT_PLAIN).body(m.body.clone())
    } else {
        use lettre::message::{Attachment, MultiPart, SinglePart};
        let mut parts = MultiPart::mixed().singlepart(SinglePart::plain(m.body.clone()));
        for (name, kind, bytes) in &m.attachments {
            let kind = ContentType::parse(kind).unwrap_or(ContentType::TEXT_PLAIN);
            parts = parts.singlepart(Attachment::new(name.clone()).body(bytes.clone(), kind));
        }
        b.multipart(parts)
    };
    let message = built.map_err(|e| {
        fail(
            MailStep::Message,
            true,
            format!("cannot write the mail: {e}"),
        )
    })?;
    Ok(message.formatted())
}

/// A logged-in SMTP connection; it carries one mail after the other (a transaction each).
pub struct Connection {
    conn: AsyncSmtpConnection,
}

fn hello_name() -> ClientId {
    ClientId::Domain("outpost.localdomain".into())
}

async fn resolve(server: &Server) -> Result<Vec<SocketAddr>, Failure> {
    let lookup = tokio::time::timeout(
        server.timeout,
        tokio::net::lookup_host((server.host.as_str(), server.port)),
    )
    .await
    .map_err(|_| {
        fail(
            MailStep::Dns,
            false,
            format!("finding {} took too long", server.host),
        )
    })?;
    let addrs: Vec<SocketAddr> = lookup
        .map_err(|e| {
            fail(
                MailStep::Dns,
                false,
                format!("cannot find the mail server {}: {e}", server.host),
            )
        })?
        .collect();
    if addrs.is_empty() {
        return Err(fail(
            MailStep::Dns,
            false,
            format!("the name {} has no address", server.host),
        ));
    }
    Ok(addrs)
}

fn tls_parameters(host: &str) -> Result<TlsParameters, Failure> {
    TlsParameters::new(host.to_string())
        .map_err(|e| fail(MailStep::Tls, true, format!("cannot set up TLS: {e}")))
}

/// Connects and logs in.
pub async fn connect(server: &Server) -> Result<Connection, Failure> {
    let addrs = resolve(server).await?;
    let implicit = match server.security {
        SmtpSecurity::Tls => Some(tls_parameters(&server.host)?),
        _ => None,
    };
    let named = |f: Failure| Failure {
        message: format!("{}:{}: {}", server.host, server.port, f.message),
        ..f
    };
    let mut conn = match implicit {
        Some(tls) => AsyncSmtpConnection::connect_tokio1(
            addrs.as_slice(),
            Some(server.timeout),
            &hello_name(),
            Some(tls),
            None,
        )
        .await
        .map_err(|e| named(smtp_failure(MailStep::Connect, e)))?,
        None => {
            // Our own socket, without Nagle: the message and its final dot go as two writes,
            // and waiting for the ACK between them cost 40 ms per mail.
            let tcp = tokio::time::timeout(
                server.timeout,
                tokio::net::TcpStream::connect(addrs.as_slice()),
            )
            .await
            .map_err(|_| {
                named(fail(
                    MailStep::Connect,
                    false,
                    "no answer in time (timeout)",
                ))
            })?
            .map_err(|e| {
                named(fail(
                    MailStep::Connect,
                    false,
                    format!("cannot connect: {e}"),
                ))
            })?;
            let _ = tcp.set_nodelay(true);
            tokio::time::timeout(
                server.timeout,
                AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &hello_name()),
            )
            .await
            .map_err(|_| {
                named(fail(
                    MailStep::Connect,
                    false,
                    "no greeting in time (timeout)",
                ))
            })?
            .map_err(|e| named(smtp_failure(MailStep::Connect, e)))?
        }
    };
    if server.security == SmtpSecurity::Starttls {
        if !conn.can_starttls() {
            return Err(fail(
                MailStep::Tls,
                true,
                "the server does not offer STARTTLS: choose TLS (port 465) or, on a trusted \
                 network only, no encryption",
            ));
        }
        conn.starttls(tls_parameters(&server.host)?, &hello_name())
            .await
            .map_err(|e| smtp_failure(MailStep::Tls, e))?;
    }
    if !server.username.is_empty() {
        let credentials = Credentials::new(
            server.username.clone(),
            server.password.clone().unwrap_or_default(),
        );
        conn.auth(&[Mechanism::Plain, Mechanism::Login], &credentials)
            .await
            .map_err(|e| {
                let f = smtp_failure(MailStep::Auth, e);
                Failure {
                    message: format!("logging in as {} failed: {}", server.username, f.message),
                    ..f
                }
            })?;
    }
    Ok(Connection { conn })
}

impl Connection {
    /// Has the server accept the sender and every recipient, and begins DATA. A refused
    /// recipient fails the whole mail (nobody gets a partial send); `reset` before the next.
    pub async fn begin(&mut self, from: &str, recipients: &[String]) -> Result<(), Failure> {
        let sender = address(from).map_err(|f| Failure {
            step: MailStep::Sender,
            ..f
        })?;
        self.conn
            .command(Mail::new(Some(sender), vec![]))
            .await
            .map_err(|e| smtp_failure(MailStep::Sender, e))?;
        for r in recipients {
            self.conn
                .command(Rcpt::new(address(r)?, vec![]))
                .await
                .map_err(|e| {
                    let f = smtp_failure(MailStep::Recipient, e);
                    Failure {
                        message: format!("{r} was refused: {}", f.message),
                        ..f
                    }
                })?;
        }
        self.conn
            .command(Data)
            .await
            .map_err(|e| smtp_failure(MailStep::Message, e))?;
        Ok(())
    }

    /// Sends the message and its end; the server's answer says whether it took it.
    pub async fn finish(&mut self, message: &[u8]) -> Result<(), Failure> {
        self.conn
            .message(message)
            .await
            .map_err(|e| smtp_failure(MailStep::Message, e))?;
        Ok(())
    }

    /// Drops a transaction that failed part way, so the next mail can go; false when the
    /// connection is no longer usable.
    pub async fn reset(&mut self) -> bool {
        !self.conn.has_broken() && self.conn.command(Rset).await.is_ok()
    }

    pub async fn quit(mut self) {
        let _ = self.conn.quit().await;
    }
}

/// Sends a short test mail and says in words how far it got.
pub async fn test(
    server: &Server,
    from_address: &str,
    from_name: &str,
    to: &str,
) -> SmtpTestResult {
    let mail = Outgoing {
        from_address: from_address.into(),
        from_name: from_name.into(),
        to: vec![to.into()],
        cc: vec![],
        subject: "Outpost test mail".into(),
        body: format!(
            "This is a test mail from Outpost, sent through {}:{}.\nIf you can read it, the \
             desk's mail settings work.\n",
            server.host, server.port
        ),
        message_id: format!(
            "test-{}@{}",
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
            from_address
                .rsplit_once('@')
                .map(|(_, d)| d)
                .unwrap_or("outpost.invalid")
        ),
        in_reply_to: None,
        references: vec![],
        date: SystemTime::now(),
        automatic: true,
        attachments: vec![],
    };
    let result = async {
        let bytes = compose(&mail)?;
        let mut conn = connect(server).await?;
        conn.begin(from_address, &mail.to).await?;
        conn.finish(&bytes).await?;
        conn.quit().await;
        Ok::<(), Failure>(())
    }
    .await;
    match result {
        Ok(()) => SmtpTestResult {
            ok: true,
            step: None,
            message: format!("the mail server took the test mail for {to}"),
        },
        Err(f) => SmtpTestResult {
            ok: false,
            step: Some(f.step),
            message: f.message,
        },
    }
}
