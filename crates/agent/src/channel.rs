//! The agent's life: sample every few seconds, queue a heartbeat every minute and inventory
//! changes as they happen, and keep one WebSocket to the gateway to send the queue through.
//! Reconnects wait 0–30 s (jitter, so a fleet does not return at once), then back off
//! exponentially up to a cap; a 503 from a busy gateway is retried after its Retry-After.

use crate::collect::{self, Sampler};
use crate::queue::Queue;
use crate::runner::{self, Report};
use crate::trust::{Decision, Trust};
use crate::Identity;
use chrono::{DateTime, Utc};
use futures_util::{SinkExt, StreamExt};
use outpost_proto::{AgentMessage, GatewayMessage, Inventory, InventoryReport, AGENT_CHANNEL_PATH};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{sleep_until, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// Messages kept while offline: a week of minutes, with room for inventories.
pub const QUEUE_MAX: usize = 12_000;
/// Messages sent per second when replaying a queue (the gateway is not flooded).
const REPLAY_PER_SEC: u64 = 50;
/// Sent but not yet acknowledged, at most.
const IN_FLIGHT: u64 = 200;

#[derive(Serialize, Deserialize, Default)]
pub struct Status {
    pub connected: bool,
    pub last_connected: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}
type Socket = WebSocketStream<Box<dyn Io>>;

fn env_secs(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A reqwest error in words (a pinning refusal named as such).
pub fn describe(e: &reqwest::Error) -> String {
    let mut s: Option<&dyn std::error::Error> = Some(e);
    let mut text = e.to_string();
    while let Some(x) = s {
        let t = x.to_string();
        if t.contains(outpost_pin::MISMATCH) {
            return format!(
                "the server's certificate is not the one pinned ({t}); check --fingerprint"
            );
        }
        text = t;
        s = x.source();
    }
    text
}

enum Refusal {
    /// Try again after this long (a busy gateway).
    RetryAfter(Duration),
    /// Not worth retrying soon (revoked, unknown agent): said loudly, retried slowly.
    Refused(String),
    Failed(String),
}

async fn connect(id: &Identity) -> Result<Socket, Refusal> {
    let (secure, rest) = if let Some(r) = id.server.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = id.server.strip_prefix("http://") {
        (false, r)
    } else {
        return Err(Refusal::Refused("the server address is not http(s)".into()));
    };
    let authority = rest.split('/').next().unwrap_or(rest).to_string();
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => (
            h.trim_matches(['[', ']']).to_string(),
            p.parse::<u16>().unwrap_or(if secure { 443 } else { 80 }),
        ),
        _ => (authority.clone(), if secure { 443 } else { 80 }),
    };
    let tcp = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::net::TcpStream::connect((host.as_str(), port)),
    )
    .await
    .map_err(|_| Refusal::Failed(format!("connecting to {authority} timed out")))?
    .map_err(|e| Refusal::Failed(format!("cannot reach {authority}: {e}")))?;
    let _ = tcp.set_nodelay(true);
    let io: Box<dyn Io> = if secure {
        let config = match &id.fingerprint {
            Some(f) => outpost_pin::Pin::new(Some(f.clone()))
                .client_config(&[])
                .map_err(Refusal::Failed)?,
            None => {
                let roots = rustls::RootCertStore {
                    roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
                };
                rustls::ClientConfig::builder_with_provider(Arc::new(
                    rustls::crypto::ring::default_provider(),
                ))
                .with_safe_default_protocol_versions()
                .map_err(|e| Refusal::Failed(e.to_string()))?
                .with_root_certificates(roots)
                .with_no_client_auth()
            }
        };
        let name = rustls::pki_types::ServerName::try_from(host.clone())
            .map_err(|e| Refusal::Failed(format!("bad server name {host}: {e}")))?;
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|e| Refusal::Failed(format!("TLS with {authority} failed: {e}")))?;
        Box::new(tls)
    } else {
        Box::new(tcp)
    };
    let scheme = if secure { "wss" } else { "ws" };
    let mut req = format!("{scheme}://{authority}{AGENT_CHANNEL_PATH}")
        .into_client_request()
        .map_err(|e| Refusal::Failed(e.to_string()))?;
    req.headers_mut().insert(
        "authorization",
        format!("Bearer {}:{}", id.agent_id, id.credential)
            .parse()
            .map_err(|_| Refusal::Failed("the credential is not a header value".into()))?,
    );
    match tokio_tungstenite::client_async(req, io).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => {
            let body = r
                .body()
                .as_ref()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
                .and_then(|v| v["message"].as_str().map(str::to_string))
                .unwrap_or_default();
            match r.status().as_u16() {
                503 => {
                    let secs = r
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(10u64);
                    Err(Refusal::RetryAfter(Duration::from_secs(secs.min(600))))
                }
                401 | 403 | 409 => Err(Refusal::Refused(format!(
                    "the gateway refused this agent ({}): {body}",
                    r.status()
                ))),
                s => Err(Refusal::Failed(format!("the gateway answered {s}: {body}"))),
            }
        }
        Err(e) => Err(Refusal::Failed(format!(
            "the WebSocket handshake failed: {e}"
        ))),
    }
}

