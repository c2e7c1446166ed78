//! The real `outpost-server` binary: its command-line contract.

use serde_json::{json, Value};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_outpost-server");

struct Killed(std::process::Child);
impl Drop for Killed {
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

/// `admin create-user` for an admin with the password "s3cret-pass"; returns what it printed.
fn create_admin(dir: &std::path::Path, username: &str) -> String {
    let mut child = Command::new(BIN)
        .args(["admin", "create-user", "--data-dir"])
        .arg(dir)
        .args([
            "--username",
            username,
            "--role",
            "admin",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"s3cret-pass\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn create_user_then_serve_demo_and_log_in() {
    let dir = tempfile::tempdir().unwrap();
    let said = create_admin(dir.path(), "tech");
    assert!(said.contains("created admin user 'tech'"));

    let bad = Command::new(BIN)
        .args(["admin", "create-user", "--data-dir"])
        .arg(dir.path())
        .args(["--username", "x", "--role", "boss", "--password-stdin"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown role 'boss'"));

    let port = free_port();
    let _server = Killed(
        Command::new(BIN)
            .args(["serve", "--demo", "--data-dir"])
            .arg(dir.path())
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let http = reqwest::Client::new();
    let mut up = false;
    for _ in 0..200 {
        if let Ok(r) = http.get(format!("{base}/health")).send().await {
            up = r.status().is_success();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "server did not come up on port {port}");
    let session: Value = http
        .post(format!("{base}/auth/login"))
        .json(&json!({"username": "tech", "password": "s3cret-pass"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["token"].as_str().unwrap();
    let page: Value = http
        .get(format!("{base}/tickets?limit=5&status=active"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 5);
    let clients: Value = http
        .get(format!("{base}/clients"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        clients.as_array().unwrap().len(),
        5,
        "--demo loads five clients"
    );
}

/// Over HTTPS the real binary says so for a year (HSTS), and counts failed logins by the TLS
/// connection's peer: guesses from 127.0.0.2 do not stop the right password from 127.0.0.3.
#[tokio::test]
async fn https_answers_carry_hsts_and_throttling_counts_the_tls_peer() {
    let dir = tempfile::tempdir().unwrap();
    create_admin(dir.path(), "tech");
    let port = free_port();
    let _server = Killed(
        Command::new(BIN)
            .args(["serve", "--self-signed", "--data-dir"])
            .arg(dir.path())
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("https://127.0.0.1:{port}/api/v1");
    // The test trusts the self-signed certificate blindly; consoles pin its fingerprint.
    let client = |addr: &str| {
        reqwest::Client::builder()
            .danger_accept_invalid_certs(true)
            .local_address(addr.parse::<std::net::IpAddr>().unwrap())
            .build()
            .unwrap()
    };
    let guesser = client("127.0.0.2");
    let mut health = None;
    for _ in 0..200 {
        if let Ok(r) = guesser.get(format!("{base}/health")).send().await {
            health = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let health = health.expect("the server came up over HTTPS");
    assert_eq!(
        health.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    assert!(health.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
    let login = |http: reqwest::Client, password: &'static str| {
        let url = format!("{base}/auth/login");
        async move {
            http.post(url)
                .json(&json!({"username": "tech", "password": password}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    for _ in 0..5 {
        assert_eq!(login(guesser.clone(), "wrong-pass").await, 401);
    }
    assert_eq!(login(guesser.clone(), "s3cret-pass").await, 429);
    assert_eq!(login(client("127.0.0.3"), "s3cret-pass").await, 200);
}

/// `audit verify` proves an intact chain and names the first broken link of a tampered one.
#[tokio::test]
async fn audit_verify_names_the_first_broken_link() {
    let dir = tempfile::tempdir().unwrap();
    for user in ["tech", "second"] {
        create_admin(dir.path(), user);
    }
    let verify = || {
        Command::new(BIN)
            .args(["audit", "verify", "--data-dir"])
            .arg(dir.path())
            .output()
            .unwrap()
    };
    let ok = verify();
    let said = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success(), "{said}");
    assert!(
        said.starts_with("the audit chain is intact: 2 events, the newest #2 with hash "),
        "{said}"
    );

    let db = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.path().join("outpost.db").display()
    ))
    .await
    .unwrap();
    sqlx::query("UPDATE audit_events SET actor_name = 'nobody' WHERE seq = 2")
        .execute(&db)
        .await
        .unwrap();
    db.close().await;
    let broken = verify();
    let said = String::from_utf8_lossy(&broken.stderr);
    assert_eq!(broken.status.code(), Some(1), "{said}");
    assert!(
        said.contains("the audit chain is broken at event 2 (user.create by nobody, ")
            && said.contains(
                "its content was changed after it was written; the one event before it verifies"
            ),
        "{said}"
    );

    let nowhere = Command::new(BIN)
        .args(["audit", "verify", "--data-dir"])
        .arg(dir.path().join("missing"))
        .output()
        .unwrap();
    assert!(!nowhere.status.success());
    assert!(String::from_utf8_lossy(&nowhere.stderr).contains("holds no Outpost store"));
}

/// `--log-format json`: every line the server logs is one JSON object a collector can read.
#[tokio::test]
async fn json_logs_are_one_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    create_admin(dir.path(), "tech");
    let port = free_port();
    let mut child = Command::new(BIN)
        .args(["--log-format", "json", "serve", "--data-dir"])
        .arg(dir.path())
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let http = reqwest::Client::new();
    let mut up = false;
    for _ in 0..200 {
        if http.get(format!("{base}/health")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up);
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "the server logged something at start");
    for line in lines {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(
            v["level"].is_string() && v["timestamp"].is_string(),
            "{line}"
        );
        assert!(v["fields"].is_object(), "{line}");
    }
    assert!(text.contains(r#""message":"listening""#), "{text}");
}

/// `doctor`: a healthy store passes its checks; secrets readable by others and an expired
/// certificate are named with what to do, and it exits 1.
#[tokio::test]
async fn doctor_names_what_to_fix() {
    let dir = tempfile::tempdir().unwrap();
    create_admin(dir.path(), "tech");
    let doctor = || {
        Command::new(BIN)
            .args(["doctor", "--data-dir"])
            .arg(dir.path())
            .output()
            .unwrap()
    };
    let healthy = doctor();
    let said = String::from_utf8_lossy(&healthy.stdout).to_string();
    assert!(
        said.contains("ok    the store passes SQLite's quick check"),
        "{said}"
    );
    assert!(
        said.contains("ok    the audit chain verifies (1 event)"),
        "{said}"
    );
    assert!(
        said.contains("the clock is not behind the newest change"),
        "{said}"
    );
    // This machine's disk is not the test's to judge; nothing else may fail.
    let other_failures: Vec<&str> = said
        .lines()
        .filter(|l| l.starts_with("FAIL") && !l.contains(" free ("))
        .collect();
    assert!(other_failures.is_empty(), "{said}");

    std::fs::write(dir.path().join("secrets.key"), [1u8; 32]).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            dir.path().join("secrets.key"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
    }
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    std::fs::create_dir_all(dir.path().join("tls")).unwrap();
    std::fs::write(dir.path().join("tls/server-cert.pem"), cert.pem()).unwrap();
    let sick = doctor();
    let said = String::from_utf8_lossy(&sick.stdout).to_string();
    assert_eq!(sick.status.code(), Some(1), "{said}");
    #[cfg(unix)]
    assert!(
        said.contains(
            "secrets.key can be read by other users of this machine (mode 644): run `chmod 600"
        ),
        "{said}"
    );
    assert!(said.contains("expired on 2021-01-01"), "{said}");
    assert!(said.contains(" to fix"), "{said}");
}
