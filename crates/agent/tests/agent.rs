//! The real agent binary against the real server binary on loopback: enrollment, the
//! inventory of the machine the test runs on, heartbeats, the offline queue across a server
//! restart, refusals, and what the gateway does with hostile messages; signed scripts
//! (`agent/scripts.rs`).

#[path = "agent/scripts.rs"]
mod scripts;

use futures_util::{SinkExt, StreamExt};
use reqwest::Client;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

fn agent_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_outpost-agent"))
}

/// The server binary of this workspace build (built beside the agent).
fn server_bin() -> PathBuf {
    let p = agent_bin().with_file_name("outpost-server");
    assert!(
        p.is_file(),
        "{} is missing: build the workspace (cargo build --workspace) first",
        p.display()
    );
    p
}

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server {
    dir: tempfile::TempDir,
    port: u16,
    proc: Option<Proc>,
    http: Client,
    token: String,
    user_id: String,
}

impl Server {
    async fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let mut create = Command::new(server_bin())
            .args([
                "admin",
                "create-user",
                "--username",
                "ana",
                "--role",
                "admin",
            ])
            .arg("--data-dir")
            .arg(dir.path())
            .arg("--password-stdin")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        use std::io::Write;
        create
            .stdin
            .take()
            .unwrap()
            .write_all(b"correct horse battery\n")
            .unwrap();
        assert!(create.wait().unwrap().success());
        let mut s = Server {
            dir,
            port: free_port(),
            proc: None,
            http: Client::new(),
            token: String::new(),
            user_id: String::new(),
        };
        s.run().await;
        let login: Value = s
            .http
            .post(s.url("/api/v1/auth/login"))
            .json(&json!({"username": "ana", "password": "correct horse battery"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        s.token = login["token"].as_str().unwrap().to_string();
        s.user_id = login["user"]["id"].as_str().unwrap().to_string();
        s
    }

    /// Starts (or starts again) the server process on its port.
    async fn run(&mut self) {
        let child = Command::new(server_bin())
            .args(["serve", "--upkeep-secs", "1", "--agent-silent-secs", "6"])
            .arg("--data-dir")
            .arg(self.dir.path())
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        self.proc = Some(Proc(child));
        let until = Instant::now() + Duration::from_secs(20);
        while Instant::now() < until {
            if let Ok(r) = self.http.get(self.url("/api/v1/health")).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the server did not come up");
    }

    fn stop(&mut self) {
        self.proc = None;
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut r = self
            .http
            .request(m, self.url(&format!("/api/v1{path}")))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn client(&self, name: &str) -> String {
        let (s, c) = self
            .call("POST", "/clients", Some(json!({"name": name})))
            .await;
        assert_eq!(s, 201, "{c}");
        c["id"].as_str().unwrap().to_string()
    }

    async fn token(&self, client: &str, uses: i64) -> (String, String) {
        let (s, t) = self
            .call(
                "POST",
                "/enrollment-tokens",
                Some(json!({"client_id": client, "expires_in_hours": 1, "max_uses": uses})),
            )
            .await;
        assert_eq!(s, 201, "{t}");
        (
            t["token"].as_str().unwrap().to_string(),
            t["enrollment"]["id"].as_str().unwrap().to_string(),
        )
    }

    async fn db(&self) -> sqlx::SqlitePool {
        sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(
                sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(self.dir.path().join("outpost.db"))
                    .read_only(true),
            )
            .await
            .unwrap()
    }

    async fn assets(&self) -> Value {
        let (s, a) = self.call("GET", "/assets", None).await;
        assert_eq!(s, 200, "{a}");
        a
    }
}

/// Runs `outpost-agent enroll`; the output, and whether it succeeded.
fn enroll(server: &Server, token: &str, dir: &Path, machine: &str) -> (bool, String) {
    enroll_with(server, token, dir, machine, &[])
}

fn enroll_with(
    server: &Server,
    token: &str,
    dir: &Path,
    machine: &str,
    extra: &[&str],
) -> (bool, String) {
    let out = Command::new(agent_bin())
        .args(["enroll", "--server", &server.base(), "--token", token])
        .args(extra)
        .arg("--state-dir")
        .arg(dir)
        .env("OUTPOST_AGENT_MACHINE_ID", machine)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn run_agent(dir: &Path, machine: &str) -> Proc {
    let log = std::fs::File::create(dir.with_extension("log")).unwrap();
    Proc(
        Command::new(agent_bin())
            .args(["run", "--heartbeat-secs", "2", "--inventory-secs", "3600"])
            .arg("--state-dir")
            .arg(dir)
            .env("OUTPOST_AGENT_MACHINE_ID", machine)
            .env("OUTPOST_AGENT_SAMPLE_SECS", "1")
            .env("OUTPOST_AGENT_JITTER_SECS", "1")
            .env("OUTPOST_AGENT_BACKOFF_CAP_SECS", "2")
            .env("RUST_LOG", "outpost_agent=debug")
            .stderr(log)
            .spawn()
            .unwrap(),
    )
}

fn agent_status(dir: &Path) -> String {
    let out = Command::new(agent_bin())
        .arg("status")
        .arg("--state-dir")
        .arg(dir)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn agent_log(dir: &Path) -> String {
    std::fs::read_to_string(dir.with_extension("log")).unwrap_or_default()
}

/// Polls `check` until it gives a value, or fails with `what` after `secs`.
async fn wait_for<T, F, Fut>(secs: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let until = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < until, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn sh(cmd: &str) -> String {
    let out = Command::new("sh").arg("-c").arg(cmd).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enrolled_agent_reports_the_machine_it_runs_on() {
    let server = Server::start().await;
    let client = server.client("Acme Dental").await;
    let (token, _) = server.token(&client, 1).await;
    let state = tempfile::tempdir().unwrap();
    let dir = state.path().join("agent");
    let (ok, out) = enroll(&server, &token, &dir, "machine-a");
    assert!(ok, "{out}");
    let _agent = run_agent(&dir, "machine-a");

    let asset = wait_for(40, "the endpoint online with its inventory", || async {
        let a = server.assets().await;
        let item = a["items"].get(0)?.clone();
        (item["online"] == true && item["health"]["cpu_pct"].is_number()).then_some(item)
    })
    .await;
    assert_eq!(asset["client_name"], "Acme Dental");
    assert_eq!(asset["managed"], true);
    let id = asset["id"].as_str().unwrap();
    let detail = wait_for(30, "the inventory", || async {
        let (_, d) = server.call("GET", &format!("/assets/{id}"), None).await;
        d["inventory"]["system"].is_object().then_some(d)
    })
    .await;
    let inv = &detail["inventory"];

    // The machine's own word for each, read here independently of the agent.
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(inv["system"]["hostname"], hostname.trim());
    assert_eq!(asset["name"], hostname.trim());
    let cpus: u64 = sh("nproc --all").parse().unwrap();
    assert_eq!(inv["system"]["cpu_cores"].as_u64(), Some(cpus));
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let total_kib: f64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap()
        .parse()
        .unwrap();
    let reported = inv["system"]["memory_bytes"].as_f64().unwrap();
    let off = (reported - total_kib * 1024.0).abs() / (total_kib * 1024.0);
    assert!(off < 0.02, "memory {reported} vs MemTotal {total_kib} KiB");
    if Command::new("dpkg-query").arg("--version").output().is_ok() {
        // Installed packages (a removed one whose configuration stays is not installed).
        let installed = sh("dpkg-query -W -f '${db:Status-Abbrev}\\n' | cut -c2 | grep -c i");
        let software = inv["software"].as_array().unwrap();
        assert_eq!(software.len().to_string(), installed);
        assert!(software.iter().all(|s| s["source"] == "dpkg"));
    }
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap();
    let disks = inv["disks"].as_array().unwrap();
    assert!(!disks.is_empty(), "{inv}");
    for d in disks {
        let m = d["mount"].as_str().unwrap();
        assert!(
            mounts
                .lines()
                .any(|l| l.split_whitespace().nth(1) == Some(m)),
            "{m} is not mounted"
        );
        assert!(d["free_bytes"].as_u64() <= d["total_bytes"].as_u64());
    }
    // Heartbeats arrive and land in the metrics history.
    let history = wait_for(20, "a minute of CPU history", || async {
        let (_, m) = server
            .call("GET", &format!("/assets/{id}/metrics?series=cpu"), None)
            .await;
        (!m["points"].as_array()?.is_empty()).then_some(m)
    })
    .await;
    assert_eq!(history["resolution_secs"], 60);
    let p = &history["points"][0];
    assert!(p["min"].as_f64() <= p["avg"].as_f64() && p["avg"].as_f64() <= p["max"].as_f64());
    assert!(asset["health"]["agent_version"]
        .as_str()
        .unwrap()
        .starts_with('0'));
    let status = agent_status(&dir);
    assert!(status.contains("channel:  connected"), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_queued_while_the_server_is_down_arrive_once_and_in_order() {
    let mut server = Server::start().await;
    let client = server.client("Acme").await;
    let (token, _) = server.token(&client, 1).await;
    let state = tempfile::tempdir().unwrap();
    let dir = state.path().join("agent");
    assert!(enroll(&server, &token, &dir, "machine-q").0);
    let _agent = run_agent(&dir, "machine-q");
    wait_for(40, "the endpoint online", || async {
        (server.assets().await["items"][0]["online"] == true).then_some(())
    })
    .await;

    server.stop();
    // The agent keeps sampling and queues what it cannot send: wait for three heartbeats
    // (not just any five messages: inventory changes are queued too, and on a busy machine
    // they can be most of them).
    wait_for(60, "heartbeats queued on disk", || async {
        let acked = std::fs::read(dir.join("queue.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .and_then(|v| v["acked"].as_u64())
            .unwrap_or(0);
        let queued = std::fs::read_to_string(dir.join("queue.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|e| {
                e["seq"].as_u64().is_some_and(|s| s > acked)
                    && e["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("\"type\":\"heartbeat\""))
            })
            .count();
        (queued >= 3).then_some(())
    })
    .await;
    server.run().await;
    wait_for(60, "the queue sent and acknowledged", || async {
        agent_status(&dir).contains("queued:   0 ").then_some(())
    })
    .await;

    let db = server.db().await;
    let (last_seq, heartbeats, inventories): (i64, i64, i64) =
        sqlx::query_as("SELECT last_seq, heartbeats, inventories FROM agents")
            .fetch_one(&db)
            .await
            .unwrap();
    let stored: i64 = sqlx::query_scalar("SELECT coalesce(sum(n), 0) FROM metrics_1m")
        .fetch_one(&db)
        .await
        .unwrap();
    // Every number up to the last was stored (none lost, none out of order: the gateway
    // takes only the next numbers), and each heartbeat once.
    assert_eq!(last_seq, heartbeats + inventories, "{}", agent_log(&dir));
    assert_eq!(stored, heartbeats);
    assert!(heartbeats >= 3, "{heartbeats}: {}", agent_log(&dir));
    assert!(agent_log(&dir).contains("connected queued="));
    wait_for(20, "the endpoint online again", || async {
        (server.assets().await["items"][0]["online"] == true).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_and_agents_are_refused_when_they_should_be_and_a_reinstall_keeps_its_asset() {
    let server = Server::start().await;
    let client = server.client("Acme").await;
    let state = tempfile::tempdir().unwrap();
    let first = state.path().join("first");
    let (once, once_id) = server.token(&client, 1).await;
    assert!(enroll(&server, &once, &first, "machine-r").0);
    let (ok, out) = enroll(&server, &once, &state.path().join("x"), "machine-s");
    assert!(!ok);
    assert!(out.contains("used as many times as it allows"), "{out}");
    let (s, list) = server.call("GET", "/enrollment-tokens", None).await;
    assert_eq!(s, 200);
    assert_eq!(list[0]["id"], once_id.as_str());
    assert_eq!(list[0]["state"], "used_up");

    let (revoked, revoked_id) = server.token(&client, 5).await;
    let (s, t) = server
        .call(
            "POST",
            &format!("/enrollment-tokens/{revoked_id}/revoke"),
            None,
        )
        .await;
    assert_eq!((s, t["state"].as_str()), (200, Some("revoked")));
    let (ok, out) = enroll(&server, &revoked, &state.path().join("y"), "machine-s");
    assert!(!ok && out.contains("revoked"), "{out}");

    let (expired, expired_id) = server.token(&client, 5).await;
    {
        // An hour passes in the store's terms: the token's expiry is moved to the past.
        let rw = sqlx::sqlite::SqlitePoolOptions::new()
            .connect_with(
                sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(server.dir.path().join("outpost.db")),
            )
            .await
            .unwrap();
        sqlx::query("UPDATE enrollment_tokens SET expires_at = 1 WHERE id = ?")
            .bind(&expired_id)
            .execute(&rw)
            .await
            .unwrap();
    }
    let (ok, out) = enroll(&server, &expired, &state.path().join("z"), "machine-s");
    assert!(!ok && out.contains("expired"), "{out}");
    let (ok, out) = enroll(&server, "opt_0000", &state.path().join("z"), "machine-s");
    assert!(!ok && out.contains("not known"), "{out}");

    // The same machine enrolled again (a reinstall): one asset, its old agent retired.
    let (again, _) = server.token(&client, 5).await;
    let second = state.path().join("second");
    let (ok, out) = enroll(&server, &again, &second, "machine-r");
    assert!(ok && out.contains("existing record"), "{out}");
    assert_eq!(server.assets().await["total"], 1);

    // The old agent still running somewhere means a clone: refused, and the asset says so.
    let old = run_agent(&first, "machine-r");
    let asset_id = wait_for(30, "the clone warning", || async {
        let a = server.assets().await;
        let item = &a["items"][0];
        item["health"]["clone_warning"]
            .as_str()
            .filter(|w| w.contains("clone"))
            .map(|_| item["id"].as_str().unwrap().to_string())
    })
    .await;
    // The retired agent hears why it is refused.
    wait_for(20, "the retired agent told it was replaced", || async {
        agent_status(&first).contains("replaced").then_some(())
    })
    .await;
    drop(old);

    // The current agent connects; once revoked it is dropped and refused.
    let _current = run_agent(&second, "machine-r");
    wait_for(40, "the reinstalled endpoint online", || async {
        (server.assets().await["items"][0]["online"] == true).then_some(())
    })
    .await;
    let (s, _) = server
        .call("POST", &format!("/assets/{asset_id}/revoke-agent"), None)
        .await;
    assert_eq!(s, 204);
    wait_for(30, "the revoked agent refused", || async {
        agent_status(&second)
            .contains("revoked by an admin")
            .then_some(())
    })
    .await;
    let (s, e) = server
        .call("POST", &format!("/assets/{asset_id}/revoke-agent"), None)
        .await;
    assert_eq!(s, 409, "{e}");
}

async fn channel(
    server: &Server,
    credential: &str,
) -> Result<
    tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
    tokio_tungstenite::tungstenite::Error,
> {
    let mut req = format!(
        "ws://127.0.0.1:{}{}",
        server.port,
        outpost_proto::AGENT_CHANNEL_PATH
    )
    .into_client_request()
    .unwrap();
    req.headers_mut().insert(
        "authorization",
        format!("Bearer {credential}").parse().unwrap(),
    );
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", server.port))
        .await
        .unwrap();
    tokio_tungstenite::client_async(req, tcp)
        .await
        .map(|(ws, _)| ws)
}

async fn next_json(
    ws: &mut tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
) -> Option<Value> {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                let v: Value = serde_json::from_str(t.as_str()).ok()?;
                // Trust material follows every welcome; these tests are about other things.
                if v["type"] == "trust" {
                    continue;
                }
                return Some(v);
            }
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            _ => return None,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_refuses_hostile_messages_and_stores_agent_text_as_text() {
    let server = Server::start().await;
    let client = server.client("Acme").await;
    let (token, _) = server.token(&client, 1).await;
    let state = tempfile::tempdir().unwrap();
    let dir = state.path().join("agent");
    assert!(enroll(&server, &token, &dir, "machine-h").0);
    let identity: Value =
        serde_json::from_slice(&std::fs::read(dir.join("agent.json")).unwrap()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("agent.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the credential file is readable by others");
    }
    let credential = format!(
        "{}:{}",
        identity["agent_id"].as_str().unwrap(),
        identity["credential"].as_str().unwrap()
    );

    // No or a wrong credential: refused before the upgrade.
    let wrong = channel(
        &server,
        &format!("{}:00", identity["agent_id"].as_str().unwrap()),
    )
    .await;
    match wrong {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 401),
        other => panic!("a wrong credential was let in: {other:?}"),
    }

    let mut ws = channel(&server, &credential).await.unwrap();
    let now = chrono::Utc::now();
    // Before a hello, nothing is taken.
    ws.send(Message::Text(
        json!({"type": "hello", "agent_version": "0.1.0", "dropped": 0})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    let welcome = next_json(&mut ws).await.unwrap();
    assert_eq!(welcome["type"], "welcome");
    assert_eq!(welcome["full_inventory"], true);

    let heartbeat = |seq: u64, cpu: f64, at: chrono::DateTime<chrono::Utc>| {
        json!({"type": "heartbeat", "seq": seq, "at": at, "window_secs": 60, "samples": 12,
               "cpu": {"min": cpu, "avg": cpu, "max": cpu},
               "memory": {"min": 10.0, "avg": 20.0, "max": 30.0},
               "disks": [{"mount": "/", "used_pct": 50.0}],
               "net_in": {"min": 0.0, "avg": 1.0, "max": 2.0},
               "net_out": {"min": 0.0, "avg": 1.0, "max": 2.0}})
        .to_string()
    };
    for (bad, why) in [
        (heartbeat(1, 150.0, now), "cpu must be between 0 and 100"),
        (
            heartbeat(1, 10.0, now + chrono::Duration::days(2)),
            "in the future",
        ),
        (
            json!({"type": "heartbeat", "seq": 1}).to_string(),
            "not a message this gateway understands",
        ),
        (
            json!({"type": "inventory", "seq": 1, "at": now, "full": false, "inventory":
                   {"disks": [{"mount": "/", "device": "sda", "file_system": "ext4",
                               "total_bytes": 10, "free_bytes": 20, "removable": false}]}})
            .to_string(),
            "more free space than its size",
        ),
    ] {
        ws.send(Message::Text(bad.into())).await.unwrap();
        let answer = next_json(&mut ws).await.unwrap();
        assert_eq!(answer["type"], "refused", "{answer}");
        assert!(
            answer["message"].as_str().unwrap().contains(why),
            "{answer}"
        );
    }
    let db = server.db().await;
    let stored: (i64, i64) = sqlx::query_as("SELECT last_seq, heartbeats FROM agents")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(stored, (0, 0), "a refused message was stored");

    // Text from the endpoint is data: stored and given back exactly, never interpreted.
    let hostile = "<img src=x onerror=alert(1)><script>alert('os')</script>";
    let inventory = json!({"type": "inventory", "seq": 1, "at": now, "full": true, "inventory": {
        "system": {"hostname": "pc-1", "os_name": hostile, "os_version": "11", "kernel": "k",
                   "arch": "x86_64", "boot_time": now, "cpu_model": "cpu", "cpu_cores": 4,
                   "memory_bytes": 8_000_000_000u64, "swap_bytes": 0},
        "software": [{"name": hostile, "version": "1.0", "source": "registry"}]}});
    ws.send(Message::Text(inventory.to_string().into()))
        .await
        .unwrap();
    let ack = next_json(&mut ws).await.unwrap();
    assert_eq!(ack, json!({"type": "ack", "seq": 1}));
    // A replay of the same number is acknowledged and not stored again.
    ws.send(Message::Text(inventory.to_string().into()))
        .await
        .unwrap();
    assert_eq!(
        next_json(&mut ws).await.unwrap(),
        json!({"type": "ack", "seq": 1})
    );
    ws.send(Message::Text(heartbeat(2, 42.0, now).into()))
        .await
        .unwrap();
    assert_eq!(
        next_json(&mut ws).await.unwrap(),
        json!({"type": "ack", "seq": 2})
    );
    let asset = &server.assets().await["items"][0];
    assert!(asset["os"].as_str().unwrap().starts_with(hostile));
    assert_eq!(asset["health"]["cpu_pct"], 42.0);
    let id = asset["id"].as_str().unwrap();
    let (_, d) = server.call("GET", &format!("/assets/{id}"), None).await;
    assert_eq!(d["inventory"]["software"][0]["name"], hostile);
    let counts: (i64, i64, i64) =
        sqlx::query_as("SELECT last_seq, heartbeats, inventories FROM agents")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(counts, (2, 1, 1));

    // A frame over the limit ends the connection; nothing of it is stored.
    let huge = "x".repeat(outpost_proto::AGENT_MAX_MESSAGE_BYTES + 10);
    let _ = ws.send(Message::Text(huge.into())).await;
    assert!(
        next_json(&mut ws).await.is_none(),
        "the connection stayed open"
    );
    // A second connection as the same agent while one is live is a clone (checked with a
    // fresh pair: the first is gone now).
    // (The server notices the dropped connection in a moment.)
    let _a = wait_for(10, "the agent connected again", || async {
        channel(&server, &credential).await.ok()
    })
    .await;
    match channel(&server, &credential).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 409),
        other => panic!("two connections as one agent: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_killed_outright_shows_offline() {
    let server = Server::start().await;
    let client = server.client("Acme").await;
    let (token, _) = server.token(&client, 1).await;
    let state = tempfile::tempdir().unwrap();
    let dir = state.path().join("agent");
    assert!(enroll(&server, &token, &dir, "machine-k").0);
    let mut agent = run_agent(&dir, "machine-k");
    wait_for(40, "the endpoint online", || async {
        (server.assets().await["items"][0]["online"] == true).then_some(())
    })
    .await;
    agent.0.kill().unwrap(); // SIGKILL: no goodbye
    let item = wait_for(30, "the endpoint offline", || async {
        let a = server.assets().await;
        let item = a["items"][0].clone();
        (item["online"] == false).then_some(item)
    })
    .await;
    assert_eq!(item["health"]["state"], "offline");
    assert!(item["last_seen"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_opens_one_ticket_notes_it_while_firing_and_resolves_it_when_cleared() {
    let server = Server::start().await;
    let client = server.client("Acme").await;
    // A client override low enough that any machine crosses it: memory above 0.5 %.
    let (s, rule) = server
        .call(
            "POST",
            "/alert-rules",
            Some(
                json!({"client_id": client, "kind": "memory", "threshold": 0.5, "samples": 1,
                        "priority": "high"}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{rule}");
    let rule_id = rule["id"].as_str().unwrap().to_string();
    let (s, offline) = server
        .call(
            "POST",
            "/alert-rules",
            Some(json!({"client_id": client, "kind": "offline", "threshold": 0.1})),
        )
        .await;
    assert_eq!(s, 201, "{offline}");
    let (s, e) = server
        .call(
            "POST",
            "/alert-rules",
            Some(json!({"kind": "cpu", "threshold": 180.0})),
        )
        .await;
    assert_eq!(s, 400, "an impossible threshold is refused: {e}");
    assert!(e["message"].as_str().unwrap().contains("between 0 and 100"));

    let (token, _) = server.token(&client, 1).await;
    let state = tempfile::tempdir().unwrap();
    let dir = state.path().join("agent");
    assert!(enroll(&server, &token, &dir, "machine-alert").0);
    let mut agent = run_agent(&dir, "machine-alert");

    let alerts_of = |rule: String| {
        let server = &server;
        async move {
            let (_, page) = server.call("GET", "/alerts", None).await;
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|a| a["rule_id"] == rule.as_str())
                .cloned()
                .collect::<Vec<Value>>()
        }
    };
    let alert = wait_for(40, "the memory alert firing", || async {
        alerts_of(rule_id.clone())
            .await
            .into_iter()
            .find(|a| a["state"] == "firing")
    })
    .await;
    let ticket = alert["ticket_id"].as_str().unwrap().to_string();
    assert_eq!(alert["priority"], "high");
    assert!(
        alert["message"].as_str().unwrap().contains("memory"),
        "{alert}"
    );
    let (_, t) = server
        .call("GET", &format!("/tickets/{ticket}"), None)
        .await;
    assert_eq!(t["ticket"]["priority"], "high");
    assert!(t["ticket"]["title"]
        .as_str()
        .unwrap()
        .starts_with("Alert: memory"));
    assert!(
        t["ticket"]["description"]
            .as_str()
            .unwrap()
            .contains("Busiest processes"),
        "{t}"
    );
    // The endpoint shows it.
    // The endpoint counts it. The agent reports this machine itself, whose own disk or
    // pending updates may fire the default rules too, so at least this one.
    wait_for(10, "the open alert on the endpoint", || async {
        let open = server.assets().await["items"][0]["health"]["open_alerts"].as_i64();
        (open >= Some(1)).then_some(())
    })
    .await;

    // While it keeps firing, the same ticket hears of it.
    wait_for(40, "a still-firing note", || async {
        let (_, t) = server
            .call("GET", &format!("/tickets/{ticket}"), None)
            .await;
        t["comments"]
            .as_array()?
            .iter()
            .any(|c| c["body"].as_str().unwrap_or("").starts_with("Still firing"))
            .then_some(())
    })
    .await;
    let (s, acked) = server
        .call(
            "POST",
            &format!("/alerts/{}/acknowledge", alert["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(acked["acknowledged_by"], "ana");

    // Raising the threshold clears it: a comment, and the ticket resolved.
    let (s, _) = server
        .call(
            "PATCH",
            &format!("/alert-rules/{rule_id}"),
            Some(json!({"threshold": 100.0})),
        )
        .await;
    assert_eq!(s, 200);
    wait_for(30, "the alert cleared", || async {
        alerts_of(rule_id.clone())
            .await
            .iter()
            .all(|a| a["state"] == "cleared")
            .then_some(())
    })
    .await;
    let (_, t) = server
        .call("GET", &format!("/tickets/{ticket}"), None)
        .await;
    assert_eq!(t["ticket"]["status"], "resolved", "{t}");
    assert!(t["comments"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["body"].as_str().unwrap().starts_with("Cleared")));
    // Exactly one ticket came of it.
    let alerts = alerts_of(rule_id.clone()).await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let (_, tickets) = server
        .call(
            "GET",
            &format!("/tickets?client_id={client}&tag=alert"),
            None,
        )
        .await;
    let memory_tickets = tickets["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| {
            t["title"]
                .as_str()
                .unwrap_or("")
                .starts_with("Alert: memory")
        })
        .count();
    assert_eq!(memory_tickets, 1, "{tickets}");

    // An agent killed outright raises the offline alert after the rule's delay.
    agent.0.kill().unwrap();
    let offline_id = offline["id"].as_str().unwrap().to_string();
    let fired = wait_for(40, "the offline alert", || async {
        alerts_of(offline_id.clone())
            .await
            .into_iter()
            .find(|a| a["state"] == "firing")
    })
    .await;
    assert!(fired["message"]
        .as_str()
        .unwrap()
        .contains("no word from the agent"));
}
