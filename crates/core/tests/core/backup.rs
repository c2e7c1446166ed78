//! Backups made while the store is written to, restored and proved; every kind of bad backup
//! refused in words with nothing left behind.

use crate::fixture;
use outpost_core::backup::{restore, BackupManifest};
use outpost_core::{Core, SystemClock};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A store with clients, tickets, a comment, an attached file and a secrets key.
async fn busy_store() -> (crate::Fixture, outpost_core::Actor, uuid::Uuid) {
    let f = fixture().await;
    let (_, admin) = f.admin().await;
    let acme = f.client(&admin, "Acme").await;
    let t = f.ticket(&admin, acme, "Printer jams").await;
    for i in 0..20 {
        f.ticket(&admin, acme, &format!("Ticket {i}")).await;
    }
    f.core
        .add_attachments(
            &admin,
            t.id,
            None,
            &[("scan.png", b"\x89PNG\r\n\x1a\nnot really")],
        )
        .await
        .unwrap();
    std::fs::write(f._dir.path().join("secrets.key"), [7u8; 32]).unwrap();
    (f, admin, t.id)
}

fn entries(file: &Path) -> Vec<(String, Vec<u8>)> {
    let gz = flate2::read::GzDecoder::new(std::fs::File::open(file).unwrap());
    let mut archive = tar::Archive::new(gz);
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let name = e.path().unwrap().to_str().unwrap().to_string();
            let mut bytes = Vec::new();
            e.read_to_end(&mut bytes).unwrap();
            (name, bytes)
        })
        .collect()
}

fn repack(file: &Path, entries: &[(String, Vec<u8>)]) {
    let out = std::fs::File::create(file).unwrap();
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(out, Default::default()));
    for (name, bytes) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o600);
        // The name goes in raw, as a hostile archive would carry it (`set_path` refuses `..`).
        h.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_cksum();
        tar.append(&h, bytes.as_slice()).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap();
}

fn edit_manifest(file: &Path, edit: impl Fn(&mut BackupManifest)) {
    let mut all = entries(file);
    let mut m: BackupManifest = serde_json::from_slice(&all[0].1).unwrap();
    edit(&mut m);
    all[0].1 = serde_json::to_vec(&m).unwrap();
    repack(file, &all);
}

#[tokio::test]
async fn a_backup_restores_with_its_files_and_proves_itself() {
    let (f, admin, ticket) = busy_store().await;
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("outpost.tar.gz");
    let m = f.core.backup_to(&file).await.unwrap();
    assert!(!out.path().join("outpost.tar.part").exists());
    assert_eq!(m.tables["tickets"], 21);
    assert_eq!(m.tables["clients"], 1);
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .unwrap()
        .count() as i64;
    assert_eq!(m.schema_version, migrations, "the newest migration");
    let names: Vec<String> = entries(&file).into_iter().map(|e| e.0).collect();
    assert_eq!(names[0], "manifest.json");
    assert!(names.contains(&"outpost.db".into()) && names.contains(&"secrets.key".into()));
    assert!(
        names.iter().any(|n| n.starts_with("attachments/")),
        "{names:?}"
    );

    let target = out.path().join("restored");
    let r = restore(&file, &target, true).await.unwrap();
    assert!(r.verified);
    assert_eq!(r.manifest, m);
    let back = Core::open_dir(&target, Arc::new(SystemClock))
        .await
        .unwrap();
    let (a, b) = (
        f.core.get_ticket(&admin, ticket).await.unwrap(),
        back.get_ticket(&admin, ticket).await.unwrap(),
    );
    assert_eq!(a.ticket.title, b.ticket.title);
    assert_eq!(a.history.len(), b.history.len());
    let (_, bytes) = back
        .attachment_content(&admin, b.attachments[0].id)
        .await
        .unwrap();
    assert_eq!(bytes, b"\x89PNG\r\n\x1a\nnot really");
    assert_eq!(
        std::fs::read(target.join("secrets.key")).unwrap(),
        [7u8; 32]
    );
    let v = back.audit_verification().await.unwrap();
    assert_eq!(
        (v.head_seq, v.head_hash),
        (m.audit_head_seq, m.audit_head_hash)
    );
}