struct Agent {
    dir: PathBuf,
    queue: Queue,
    status: Status,
    /// The inventory the server was last sent (sections merged).
    sent: Option<Inventory>,
    slow: Inventory,
    trust: Trust,
    /// Runs going now, and how to stop each.
    running: HashMap<uuid::Uuid, tokio::sync::oneshot::Sender<()>>,
}

/// Runs started and not yet reported finished (a crash leaves them here: reported failed at
/// the next start).
const RUNNING: &str = "running.json";

impl Agent {
    fn save_status(&self) {
        let _ = std::fs::write(
            self.dir.join("status.json"),
            serde_json::to_vec(&self.status).unwrap_or_default(),
        );
    }

    fn save_running(&self) {
        let ids: Vec<&uuid::Uuid> = self.running.keys().collect();
        let _ = std::fs::write(
            self.dir.join(RUNNING),
            serde_json::to_vec(&ids).unwrap_or_default(),
        );
    }

    fn report(&mut self, r: Report) -> anyhow::Result<()> {
        if matches!(
            r.event,
            outpost_proto::RunEventKind::Finished { .. }
                | outpost_proto::RunEventKind::Refused { .. }
        ) {
            self.running.remove(&r.run_id);
            self.save_running();
        }
        self.enqueue(|seq| {
            AgentMessage::Run(outpost_proto::RunEvent {
                seq,
                run_id: r.run_id,
                at: Utc::now(),
                event: r.event,
            })
        })
    }

    /// A run order from the gateway: run it only if every check passes.
    fn take_order(
        &mut self,
        identity: &Identity,
        order: outpost_proto::RunOrder,
        reports: &tokio::sync::mpsc::Sender<Report>,
    ) -> anyhow::Result<()> {
        let run_id = order.run_id;
        let refuse = |e: outpost_trust::Refusal| Report {
            run_id,
            event: outpost_proto::RunEventKind::Refused {
                code: e.code().into(),
                message: e.to_string(),
            },
        };
        let signed: outpost_trust::SignedRun = match serde_json::to_value(&order.signed)
            .and_then(serde_json::from_value)
        {
            Ok(s) => s,
            Err(e) => return self.report(refuse(outpost_trust::Refusal::Malformed(e.to_string()))),
        };
        if self.running.contains_key(&run_id) {
            return Ok(());
        }
        match self.trust.judge(
            identity.agent_id,
            run_id,
            &signed,
            &order.script_body,
            Utc::now().timestamp(),
        )? {
            Decision::AlreadyTaken => Ok(()),
            Decision::Refuse(e) => {
                tracing::warn!(run = %run_id, code = e.code(), reason = %e, "refused a run");
                self.report(refuse(e))
            }
            Decision::Run(v) => {
                tracing::info!(run = %run_id, signer = %v.signer.name, "running a signed script");
                let (stop, cancelled) = tokio::sync::oneshot::channel();
                self.running.insert(run_id, stop);
                self.save_running();
                let key = identity.signing_key()?;
                tokio::spawn(runner::run(
                    self.dir.clone(),
                    *v,
                    order.script_body,
                    key,
                    reports.clone(),
                    cancelled,
                ));
                Ok(())
            }
        }
    }

    fn enqueue(&mut self, make: impl FnOnce(u64) -> AgentMessage) -> anyhow::Result<()> {
        let seq = self.queue.take_seq()?;
        let text = serde_json::to_string(&make(seq))?;
        self.queue.push(seq, text)
    }

    /// Queues what changed in the inventory (everything, with `full`).
    fn inventory(&mut self, sampler: &mut Sampler, full: bool) -> anyhow::Result<()> {
        let mut now = sampler.quick_inventory();
        now.software = self.slow.software.clone();
        now.services = self.slow.services.clone();
        now.updates = self.slow.updates.clone();
        let diff = if full {
            now.clone()
        } else {
            collect::diff(self.sent.as_ref(), &now)
        };
        if !full && collect::is_empty(&diff) {
            return Ok(());
        }
        let _ = std::fs::write(
            self.dir.join("inventory.json"),
            serde_json::to_vec(&now).unwrap_or_default(),
        );
        self.sent = Some(now);
        self.enqueue(|seq| {
            AgentMessage::Inventory(Box::new(InventoryReport {
                seq,
                at: Utc::now(),
                full,
                inventory: diff,
            }))
        })
    }
}

