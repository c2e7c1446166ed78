//! `outpost-agent`: enrolls a machine with an Outpost server, then reports its health every
//! minute and its inventory on change over one outbound WebSocket, pinned to the server's
//! certificate. While the server is unreachable, everything waits in an on-disk queue.

mod channel;
mod collect;
mod queue;
mod runner;
mod trust;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use outpost_proto::{EnrollRequest, EnrollResponse};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

#[derive(Parser)]
#[command(name = "outpost-agent", version, about = "The Outpost endpoint agent")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Join a server with an enrollment token (Fleet → Add endpoint shows the command).
    Enroll {
        /// The server's address, e.g. https://outpost.example.net:8787
        #[arg(long)]
        server: String,
        #[arg(long)]
        token: String,
        /// The server certificate's SHA-256 fingerprint to pin (https).
        #[arg(long)]
        fingerprint: Option<String>,
        /// The organisation's root key fingerprint (script signing), as the console shows it:
        /// the server's root must match it.
        #[arg(long)]
        root: Option<String>,
        #[arg(long)]
        state_dir: Option<PathBuf>,
    },
    /// Report to the server, in the foreground (the service runs this).
    Run {
        #[arg(long)]
        state_dir: Option<PathBuf>,
        #[arg(long, default_value_t = 60)]
        heartbeat_secs: u64,
        #[arg(long, default_value_t = 900)]
        inventory_secs: u64,
    },
    /// What this agent is and how it stands with its server.
    Status {
        #[arg(long)]
        state_dir: Option<PathBuf>,
    },
}

impl Identity {
    pub fn signing_key(&self) -> anyhow::Result<ed25519_dalek::SigningKey> {
        let bytes: [u8; 32] = hex::decode(&self.signing_key)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| anyhow::anyhow!("the agent's key in {IDENTITY} is damaged"))?;
        Ok(ed25519_dalek::SigningKey::from_bytes(&bytes))
    }
}

/// What enrollment leaves in the state dir (readable by root/SYSTEM only).
#[derive(Serialize, Deserialize, Clone)]
pub struct Identity {
    pub server: String,
    pub fingerprint: Option<String>,
    pub agent_id: uuid::Uuid,
    pub asset_id: uuid::Uuid,
    pub credential: String,
    /// The agent's Ed25519 signing key (hex); its public half is on the server.
    pub signing_key: String,
}

const IDENTITY: &str = "agent.json";

fn default_state_dir() -> PathBuf {
    if cfg!(windows) {
        PathBuf::from(r"C:\ProgramData\Outpost\Agent")
    } else if cfg!(target_os = "macos") {
        PathBuf::from("/Library/Application Support/Outpost/Agent")
    } else {
        PathBuf::from("/var/lib/outpost-agent")
    }
}

fn state_dir(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let dir = given.unwrap_or_else(default_state_dir);
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the state folder {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(dir)
}

/// Writes a secret file only its owner (root, SYSTEM) can read. (On Windows the state
/// folder under ProgramData is made by the installer with an ACL for SYSTEM and admins.)
pub fn write_secret(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    use std::io::Write;
    let mut f = opts.open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(tmp, path)?;
    Ok(())
}

pub fn load_identity(dir: &Path) -> anyhow::Result<Identity> {
    let path = dir.join(IDENTITY);
    let bytes = std::fs::read(&path).with_context(|| {
        format!(
            "this agent is not enrolled ({} is missing); run `outpost-agent enroll` first",
            path.display()
        )
    })?;
    serde_json::from_slice(&bytes).with_context(|| format!("{} is damaged", path.display()))
}

/// The OS's own id of this installation (not of the agent): survives an agent reinstall.
fn machine_id() -> String {
    if let Ok(v) = std::env::var("OUTPOST_AGENT_MACHINE_ID") {
        // Tests run many agents on one machine; images that share a machine id can be told
        // apart here too.
        return v;
    }
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .ok()
            .map(|s| s.trim().to_string())
    };
    if cfg!(windows) {
        return std::process::Command::new("reg")
            .args([
                "query",
                r"HKLM\SOFTWARE\Microsoft\Cryptography",
                "/v",
                "MachineGuid",
            ])
            .output()
            .ok()
            .and_then(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .split("REG_SZ")
                    .nth(1)
                    .map(|s| s.trim().to_string())
            })
            .unwrap_or_default();
    }
    if cfg!(target_os = "macos") {
        return std::process::Command::new("ioreg")
            .args(["-rd1", "-c", "IOPlatformExpertDevice"])
            .output()
            .ok()
            .and_then(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .find(|l| l.contains("IOPlatformUUID"))
                    .and_then(|l| l.split('"').nth(3).map(str::to_string))
            })
            .unwrap_or_default();
    }
    read("/etc/machine-id")
        .or_else(|| read("/var/lib/dbus/machine-id"))
        .unwrap_or_default()
}

