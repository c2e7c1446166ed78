//! The real server on loopback with its self-signed certificate: a console sees the
//! fingerprint the server printed, trusts only that certificate, and syncs over TLS.

use crate::{server_bin, Killed, SYNC};
use outpost_proto::LoginRequest;
use outpost_sync_client::{server_fingerprint, server_login, LoginFailure};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

pub(crate) fn create_admin(dir: &std::path::Path) {
    let mut create = Command::new(server_bin())
        .args(["admin", "create-user", "--data-dir"])
        .arg(dir)
        .args(["--username", "tech", "--role", "admin", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = create.stdin.take().unwrap();
    stdin.write_all(b"s3cret-pass\n").unwrap();
    drop(stdin);
    assert!(create.wait().unwrap().success());
}

/// Starts `outpost-server serve --self-signed`; returns it, its https URL and the
/// fingerprint it printed.
pub(crate) fn start(dir: &std::path::Path) -> (Killed, String, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(server_bin())
        .args(["serve", "--demo", "--self-signed", "--data-dir"])
        .arg(dir)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut url = String::new();
    let mut fingerprint = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("Outpost server listening on ") {
            url = rest.split_whitespace().next().unwrap().to_string();
        }
        if let Some(f) = line.strip_prefix("certificate SHA-256 fingerprint: ") {
            fingerprint = f.trim().to_string();
            break;
        }
    }
    // Keep draining what the server prints, so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (Killed(child), url, fingerprint)
}

fn login() -> LoginRequest {
    LoginRequest {
        username: "tech".into(),
        password: "s3cret-pass".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_pins_the_servers_certificate_and_syncs_over_tls() {
    let server_dir = tempfile::tempdir().unwrap();
    create_admin(server_dir.path());
    let (_server, url, printed) = start(server_dir.path());
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    assert_eq!(printed.len(), 95, "32 colon-separated bytes: {printed}");
    let key = server_dir.path().join("tls/server-key.pem");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the private key is the owner's only");
    }

    // What a console shows before trusting is what the server printed.
    let mut presented = String::new();
    for _ in 0..200 {
        match server_fingerprint(&url).await {
            Ok(f) => {
                presented = f;
                break;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    }
    assert_eq!(presented, printed);

    // Without the pin the self-signed certificate is not trusted, and says so.
    let Err(LoginFailure::Refused(words)) = server_login(&url, None, &login()).await else {
        panic!("a self-signed certificate must not pass CA validation");
    };
    assert!(words.contains("not trusted"), "{words}");
    // A different pin (a replaced certificate, or someone in the middle) is refused.
    let wrong = printed.replace(
        &printed[..2],
        if &printed[..2] == "00" { "11" } else { "00" },
    );
    let Err(LoginFailure::Refused(words)) = server_login(&url, Some(&wrong), &login()).await else {
        panic!("a certificate other than the pinned one must be refused");
    };
    assert!(words.contains("certificate has changed"), "{words}");
    // The pinned certificate works.
    let session = server_login(&url, Some(&printed), &login()).await.unwrap();
    assert_eq!(session.user.username, "tech");

    // A whole sync through the command line, pinned to the fingerprint (typed in lower case).
    let console_dir = tempfile::tempdir().unwrap();
    let mut sync = Command::new(SYNC)
        .arg("--data-dir")
        .arg(console_dir.path())
        .args(["--server", &url, "--username", "tech", "--password-stdin"])
        .args(["--fingerprint", &printed.to_lowercase()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    sync.stdin
        .take()
        .unwrap()
        .write_all(b"s3cret-pass\n")
        .unwrap();
    let out = sync.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("synced"), "{stdout}");
    let core = outpost_core::Core::open_dir(
        console_dir.path(),
        std::sync::Arc::new(outpost_core::SystemClock),
    )
    .await
    .unwrap();
    let queue = core
        .list_tickets(
            &outpost_core::Actor::system(),
            &outpost_proto::TicketQuery::default(),
        )
        .await
        .unwrap();
    assert_eq!(queue.total, 300, "the demo desk arrived over TLS");
}
