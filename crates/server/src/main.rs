//! `outpost-server`: runs the Outpost core behind HTTP, or administers its store.

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use outpost_core::{Actor, Core, SystemClock};
use outpost_proto::{NewUser, Role};
use outpost_server::{app_with, tls, AppState};
use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "outpost-server",
    version,
    about = "Outpost central server and web console"
)]
struct Cli {
    /// How the log on standard error is written: lines for people, or one JSON object per
    /// line for a log collector.
    #[arg(long, global = true, value_enum, default_value = "text")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the REST API (/api/v1) and the web console.
    Serve {
        /// Folder holding the SQLite store (created if missing).
        #[arg(long)]
        data_dir: PathBuf,
        /// Address to listen on, e.g. 127.0.0.1:8787.
        #[arg(long, default_value = "127.0.0.1:8787")]
        listen: SocketAddr,
        /// Load the demo MSP into an empty store before serving.
        #[arg(long)]
        demo: bool,
        /// Folder of the built web console (default: ui/dist of this checkout).
        #[arg(long, env = "OUTPOST_UI_DIR")]
        ui_dir: Option<PathBuf>,
        /// The address of a reverse proxy in front of this server (repeat for each): the
        /// client address it puts in X-Forwarded-For is believed (login throttling counts
        /// per client address). Without it, that header is ignored.
        #[arg(long = "trusted-proxy", value_name = "ADDRESS")]
        trusted_proxies: Vec<std::net::IpAddr>,
        /// Serve GET /metrics (Prometheus text) to scrapers that send this token as
        /// 'Authorization: Bearer TOKEN'. Without it, /metrics is off.
        #[arg(long, env = "OUTPOST_METRICS_TOKEN", hide_env_values = true)]
        metrics_token: Option<String>,
        #[command(flatten)]
        tls: TlsArgs,
        #[command(flatten)]
        gateway: GatewayArgs,
        #[command(flatten)]
        senders: SenderArgs,
    },
    /// Write a client's service report for a period as PDF, from the store, without a server.
    Report {
        #[arg(long)]
        data_dir: PathBuf,
        /// The client's name (any case) or id.
        #[arg(long)]
        client: String,
        /// First day, YYYY-MM-DD (in the client's time zone).
        #[arg(long)]
        from: String,
        /// Last day, YYYY-MM-DD (included).
        #[arg(long)]
        to: String,
        /// Where to write the PDF.
        #[arg(long)]
        out: PathBuf,
    },
    /// Administration without the UI.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Write a consistent backup of a store (also while a server serves it): a .tar.gz with
    /// a manifest (version, row counts, audit chain head, checksums).
    Backup {
        #[arg(long)]
        data_dir: PathBuf,
        /// The backup file to write (e.g. outpost-2026-12-04.tar.gz).
        #[arg(long)]
        to: PathBuf,
    },
    /// Restore a backup into a new data folder; with --verify, prove it first (integrity,
    /// row counts, audit chain to the recorded head).
    Restore {
        #[arg(long)]
        from: PathBuf,
        /// A folder that does not exist yet (or is empty).
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long)]
        verify: bool,
    },
    /// Check a deployment and say in words what is wrong: permissions, the store, the audit
    /// chain, disk space, the certificate's expiry, the clock, the mail servers. Exits 1 when
    /// something must be fixed.
    Doctor {
        #[arg(long)]
        data_dir: PathBuf,
        /// The certificate the server is started with (--tls-cert), if not its self-signed one.
        #[arg(long)]
        tls_cert: Option<PathBuf>,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recompute the audit chain from its first event; exits 1 naming the first broken link.
    Verify {
        #[arg(long)]
        data_dir: PathBuf,
    },
}

/// TLS on the listening port. By default a server reachable from other machines serves
/// HTTPS with a self-signed certificate kept in its data folder (consoles pin its
/// fingerprint); one listening on loopback only serves plain HTTP unless told otherwise.
#[derive(clap::Args)]
struct TlsArgs {
    /// PEM certificate chain to serve (with --tls-key), e.g. from your own CA.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve HTTPS with the self-signed certificate even on loopback.
    #[arg(long, conflicts_with_all = ["tls_cert", "plain_http"])]
    self_signed: bool,
    /// Serve plain HTTP even on a public address (behind a TLS-terminating proxy only).
    #[arg(long, conflicts_with = "tls_cert")]
    plain_http: bool,
}