/// A keyed hash of the machine's ids: the server learns an identity, not the ids.
fn machine_fingerprint() -> anyhow::Result<String> {
    let id = machine_id();
    let smbios = std::fs::read_to_string("/sys/class/dmi/id/product_uuid")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    if id.is_empty() && smbios.is_empty() {
        bail!("this machine has no machine id to identify it by (/etc/machine-id is empty)");
    }
    let mut h = Sha256::new();
    h.update(b"outpost machine identity v1\0");
    h.update(id.as_bytes());
    h.update(b"\0");
    h.update(smbios.as_bytes());
    Ok(hex::encode(h.finalize()))
}

pub fn http_client(fingerprint: Option<&str>) -> anyhow::Result<reqwest::Client> {
    let b = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(10))
        .timeout(std::time::Duration::from_secs(30));
    let b = match fingerprint {
        Some(f) => b.use_preconfigured_tls(
            outpost_pin::Pin::new(Some(f.to_string()))
                .client_config(&[b"http/1.1"])
                .map_err(anyhow::Error::msg)?,
        ),
        None => b,
    };
    Ok(b.build()?)
}

async fn enroll(
    server: String,
    token: String,
    fingerprint: Option<String>,
    root: Option<String>,
    dir: PathBuf,
) -> anyhow::Result<()> {
    let server = server.trim().trim_end_matches('/').to_string();
    if !server.starts_with("https://") && !server.starts_with("http://") {
        bail!("--server must start with https:// (or http:// on a trusted network)");
    }
    let fingerprint = fingerprint
        .map(|f| outpost_pin::normalize_fingerprint(&f))
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    let signing = ed25519_dalek::SigningKey::from_bytes(&key);
    let mut sampler = collect::Sampler::new()?;
    let quick = sampler.quick_inventory();
    let sys = quick.system.unwrap_or_default();
    let req = EnrollRequest {
        token: token.trim().to_string(),
        machine_fingerprint: machine_fingerprint()?,
        public_key: hex::encode(signing.verifying_key().as_bytes()),
        hostname: sys.hostname.clone(),
        os: format!("{} {}", sys.os_name, sys.os_version)
            .trim()
            .to_string(),
        agent_version: env!("CARGO_PKG_VERSION").into(),
        root_fingerprint: root.clone(),
    };
    let http = http_client(fingerprint.as_deref())?;
    let answer = http
        .post(format!("{server}/api/v1/agent/enroll"))
        .json(&req)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("cannot reach {server}: {}", channel::describe(&e)))?;
    let status = answer.status();
    if !status.is_success() {
        let body: serde_json::Value = answer.json().await.unwrap_or_default();
        let message = body["message"].as_str().unwrap_or("no reason given");
        bail!("the server refused the enrollment ({status}): {message}");
    }
    let done: EnrollResponse = answer.json().await?;
    if let Some(expected) = &root {
        let given = done.root_key.as_deref().and_then(|k| {
            let bytes: [u8; 32] = hex::decode(k).ok()?.try_into().ok()?;
            Some(outpost_trust::fingerprint(&bytes))
        });
        match given {
            Some(g)
                if outpost_trust::normalize_fingerprint(&g)
                    == outpost_trust::normalize_fingerprint(expected) => {}
            Some(g) => bail!(
                "the server's root key ({g}) is not the one given with --root ({expected}); \
                 nothing was saved: check the command with your admin"
            ),
            None => bail!(
                "--root was given but the server has no root key; nothing was saved: check \
                 the command with your admin"
            ),
        }
    }
    let identity = Identity {
        server: server.clone(),
        fingerprint,
        agent_id: done.agent_id,
        asset_id: done.asset_id,
        credential: done.credential,
        signing_key: hex::encode(key),
    };
    write_secret(&dir.join(IDENTITY), &serde_json::to_vec_pretty(&identity)?)?;
    // A fresh identity starts a fresh queue: the old agent's numbers mean nothing now.
    for f in [
        "queue.jsonl",
        "queue.json",
        "inventory.json",
        "status.json",
        "running.json",
    ] {
        let _ = std::fs::remove_file(dir.join(f));
    }
    // Re-enrolling resets trust: the root is pinned again, from this enrollment.
    let trust = trust::Trust::enrolled(
        &dir,
        done.root_key.as_deref(),
        root.is_some(),
        done.client_id,
    )?;
    if let Some(f) = trust.root_fingerprint() {
        println!(
            "script signing root {f} ({})",
            if root.is_some() {
                "checked against --root"
            } else {
                "taken from the server: confirm it with your admin"
            }
        );
    }
    println!(
        "enrolled {} as agent {} (asset {}{}) with {server}",
        sys.hostname,
        done.agent_id,
        done.asset_id,
        if done.reattached {
            ", the machine's existing record"
        } else {
            ""
        }
    );
    println!(
        "start it with: outpost-agent run --state-dir {}",
        dir.display()
    );
    Ok(())
}

