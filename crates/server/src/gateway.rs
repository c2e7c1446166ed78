//! The agent gateway: one WebSocket per agent (`/api/v1/agent/channel`). It checks who
//! connects, caps how many upgrades it takes per second (a fleet reconnecting after a restart
//! gets 503 + Retry-After, not a melted server), keeps per-connection buffers small, and
//! hands checked messages to one writer that stores them in batches (the core does the
//! checking and storing; this module only moves frames).

use crate::ApiFailure;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures_util::{SinkExt, StreamExt};
use outpost_core::fleet::agents::AgentSession;
use outpost_core::fleet::telemetry::{check_message, Arrival};
use outpost_core::Core;
use outpost_proto::{AgentMessage, GatewayMessage, AGENT_CHANNEL_PATH, AGENT_MAX_MESSAGE_BYTES};
use rand::Rng;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use uuid::Uuid;

#[derive(Clone, Debug)]
pub struct GatewayConfig {
    /// WebSocket upgrades taken per second; more get 503 with Retry-After.
    pub upgrades_per_sec: f64,
    /// An endpoint not heard from for this long is shown offline (its connection died
    /// without closing).
    pub silent_after: Duration,
    /// A connection that sends nothing for this long is closed.
    pub idle_timeout: Duration,
    /// How often the upkeep runs (offline sweep, metric rollups).
    pub upkeep_every: Duration,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            upgrades_per_sec: 500.0,
            silent_after: Duration::from_secs(180),
            idle_timeout: Duration::from_secs(300),
            upkeep_every: Duration::from_secs(30),
        }
    }
}

/// A checked message waiting for the writer, and where its acknowledgement goes.
struct Pending {
    arrival: Arrival,
    seq: u64,
    reply: mpsc::Sender<GatewayMessage>,
}

pub struct Gateway {
    core: Arc<Core>,
    config: GatewayConfig,
    queue: mpsc::Sender<Pending>,
    /// Upgrade tokens left and when they were last counted (a token bucket).
    upgrades: Mutex<(f64, Instant)>,
    /// Agents connected now, and where to send them messages (once greeted): a second
    /// connection as the same agent is a cloned machine.
    live: Mutex<HashMap<Uuid, Option<mpsc::Sender<GatewayMessage>>>>,
}

/// The largest batch the writer stores in one transaction.
const BATCH: usize = 2_000;

impl Gateway {
    /// Starts the gateway's writer and upkeep on the current runtime.
    pub fn start(core: Arc<Core>, config: GatewayConfig) -> Arc<Gateway> {
        let (queue, rx) = mpsc::channel(20_000);
        let gw = Arc::new(Gateway {
            core: core.clone(),
            upgrades: Mutex::new((config.upgrades_per_sec, Instant::now())),
            config,
            queue,
            live: Mutex::new(HashMap::new()),
        });
        tokio::spawn(write_batches(core.clone(), rx));
        tokio::spawn(dispatch(Arc::downgrade(&gw), core.subscribe()));
        tokio::spawn(upkeep(Arc::downgrade(&gw)));
        tokio::spawn(start_scheduled_runs(Arc::downgrade(&gw)));
        gw
    }

    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route(AGENT_CHANNEL_PATH, get(channel))
            .with_state(self.clone())
    }

    /// Takes one upgrade token, if there is one left this second.
    fn admit(&self) -> bool {
        let mut b = self.upgrades.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let rate = self.config.upgrades_per_sec;
        b.0 = (b.0 + now.duration_since(b.1).as_secs_f64() * rate).min(rate);
        b.1 = now;
        if b.0 >= 1.0 {
            b.0 -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Removes an agent from the live set when its connection (or its failed upgrade) ends.
struct LiveGuard {
    gw: Arc<Gateway>,
    agent: Uuid,
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.gw
            .live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.agent);
    }
}