/// The agent gateway (agents' WebSockets, on the same port).
#[derive(clap::Args)]
struct GatewayArgs {
    /// The address agents reach this server at, shown in the console's "add endpoint"
    /// command (default: the address the console itself uses).
    #[arg(long, env = "OUTPOST_PUBLIC_URL")]
    public_url: Option<String>,
    /// Agent connections taken per second; more are told to retry (503 + Retry-After).
    #[arg(long, default_value_t = 500.0)]
    agent_upgrades_per_sec: f64,
    /// Seconds without a word from an agent before its endpoint shows offline.
    #[arg(long, default_value_t = 180)]
    agent_silent_secs: u64,
    /// Seconds between offline sweeps and metric rollups.
    #[arg(long, default_value_t = 30)]
    upkeep_secs: u64,
}

/// What the server sends out (mail, webhooks).
#[derive(clap::Args)]
struct SenderArgs {
    /// Seconds before a mail that failed for a passing reason is tried again (doubling each
    /// time, at most an hour; 10 tries).
    #[arg(long, default_value_t = 60.0)]
    mail_retry_secs: f64,
    /// Seconds between checks of a mailbox that does not offer IDLE (with IDLE: the longest
    /// wait before checking anyway).
    #[arg(long, default_value_t = 60.0)]
    mail_poll_secs: f64,
    /// Seconds before a failed webhook delivery's first retry (each next waits 4× longer;
    /// after 3 retries it goes to the dead-letter list).
    #[arg(long, default_value_t = 30.0)]
    webhook_retry_secs: f64,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a user who can log in; the password is read from standard input.
    CreateUser {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long)]
        username: String,
        /// admin, technician or viewer.
        #[arg(long, default_value = "technician")]
        role: String,
        /// Name shown in the console (default: the username).
        #[arg(long)]
        display_name: Option<String>,
        /// Read the password from standard input (required: never pass it as an argument).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx=warn".into());
    let log = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => log.init(),
        LogFormat::Json => log.json().init(),
    }
    match cli.command {
        Command::Serve {
            data_dir,
            listen,
            demo,
            ui_dir,
            trusted_proxies,
            metrics_token,
            tls,
            gateway,
            senders,
        } => {
            let host = Host {
                data_dir,
                listen,
                demo,
                ui_dir,
                trusted_proxies,
                metrics_token,
            };
            serve(host, tls, gateway, senders).await
        }
        Command::Report {
            data_dir,
            client,
            from,
            to,
            out,
        } => {
            let core = open(&data_dir).await?;
            outpost_server::reports::install(&core);
            let actor = Actor::system();
            let fail = |e: outpost_core::CoreError| anyhow::anyhow!("{e}");
            let id = core.find_client(&actor, &client).await.map_err(fail)?;
            let q = outpost_proto::ClientReportFileQuery {
                from,
                to,
                format: None,
                table: None,
            };
            let (_, _, pdf) = core
                .client_report_file(&actor, id, &q)
                .await
                .map_err(fail)?;
            // Written beside the target and renamed: a failed run leaves no half file.
            let part = out.with_extension("pdf.part");
            std::fs::write(&part, &pdf)
                .and_then(|_| std::fs::rename(&part, &out))
                .with_context(|| format!("cannot write {}", out.display()))?;
            println!("wrote {} ({} bytes)", out.display(), pdf.len());
            Ok(())
        }
        Command::Backup { data_dir, to } => {
            let core = open_existing(&data_dir).await?;
            let m = core
                .backup_to(&to)
                .await
                .map_err(|e| anyhow::anyhow!("the backup failed: {e}"))?;
            let size = std::fs::metadata(&to).map(|m| m.len()).unwrap_or(0);
            let rows = |t: &str| m.tables.get(t).copied().unwrap_or(0);
            println!(
                "wrote {} ({:.1} MB): {} tickets, {} clients, {} endpoints, {} files; audit \
                 chain of {} events up to #{}",
                to.display(),
                size as f64 / 1e6,
                rows("tickets"),
                rows("clients"),
                rows("assets"),
                m.files.len(),
                m.audit_events,
                m.audit_head_seq.unwrap_or(0)
            );
            Ok(())
        }
        Command::Restore {
            from,
            data_dir,
            verify,
        } => {
            let r = outpost_core::backup::restore(&from, &data_dir, verify)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let m = &r.manifest;
            println!(
                "restored the backup of {} (made by {}) into {}",
                m.made_at.format("%Y-%m-%d %H:%M UTC"),
                m.made_by,
                data_dir.display()
            );
            if r.verified {
                println!(
                    "verified: SQLite integrity ok, the row counts of {} tables match, the \
                     audit chain verifies to #{} as recorded, {} files match their checksums",
                    m.tables.len(),
                    m.audit_head_seq.unwrap_or(0),
                    m.files.len()
                );
            }
            Ok(())
        }
        Command::Doctor { data_dir, tls_cert } => {
            use outpost_server::doctor::Verdict;
            let findings = outpost_server::doctor::examine(&data_dir, tls_cert).await;
            for f in &findings {
                let tag = match f.verdict {
                    Verdict::Ok => "ok  ",
                    Verdict::Warn => "warn",
                    Verdict::Fail => "FAIL",
                };
                println!("{tag}  {}", f.what);
            }
            let count = |v| findings.iter().filter(|f| f.verdict == v).count();
            let (fails, warns) = (count(Verdict::Fail), count(Verdict::Warn));
            if fails > 0 {
                println!("{fails} to fix, {warns} to watch");
                std::process::exit(1);
            }
            println!(
                "nothing to fix{}",
                if warns > 0 {
                    format!(", {warns} to watch")
                } else {
                    String::new()
                }
            );
            Ok(())
        }
        Command::Audit {
            command: AuditCommand::Verify { data_dir },
        } => {
            let core = open_existing(&data_dir).await?;
            let v = core
                .audit_verification()
                .await
                .map_err(|e| anyhow::anyhow!("cannot read the audit log: {e}"))?;
            match v.broken {
                None => {
                    println!(
                        "the audit chain is intact: {} events, the newest #{} with hash {}",
                        v.events,
                        v.head_seq.unwrap_or(0),
                        v.head_hash.as_deref().unwrap_or("(none)")
                    );
                    Ok(())
                }
                Some(b) => {
                    let what = match b.at {
                        Some(at) => format!(
                            " ({} by {}, {})",
                            b.action,
                            b.actor_name,
                            at.format("%Y-%m-%d %H:%M:%S UTC")
                        ),
                        None => String::new(),
                    };
                    let before = match v.events {
                        0 => "no event before it".to_string(),
                        1 => "the one event before it verifies".to_string(),
                        n => format!("the {n} events before it verify"),
                    };
                    eprintln!(
                        "the audit chain is broken at event {}{what}: {}; {before}",
                        b.seq, b.reason
                    );
                    std::process::exit(1);
                }
            }
        }
        Command::Admin {
            command:
                AdminCommand::CreateUser {
                    data_dir,
                    username,
                    role,
                    display_name,
                    password_stdin: _,
                },
        } => {
            let Some(role) = Role::parse(&role) else {
                bail!("unknown role '{role}'; use admin, technician or viewer");
            };
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .context("reading the password from standard input")?;
            let password = password.trim_end_matches(['\r', '\n']).to_string();
            let core = open(&data_dir).await?;
            let user = core
                .create_user(
                    &Actor::system(),
                    NewUser {
                        display_name: display_name.unwrap_or_else(|| username.clone()),
                        username,
                        role,
                        password,
                    },
                )
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "created {} user '{}' ({})",
                role.as_str(),
                user.username,
                user.id
            );
            Ok(())
        }
    }
}

