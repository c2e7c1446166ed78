//! Signed runs, end to end, against the real `outpost-server` binary on loopback. Prints
//! figures; does not fail on them.
//!
//!   1. dispatch latency on one real agent: from signing a request to the script's process
//!      starting (the script prints its start time), verification included; p50/p95 over
//!      OUTPOST_BENCH_RUNS runs (default 100)
//!   2. a bulk run to OUTPOST_BENCH_BULK simulated agents (default 1,000) that verify each
//!      request as the real agent does: time until every agent holds its request, and until
//!      every result is stored
//!   3. an automation on the real agent, every minute: signing its 200 runs and the server
//!      taking them, then for OUTPOST_BENCH_SCHEDULED times (default 2, a minute apart) the
//!      lag from the time to the process start

use futures_util::{SinkExt, StreamExt};
use outpost_proto::{AgentMessage, GatewayMessage, RunEvent, RunEventKind, RunOutcome};
use outpost_trust::{CertificateBody, ClientScope, RevocationBody, RunRequest};
use serde_json::{json, Value};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

mod common;
use common::*;

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

struct Org {
    tech: outpost_trust::ed25519_dalek::SigningKey,
    cert: outpost_trust::Certificate,
    /// A second technician, who approves wide runs (the two-person rule).
    approver: outpost_trust::ed25519_dalek::SigningKey,
    approver_cert: outpost_trust::Certificate,
    serial: Uuid,
    root_public: [u8; 32],
}

fn request(org: &Org, agent: Uuid, client: Uuid, script: Uuid, body: &str) -> RunRequest {
    let now = chrono::Utc::now().timestamp();
    RunRequest {
        run_id: Uuid::now_v7(),
        nonce: rand::random(),
        target_agent: agent,
        target_client: client,
        script_id: script,
        script_version: 1,
        script_hash: outpost_trust::script_hash(body),
        interpreter: "bash".into(),
        parameters: vec![],
        timeout_secs: 60,
        not_before: now - 5,
        not_after: now + 3600,
        revocation_seq: 0,
        approvals_required: 0,
        certificate_serial: org.serial,
    }
}

