//! Real processes: a console store synced by `outpost-sync` against a real
//! `outpost-server` on loopback, the client killed with SIGKILL at random moments many
//! times (after a final sync nothing is lost or duplicated); and the server over TLS with
//! its certificate pinned (`tls`).

mod restore;
mod tls;

use outpost_core::{Actor, Core, SystemClock};
use outpost_proto::{FirstAdminRequest, NewClient, NewComment, NewTicket, TicketQuery};
use rand::Rng;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

pub(crate) const SYNC: &str = env!("CARGO_BIN_EXE_outpost-sync");

pub(crate) fn server_bin() -> PathBuf {
    let p = Path::new(SYNC).with_file_name("outpost-server");
    assert!(
        p.exists(),
        "build the server first: cargo build -p outpost-server ({})",
        p.display()
    );
    p
}

pub(crate) struct Killed(pub Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sync_process(dir: &Path, url: &str) -> Child {
    let mut c = Command::new(SYNC)
        .arg("--data-dir")
        .arg(dir)
        .args([
            "--server",
            url,
            "--username",
            "tech",
            "--password-stdin",
            "--page",
            "40",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(b"s3cret-pass\n").unwrap();
    c
}

async fn tickets(core: &Core, actor: &Actor) -> BTreeMap<String, (String, i64, usize)> {
    let mut out = BTreeMap::new();
    let mut offset = 0;
    loop {
        let page = core
            .list_tickets(
                actor,
                &TicketQuery {
                    limit: Some(500),
                    offset: Some(offset),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        for t in &page.items {
            let d = core.get_ticket(actor, t.id).await.unwrap();
            out.insert(
                t.id.to_string(),
                (t.title.clone(), t.number, d.comments.len()),
            );
        }
        offset += page.items.len() as i64;
        if page.items.is_empty() || offset >= page.total {
            break;
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_sync_loses_and_duplicates_nothing() {
    let server_dir = tempfile::tempdir().unwrap();
    let console_dir = tempfile::tempdir().unwrap();
    let mut create = Command::new(server_bin())
        .args(["admin", "create-user", "--data-dir"])
        .arg(server_dir.path())
        .args(["--username", "tech", "--role", "admin", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    create
        .stdin
        .take()
        .unwrap()
        .write_all(b"s3cret-pass\n")
        .unwrap();
    assert!(create.wait().unwrap().success());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let server = Killed(
        Command::new(server_bin())
            .args(["serve", "--demo", "--data-dir"])
            .arg(server_dir.path())
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if http
            .get(format!("{url}/api/v1/health"))
            .send()
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A day of offline work on the console.
    {
        let core = Core::open_dir(console_dir.path(), Arc::new(SystemClock))
            .await
            .unwrap();
        let s = core
            .create_first_admin(FirstAdminRequest {
                username: "field".into(),
                display_name: "Field Tech".into(),
                password: "offline-pass".into(),
                load_demo: false,
            })
            .await
            .unwrap();
        let me = core.authenticate(&s.token).await.unwrap();
        let client = core
            .create_client(
                &me,
                NewClient {
                    name: "Remote Site Co".into(),
                    notes: None,
                },
            )
            .await
            .unwrap();
        for i in 0..120 {
            let t = core
                .create_ticket(
                    &me,
                    NewTicket {
                        title: format!("Offline {i}"),
                        client_id: client.id,
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            if i % 20 == 0 {
                // A photo from the site, attached offline: its bytes follow the rows.
                let photo = format!("\u{89}PNG photo of rack {i} ").repeat(500);
                core.add_attachment(&me, t.id, None, &format!("rack-{i}.png"), photo.as_bytes())
                    .await
                    .unwrap();
            }
            for j in 0..3 {
                core.add_comment(
                    &me,
                    t.id,
                    NewComment {
                        body: format!("note {i}.{j}"),
                        internal: Some(true),
                    },
                )
                .await
                .unwrap();
            }
        }
        core.pool().close().await;
    }

    let mut rng = rand::thread_rng();
    let mut killed = 0;
    for _ in 0..12 {
        let mut child = sync_process(console_dir.path(), &url);
        tokio::time::sleep(Duration::from_millis(rng.gen_range(20..400))).await;
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            killed += 1;
        }
        child.wait().unwrap();
    }
    let mut done = false;
    for _ in 0..3 {
        if sync_process(console_dir.path(), &url)
            .wait()
            .unwrap()
            .success()
        {
            done = true;
            break;
        }
    }
    assert!(done, "a sync after the crashes completes");
    drop(server);
    println!("killed the client {killed} times mid-sync");

    let console = Core::open_dir(console_dir.path(), Arc::new(SystemClock))
        .await
        .unwrap();
    let server = Core::open_dir(server_dir.path(), Arc::new(SystemClock))
        .await
        .unwrap();
    let system = Actor::system();
    assert_eq!(console.sync_status().await.unwrap().pending, 0);
    let (ours, theirs) = (
        tickets(&console, &system).await,
        tickets(&server, &system).await,
    );
    assert_eq!(ours.len(), 420, "300 demo tickets + 120 made offline");
    assert_eq!(
        ours, theirs,
        "console and server hold the same tickets and comments"
    );
    let numbers: std::collections::BTreeSet<i64> = theirs.values().map(|t| t.1).collect();
    assert_eq!(numbers.len(), theirs.len(), "ticket numbers are unique");
    // Every file attached offline reached the server whole, and the console knows it.
    let files: Vec<String> = sqlx::query_scalar("SELECT id FROM attachments ORDER BY rid")
        .fetch_all(console.pool())
        .await
        .unwrap();
    assert_eq!(files.len(), 6);
    for id in files {
        let id = uuid::Uuid::parse_str(&id).unwrap();
        let (here, ours) = console.attachment_content(&system, id).await.unwrap();
        let (there, theirs) = server.attachment_content(&system, id).await.unwrap();
        assert_eq!((here.sha256, ours), (there.sha256, theirs));
    }
    assert!(console.attachments_to_upload().await.unwrap().is_empty());
    let dup: i64 = sqlx::query_scalar("SELECT count(*) - count(DISTINCT change_id) FROM changes")
        .fetch_one(server.pool())
        .await
        .unwrap();
    assert_eq!(dup, 0, "no change twice on the server");
    let mine: Vec<String> =
        sqlx::query_scalar("SELECT change_id FROM changes WHERE replica_id = ?")
            .bind(console.replica_id().to_string())
            .fetch_all(console.pool())
            .await
            .unwrap();
    for id in mine {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM changes WHERE change_id = ?")
            .bind(&id)
            .fetch_one(server.pool())
            .await
            .unwrap();
        assert_eq!(n, 1, "console change {id} on the server exactly once");
    }
}