/// A store that must exist already (backup, audit verify): a wrong folder is not made one.
async fn open_existing(data_dir: &std::path::Path) -> anyhow::Result<Core> {
    if !data_dir.join(outpost_core::store::DB_FILE).is_file() {
        bail!("{} holds no Outpost store", data_dir.display());
    }
    open(data_dir).await
}

async fn open(data_dir: &std::path::Path) -> anyhow::Result<Core> {
    Core::open_dir(data_dir, Arc::new(SystemClock))
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the store in {}: {e}", data_dir.display()))
}

/// Where and how `serve` runs.
struct Host {
    data_dir: PathBuf,
    listen: SocketAddr,
    demo: bool,
    ui_dir: Option<PathBuf>,
    trusted_proxies: Vec<std::net::IpAddr>,
    metrics_token: Option<String>,
}

async fn serve(
    host: Host,
    tls: TlsArgs,
    gateway: GatewayArgs,
    senders: SenderArgs,
) -> anyhow::Result<()> {
    let Host {
        data_dir,
        listen,
        demo,
        ui_dir,
        trusted_proxies,
        metrics_token,
    } = host;
    let core = open(&data_dir).await?;
    // The starter library is there from the start: consoles seed the same records.
    core.ensure_starter_scripts()
        .await
        .map_err(|e| anyhow::anyhow!("cannot add the starter scripts: {e}"))?;
    if demo {
        if core
            .setup_state()
            .await
            .map(|s| s.store_empty)
            .unwrap_or(false)
        {
            let s = core
                .load_demo(&Actor::system())
                .await
                .map_err(|e| anyhow::anyhow!("loading demo data: {e}"))?;
            tracing::info!(clients = s.clients, tickets = s.tickets, "demo data loaded");
        } else {
            tracing::info!("store is not empty; --demo left it as it is");
        }
    }
    let ui_dir = ui_dir.or_else(|| {
        let built = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../ui/dist"));
        built.is_dir().then_some(built)
    });
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}; is another server using it?"))?;
    let addr = listener.local_addr()?;
    let core = Arc::new(core);
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let files = match (&tls.tls_cert, &tls.tls_key) {
        (Some(cert), Some(key)) => Some(tls::CertFiles {
            cert: cert.clone(),
            key: key.clone(),
        }),
        _ if tls.self_signed || (!tls.plain_http && !addr.ip().is_loopback()) => {
            Some(tls::self_signed(&data_dir, &certificate_names(addr))?)
        }
        _ => None,
    };
    let tls_config = files.as_ref().map(tls::server_config).transpose()?;
    core.set_gateway(
        gateway.public_url.clone(),
        tls_config.as_ref().map(|(_, f)| f.clone()),
    );
    let gw = outpost_server::gateway::Gateway::start(
        core.clone(),
        outpost_server::gateway::GatewayConfig {
            upgrades_per_sec: gateway.agent_upgrades_per_sec.max(1.0),
            silent_after: std::time::Duration::from_secs(gateway.agent_silent_secs.max(1)),
            upkeep_every: std::time::Duration::from_secs(gateway.upkeep_secs.max(1)),
            ..Default::default()
        },
    );
    // A webhook must not point back at this server (by its address or its public URL).
    let mut own = vec![(addr.ip().to_string(), addr.port())];
    if let Some((host, port)) = gateway.public_url.as_deref().and_then(host_and_port) {
        own.push((host, port));
    }
    core.set_own_addresses(own);
    let secs = |s: f64| std::time::Duration::from_secs_f64(s.clamp(0.05, 86_400.0));
    outpost_server::senders::start(
        core.clone(),
        outpost_server::senders::SendersConfig {
            webhooks: outpost_server::webhooks::WebhookConfig {
                retry_base: secs(senders.webhook_retry_secs),
                ..Default::default()
            },
            mail: outpost_server::mail::MailConfig {
                retry_base: secs(senders.mail_retry_secs),
                ..Default::default()
            },
            mail_in: outpost_server::mail::MailInConfig {
                poll: secs(senders.mail_poll_secs),
                ..Default::default()
            },
            ..Default::default()
        },
    );
    let state = AppState {
        core,
        trusted_proxies: Arc::new(trusted_proxies),
        metrics_token: metrics_token
            .filter(|t| !t.trim().is_empty())
            .map(|t| Arc::from(t.trim())),
    };
    let router = app_with(state, ui_dir, &gw);
    let Some((config, fingerprint)) = tls_config else {
        if !addr.ip().is_loopback() {
            tracing::warn!("serving plain HTTP on {addr}: put a TLS-terminating proxy in front");
        }
        tracing::info!(url = %format!("http://{addr}"), "listening");
        println!("Outpost server listening on http://{addr} (web console at /, API at /api/v1)");
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await?;
        return Ok(());
    };
    tracing::info!(url = %format!("https://{addr}"), %fingerprint, "listening");
    println!("Outpost server listening on https://{addr} (web console at /, API at /api/v1)");
    println!("certificate SHA-256 fingerprint: {fingerprint}");
    println!("(consoles show this fingerprint when they connect: compare it before trusting)");
    tls::serve(listener, config, router, shutdown).await
}

/// The host and port of an http(s) URL.
fn host_and_port(url: &str) -> Option<(String, u16)> {
    outpost_core::notify::webhooks::url_parts(url)
        .ok()
        .map(|(_, h, p)| (h, p))
}

/// The names a self-signed certificate is made for: this host and the address served.
fn certificate_names(addr: SocketAddr) -> Vec<String> {
    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    if let Ok(host) = std::fs::read_to_string("/etc/hostname") {
        let host = host.trim();
        if !host.is_empty() {
            names.push(host.to_string());
        }
    }
    if !addr.ip().is_unspecified() {
        names.push(addr.ip().to_string());
    }
    names.sort();
    names.dedup();
    names
}
