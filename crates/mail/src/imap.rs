//! IMAP in: log in, select the folder, list what is new by UID, fetch each mail (refusing
//! ones over the size cap without downloading them), mark processed mail read, and wait with
//! IDLE where the server offers it.

use async_imap::Session;
use futures_util::StreamExt;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

pub trait ImapStream: AsyncRead + AsyncWrite + Unpin + Send + Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Debug> ImapStream for T {}

#[derive(Clone)]
pub struct ImapServer {
    pub host: String,
    pub port: u16,
    pub tls: bool,
    pub username: String,
    pub password: String,
    pub folder: String,
    pub timeout: Duration,
}

/// A logged-in session on the selected folder.
pub struct Connection {
    session: Session<Box<dyn ImapStream>>,
    pub uidvalidity: u32,
    pub idle: bool,
    timeout: Duration,
}

async fn within<T>(
    timeout: Duration,
    what: &str,
    f: impl std::future::Future<Output = Result<T, String>>,
) -> Result<T, String> {
    tokio::time::timeout(timeout, f)
        .await
        .map_err(|_| format!("{what}: no answer in time (timeout)"))?
}

fn tls_config() -> Arc<rustls::ClientConfig> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("ring offers the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth(),
    )
}

impl Connection {
    pub async fn open(s: &ImapServer) -> Result<Connection, String> {
        let t = s.timeout;
        let tcp = within(t, "connecting", async {
            tokio::net::TcpStream::connect((s.host.as_str(), s.port))
                .await
                .map_err(|e| format!("cannot connect to {}:{}: {e}", s.host, s.port))
        })
        .await?;
        // Commands are small writes answered at once: no Nagle.
        let _ = tcp.set_nodelay(true);
        let stream: Box<dyn ImapStream> = if s.tls {
            let name = rustls::pki_types::ServerName::try_from(s.host.clone())
                .map_err(|_| format!("'{}' is not a name TLS can check", s.host))?;
            let tls = within(t, "TLS", async {
                tokio_rustls::TlsConnector::from(tls_config())
                    .connect(name, tcp)
                    .await
                    .map_err(|e| format!("TLS with {} failed: {e}", s.host))
            })
            .await?;
            Box::new(tls)
        } else {
            Box::new(tcp)
        };
        let mut client = async_imap::Client::new(stream);
        within(t, "the greeting", async {
            client
                .read_response()
                .await
                .map_err(|e| format!("reading the greeting: {e}"))?
                .ok_or_else(|| "the server closed the connection at once".to_string())
        })
        .await?;
        let mut session = within(t, "logging in", async {
            client
                .login(&s.username, &s.password)
                .await
                .map_err(|(e, _)| format!("logging in as {} failed: {e}", s.username))
        })
        .await?;
        let idle = within(t, "capabilities", async {
            session
                .capabilities()
                .await
                .map(|c| c.has_str("IDLE"))
                .map_err(|e| format!("asking for capabilities: {e}"))
        })
        .await?;
        let mailbox = within(t, "selecting the folder", async {
            session
                .select(&s.folder)
                .await
                .map_err(|e| format!("cannot open the folder '{}': {e}", s.folder))
        })
        .await?;
        let uidvalidity = mailbox.uid_validity.ok_or_else(|| {
            "the server keeps no UIDs for this folder (no UIDVALIDITY)".to_string()
        })?;
        Ok(Connection {
            session,
            uidvalidity,
            idle,
            timeout: t,
        })
    }

    /// UIDs above `after`, oldest first.
    pub async fn new_uids(&mut self, after: u32) -> Result<Vec<u32>, String> {
        let t = self.timeout;
        let found = within(t, "searching", async {
            self.session
                .uid_search(format!("UID {}:*", after.saturating_add(1)))
                .await
                .map_err(|e| format!("searching for new mail: {e}"))
        })
        .await?;
        // `n:*` names the last mail even when it is below n.
        let mut uids: Vec<u32> = found.into_iter().filter(|u| *u > after).collect();
        uids.sort_unstable();
        Ok(uids)
    }

    /// The mail's size, and its bytes when it is at most `max_bytes`.
    pub async fn fetch(
        &mut self,
        uid: u32,
        max_bytes: u64,
    ) -> Result<(u64, Option<Vec<u8>>), String> {
        let t = self.timeout;
        let size = within(t, "fetching", async {
            let mut s = self
                .session
                .uid_fetch(uid.to_string(), "(UID RFC822.SIZE)")
                .await
                .map_err(|e| format!("fetching mail {uid}: {e}"))?;
            let mut size = None;
            while let Some(f) = s.next().await {
                let f = f.map_err(|e| format!("fetching mail {uid}: {e}"))?;
                if f.uid == Some(uid) {
                    size = f.size;
                }
            }
            Ok(size.unwrap_or(0) as u64)
        })
        .await?;
        if size > max_bytes {
            return Ok((size, None));
        }
        let body = within(t * 4, "downloading", async {
            let mut s = self
                .session
                .uid_fetch(uid.to_string(), "(UID BODY.PEEK[])")
                .await
                .map_err(|e| format!("downloading mail {uid}: {e}"))?;
            let mut body = None;
            while let Some(f) = s.next().await {
                let f = f.map_err(|e| format!("downloading mail {uid}: {e}"))?;
                if f.uid == Some(uid) {
                    body = f.body().map(<[u8]>::to_vec);
                }
            }
            Ok(body)
        })
        .await?;
        Ok((size, body))
    }

    /// Marks a processed mail read (and flagged) on the server.
    pub async fn mark_processed(&mut self, uid: u32) -> Result<(), String> {
        let t = self.timeout;
        within(t, "marking", async {
            let mut s = self
                .session
                .uid_store(uid.to_string(), "+FLAGS (\\Seen)")
                .await
                .map_err(|e| format!("marking mail {uid} read: {e}"))?;
            while s.next().await.is_some() {}
            Ok(())
        })
        .await
    }

    /// Waits (IDLE) until the server says something changed, or `wait` passes.
    pub async fn idle(self, wait: Duration) -> Result<Connection, String> {
        let Connection {
            session,
            uidvalidity,
            idle,
            timeout,
        } = self;
        let mut handle = session.idle();
        handle
            .init()
            .await
            .map_err(|e| format!("starting IDLE: {e}"))?;
        let (fut, _stop) = handle.wait_with_timeout(wait);
        fut.await.map_err(|e| format!("waiting in IDLE: {e}"))?;
        let session = within(timeout, "ending IDLE", async {
            handle.done().await.map_err(|e| format!("ending IDLE: {e}"))
        })
        .await?;
        Ok(Connection {
            session,
            uidvalidity,
            idle,
            timeout,
        })
    }

    pub async fn logout(mut self) {
        let _ = tokio::time::timeout(self.timeout, self.session.logout()).await;
    }
}