fn credential(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (id, secret) = value.strip_prefix("Bearer ")?.trim().split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

async fn channel(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if !gw.admit() {
        // Spread the retries, so the next second is not the same crowd.
        let wait = rand::thread_rng().gen_range(1..=10);
        let mut r = ApiFailure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the gateway is taking many connections at once; retry after the time given".into(),
        )
        .into_response();
        r.headers_mut().insert(
            header::RETRY_AFTER,
            wait.to_string().parse().expect("a number"),
        );
        return r;
    }
    let Some((id, secret)) = credential(&headers) else {
        return ApiFailure::new(
            StatusCode::UNAUTHORIZED,
            "an agent connects with 'Authorization: Bearer <agent id>:<credential>'".into(),
        )
        .into_response();
    };
    let session = match gw.core.agent_session(&id, &secret).await {
        Ok(s) => s,
        Err(e) => return ApiFailure::from(e).into_response(),
    };
    let fresh = {
        let mut live = gw.live.lock().unwrap_or_else(|p| p.into_inner());
        match live.entry(session.agent_id) {
            std::collections::hash_map::Entry::Occupied(_) => false,
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(None);
                true
            }
        }
    };
    if !fresh {
        let warning = format!(
            "two machines connected at once as agent {}: likely a cloned disk image with the \
             agent installed; give the clone its own machine id and enroll it",
            session.agent_id
        );
        if let Err(e) = gw.core.flag_clone(session.asset_id, &warning).await {
            tracing::warn!(error = %e, "could not flag a clone");
        }
        return ApiFailure::new(
            StatusCode::CONFLICT,
            "another machine is connected as this agent (a clone?); enroll this one with its \
             own identity"
                .into(),
        )
        .into_response();
    }
    let guard = LiveGuard {
        gw: gw.clone(),
        agent: session.agent_id,
    };
    ws.read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
        .max_write_buffer_size(256 * 1024)
        .max_message_size(AGENT_MAX_MESSAGE_BYTES)
        .max_frame_size(AGENT_MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| serve(gw, socket, session, guard))
}

fn text(m: &GatewayMessage) -> Message {
    Message::Text(serde_json::to_string(m).unwrap_or_default().into())
}