fn status(dir: &Path) -> anyhow::Result<()> {
    let id = load_identity(dir)?;
    println!("agent:    {}", id.agent_id);
    println!("asset:    {}", id.asset_id);
    println!("server:   {}", id.server);
    if let Some(f) = &id.fingerprint {
        println!("pinned:   {f}");
    }
    if let Ok(t) = trust::Trust::load(dir) {
        let state = t.state();
        match state.root_fingerprint {
            Some(f) => println!(
                "root:     {f} (pinned at {})",
                state.pinned.replace('_', " ")
            ),
            None => println!("root:     none yet (signed scripts cannot run)"),
        }
        println!("revocations: list {}", state.revocation_seq);
    }
    let q = queue::Queue::read(dir, channel::QUEUE_MAX, chrono::Duration::days(7));
    println!(
        "queued:   {} (dropped while offline: {})",
        q.len(),
        q.dropped()
    );
    println!("stored:   through message {}", q.acked());
    match std::fs::read(dir.join("status.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<channel::Status>(&b).ok())
    {
        Some(s) => {
            println!(
                "channel:  {}",
                if s.connected {
                    "connected"
                } else {
                    "not connected"
                }
            );
            if let Some(at) = s.last_connected {
                println!("last connected: {at}");
            }
            if let Some(e) = s.last_error {
                println!("last error: {e}");
            }
        }
        None => println!("channel:  never started (run `outpost-agent run`)"),
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "outpost_agent=info".into()),
        )
        .with_writer(std::io::stderr)
        // The journal and log files want plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    // One thread: the agent waits almost all the time, and a small footprint matters more.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Enroll {
            server,
            token,
            fingerprint,
            root,
            state_dir: d,
        } => rt.block_on(enroll(server, token, fingerprint, root, state_dir(d)?)),
        Command::Run {
            state_dir: d,
            heartbeat_secs,
            inventory_secs,
        } => {
            let dir = state_dir(d)?;
            let identity = load_identity(&dir)?;
            rt.block_on(channel::run(
                dir,
                identity,
                heartbeat_secs.clamp(1, 3600),
                inventory_secs.max(1),
            ))
        }
        Command::Status { state_dir: d } => status(&state_dir(d)?),
    }
}
