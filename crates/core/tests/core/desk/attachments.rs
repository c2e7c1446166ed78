//! Files on tickets: stored once per content under hostile-safe names, refused whole with
//! words, and synced lazily (the row everywhere, the bytes on first open).

use crate::fixture;
use crate::sync::{console, Link};
use outpost_core::CoreError;
use outpost_proto::{AttachmentSettings, NewComment};
use std::path::Path;

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR-not-really-an-image";

fn blobs(dir: &Path) -> usize {
    let root = dir.join("attachments");
    let Ok(shards) = std::fs::read_dir(root) else {
        return 0;
    };
    shards
        .flatten()
        .flat_map(|s| std::fs::read_dir(s.path()).unwrap().flatten())
        .filter(|f| !f.file_name().to_string_lossy().starts_with('.'))
        .count()
}

#[tokio::test]
async fn files_are_kept_once_per_content_under_safe_names_and_typed_by_their_bytes() {
    let f = fixture().await;
    let (_, admin) = f.admin().await;
    let client = f.client(&admin, "Acme").await;
    let t = f.ticket(&admin, client, "Printer").await;
    let a = f
        .core
        .add_attachment(&admin, t.id, None, "../../etc/passwd", b"root:x:0:0")
        .await
        .unwrap();
    assert_eq!(a.file_name, "passwd");
    assert_eq!(a.content_type, "application/octet-stream");
    assert!(a.available && !a.preview && a.warning.is_none());
    let shot = f
        .core
        .add_attachment(&admin, t.id, None, "screen.txt", PNG)
        .await
        .unwrap();
    assert_eq!(
        shot.content_type, "image/png",
        "the bytes decide, not the name"
    );
    assert!(shot.preview);
    let exe = f
        .core
        .add_attachment(&admin, t.id, None, "invoice.pdf.exe", b"MZ\x90\0")
        .await
        .unwrap();
    assert!(
        exe.warning
            .as_deref()
            .unwrap()
            .contains("pretends to be a .pdf"),
        "{exe:?}"
    );
    // The same bytes again: a second record, one stored file.
    let again = f
        .core
        .add_attachment(&admin, t.id, None, "copy-of-shot.png", PNG)
        .await
        .unwrap();
    assert_eq!(again.sha256, shot.sha256);
    assert_eq!(blobs(f._dir.path()), 3);
    let detail = f.core.get_ticket(&admin, t.id).await.unwrap();
    let names: Vec<&str> = detail
        .attachments
        .iter()
        .map(|a| a.file_name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "passwd",
            "screen.txt",
            "invoice.pdf.exe",
            "copy-of-shot.png"
        ]
    );
    let (_, bytes) = f.core.attachment_content(&admin, shot.id).await.unwrap();
    assert_eq!(bytes, PNG);
    // A comment's files name it.
    let c = f
        .core
        .add_comment(
            &admin,
            t.id,
            NewComment {
                body: "Screenshot attached".into(),
                internal: None,
            },
        )
        .await
        .unwrap();
    let on_comment = f
        .core
        .add_attachment(&admin, t.id, Some(c.id), "error.png", PNG)
        .await
        .unwrap();
    assert_eq!(on_comment.comment_id, Some(c.id));
}