async fn serve(gw: Arc<Gateway>, socket: WebSocket, session: AgentSession, _guard: LiveGuard) {
    let core = gw.core.clone();
    core.count_agent_connection(1);
    let (mut sink, mut stream) = socket.split();
    let (out, mut out_rx) = mpsc::channel::<GatewayMessage>(64);
    let writer = tokio::spawn(async move {
        while let Some(m) = out_rx.recv().await {
            if sink.send(text(&m)).await.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let mut events = core.subscribe();
    let mut last_seq = session.last_seq;
    let mut greeted = false;
    let mut refusals = 0;
    loop {
        let frame = tokio::select! {
            f = tokio::time::timeout(gw.config.idle_timeout, stream.next()) => f,
            ev = events.recv() => {
                if matches!(&ev, Ok(e) if e.what == "agent.revoked" && e.id == session.agent_id) {
                    let _ = out.send(GatewayMessage::Refused {
                        seq: None,
                        message: "this agent was revoked by an admin".into(),
                    }).await;
                    break;
                }
                continue;
            }
        };
        let body = match frame {
            Ok(Some(Ok(Message::Text(t)))) => t,
            Ok(Some(Ok(Message::Binary(_)))) => {
                let _ = out
                    .send(GatewayMessage::Refused {
                        seq: None,
                        message: "send JSON text frames".into(),
                    })
                    .await;
                break;
            }
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            // Closed, broken, too big, or silent for too long.
            _ => break,
        };
        let message: AgentMessage = match serde_json::from_str(body.as_str()) {
            Ok(m) => m,
            Err(e) => {
                refusals += 1;
                let _ = out
                    .send(GatewayMessage::Refused {
                        seq: None,
                        message: format!("not a message this gateway understands: {e}"),
                    })
                    .await;
                if refusals > 20 {
                    break;
                }
                continue;
            }
        };
        if let Err(e) = check_message(&message, core.now()) {
            refusals += 1;
            let _ = out
                .send(GatewayMessage::Refused {
                    seq: message.seq(),
                    message: e.to_string(),
                })
                .await;
            if refusals > 20 {
                break;
            }
            continue;
        }
        match message {
            AgentMessage::Hello {
                agent_version,
                trust,
                ..
            } => {
                if let Err(e) = core
                    .set_agent_connected(&session, true, Some(&agent_version))
                    .await
                {
                    tracing::warn!(error = %e, "could not mark an agent online");
                }
                if let Some(t) = &trust {
                    if let Err(e) = core.record_agent_trust(session.agent_id, t).await {
                        tracing::warn!(error = %e, "could not keep an agent's trust state");
                    }
                }
                let full = core
                    .needs_full_inventory(session.asset_id)
                    .await
                    .unwrap_or(true);
                greeted = true;
                let _ = out
                    .send(GatewayMessage::Welcome {
                        agent_id: session.agent_id,
                        asset_id: session.asset_id,
                        last_seq,
                        full_inventory: full,
                    })
                    .await;
                // Trust material first, then the runs waiting for it (which may need it).
                match core.trust_update().await {
                    Ok(t) => {
                        let _ = out.send(GatewayMessage::Trust(t)).await;
                    }
                    Err(e) => tracing::warn!(error = %e, "could not read the trust material"),
                }
                if let Some(slot) = gw
                    .live
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get_mut(&session.agent_id)
                {
                    *slot = Some(out.clone());
                }
                send_waiting_runs(&core, session.agent_id, &out).await;
            }
            AgentMessage::Trust(t) => {
                if let Err(e) = core.record_agent_trust(session.agent_id, &t).await {
                    tracing::warn!(error = %e, "could not keep an agent's trust state");
                }
            }
            _ if !greeted => {
                let _ = out
                    .send(GatewayMessage::Refused {
                        seq: message.seq(),
                        message: "say hello first".into(),
                    })
                    .await;
                break;
            }
            m => {
                crate::metrics::METRICS.agent_message(match &m {
                    AgentMessage::Heartbeat(_) => "heartbeat",
                    AgentMessage::Inventory(_) => "inventory",
                    AgentMessage::Run(_) => "run",
                    _ => "trust",
                });
                let seq = m.seq().unwrap_or(0);
                if seq <= last_seq {
                    // Stored before (a replay after a lost acknowledgement).
                    let _ = out.send(GatewayMessage::Ack { seq }).await;
                    continue;
                }
                last_seq = seq;
                let pending = Pending {
                    arrival: Arrival::new(&session, m),
                    seq,
                    reply: out.clone(),
                };
                // A full queue slows this agent down, which is what should happen.
                if gw.queue.send(pending).await.is_err() {
                    break;
                }
            }
        }
    }
    // The live map's copy of the sender goes too, or the writer would wait for it forever.
    if let Some(slot) = gw
        .live
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get_mut(&session.agent_id)
    {
        *slot = None;
    }
    drop(out);
    let _ = writer.await;
    if greeted {
        if let Err(e) = core.set_agent_connected(&session, false, None).await {
            tracing::warn!(error = %e, "could not mark an agent offline");
        }
    }
    core.count_agent_connection(-1);
}

async fn send_waiting_runs(core: &Core, agent: Uuid, out: &mpsc::Sender<GatewayMessage>) {
    match core.runs_for_agent(agent).await {
        Ok(orders) => {
            let mut sent = Vec::new();
            for o in orders {
                let id = o.run_id;
                if out.send(GatewayMessage::Run(Box::new(o))).await.is_ok() {
                    sent.push(id);
                }
            }
            if let Err(e) = core.mark_runs_sent(&sent).await {
                tracing::warn!(error = %e, "could not mark runs sent");
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not read an agent's waiting runs"),
    }
}

/// Hands new runs, cancellations and trust changes to the connected agents they concern.
async fn dispatch(
    gw: std::sync::Weak<Gateway>,
    mut events: tokio::sync::broadcast::Receiver<outpost_core::store::Event>,
) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        let (new_runs, cancel, trust) = match events.recv().await {
            Ok(e) => (
                e.what == "runs.new",
                (e.what == "run.cancel").then_some(e.id),
                e.what == "trust.changed",
            ),
            // Missed some: do what any of them could have asked.
            Err(RecvError::Lagged(_)) => (true, None, true),
            Err(RecvError::Closed) => return,
        };
        let Some(g) = gw.upgrade() else { return };
        let sender = |agent: &Uuid| {
            g.live
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(agent)
                .cloned()
                .flatten()
        };
        if new_runs {
            match g.core.unsent_runs().await {
                Ok(orders) => {
                    let mut sent = Vec::new();
                    for (agent, order) in orders {
                        let id = order.run_id;
                        // A full connection gets it at its next connection instead.
                        if let Some(tx) = sender(&agent) {
                            if tx.try_send(GatewayMessage::Run(Box::new(order))).is_ok() {
                                sent.push(id);
                            }
                        }
                    }
                    if let Err(e) = g.core.mark_runs_sent(&sent).await {
                        tracing::warn!(error = %e, "could not mark runs sent");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "could not read new runs"),
            }
        }
        if let Some(run) = cancel {
            if let Ok(Some(agent)) = g.core.run_agent(run).await {
                if let Some(tx) = sender(&agent) {
                    let _ = tx.send(GatewayMessage::CancelRun { run_id: run }).await;
                }
            }
        }
        if trust {
            if let Ok(update) = g.core.trust_update().await {
                let all: Vec<_> = g
                    .live
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .values()
                    .flatten()
                    .cloned()
                    .collect();
                for tx in all {
                    let _ = tx.try_send(GatewayMessage::Trust(update.clone()));
                }
            }
        }
    }
}

/// The one writer: takes what is queued, stores it in one transaction, acknowledges it.
async fn write_batches(core: Arc<Core>, mut rx: mpsc::Receiver<Pending>) {
    let mut batch: Vec<Pending> = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        let (arrivals, acks): (Vec<Arrival>, Vec<(u64, mpsc::Sender<GatewayMessage>)>) = batch
            .drain(..)
            .map(|p| (p.arrival, (p.seq, p.reply)))
            .unzip();
        let stored = match core.receive(&arrivals).await {
            Ok(_) => vec![true; arrivals.len()],
            Err(e) => {
                // One bad arrival must not cost the others: store them one by one.
                tracing::warn!(error = %e, "a batch failed; storing its messages one by one");
                let mut ok = Vec::with_capacity(arrivals.len());
                for a in arrivals {
                    let r = core.receive(std::slice::from_ref(&a)).await;
                    if let Err(e) = &r {
                        tracing::warn!(error = %e, agent = %a.agent_id, "a message could not be stored");
                    }
                    ok.push(r.is_ok());
                }
                ok
            }
        };
        for ((seq, reply), ok) in acks.into_iter().zip(stored) {
            if ok {
                // A connection too slow to take its acknowledgement gets it again later
                // (its resend is acknowledged without being stored twice).
                let _ = reply.try_send(GatewayMessage::Ack { seq });
            }
        }
    }
}

/// The automations' clock: scheduled runs whose time came go to their agents (the
/// dispatcher sends them). It ticks just after each whole second, since schedule times are
/// whole minutes.
async fn start_scheduled_runs(gw: std::sync::Weak<Gateway>) {
    loop {
        let into_second = chrono::Utc::now().timestamp_subsec_millis() as u64;
        tokio::time::sleep(Duration::from_millis(1000 - into_second.min(999) + 5)).await;
        let Some(g) = gw.upgrade() else { return };
        if let Err(e) = g.core.start_due_runs().await {
            tracing::warn!(error = %e, "starting scheduled runs failed");
        }
    }
}

/// Marks silent endpoints offline, judges clock alert rules, rolls metrics up, forgets old ones.
async fn upkeep(gw: std::sync::Weak<Gateway>) {
    let mut ticks: u64 = 0;
    loop {
        let every = match gw.upgrade() {
            Some(g) => g.config.upkeep_every,
            None => return,
        };
        tokio::time::sleep(every).await;
        let Some(g) = gw.upgrade() else { return };
        ticks += 1;
        // Silent endpoints go offline, clock rules (offline, reboot) are judged, metrics
        // roll up.
        if let Err(e) = g
            .core
            .fleet_upkeep(chrono::Duration::from_std(g.config.silent_after).unwrap_or_default())
            .await
        {
            tracing::warn!(error = %e, "fleet upkeep failed");
        }
        if let Err(e) = g.core.expire_runs().await {
            tracing::warn!(error = %e, "expiring runs failed");
        }
        if ticks % 120 == 1 {
            if let Err(e) = g.core.forget_old_metrics().await {
                tracing::warn!(error = %e, "forgetting old metrics failed");
            }
        }
    }
}
