//! Stores made by a landed version (fixtures/landed-1a62295) open with this one, migrate,
//! and sync: the console's unsent offline work reaches the server, a new console agrees
//! with both, and nothing needs a repair.

use crate::sync::Link;
use outpost_core::{Core, SystemClock};
use outpost_proto::{LoginRequest, TicketQuery, UpdateTicket};
use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use uuid::Uuid;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/landed-1a62295");

/// The landed store `name`, unpacked into a fresh folder and opened with this version.
async fn open_landed(name: &str) -> (Core, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let packed = std::fs::File::open(Path::new(FIXTURES).join(format!("{name}.db.gz"))).unwrap();
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(packed)
        .read_to_end(&mut bytes)
        .unwrap();
    std::fs::write(dir.path().join("outpost.db"), bytes).unwrap();
    let core = Core::open_dir(dir.path(), Arc::new(SystemClock))
        .await
        .unwrap();
    (core, dir)
}

#[tokio::test]
async fn stores_made_by_the_landed_version_open_and_sync() {
    let (server, _s) = open_landed("server").await;
    let (console, _c) = open_landed("console").await;
    let session = server
        .login(LoginRequest {
            username: "ada".into(),
            password: "correct horse".into(),
        })
        .await
        .unwrap();
    let admin = server.authenticate(&session.token).await.unwrap();
    let ticket: Uuid = std::fs::read_to_string(Path::new(FIXTURES).join("ticket.txt"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let status = console.sync_status().await.unwrap();
    assert!(status.pending >= 2, "the offline work waits: {status:?}");

    let link = Link::new(&server, &admin);
    console.sync_once(&link, 200).await.unwrap();
    let on_server = server.get_ticket(&admin, ticket).await.unwrap();
    assert_eq!(
        on_server.ticket.title,
        "Offline edit from the landed version"
    );
    assert_eq!(on_server.ticket.priority, outpost_proto::Priority::High);
    assert!(on_server
        .comments
        .iter()
        .any(|c| c.body == "Written offline by the landed version"));
    assert_eq!(console.sync_status().await.unwrap().pending, 0);
    assert_eq!(server.sync_status().await.unwrap().open_conflicts, 0);
    assert!(
        console.verify_sync(&link, 200).await.unwrap().is_empty(),
        "the migrated console agrees with the migrated server"
    );

    // Work goes on in both directions with this version.
    server
        .update_ticket(
            &admin,
            ticket,
            UpdateTicket {
                title: Some("Edited on the server after the upgrade".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    console.sync_once(&link, 200).await.unwrap();
    let here = console.get_ticket(&admin, ticket).await.unwrap();
    assert_eq!(here.ticket.title, "Edited on the server after the upgrade");

    // A console made by this version bootstraps from the migrated server and agrees.
    let fresh = crate::sync::console(&link).await;
    let q = TicketQuery {
        limit: Some(500),
        ..Default::default()
    };
    let theirs = server.list_tickets(&admin, &q).await.unwrap();
    let mine = fresh.core.list_tickets(&admin, &q).await.unwrap();
    assert_eq!(mine.total, theirs.total);
    assert!(
        theirs.total >= 300,
        "the demo MSP is there: {}",
        theirs.total
    );
    assert!(fresh.core.verify_sync(&link, 200).await.unwrap().is_empty());
}