pub async fn run(
    dir: PathBuf,
    identity: Identity,
    heartbeat_secs: u64,
    inventory_secs: u64,
) -> anyhow::Result<()> {
    let queue = Queue::open(&dir, QUEUE_MAX, chrono::Duration::days(7))?;
    let sent = std::fs::read(dir.join("inventory.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let trust = Trust::load(&dir)?;
    let mut agent = Agent {
        dir,
        queue,
        status: Status::default(),
        sent,
        slow: Inventory::default(),
        trust,
        running: HashMap::new(),
    };
    // Runs a crash or a stop cut short: their processes died with the agent.
    let leftover: Vec<uuid::Uuid> = std::fs::read(agent.dir.join(RUNNING))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    for run_id in leftover {
        let now = Utc::now();
        agent.report(Report {
            run_id,
            event: outpost_proto::RunEventKind::Finished {
                outcome: outpost_proto::RunOutcome::Failed,
                exit_code: None,
                started_at: now,
                ended_at: now,
                stdout_truncated: false,
                stderr_truncated: false,
            },
        })?;
    }
    agent.save_running();
    let (reports, mut report_rx) = tokio::sync::mpsc::channel::<Report>(256);
    let mut sampler = Sampler::new()?;
    let sample_every = Duration::from_secs(env_secs("OUTPOST_AGENT_SAMPLE_SECS", 5).clamp(1, 60))
        .min(Duration::from_secs(heartbeat_secs));
    let jitter_max = env_secs("OUTPOST_AGENT_JITTER_SECS", 30);
    let backoff_cap = env_secs("OUTPOST_AGENT_BACKOFF_CAP_SECS", 300).max(1);
    tracing::info!(agent = %identity.agent_id, server = %identity.server, "agent starting");

    // Software, services and updates take seconds to read (apt-get -s upgrade): read off
    // the loop, so heartbeats keep their time. The first report after a start is whole (the
    // server may have lost or never had one), once they are in.
    let mut slow_job = Some(tokio::task::spawn_blocking(collect::slow_inventory));
    let mut full_pending = true;

    let start = Instant::now();
    let mut next_sample = start + sample_every;
    let mut next_heartbeat = start + Duration::from_secs(heartbeat_secs);
    let mut next_slow = start + Duration::from_secs(inventory_secs);
    let mut next_connect = start;
    let mut failures: u32 = 0;
    let mut ws: Option<Socket> = None;
    // The last message sent on this connection, and when the last replay send went out.
    let mut cursor: u64 = 0;
    let mut last_send = start;
    let mut last_heard = start;
    let mut terminate = std::pin::pin!(shutdown_signal());

    loop {
        let sendable = ws.is_some()
            && agent.queue.after(cursor).next().is_some()
            && cursor.saturating_sub(agent.queue.acked()) < IN_FLIGHT;
        let send_at = last_send + Duration::from_millis(1000 / REPLAY_PER_SEC);
        tokio::select! {
            _ = &mut terminate => {
                if let Some(mut s) = ws.take() {
                    let _ = s.close(None).await;
                }
                agent.status.connected = false;
                agent.save_status();
                return Ok(());
            }
            _ = sleep_until(next_sample) => {
                sampler.sample();
                next_sample += sample_every;
            }
            _ = sleep_until(next_heartbeat) => {
                next_heartbeat += Duration::from_secs(heartbeat_secs);
                let hb = sampler.heartbeat(0, heartbeat_secs as u32);
                agent.enqueue(|seq| AgentMessage::Heartbeat(outpost_proto::Heartbeat { seq, ..hb }))?;
                // Cheap sections are compared every heartbeat: a disk added shows within a
                // minute.
                if !full_pending {
                    agent.inventory(&mut sampler, false)?;
                }
                // A connection that went quiet while we wait for acknowledgements is dead.
                if ws.is_some() && cursor > agent.queue.acked()
                    && last_heard.elapsed() > Duration::from_secs(3 * heartbeat_secs + 30)
                {
                    tracing::warn!("the gateway stopped answering; reconnecting");
                    ws = None;
                    next_connect = Instant::now();
                }
            }
            _ = sleep_until(next_slow), if slow_job.is_none() => {
                next_slow = Instant::now() + Duration::from_secs(inventory_secs);
                slow_job = Some(tokio::task::spawn_blocking(collect::slow_inventory));
            }
            done = async { slow_job.as_mut().expect("guarded").await }, if slow_job.is_some() => {
                slow_job = None;
                if let Ok(slow) = done {
                    agent.slow = slow;
                }
                agent.inventory(&mut sampler, std::mem::take(&mut full_pending))?;
            }
            _ = sleep_until(next_connect), if ws.is_none() => {
                match connect(&identity).await {
                    Ok(mut s) => {
                        let hello = AgentMessage::Hello {
                            agent_version: env!("CARGO_PKG_VERSION").into(),
                            dropped: agent.queue.dropped(),
                            trust: Some(agent.trust.state()),
                        };
                        if s.send(Message::Text(serde_json::to_string(&hello)?.into())).await.is_ok() {
                            ws = Some(s);
                            last_heard = Instant::now();
                            // Nothing is sent until the welcome says what is stored.
                            cursor = u64::MAX;
                        } else {
                            next_connect = Instant::now() + Duration::from_secs(5);
                        }
                    }
                    Err(r) => {
                        failures += 1;
                        let (wait, why) = match r {
                            Refusal::RetryAfter(d) => {
                                let extra = rand::thread_rng().gen_range(0..=jitter_max.max(1));
                                (d + Duration::from_secs(extra), "the gateway is busy".to_string())
                            }
                            Refusal::Refused(m) => (Duration::from_secs(backoff_cap), m),
                            Refusal::Failed(m) => {
                                // First retry within the jitter window, then exponential.
                                let base = if failures == 1 {
                                    rand::thread_rng().gen_range(0..=jitter_max) as f64
                                } else {
                                    let exp = 5u64.saturating_mul(1 << (failures - 1).min(16));
                                    exp.min(backoff_cap) as f64 * rand::thread_rng().gen_range(0.5..=1.0)
                                };
                                (Duration::from_secs_f64(base.max(0.2)), m)
                            }
                        };
                        tracing::warn!(error = %why, retry_in = ?wait, "not connected");
                        agent.status.connected = false;
                        agent.status.last_error = Some(why);
                        agent.save_status();
                        next_connect = Instant::now() + wait;
                    }
                }
            }
            Some(r) = report_rx.recv() => {
                agent.report(r)?;
            }
            _ = sleep_until(send_at), if sendable => {
                let entry = agent.queue.after(cursor).next().cloned();
                if let (Some(e), Some(s)) = (entry, ws.as_mut()) {
                    if s.send(Message::Text(e.message.clone().into())).await.is_err() {
                        ws = None;
                        next_connect = Instant::now() + Duration::from_secs(1);
                    } else {
                        cursor = e.seq;
                    }
                }
                last_send = Instant::now();
            }
            frame = async { ws.as_mut().expect("guarded").next().await }, if ws.is_some() => {
                last_heard = Instant::now();
                let text = match frame {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    _ => {
                        tracing::info!("the gateway closed the connection");
                        ws = None;
                        failures = 0;
                        agent.status.connected = false;
                        agent.save_status();
                        next_connect = Instant::now();
                        continue;
                    }
                };
                match serde_json::from_str::<GatewayMessage>(text.as_str()) {
                    Ok(GatewayMessage::Welcome { last_seq, full_inventory, .. }) => {
                        agent.queue.ack(last_seq)?;
                        cursor = last_seq.max(agent.queue.acked());
                        failures = 0;
                        agent.status = Status {
                            connected: true,
                            last_connected: Some(Utc::now()),
                            last_error: None,
                        };
                        agent.save_status();
                        tracing::info!(queued = agent.queue.len(), "connected");
                        if full_inventory && !full_pending && agent.queue.after(0).all(|e| !e.message.contains("\"full\":true")) {
                            agent.inventory(&mut sampler, true)?;
                        }
                    }
                    Ok(GatewayMessage::Ack { seq }) => agent.queue.ack(seq)?,
                    Ok(GatewayMessage::Refused { seq, message }) => {
                        tracing::warn!(?seq, %message, "the gateway refused a message");
                        match seq {
                            // Refused whole: it would be refused again. Only that one goes.
                            Some(s) => agent.queue.forget(s)?,
                            None => agent.status.last_error = Some(message),
                        }
                    }
                    Ok(GatewayMessage::Trust(u)) => {
                        let before = agent.trust.state();
                        for note in agent.trust.update(&u)? {
                            tracing::info!("{note}");
                        }
                        let after = agent.trust.state();
                        if after != before {
                            let m = AgentMessage::Trust(after);
                            if let Some(s) = ws.as_mut() {
                                let _ = s.send(Message::Text(serde_json::to_string(&m)?.into())).await;
                            }
                        }
                    }
                    Ok(GatewayMessage::Run(order)) => agent.take_order(&identity, *order, &reports)?,
                    Ok(GatewayMessage::CancelRun { run_id }) => {
                        if let Some(stop) = agent.running.remove(&run_id) {
                            tracing::info!(run = %run_id, "cancelling a run");
                            let _ = stop.send(());
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "an unreadable frame from the gateway"),
                }
            }
        }
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
