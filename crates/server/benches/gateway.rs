//! The agent gateway under a fleet: simulated agents speaking the real protocol over real
//! WebSockets on loopback (from several 127.x source addresses) against the real
//! `outpost-server` binary. Prints figures; does not fail on them.
//!
//!   1. hold OUTPOST_BENCH_AGENTS connections (default 20,000); server memory per connection
//!   2. sustained heartbeats (alert rules and rollups on): rate, p50/p95 ingest latency
//!   3. reconnect storm: the server killed and started again; time until all are back
//!   4. the Fleet list with every endpoint: p50/p95 over HTTP
//!   5. a month of metrics for 1,000 endpoints: bytes on disk, chart query times
//!   6. the real agent, idle, for OUTPOST_BENCH_AGENT_SECS (default 600): RSS and CPU
//!
//! Needs a raised file limit (`cargo xtask bench` raises it to the hard limit; each
//! connection is a file on both sides, so the fleet is capped a little under that limit).

use futures_util::{SinkExt, StreamExt};
use outpost_proto::{AgentMessage, DiskUse, GatewayMessage, Heartbeat, Stat};
use rand::Rng;
use serde_json::{json, Value};

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

mod common;
use common::*;

#[derive(Default)]
struct Fleet {
    connected: AtomicUsize,
    welcomed_ever: AtomicUsize,
    acks: AtomicU64,
    refused_upgrades: AtomicU64,
    refused_messages: AtomicU64,
    last_refusal: Mutex<String>,
    /// Send-to-acknowledgement times (µs) while measuring.
    latencies: Mutex<Vec<u64>>,
    measuring: AtomicBool,
    /// Heartbeats per agent per second (scaled ×1000), 0: idle.
    rate_milli: AtomicU64,
    stop: AtomicBool,
}

struct Identity {
    n: usize,
    agent_id: String,
    credential: String,
}

async fn connect(
    port: u16,
    id: &Identity,
) -> Result<tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>, Option<Duration>> {
    // Several source addresses, so the fleet does not run out of ports of one.
    let src: std::net::SocketAddr = format!("127.0.0.{}:0", 2 + id.n % 8).parse().unwrap();
    let sock = tokio::net::TcpSocket::new_v4().map_err(|_| None)?;
    sock.bind(src).map_err(|_| None)?;
    let tcp = sock
        .connect(format!("127.0.0.1:{port}").parse().unwrap())
        .await
        .map_err(|_| None)?;
    let mut req = format!("ws://127.0.0.1:{port}{}", outpost_proto::AGENT_CHANNEL_PATH)
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "authorization",
        format!("Bearer {}:{}", id.agent_id, id.credential)
            .parse()
            .unwrap(),
    );
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(4096);
    match tokio_tungstenite::client_async_with_config(req, tcp, Some(config)).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) if r.status() == 503 => {
            let secs = r
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                .unwrap_or(5u64);
            Err(Some(Duration::from_secs(secs)))
        }
        Err(_) => Err(None),
    }
}

fn heartbeat(seq: u64) -> String {
    let mut r = rand::thread_rng();
    // Percentages stay under 100 at 1.5 times their average.
    let cpu: f64 = r.gen_range(1.0..40.0);
    let s = |v: f64| Stat {
        min: v * 0.5,
        avg: v,
        max: v * 1.5,
    };
    serde_json::to_string(&AgentMessage::Heartbeat(Heartbeat {
        seq,
        at: chrono::Utc::now(),
        window_secs: 60,
        samples: 12,
        cpu: s(cpu),
        memory: s(r.gen_range(20.0..60.0)),
        disks: vec![DiskUse {
            mount: "/".into(),
            used_pct: r.gen_range(30.0..80.0),
        }],
        net_in: s(r.gen_range(100.0..100_000.0)),
        net_out: s(r.gen_range(100.0..50_000.0)),
        temperature: None,
        top_processes: vec![],
    }))
    .unwrap()
}