#[tokio::test]
async fn a_refused_file_is_refused_in_words_and_leaves_nothing_behind() {
    let f = fixture().await;
    let (_, admin) = f.admin().await;
    let acme = f.client(&admin, "Acme").await;
    let other = f.client(&admin, "Other").await;
    let t = f.ticket(&admin, acme, "Printer").await;
    let elsewhere = f.ticket(&admin, other, "Mail").await;
    let msg = |e: CoreError| e.to_string();
    let empty = f
        .core
        .add_attachment(&admin, t.id, None, "a.txt", b"")
        .await
        .unwrap_err();
    assert!(msg(empty).contains("'a.txt' is empty"));
    f.core
        .set_attachment_settings(&admin, AttachmentSettings { max_file_mib: 1 })
        .await
        .unwrap();
    let big = vec![7u8; 2 * 1024 * 1024];
    // Two files, the second too big: neither is kept.
    let e = f
        .core
        .add_attachments(
            &admin,
            t.id,
            None,
            &[("small.txt", b"fine".as_slice()), ("disk.img", &big)],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, CoreError::Validation(m) if m.contains("'disk.img' is 2.0 MiB; files up to 1.0 MiB")),
        "{e}"
    );
    assert!(f
        .core
        .list_attachments(&admin, t.id)
        .await
        .unwrap()
        .is_empty());
    let bad_limit = f
        .core
        .set_attachment_settings(&admin, AttachmentSettings { max_file_mib: 0 })
        .await
        .unwrap_err();
    assert!(msg(bad_limit).contains("between 1 and 100"));
    // A comment of another ticket.
    let c = f
        .core
        .add_comment(
            &admin,
            elsewhere.id,
            NewComment {
                body: "x".into(),
                internal: None,
            },
        )
        .await
        .unwrap();
    let wrong = f
        .core
        .add_attachment(&admin, t.id, Some(c.id), "a.txt", b"x")
        .await
        .unwrap_err();
    assert!(msg(wrong).contains("is not a comment of ticket"));
    // A technician limited to the other client neither sees nor adds Acme's files.
    let kept = f
        .core
        .add_attachment(&admin, t.id, None, "ok.txt", b"ok")
        .await
        .unwrap();
    let tess = f.technician(&admin).await;
    f.core
        .set_user_clients(&admin, tess.user_id.unwrap(), Some(vec![other]))
        .await
        .unwrap();
    let tess = f
        .core
        .authenticate(&{
            f.core
                .login(outpost_proto::LoginRequest {
                    username: "tess".into(),
                    password: "technician-1".into(),
                })
                .await
                .unwrap()
                .token
        })
        .await
        .unwrap();
    assert!(matches!(
        f.core.attachment_content(&tess, kept.id).await,
        Err(CoreError::NotFound(_))
    ));
    assert!(matches!(
        f.core
            .add_attachment(&tess, t.id, None, "b.txt", b"b")
            .await,
        Err(CoreError::NotFound(_))
    ));
    assert_eq!(
        f.core.list_attachments(&admin, t.id).await.unwrap().len(),
        1
    );
    assert_eq!(blobs(f._dir.path()), 1, "nothing refused was stored");
}

#[tokio::test]
async fn the_row_syncs_everywhere_and_the_bytes_follow_on_first_open() {
    let f = fixture().await;
    let (_, admin) = f.admin().await;
    let acme = f.client(&admin, "Acme").await;
    let t = f.ticket(&admin, acme, "Printer").await;
    let on_server = f
        .core
        .add_attachment(&admin, t.id, None, "config.txt", b"dns=10.0.0.1")
        .await
        .unwrap();
    let link = Link::new(&f.core, &admin);
    let c = console(&link).await;
    let seen = c.core.list_attachments(&admin, t.id).await.unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].file_name, "config.txt");
    assert!(!seen[0].available, "metadata only until opened");
    let e = c
        .core
        .attachment_content(&admin, on_server.id)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, CoreError::Unavailable(m) if m.contains("not been opened on this console")),
        "{e}"
    );
    // What the console fetched must be the file's bytes.
    let forged = c
        .core
        .put_attachment_bytes(&admin, on_server.id, b"dns=6.6.6.6!")
        .await
        .unwrap_err();
    assert!(matches!(forged, CoreError::Validation(_)));
    let (_, fetched) = f
        .core
        .attachment_content(&admin, on_server.id)
        .await
        .unwrap();
    let kept = c
        .core
        .put_attachment_bytes(&admin, on_server.id, &fetched)
        .await
        .unwrap();
    assert!(kept.available);
    assert_eq!(
        c.core
            .attachment_content(&admin, on_server.id)
            .await
            .unwrap()
            .1,
        b"dns=10.0.0.1"
    );
    assert!(c.core.attachments_to_upload().await.unwrap().is_empty());

    // Attached on the console (offline): the row goes with the push, the bytes after.
    let offline = c
        .core
        .add_attachment(&admin, t.id, None, "photo.png", PNG)
        .await
        .unwrap();
    let pending = c.core.attachments_to_upload().await.unwrap();
    assert_eq!(pending, vec![(offline.id, offline.sha256.clone())]);
    c.core.sync_once(&link, 50).await.unwrap();
    let on_the_server = f.core.list_attachments(&admin, t.id).await.unwrap();
    assert_eq!(on_the_server.len(), 2);
    assert!(!on_the_server[1].available);
    let e = f
        .core
        .attachment_content(&admin, offline.id)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, CoreError::Conflict(m) if m.contains("have not reached this server yet")),
        "{e}"
    );
    let bytes = c.core.attachment_bytes(&pending[0].1).unwrap().unwrap();
    f.core
        .put_attachment_bytes(&admin, offline.id, &bytes)
        .await
        .unwrap();
    c.core.attachment_uploaded(offline.id).await.unwrap();
    assert!(c.core.attachments_to_upload().await.unwrap().is_empty());
    assert_eq!(
        f.core
            .attachment_content(&admin, offline.id)
            .await
            .unwrap()
            .1,
        PNG
    );
}