async fn run() {
    let runs = env_num("OUTPOST_BENCH_RUNS", 100) as usize;
    let bulk = env_num("OUTPOST_BENCH_BULK", 1_000) as usize;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    let BenchServer {
        port,
        base,
        proc: _server,
        http,
        login,
        token,
    } = bench_server(&data).await;
    let user: Uuid = login["user"]["id"].as_str().unwrap().parse().unwrap();

    // The organisation: a root, one technician certified for every client.
    let root = outpost_trust::new_signing_key();
    let tech = outpost_trust::new_signing_key();
    api(
        &http,
        &base,
        &token,
        "POST",
        "/trust/root",
        json!({"public_key": hex::encode(root.verifying_key().to_bytes())}),
    )
    .await;
    let serial = Uuid::now_v7();
    let now = chrono::Utc::now().timestamp();
    let cert = CertificateBody {
        serial,
        root_key: root.verifying_key().to_bytes(),
        public_key: tech.verifying_key().to_bytes(),
        user_id: user,
        name: "Bench Tech".into(),
        not_before: now - 60,
        not_after: now + 86400,
        clients: ClientScope::All,
    }
    .sign(&root);
    api(
        &http,
        &base,
        &token,
        "POST",
        "/trust/certificates",
        json!({"certificate": cert}),
    )
    .await;
    let second = api(
        &http,
        &base,
        &token,
        "POST",
        "/users",
        json!({"username": "approver", "display_name": "Second Tech", "role": "technician",
               "password": "approver-pass-1"}),
    )
    .await;
    let approver = outpost_trust::new_signing_key();
    let approver_cert = CertificateBody {
        serial: Uuid::now_v7(),
        public_key: approver.verifying_key().to_bytes(),
        user_id: second["id"].as_str().unwrap().parse().unwrap(),
        name: "Second Tech".into(),
        ..cert.claims().unwrap()
    }
    .sign(&root);
    api(
        &http,
        &base,
        &token,
        "POST",
        "/trust/certificates",
        json!({"certificate": approver_cert}),
    )
    .await;
    let org = Org {
        tech,
        cert,
        approver,
        approver_cert,
        serial,
        root_public: root.verifying_key().to_bytes(),
    };
    let client = api(
        &http,
        &base,
        &token,
        "POST",
        "/clients",
        json!({"name": "Bench Client"}),
    )
    .await;
    let client: Uuid = client["id"].as_str().unwrap().parse().unwrap();

    // ---- 1. one real agent: signing to process start
    let body = "date +%s%N\n";
    let script = api(&http, &base, &token, "POST", "/scripts",
        json!({"name": "start time", "interpreter": "bash", "os": "any", "body": body, "timeout_secs": 60})).await;
    let script: Uuid = script["id"].as_str().unwrap().parse().unwrap();
    let t = api(
        &http,
        &base,
        &token,
        "POST",
        "/enrollment-tokens",
        json!({"client_id": client, "expires_in_hours": 2, "max_uses": 10_000}),
    )
    .await;
    let enroll_token = t["token"].as_str().unwrap().to_string();
    let state = dir.path().join("agent");
    let out = Command::new(bin("outpost-agent"))
        .args(["enroll", "--server", &base, "--token", &enroll_token])
        .arg("--state-dir")
        .arg(&state)
        .env("OUTPOST_AGENT_MACHINE_ID", "bench-real-agent")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let identity: Value =
        serde_json::from_slice(&std::fs::read(state.join("agent.json")).unwrap()).unwrap();
    let agent_id: Uuid = identity["agent_id"].as_str().unwrap().parse().unwrap();
    let _agent = Proc(
        Command::new(bin("outpost-agent"))
            .args(["run"])
            .arg("--state-dir")
            .arg(&state)
            .env("OUTPOST_AGENT_MACHINE_ID", "bench-real-agent")
            .env("OUTPOST_AGENT_JITTER_SECS", "0")
            .env("RUST_LOG", "error")
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Online, and holding the trust material.
    for _ in 0..200 {
        let a = api(&http, &base, &token, "GET", "/assets", Value::Null).await;
        if a["items"][0]["online"] == true {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut latencies = Vec::with_capacity(runs);
    let mut signing = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t0 = now_ns();
        let s0 = Instant::now();
        let signed = request(&org, agent_id, client, script, body).sign(&org.tech, &org.cert);
        signing.push(s0.elapsed().as_micros() as u64);
        let id = signed.claims().unwrap().run_id;
        api(
            &http,
            &base,
            &token,
            "POST",
            "/runs",
            json!({"runs": [signed]}),
        )
        .await;
        let started = loop {
            let r = api(
                &http,
                &base,
                &token,
                "GET",
                &format!("/runs/{id}"),
                Value::Null,
            )
            .await;
            if r["state"] == "finished" {
                break r["stdout"]
                    .as_str()
                    .unwrap()
                    .trim()
                    .parse::<u128>()
                    .unwrap();
            }
            assert!(r["state"] == "waiting" || r["state"] == "running", "{r}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        latencies.push(((started.saturating_sub(t0)) / 1000) as u64);
    }
    println!(
        "dispatch on one real agent, signing to process start ({runs} runs): p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms (target p95 <= 100 ms); signing alone p50 {} µs",
        pct(&mut latencies, 0.5) as f64 / 1000.0,
        pct(&mut latencies, 0.95) as f64 / 1000.0,
        pct(&mut latencies, 1.0) as f64 / 1000.0,
        pct(&mut signing, 0.5),
    );

    // ---- 2. a bulk run to simulated agents
    let mut ids = Vec::with_capacity(bulk);
    for n in 0..bulk {
        let key = outpost_trust::new_signing_key();
        let r: Value = http
            .post(format!("{base}/api/v1/agent/enroll"))
            .json(&json!({"token": enroll_token, "machine_fingerprint": hex::encode(rand::random::<[u8; 32]>()),
                "public_key": hex::encode(key.verifying_key().to_bytes()), "hostname": format!("sim-{n:04}"),
                "os": "Ubuntu 24.04", "agent_version": "bench"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ids.push((
            r["agent_id"].as_str().unwrap().parse::<Uuid>().unwrap(),
            r["credential"].as_str().unwrap().to_string(),
        ));
    }
    let welcomed = Arc::new(AtomicUsize::new(0));
    let received: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let refused = Arc::new(AtomicUsize::new(0));
    let root_public = org.root_public;
    for (n, (agent, credential)) in ids.iter().cloned().enumerate() {
        let (welcomed, received, refused) = (welcomed.clone(), received.clone(), refused.clone());
        tokio::spawn(async move {
            let src: std::net::SocketAddr = format!("127.0.0.{}:0", 2 + n % 8).parse().unwrap();
            let sock = tokio::net::TcpSocket::new_v4().unwrap();
            sock.bind(src).unwrap();
            let tcp = sock
                .connect(format!("127.0.0.1:{port}").parse().unwrap())
                .await
                .unwrap();
            let mut req = format!("ws://127.0.0.1:{port}{}", outpost_proto::AGENT_CHANNEL_PATH)
                .into_client_request()
                .unwrap();
            req.headers_mut().insert(
                "authorization",
                format!("Bearer {agent}:{credential}").parse().unwrap(),
            );
            let (ws, _) = tokio_tungstenite::client_async(req, tcp).await.unwrap();
            let (mut tx, mut rx) = ws.split();
            let hello = AgentMessage::Hello {
                agent_version: "bench".into(),
                dropped: 0,
                trust: None,
            };
            tx.send(Message::Text(serde_json::to_string(&hello).unwrap().into()))
                .await
                .unwrap();
            let root = outpost_trust::public_key(&root_public).unwrap();
            let revocations = RevocationBody {
                root_key: root_public,
                ..Default::default()
            };
            let mut seq = 1u64;
            while let Some(Ok(Message::Text(t))) = rx.next().await {
                match serde_json::from_str::<GatewayMessage>(t.as_str()) {
                    Ok(GatewayMessage::Welcome { last_seq, .. }) => {
                        seq = last_seq + 1;
                        welcomed.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(GatewayMessage::Run(order)) => {
                        let signed: outpost_trust::SignedRun =
                            serde_json::from_value(serde_json::to_value(&order.signed).unwrap())
                                .unwrap();
                        let view = outpost_trust::AgentView {
                            root: &root,
                            agent_id: agent,
                            client_id: None,
                            revocations: &revocations,
                            now: chrono::Utc::now().timestamp(),
                        };
                        let ok = outpost_trust::verify_run(&signed, &view).is_ok()
                            && outpost_trust::script_hash(&order.script_body)
                                == signed.claims().unwrap().script_hash;
                        received.lock().unwrap().push(Instant::now());
                        if !ok {
                            refused.fetch_add(1, Ordering::Relaxed);
                        }
                        let at = chrono::Utc::now();
                        for event in [
                            RunEventKind::Started { pid: 1 },
                            RunEventKind::Finished {
                                outcome: RunOutcome::Exited,
                                exit_code: Some(0),
                                started_at: at,
                                ended_at: at,
                                stdout_truncated: false,
                                stderr_truncated: false,
                            },
                        ] {
                            let m = AgentMessage::Run(RunEvent {
                                seq,
                                run_id: order.run_id,
                                at,
                                event,
                            });
                            seq += 1;
                            let _ = tx
                                .send(Message::Text(serde_json::to_string(&m).unwrap().into()))
                                .await;
                        }
                    }
                    _ => {}
                }
            }
        });
    }
    let t_connect = Instant::now();
    while welcomed.load(Ordering::Relaxed) < bulk {
        assert!(
            t_connect.elapsed() < Duration::from_secs(120),
            "only {} agents connected",
            welcomed.load(Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let s0 = Instant::now();
    // Over 50 endpoints: signed needing one approval, and approved by a second technician.
    let signed: Vec<_> = ids
        .iter()
        .map(|(agent, _)| {
            let mut r = request(&org, *agent, client, script, body);
            r.approvals_required = 1;
            let mut s = r.sign(&org.tech, &org.cert);
            s.approve(&org.approver, &org.approver_cert);
            s
        })
        .collect();
    let sign_ms = s0.elapsed().as_secs_f64() * 1000.0;
    let t0 = Instant::now();
    api(
        &http,
        &base,
        &token,
        "POST",
        "/runs",
        json!({"runs": signed}),
    )
    .await;
    let accepted = t0.elapsed();
    while received.lock().unwrap().len() < bulk {
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "only {} of {bulk} agents got their run",
            received.lock().unwrap().len()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let dispatched = received
        .lock()
        .unwrap()
        .iter()
        .max()
        .unwrap()
        .duration_since(t0);
    let stored = loop {
        let l = api(
            &http,
            &base,
            &token,
            "GET",
            "/runs?state=finished&limit=1",
            Value::Null,
        )
        .await;
        if l["total"].as_u64().unwrap_or(0) as usize >= bulk + runs {
            break t0.elapsed();
        }
        assert!(
            t0.elapsed() < Duration::from_secs(300),
            "results still missing: {l}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    println!(
        "bulk run to {bulk} simulated agents (each verifying, two signatures each): signed and approved in {sign_ms:.0} ms; the server took them in {:.2} s; all dispatched {:.2} s after sending (target <= 2 s); all results stored after {:.2} s; {} refused by an agent",
        accepted.as_secs_f64(),
        dispatched.as_secs_f64(),
        stored.as_secs_f64(),
        refused.load(Ordering::Relaxed)
    );

    // ---- 3. an automation: every minute on the real agent
    let times = env_num("OUTPOST_BENCH_SCHEDULED", 2) as usize;
    let schedule = outpost_core::scripts::automations::parse_schedule("* * * * *", "UTC").unwrap();
    let from = chrono::Utc::now().timestamp() - 60;
    let until = outpost_core::scripts::automations::signable_until(Some(&schedule), from, 1);
    let windows = schedule.windows(from, until).unwrap();
    let s0 = Instant::now();
    let signed: Vec<_> = windows
        .iter()
        .map(|(nb, na)| {
            let mut r = request(&org, agent_id, client, script, body);
            r.not_before = *nb;
            r.not_after = *na;
            r.sign(&org.tech, &org.cert)
        })
        .collect();
    let sign_ms = s0.elapsed().as_secs_f64() * 1000.0;
    let s1 = Instant::now();
    let automation = api(
        &http,
        &base,
        &token,
        "POST",
        "/automations",
        json!({"id": Uuid::now_v7(), "name": "every minute", "trigger": "schedule",
               "schedule": "* * * * *", "time_zone": "UTC", "script_id": script,
               "script_version": 1,
               "valid_from": chrono::DateTime::from_timestamp(from, 0),
               "valid_until": chrono::DateTime::from_timestamp(until, 0),
               "runs": signed}),
    )
    .await;
    let take_ms = s1.elapsed().as_secs_f64() * 1000.0;
    let id = automation["id"]
        .as_str()
        .expect("the automation was taken")
        .to_string();
    let mut lags = Vec::with_capacity(times);
    let first = chrono::Utc::now().timestamp() / 60 * 60 + 60;
    for k in 0..times as i64 {
        let at = first + 60 * k;
        let wanted = 2 + k as usize;
        let deadline = Instant::now() + Duration::from_secs(150);
        let started = loop {
            let l = api(
                &http,
                &base,
                &token,
                "GET",
                &format!("/runs?automation_id={id}&state=finished&limit=1000"),
                Value::Null,
            )
            .await;
            let found = l["items"].as_array().unwrap().iter().find(|r| {
                r["not_before"]
                    .as_str()
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                    .is_some_and(|t| t.timestamp() == at)
            });
            if let Some(r) = found {
                break r["stdout"]
                    .as_str()
                    .unwrap()
                    .trim()
                    .parse::<u128>()
                    .unwrap();
            }
            assert!(
                Instant::now() < deadline,
                "the time {at} never ran ({wanted} wanted)"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        lags.push((started.saturating_sub(at as u128 * 1_000_000_000) / 1_000_000) as u64);
    }
    println!(
        "automation every minute on the real agent: signing its {} runs {sign_ms:.0} ms, the server taking them {take_ms:.0} ms; from each time to its process start ({times} times): p50 {} ms, max {} ms (the clock ticks each second: target < 1 s after its time)",
        windows.len(),
        pct(&mut lags, 0.5),
        pct(&mut lags, 1.0),
    );
}