/// One simulated agent for the whole run: connects, reconnects like the real agent (0–30 s
/// jitter, then backoff; a 503's Retry-After honoured), heartbeats when asked.
async fn agent(port: u16, id: Identity, fleet: Arc<Fleet>) {
    let mut seq = 1u64;
    let mut failures = 0u32;
    let mut first = true;
    while !fleet.stop.load(Ordering::Relaxed) {
        let ws = match connect(port, &id).await {
            Ok(ws) => ws,
            Err(retry) => {
                failures += 1;
                if retry.is_some() {
                    fleet.refused_upgrades.fetch_add(1, Ordering::Relaxed);
                }
                let wait = match retry {
                    Some(d) => d + Duration::from_millis(rand::thread_rng().gen_range(0..30_000)),
                    None if failures == 1 => {
                        Duration::from_millis(rand::thread_rng().gen_range(0..30_000))
                    }
                    None => Duration::from_secs((5u64 << (failures - 1).min(6)).min(300)),
                };
                tokio::time::sleep(wait).await;
                continue;
            }
        };
        let (mut tx, mut rx) = ws.split();
        let hello = serde_json::to_string(&AgentMessage::Hello {
            agent_version: "bench".into(),
            dropped: 0,
            trust: None,
        })
        .unwrap();
        if tx.send(Message::Text(hello.into())).await.is_err() {
            continue;
        }
        let mut sent: std::collections::VecDeque<(u64, Instant)> = Default::default();
        let mut welcomed = false;
        // When the next heartbeat is due (set when the fleet is asked to beat).
        let mut next: Option<Instant> = None;
        loop {
            let rate = fleet.rate_milli.load(Ordering::Relaxed);
            if rate == 0 {
                next = None;
            } else if welcomed && next.is_none() {
                // Spread the fleet's first beats over one interval.
                let every = 1_000_000 / rate;
                next = Some(
                    Instant::now()
                        + Duration::from_millis(rand::thread_rng().gen_range(0..every.max(1))),
                );
            }
            let wait = next
                .map(|n| n.saturating_duration_since(Instant::now()))
                .unwrap_or(Duration::from_millis(500));
            tokio::select! {
                frame = rx.next() => {
                    let Some(Ok(Message::Text(t))) = frame else { break };
                    match serde_json::from_str::<GatewayMessage>(t.as_str()) {
                        Ok(GatewayMessage::Welcome { last_seq, .. }) => {
                            welcomed = true;
                            seq = seq.max(last_seq + 1);
                            fleet.connected.fetch_add(1, Ordering::Relaxed);
                            if first {
                                fleet.welcomed_ever.fetch_add(1, Ordering::Relaxed);
                                first = false;
                            }
                            failures = 0;
                        }
                        Ok(GatewayMessage::Ack { seq: s }) => {
                            fleet.acks.fetch_add(1, Ordering::Relaxed);
                            while let Some((q, at)) = sent.front().copied() {
                                if q > s { break; }
                                sent.pop_front();
                                if q == s && fleet.measuring.load(Ordering::Relaxed) {
                                    fleet.latencies.lock().unwrap().push(at.elapsed().as_micros() as u64);
                                }
                            }
                        }
                        Ok(GatewayMessage::Refused { message, .. }) => {
                            fleet.refused_messages.fetch_add(1, Ordering::Relaxed);
                            *fleet.last_refusal.lock().unwrap() = message;
                        }
                        // Simulated agents run no scripts.
                        Ok(GatewayMessage::Trust(_) | GatewayMessage::Run(_) | GatewayMessage::CancelRun { .. }) => {}
                        Err(_) => {}
                    }
                }
                _ = tokio::time::sleep(wait) => {
                    if fleet.stop.load(Ordering::Relaxed) { return; }
                    if let Some(due) = next.filter(|n| Instant::now() >= *n) {
                        if tx.send(Message::Text(heartbeat(seq).into())).await.is_err() { break; }
                        sent.push_back((seq, Instant::now()));
                        seq += 1;
                        let rate = fleet.rate_milli.load(Ordering::Relaxed).max(1);
                        next = Some(due + Duration::from_micros(1_000_000_000 / rate));
                    }
                }
            }
        }
        if welcomed {
            fleet.connected.fetch_sub(1, Ordering::Relaxed);
        }
        failures += 1;
        // The real agent's first retry after losing its server: within the jitter window.
        let jitter = rand::thread_rng().gen_range(0..30_000);
        tokio::time::sleep(Duration::from_millis(jitter)).await;
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let wanted = env_num("OUTPOST_BENCH_AGENTS", 20_000) as usize;
    // One file per connection on each side: stay under this machine's limit.
    let limit = Command::new("sh")
        .args(["-c", "ulimit -n"])
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<usize>()
                .ok()
        })
        .unwrap_or(1024);
    let agents = wanted.min(limit.saturating_sub(200));
    if agents < wanted {
        println!("the file limit here is {limit}: the fleet is {agents} agents, not {wanted}");
    }
    let rate_target = env_num("OUTPOST_BENCH_HEARTBEATS_PER_SEC", 5_000);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    let BenchServer {
        port,
        base,
        proc: mut server,
        http,
        token,
        ..
    } = bench_server(&data).await;
    let mut clients = Vec::new();
    for i in 0..20 {
        let c = api(
            &http,
            &base,
            &token,
            "POST",
            "/clients",
            json!({"name": format!("Client {i}")}),
        )
        .await;
        clients.push(c["id"].as_str().unwrap().to_string());
    }

    // Enrollment: the real route, a few at a time.
    let t0 = Instant::now();
    let mut tokens = Vec::new();
    for (i, c) in clients.iter().enumerate() {
        let per = agents.div_ceil(clients.len()).max(1) as i64;
        let t = api(
            &http,
            &base,
            &token,
            "POST",
            "/enrollment-tokens",
            json!({"client_id": c, "expires_in_hours": 24, "max_uses": per.min(10_000)}),
        )
        .await;
        tokens.push((i, t["token"].as_str().unwrap().to_string()));
    }
    let ids: Arc<Mutex<Vec<Identity>>> = Arc::default();
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..16 {
        let (http, base, tokens, ids, next) = (
            http.clone(),
            base.clone(),
            tokens.clone(),
            ids.clone(),
            next.clone(),
        );
        workers.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= agents {
                    return;
                }
                let tok = &tokens[n % tokens.len()].1;
                let mut key = [0u8; 32];
                rand::thread_rng().fill(&mut key);
                let r: Value = http
                    .post(format!("{base}/api/v1/agent/enroll"))
                    .json(
                        &json!({"token": tok, "machine_fingerprint": hex::encode(key),
                        "public_key": hex::encode(key), "hostname": format!("pc-{n:05}"),
                        "os": "Windows 11 Pro 23H2", "agent_version": "bench"}),
                    )
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                ids.lock().unwrap().push(Identity {
                    n,
                    agent_id: r["agent_id"].as_str().unwrap().to_string(),
                    credential: r["credential"].as_str().unwrap().to_string(),
                });
            }
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    println!(
        "enrolled {agents} agents over HTTP in {:.1} s",
        t0.elapsed().as_secs_f64()
    );

    // 1. Hold every connection.
    let fleet = Arc::new(Fleet::default());
    let pid = server.0.id();
    let rss_before = rss_kib(pid);
    let t0 = Instant::now();
    let ids = std::mem::take(&mut *ids.lock().unwrap());
    for id in ids {
        tokio::spawn(agent(port, id, fleet.clone()));
    }
    while fleet.connected.load(Ordering::Relaxed) < agents
        && t0.elapsed() < Duration::from_secs(300)
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let held = fleet.connected.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_after = rss_kib(pid);
    println!(
        "connections held: {held} of {agents} (target >= 20,000), all up in {:.1} s ({} upgrades told to retry)",
        t0.elapsed().as_secs_f64(),
        fleet.refused_upgrades.load(Ordering::Relaxed)
    );
    println!(
        "server RSS {} MiB idle -> {} MiB with the fleet: {:.1} KiB per connection",
        rss_before / 1024,
        rss_after / 1024,
        (rss_after.saturating_sub(rss_before)) as f64 / held.max(1) as f64
    );

    // 2. Sustained heartbeats.
    let per_agent_milli = (rate_target * 1000) / held.max(1) as u64;
    fleet
        .rate_milli
        .store(per_agent_milli.max(1), Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(10)).await; // warm up
    fleet.latencies.lock().unwrap().clear();
    fleet.measuring.store(true, Ordering::Relaxed);
    let acks0 = fleet.acks.load(Ordering::Relaxed);
    let cpu0 = cpu_ticks(pid);
    let t0 = Instant::now();
    let secs = env_num("OUTPOST_BENCH_SUSTAIN_SECS", 30);
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let elapsed = t0.elapsed().as_secs_f64();
    let acks = fleet.acks.load(Ordering::Relaxed) - acks0;
    let cpu = (cpu_ticks(pid) - cpu0) as f64 / 100.0 / elapsed;
    fleet.measuring.store(false, Ordering::Relaxed);
    let mut lat = std::mem::take(&mut *fleet.latencies.lock().unwrap());
    println!(
        "heartbeats stored: {:.0}/s offered {rate_target}/s (target >= 5,000/s) over {elapsed:.0} s, server CPU {:.0} % of a core; ingest latency p50 {:.1} ms, p95 {:.1} ms",
        acks as f64 / elapsed,
        cpu * 100.0,
        pct(&mut lat, 0.5) as f64 / 1000.0,
        pct(&mut lat, 0.95) as f64 / 1000.0
    );
    let refused = fleet.refused_messages.load(Ordering::Relaxed);
    if refused > 0 {
        println!(
            "  {refused} heartbeats refused, the last: {}",
            fleet.last_refusal.lock().unwrap()
        );
    }
    fleet.rate_milli.store(0, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(3)).await;

    // 3. Reconnect storm: every connection dropped by a server restart.
    drop(server);
    while fleet.connected.load(Ordering::Relaxed) > 0 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server = start_server(&data, port);
    let t0 = Instant::now();
    wait_healthy(&http, &base).await;
    let refused0 = fleet.refused_upgrades.load(Ordering::Relaxed);
    while fleet.connected.load(Ordering::Relaxed) < held && t0.elapsed() < Duration::from_secs(180)
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let back = fleet.connected.load(Ordering::Relaxed);
    println!(
        "reconnect storm: {back} of {held} back in {:.1} s after the restart (target <= 60 s), {} told to retry later, {} not back",
        t0.elapsed().as_secs_f64(),
        fleet.refused_upgrades.load(Ordering::Relaxed) - refused0,
        held - back
    );

    // 4. The Fleet list with every endpoint.
    let mut times = Vec::new();
    for sort in ["client", "health", "last_seen"] {
        for i in 0..40 {
            let t = Instant::now();
            let r = http
                .get(format!(
                    "{base}/api/v1/assets?limit=100&offset={}&sort={sort}",
                    (i * 100) % agents.max(1)
                ))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success());
            let _ = r.bytes().await.unwrap();
            times.push(t.elapsed().as_micros() as u64);
        }
    }
    println!(
        "Fleet list over HTTP with {agents} endpoints (a page of 100, three sorts): p50 {:.1} ms, p95 {:.1} ms (target <= 20 ms at 10,000)",
        pct(&mut times, 0.5) as f64 / 1000.0,
        pct(&mut times, 0.95) as f64 / 1000.0
    );
    fleet.stop.store(true, Ordering::Relaxed);

    // 6 (started now, measured at the end). The real agent, idle.
    let agent_secs = env_num("OUTPOST_BENCH_AGENT_SECS", 600);
    let own = api(
        &http,
        &base,
        &token,
        "POST",
        "/enrollment-tokens",
        json!({"client_id": clients[0], "expires_in_hours": 1, "max_uses": 1}),
    )
    .await;
    let tok = own["token"].as_str().unwrap();
    let state = dir.path().join("real-agent");
    let ok = Command::new(bin("outpost-agent"))
        .args(["enroll", "--server", &base, "--token", tok])
        .arg("--state-dir")
        .arg(&state)
        .env("OUTPOST_AGENT_MACHINE_ID", "bench-real-agent")
        .stdout(Stdio::null())
        .status()
        .unwrap()
        .success();
    let real = ok.then(|| {
        Proc(
            Command::new(bin("outpost-agent"))
                .args(["run", "--state-dir"])
                .arg(&state)
                .env("OUTPOST_AGENT_MACHINE_ID", "bench-real-agent")
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        )
    });

    // 5. A month of metrics for 1,000 endpoints, in a store of its own.
    month_of_metrics().await;

    if let Some(real) = real {
        let pid = real.0.id();
        // Past its start (the first full inventory), then idle.
        tokio::time::sleep(Duration::from_secs(20)).await;
        let c0 = cpu_ticks(pid);
        let t0 = Instant::now();
        let mut peak = 0;
        while t0.elapsed() < Duration::from_secs(agent_secs) {
            tokio::time::sleep(Duration::from_secs(5)).await;
            peak = peak.max(rss_kib(pid));
        }
        let cpu = (cpu_ticks(pid) - c0) as f64 / 100.0 / t0.elapsed().as_secs_f64();
        println!(
            "real agent idle for {agent_secs} s: RSS {:.1} MiB now, {:.1} MiB peak (target <= 20 MB); CPU {:.2} % of a core (target <= 0.5 %)",
            rss_kib(pid) as f64 / 1024.0,
            peak as f64 / 1024.0,
            cpu * 100.0
        );
    }
    drop(server);
}

