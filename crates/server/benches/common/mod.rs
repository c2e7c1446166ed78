//! What the benchmarks share: the binaries beside this build, processes that die with the
//! bench, a server on loopback, percentiles, API calls.
// Each bench uses its own part of this.
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The server this bench was built with, and the agent beside it (`cargo xtask bench`
/// builds it first).
pub fn bin(name: &str) -> PathBuf {
    let server = PathBuf::from(env!("CARGO_BIN_EXE_outpost-server"));
    let p = server.with_file_name(name);
    assert!(
        p.is_file(),
        "{} is missing: cargo build --release -p outpost-agent",
        p.display()
    );
    p
}

pub struct Proc(pub Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// utime + stime of a process, in clock ticks (100 per second on Linux).
pub fn cpu_ticks(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .map(|s| {
            let after = s.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
            let f: Vec<&str> = after.split_whitespace().collect();
            f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
                + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        })
        .unwrap_or(0)
}

pub fn start_server(dir: &Path, port: u16) -> Proc {
    let child = Command::new(bin("outpost-server"))
        .args([
            "serve",
            "--upkeep-secs",
            "5",
            "--agent-upgrades-per-sec",
            "1000",
        ])
        .arg("--data-dir")
        .arg(dir)
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    Proc(child)
}

pub async fn wait_healthy(http: &reqwest::Client, base: &str) {
    for _ in 0..400 {
        if http
            .get(format!("{base}/api/v1/health"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server did not come up");
}

pub fn pct(v: &mut [u64], p: f64) -> u64 {
    if v.is_empty() {
        return 0;
    }
    v.sort_unstable();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

pub async fn api(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    method: &str,
    path: &str,
    body: Value,
) -> Value {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let r = http
        .request(m, format!("{base}/api/v1{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{method} {path}: {}", r.status());
    r.json().await.unwrap_or(Value::Null)
}

/// A server on a loopback port with one admin ("bench"), logged in.
pub struct BenchServer {
    pub port: u16,
    pub base: String,
    pub proc: Proc,
    pub http: reqwest::Client,
    pub login: Value,
    pub token: String,
}

pub async fn bench_server(data: &Path) -> BenchServer {
    let mut create = Command::new(bin("outpost-server"))
        .args([
            "admin",
            "create-user",
            "--username",
            "bench",
            "--role",
            "admin",
        ])
        .arg("--password-stdin")
        .arg("--data-dir")
        .arg(data)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    create
        .stdin
        .take()
        .unwrap()
        .write_all(b"bench-password-1\n")
        .unwrap();
    assert!(create.wait().unwrap().success());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let proc = start_server(data, port);
    let http = reqwest::Client::new();
    wait_healthy(&http, &base).await;
    let login: Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"username": "bench", "password": "bench-password-1"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_string();
    BenchServer {
        port,
        base,
        proc,
        http,
        login,
        token,
    }
}
