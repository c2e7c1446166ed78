//! A server backed up while a console pushes to it, restored with `--verify` into a new
//! folder (another machine), serving again with the same certificate; consoles keep syncing
//! and nothing written before or after the backup is lost.

use crate::tls::{create_admin, start};
use crate::{server_bin, tickets, SYNC};
use outpost_core::{Actor, Core, SystemClock};
use outpost_proto::{NewClient, NewTicket};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

fn sync(dir: &Path, url: &str, pin: &str) -> Output {
    let mut c = Command::new(SYNC)
        .arg("--data-dir")
        .arg(dir)
        .args(["--server", url, "--username", "tech", "--password-stdin"])
        .args(["--fingerprint", pin, "--page", "50"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(b"s3cret-pass\n").unwrap();
    c.wait_with_output().unwrap()
}

fn ok(out: &Output) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    text
}

/// `count` new tickets on the console, as the technician who synced it.
async fn work_on(dir: &Path, prefix: &str, count: usize) {
    let core = Core::open_dir(dir, Arc::new(SystemClock)).await.unwrap();
    // The technician arrived with the first sync; this console learns their password as
    // the desktop app does after a login checked by the server.
    let id: String = sqlx::query_scalar("SELECT id FROM users WHERE username = 'tech'")
        .fetch_one(core.pool())
        .await
        .unwrap();
    let me = core
        .cache_login(
            id.parse().unwrap(),
            outpost_proto::LoginRequest {
                username: "tech".into(),
                password: "s3cret-pass".into(),
            },
        )
        .await
        .unwrap();
    let me = core.authenticate(&me.token).await.unwrap();
    let client = core
        .create_client(
            &me,
            NewClient {
                name: format!("{prefix} Co"),
                notes: None,
            },
        )
        .await
        .unwrap();
    for i in 0..count {
        core.create_ticket(
            &me,
            NewTicket {
                title: format!("{prefix} {i}"),
                client_id: client.id,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
    core.pool().close().await;
}

async fn all_tickets(dir: &Path) -> std::collections::BTreeMap<String, (String, i64, usize)> {
    let core = Core::open_dir(dir, Arc::new(SystemClock)).await.unwrap();
    let t = tickets(&core, &Actor::system()).await;
    core.pool().close().await;
    t
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restored_elsewhere_keeps_its_consoles_syncing() {
    let server_dir = tempfile::tempdir().unwrap();
    create_admin(server_dir.path());
    let (server, url, pin) = start(server_dir.path());
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for _ in 0..200 {
        if sync(a.path(), &url, &pin).status.success() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    // Console A pushes a day of work while the backup is taken.
    work_on(a.path(), "Before", 300).await;
    let pushing = {
        let (dir, url, pin) = (a.path().to_path_buf(), url.clone(), pin.clone());
        std::thread::spawn(move || sync(&dir, &url, &pin))
    };
    let file = server_dir.path().with_extension("backup.tar.gz");
    let backup = Command::new(server_bin())
        .args(["backup", "--data-dir"])
        .arg(server_dir.path())
        .arg("--to")
        .arg(&file)
        .output()
        .unwrap();
    let said = ok(&backup);
    assert!(
        said.contains("wrote ") && said.contains("audit chain of"),
        "{said}"
    );
    ok(&pushing.join().unwrap());
    // More work reaches the old server after the backup, and is lost with it...
    work_on(a.path(), "After backup", 20).await;
    ok(&sync(a.path(), &url, &pin));
    drop(server);

    // ...restored on "another machine": a new folder, proved before it is used.
    let elsewhere = tempfile::tempdir().unwrap();
    let restored = elsewhere.path().join("outpost");
    let out = Command::new(server_bin())
        .args(["restore", "--verify", "--from"])
        .arg(&file)
        .arg("--data-dir")
        .arg(&restored)
        .output()
        .unwrap();
    let said = ok(&out);
    assert!(said.contains("verified: SQLite integrity ok"), "{said}");
    let (_server, url, same_pin) = start(&restored);
    assert_eq!(
        same_pin, pin,
        "the same certificate, so consoles' pins hold"
    );

    // Console B, new, writes to the restored server; console A syncs again: it sends what
    // the restored server lost and receives B's work.
    for _ in 0..200 {
        if sync(b.path(), &url, &pin).status.success() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    work_on(b.path(), "On the restored server", 5).await;
    ok(&sync(b.path(), &url, &pin));
    ok(&sync(a.path(), &url, &pin));
    ok(&sync(b.path(), &url, &pin));
    let (on_a, on_b) = (all_tickets(a.path()).await, all_tickets(b.path()).await);
    let titles = |t: &std::collections::BTreeMap<String, (String, i64, usize)>, p: &str| {
        t.values().filter(|v| v.0.starts_with(p)).count()
    };
    assert_eq!(titles(&on_a, "Before "), 300);
    assert_eq!(
        titles(&on_b, "After backup "),
        20,
        "A sent again what the restore lost"
    );
    assert_eq!(
        titles(&on_a, "On the restored server "),
        5,
        "A got B's work"
    );
    assert_eq!(on_a, on_b, "both consoles hold the same desk");
}