/// Writes a month of metrics for 1,000 endpoints the way the rollups keep them (7 days of
/// minutes, 30 of 5 minutes, 30 of hours), then times the charts a technician opens.
async fn month_of_metrics() {
    use outpost_core::{Actor, Core, SystemClock};
    let dir = tempfile::tempdir().unwrap();
    let core = Core::open_dir(dir.path(), Arc::new(SystemClock))
        .await
        .unwrap();
    let admin = Actor::system();
    let client = core
        .create_client(
            &admin,
            outpost_proto::NewClient {
                name: "Metrics".into(),
                notes: None,
            },
        )
        .await
        .unwrap();
    let mut assets = Vec::new();
    for i in 0..1000 {
        let a = core
            .create_asset(
                &admin,
                outpost_proto::NewAsset {
                    client_id: client.id,
                    site_id: None,
                    name: format!("m-{i:04}"),
                    kind: outpost_proto::AssetKind::Workstation,
                    os: None,
                    serial: None,
                    notes: None,
                },
            )
            .await
            .unwrap();
        assets.push(a.id);
    }
    let pool = core.pool();
    let t0 = Instant::now();
    for (i, a) in assets.iter().enumerate() {
        sqlx::query("INSERT INTO metric_assets (no, asset_id) VALUES (?, ?)")
            .bind(i as i64 + 1)
            .bind(a.to_string())
            .execute(pool)
            .await
            .unwrap();
    }
    let now = chrono::Utc::now().timestamp() / 60 * 60;
    // Stored as the gateway stores them: tenths of a percent, bytes per second.
    for (table, step, span) in [
        ("metrics_1m", 60, 7 * 86_400),
        ("metrics_5m", 300, 30 * 86_400),
        ("metrics_1h", 3600, 30 * 86_400),
    ] {
        let mut tx = pool.begin().await.unwrap();
        sqlx::query(&format!(
            "WITH RECURSIVE t(at) AS (SELECT {start} UNION ALL SELECT at + {step} FROM t WHERE at + {step} < {now}) \
             INSERT INTO {table} (asset_no, at, n, cpu_lo, cpu_av, cpu_hi, mem_lo, mem_av, mem_hi, \
               disk_lo, disk_av, disk_hi, in_lo, in_av, in_hi, out_lo, out_av, out_hi) \
             SELECT m.no, t.at, {n}, abs(random() % 100), 100 + abs(random() % 300), 400 + abs(random() % 600), \
               300, 400 + abs(random() % 200), 700, 600, 610, 620, abs(random() % 1000), abs(random() % 20000), \
               abs(random() % 900000), abs(random() % 1000), abs(random() % 10000), abs(random() % 500000) \
             FROM metric_assets m CROSS JOIN t",
            start = now - span,
            n = step / 60,
        ))
        .execute(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(pool)
        .await
        .unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT (SELECT count(*) FROM metrics_1m) + (SELECT count(*) FROM metrics_5m) + (SELECT count(*) FROM metrics_1h)")
        .fetch_one(pool)
        .await
        .unwrap();
    let bytes: u64 = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    println!(
        "a month of metrics for 1,000 endpoints: {rows} rows, {:.0} MiB on disk ({:.1} MiB per endpoint, {:.0} bytes a row), written in {:.0} s",
        bytes as f64 / 1_048_576.0,
        bytes as f64 / 1_048_576.0 / 1000.0,
        bytes as f64 / rows.max(1) as f64,
        t0.elapsed().as_secs_f64()
    );
    for (label, days) in [("day", 1), ("week", 7), ("month", 30)] {
        let mut times = Vec::new();
        for i in 0..30 {
            let to = chrono::Utc::now();
            let t = Instant::now();
            let c = core
                .asset_chart(
                    &admin,
                    assets[(i * 37) % assets.len()],
                    &outpost_proto::ChartQuery {
                        series: outpost_proto::MetricSeries::Cpu,
                        from: Some(to - chrono::Duration::days(days)),
                        to: Some(to),
                        theme: None,
                        width: None,
                        height: None,
                    },
                )
                .await
                .unwrap();
            assert!(c.points > 0);
            times.push(t.elapsed().as_micros() as u64);
        }
        println!(
            "chart of a {label} (query + SVG): p50 {:.1} ms, p95 {:.1} ms",
            pct(&mut times, 0.5) as f64 / 1000.0,
            pct(&mut times, 0.95) as f64 / 1000.0
        );
    }
}
