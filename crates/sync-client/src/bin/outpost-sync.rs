//! `outpost-sync`: syncs a console's store with a server from the command line (headless
//! consoles, scripts, and the crash tests that kill it mid-sync).

use anyhow::{anyhow, Context};
use clap::Parser;
use outpost_core::{Core, SystemClock};
use outpost_proto::LoginRequest;
use outpost_sync_client::{server_login, HttpTransport};
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "outpost-sync",
    version,
    about = "Sync an Outpost console store with a server"
)]
struct Cli {
    /// The console's data folder (holds outpost.db).
    #[arg(long)]
    data_dir: PathBuf,
    /// e.g. http://127.0.0.1:8787
    #[arg(long)]
    server: String,
    #[arg(long)]
    username: String,
    /// Read the password from standard input.
    #[arg(long, required = true)]
    password_stdin: bool,
    /// Changes per push and per pulled page.
    #[arg(long, default_value_t = 200)]
    page: i64,
    /// Trust only the server certificate with this SHA-256 fingerprint (as outpost-server
    /// prints it); needed for a self-signed server.
    #[arg(long)]
    fingerprint: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let mut password = String::new();
    std::io::stdin()
        .read_to_string(&mut password)
        .context("reading the password from standard input")?;
    let pin = cli
        .fingerprint
        .as_deref()
        .map(outpost_core::sync::normalize_fingerprint)
        .transpose()
        .map_err(|e| anyhow!("--fingerprint: {e}"))?;
    let session = server_login(
        &cli.server,
        pin.as_deref(),
        &LoginRequest {
            username: cli.username,
            password: password.trim_end_matches(['\r', '\n']).to_string(),
        },
    )
    .await
    .map_err(|e| anyhow!(e))?;
    let core = Core::open_dir(&cli.data_dir, Arc::new(SystemClock))
        .await
        .map_err(|e| anyhow!("cannot open {}: {e}", cli.data_dir.display()))?;
    core.set_server(Some(&cli.server))
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let t =
        HttpTransport::new(&cli.server, &session.token, pin.as_deref()).map_err(|e| anyhow!(e))?;
    let report = core
        .sync_once(&t, cli.page)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    // Files attached on this console follow the rows that name them.
    let files = outpost_sync_client::upload_attachments(&core, &t)
        .await
        .map_err(|e| anyhow!("sending attached files: {e:?}"))?;
    println!(
        "synced: pushed {}, pulled {}, conflicts {}, files sent {files}",
        report.pushed, report.pulled, report.conflicts
    );
    Ok(())
}