#[tokio::test]
async fn a_backup_taken_during_writes_is_one_consistent_moment() {
    let (f, admin, _) = busy_store().await;
    let core = Arc::new(f.core);
    let acme = core.list_clients(&admin).await.unwrap()[0].id;
    let writer = {
        let (core, admin) = (core.clone(), admin.clone());
        tokio::spawn(async move {
            for i in 0..150 {
                core.create_ticket(
                    &admin,
                    outpost_proto::NewTicket {
                        title: format!("Written during the backup {i}"),
                        client_id: acme,
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            }
        })
    };
    tokio::task::yield_now().await;
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("b.tar.gz");
    let m = core.backup_to(&file).await.unwrap();
    writer.await.unwrap();
    // The restore proves the counts and the chain of the moment the copy was read.
    let r = restore(&file, &out.path().join("r"), true).await.unwrap();
    assert_eq!(r.manifest.tables["tickets"], m.tables["tickets"]);
    assert!((21..=171).contains(&m.tables["tickets"]));
    let back = Core::open_dir(&out.path().join("r"), Arc::new(SystemClock))
        .await
        .unwrap();
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_events")
        .fetch_one(back.pool())
        .await
        .unwrap();
    assert_eq!(
        events, m.audit_events,
        "every ticket's audit event, no more"
    );
}

async fn backup_of_busy_store() -> (tempfile::TempDir, PathBuf) {
    let (f, ..) = busy_store().await;
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("b.tar.gz");
    f.core.backup_to(&file).await.unwrap();
    (out, file)
}

async fn refused(file: &Path, dir: &Path) -> String {
    let target = dir.join("restored");
    let e = restore(file, &target, true).await.unwrap_err();
    assert_eq!(e.code(), "validation", "{e}");
    assert!(!target.exists(), "nothing restored");
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(".outpost-restore-"))
        .collect();
    assert!(left.is_empty(), "no staging folder left: {left:?}");
    e.to_string()
}

#[tokio::test]
async fn a_truncated_backup_is_refused() {
    let (out, file) = backup_of_busy_store().await;
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let said = refused(&file, out.path()).await;
    assert!(said.contains("truncated or damaged"), "{said}");
}

#[tokio::test]
async fn a_tampered_store_in_the_backup_is_refused() {
    let (out, file) = backup_of_busy_store().await;
    let mut all = entries(&file);
    let db = all.iter_mut().find(|e| e.0 == "outpost.db").unwrap();
    let at = db.1.len() / 2;
    db.1[at] ^= 0x55;
    repack(&file, &all);
    let said = refused(&file, out.path()).await;
    assert!(
        said.contains("outpost.db in the backup does not match its manifest"),
        "{said}"
    );
}

#[tokio::test]
async fn a_file_the_manifest_does_not_list_or_a_path_outside_is_refused() {
    let (out, file) = backup_of_busy_store().await;
    let mut all = entries(&file);
    all.push((
        "../../etc/cron.d/evil".into(),
        b"* * * * * root sh".to_vec(),
    ));
    repack(&file, &all);
    let said = refused(&file, out.path()).await;
    assert!(said.contains("which no Outpost backup holds"), "{said}");
    assert!(!out.path().parent().unwrap().join("etc").exists());
}

#[tokio::test]
async fn a_backup_missing_a_listed_file_is_truncated() {
    let (out, file) = backup_of_busy_store().await;
    let mut all = entries(&file);
    all.retain(|e| e.0 != "secrets.key");
    repack(&file, &all);
    let said = refused(&file, out.path()).await;
    assert!(said.contains("ends before secrets.key"), "{said}");
}

#[tokio::test]
async fn a_backup_from_a_newer_version_is_refused() {
    let (out, file) = backup_of_busy_store().await;
    edit_manifest(&file, |m| m.format = 2);
    let said = refused(&file, out.path()).await;
    assert!(said.contains("made by a newer Outpost"), "{said}");
    edit_manifest(&file, |m| {
        m.format = 1;
        m.schema_version = 9999;
    });
    let said = refused(&file, out.path()).await;
    assert!(said.contains("schema 9999"), "{said}");
}

#[tokio::test]
async fn verify_catches_counts_and_a_chain_head_that_differ_from_the_manifest() {
    let (out, file) = backup_of_busy_store().await;
    edit_manifest(&file, |m| *m.tables.get_mut("tickets").unwrap() += 1);
    let said = refused(&file, out.path()).await;
    assert!(
        said.contains("table tickets holds 21 rows; the manifest says 22"),
        "{said}"
    );
    edit_manifest(&file, |m| {
        *m.tables.get_mut("tickets").unwrap() -= 1;
        m.audit_head_seq = m.audit_head_seq.map(|s| s + 3);
    });
    let said = refused(&file, out.path()).await;
    assert!(
        said.contains("the restored audit chain ends at event"),
        "{said}"
    );
    // Without --verify the same backup restores (its files match their checksums).
    assert!(restore(&file, &out.path().join("unverified"), false)
        .await
        .is_ok());
}

#[tokio::test]
async fn restoring_over_a_store_or_from_something_else_is_refused() {
    let (out, file) = backup_of_busy_store().await;
    let full = out.path().join("full");
    std::fs::create_dir(&full).unwrap();
    std::fs::write(full.join("outpost.db"), b"precious").unwrap();
    let e = restore(&file, &full, true).await.unwrap_err();
    assert!(e.to_string().contains("is not empty"), "{e}");
    assert_eq!(std::fs::read(full.join("outpost.db")).unwrap(), b"precious");
    let not_backup = out.path().join("notes.txt");
    std::fs::write(&not_backup, b"just some text").unwrap();
    let said = refused(&not_backup, out.path()).await;
    assert!(
        said.contains("is not an Outpost backup") || said.contains("truncated or damaged"),
        "{said}"
    );
}

#[tokio::test]
async fn a_console_backs_itself_up_into_its_folder_and_keeps_the_newest_ten() {
    let (f, admin, _) = busy_store().await;
    let mut made = Vec::new();
    for _ in 0..12 {
        let b = f.core.backup_here(&admin).await.unwrap();
        assert_eq!(b.tickets, 21);
        assert!(b.bytes > 0 && b.files >= 3, "{b:?}");
        made.push(b.file);
        f.clock.advance(chrono::Duration::seconds(1));
    }
    let dir = f._dir.path().join("backups");
    let mut kept: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    kept.sort();
    assert_eq!(kept, made[2..], "the two oldest went");
    let out = tempfile::tempdir().unwrap();
    let r = restore(Path::new(&made[11]), &out.path().join("r"), true)
        .await
        .unwrap();
    assert_eq!(r.manifest.tables["tickets"], 21);
    let tess = f.technician(&admin).await;
    assert_eq!(
        f.core.backup_here(&tess).await.unwrap_err().code(),
        "forbidden"
    );
}

#[tokio::test]
async fn scheduled_backups_come_every_so_many_hours_and_keep_the_newest() {
    let (f, admin, _) = busy_store().await;
    let away = tempfile::tempdir().unwrap();
    let folder = away.path().join("outpost-backups");
    let set = |enabled: bool, folder: &str, every: i64, keep: i64| outpost_proto::BackupSchedule {
        enabled,
        folder: folder.into(),
        every_hours: every,
        keep,
        last_at: None,
        last_file: None,
        last_error: None,
    };
    // Bad settings say what to fix and change nothing.
    for (bad, words) in [
        (set(true, "backups", 6, 2), "must be an absolute path"),
        (
            set(true, folder.to_str().unwrap(), 0, 2),
            "every_hours must be between 1 and 168",
        ),
        (
            set(true, folder.to_str().unwrap(), 6, 0),
            "keep must be between 1 and 365",
        ),
        (
            set(true, f._dir.path().join("b").to_str().unwrap(), 6, 2),
            "outside the data folder",
        ),
    ] {
        let e = f.core.set_backup_schedule(&admin, bad).await.unwrap_err();
        assert!(e.to_string().contains(words), "{e}");
    }
    assert!(!f.core.backup_schedule(&admin).await.unwrap().enabled);
    assert_eq!(
        f.core.run_backup_schedule().await.unwrap(),
        None,
        "off: nothing"
    );

    f.core
        .set_backup_schedule(&admin, set(true, folder.to_str().unwrap(), 6, 2))
        .await
        .unwrap();
    let first = f
        .core
        .run_backup_schedule()
        .await
        .unwrap()
        .expect("due at once");
    assert!(first.starts_with(&folder));
    assert_eq!(
        f.core.run_backup_schedule().await.unwrap(),
        None,
        "not again within 6 h"
    );
    let mut made = vec![first];
    for _ in 0..2 {
        f.clock.advance(chrono::Duration::hours(6));
        made.push(
            f.core
                .run_backup_schedule()
                .await
                .unwrap()
                .expect("due after 6 h"),
        );
    }
    let mut kept: Vec<PathBuf> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    kept.sort();
    assert_eq!(kept, made[1..], "the newest two");
    let s = f.core.backup_schedule(&admin).await.unwrap();
    assert_eq!(s.last_file.as_deref(), made[2].to_str());
    assert_eq!(s.last_error, None);
    assert!(restore(&made[2], &away.path().join("r"), true)
        .await
        .is_ok());

    // The folder gone (an unmounted share): the failure is kept in words, tried again later.
    std::fs::remove_dir_all(&folder).unwrap();
    std::fs::write(&folder, b"a file where the folder was").unwrap();
    f.clock.advance(chrono::Duration::hours(6));
    assert!(f.core.run_backup_schedule().await.is_err());
    let s = f.core.backup_schedule(&admin).await.unwrap();
    assert!(
        s.last_error
            .as_deref()
            .is_some_and(|e| e.contains("not a folder")),
        "{s:?}"
    );
    let tess = f.technician(&admin).await;
    assert_eq!(
        f.core.backup_schedule(&tess).await.unwrap_err().code(),
        "forbidden"
    );
}
