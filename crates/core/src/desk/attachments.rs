//! Files on tickets and comments. The bytes are stored once per content (named by their
//! SHA-256 under `attachments/` beside the store); the row holding a file's name, type and
//! hash is an append-only synced record, so every console knows a ticket's files and fetches
//! the bytes when someone opens one (see `src-tauri`), keeping them from then on.
//!
//! Everything about a file is hostile input: its name is made safe (no folders, no control
//! characters), its type is decided here from its bytes and name (never what the sender
//! claimed), and it is only ever served as a download (`Content-Disposition: attachment`).

use crate::clock::{from_ms, to_ms};
use crate::error::{invalid, CoreError, CoreResult};
use crate::store::record::{ClientOf, Link, SyncedRecord};
use crate::store::{parse_uuid, Actor, Core, WriteTx};
use outpost_proto::{Attachment, AttachmentSettings};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use std::io::Write;
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// What a store accepts when its admin has set nothing.
pub const DEFAULT_MAX_FILE_BYTES: i64 = 25 * 1024 * 1024;
/// The most an admin may allow (a file is held in memory while it is taken in).
pub const MAX_FILE_MIB: i64 = 100;
const MAX_NAME_CHARS: usize = 180;

/// A ticket's files travel with it: metadata always, bytes on first open.
pub(crate) const ATTACHMENT_RECORD: SyncedRecord = SyncedRecord {
    client: ClientOf::Parent {
        field: "ticket_id",
        entity: "ticket",
    },
    links: &[
        Link {
            field: "ticket_id",
            entity: "ticket",
            required: true,
        },
        Link {
            field: "comment_id",
            entity: "comment",
            required: false,
        },
        Link {
            field: "uploaded_by",
            entity: "user",
            required: true,
        },
    ],
    append_only: true,
    since: 6,
    ..SyncedRecord::table(
        "attachment",
        "attachments",
        &[
            "ticket_id",
            "comment_id",
            "file_name",
            "content_type",
            "size",
            "sha256",
            "source",
            "uploaded_by",
            "created_at",
        ],
    )
};

/// A file's name made safe to store, show and offer as a download name: the last part of
/// any path (`../../etc/passwd` → `passwd`), no control or reserved characters, no leading
/// dots, not empty, not too long (the extension is kept).
pub fn safe_file_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))
        .map(|c| match c {
            '<' | '>' | ':' | '"' | '|' | '?' | '*' => '_',
            c => c,
        })
        .collect();
    let trimmed = cleaned
        .trim()
        .trim_start_matches('.')
        .trim_end_matches(['.', ' ']);
    let name = if trimmed.is_empty() {
        "attachment".to_string()
    } else {
        trimmed.to_string()
    };
    if name.chars().count() <= MAX_NAME_CHARS {
        return name;
    }
    let ext: String = match name.rsplit_once('.') {
        Some((_, e)) if e.chars().count() <= 10 => format!(".{e}"),
        _ => String::new(),
    };
    let stem: String = name
        .chars()
        .take(MAX_NAME_CHARS - ext.chars().count())
        .collect();
    format!("{stem}{ext}")
}

/// Extensions Windows and macOS run when a file is opened.
const PROGRAMS: &[&str] = &[
    "exe", "com", "scr", "pif", "bat", "cmd", "msi", "msp", "msc", "ps1", "psm1", "vbs", "vbe",
    "js", "jse", "wsf", "wsh", "hta", "cpl", "jar", "lnk", "reg", "dll", "sys", "app", "pkg",
    "dmg", "command", "sh", "iso", "img", "vhd", "vhdx",
];

/// Why opening a file deserves care, in words, or None.
pub fn warning_for(name: &str) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    let mut parts = lower.rsplit('.');
    let ext = parts.next().filter(|_| lower.contains('.'))?;
    if !PROGRAMS.contains(&ext) {
        return None;
    }
    let before = parts
        .next()
        .filter(|p| p.len() <= 5 && !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()));
    Some(match before {
        Some(shown) if lower.matches('.').count() >= 2 && !PROGRAMS.contains(&shown) => format!(
            "this is a program (.{ext}) whose name pretends to be a .{shown} file: \
             do not open it unless you know where it came from"
        ),
        _ => format!("this is a program (.{ext}): open it only if you expected it"),
    })
}

/// What a file is, decided from its bytes first, then its name; anything that a browser
/// could run (HTML, SVG, XML) is served as plain bytes.
pub fn content_type_of(name: &str, bytes: &[u8]) -> &'static str {
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    if starts(b"\x89PNG\r\n\x1a\n") {
        return "image/png";
    }
    if starts(b"\xff\xd8\xff") {
        return "image/jpeg";
    }
    if starts(b"GIF87a") || starts(b"GIF89a") {
        return "image/gif";
    }
    if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return "image/webp";
    }
    if starts(b"%PDF-") {
        return "application/pdf";
    }
    if starts(b"PK\x03\x04") {
        return match extension(name).as_str() {
            "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            _ => "application/zip",
        };
    }
    if starts(b"MZ") {
        return "application/octet-stream";
    }
    let text = std::str::from_utf8(&bytes[..bytes.len().min(4096)]).is_ok()
        || std::str::from_utf8(bytes).is_ok();
    match extension(name).as_str() {
        "txt" | "log" | "ini" | "conf" | "cfg" | "md" if text => "text/plain; charset=utf-8",
        "csv" if text => "text/csv; charset=utf-8",
        "json" if text => "application/json",
        "eml" => "message/rfc822",
        _ => "application/octet-stream",
    }
}

fn extension(name: &str) -> String {
    match name.rsplit_once('.') {
        Some((_, e)) => e.to_ascii_lowercase(),
        None => String::new(),
    }
}

fn is_preview(content_type: &str) -> bool {
    matches!(
        content_type,
        "image/png" | "image/jpeg" | "image/gif" | "image/webp"
    )
}

/// A size for people: `31.2 MiB`, `812 KiB`.
pub fn human_size(bytes: i64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    if bytes as f64 >= MIB {
        format!("{:.1} MiB", bytes as f64 / MIB)
    } else if bytes >= 1024 {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub(crate) fn blob_path(data_dir: &Path, sha: &str) -> PathBuf {
    data_dir.join("attachments").join(&sha[..2]).join(sha)
}

fn io_error(what: &str, e: std::io::Error) -> CoreError {
    CoreError::Internal(format!(
        "{what}: {e}; check the data folder's space and permissions"
    ))
}

/// Keeps the bytes under their hash (once per content): written to a temporary file and
/// renamed, so a crash leaves either the whole file or none.
fn store_blob(data_dir: &Path, sha: &str, bytes: &[u8]) -> CoreResult<()> {
    let path = blob_path(data_dir, sha);
    if std::fs::metadata(&path).is_ok_and(|m| m.len() == bytes.len() as u64) {
        return Ok(());
    }
    let dir = path.parent().expect("a blob path has a folder");
    std::fs::create_dir_all(dir)
        .map_err(|e| io_error("cannot create the attachments folder", e))?;
    let tmp = dir.join(format!(".incoming-{}", Uuid::now_v7()));
    let written = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|_| f.sync_all()))
        .and_then(|_| std::fs::rename(&tmp, &path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_error("cannot store the file", e));
    }
    Ok(())
}

/// The bytes of a stored content, if this store holds them whole and unchanged.
/// A hash as stored names a file under `attachments/` only if it is 64 hex digits (a row
/// from a console is not trusted to name a path).
fn is_sha(sha: &str) -> bool {
    sha.len() == 64 && sha.chars().all(|c| c.is_ascii_hexdigit())
}

fn read_blob(data_dir: &Path, sha: &str) -> CoreResult<Option<Vec<u8>>> {
    if !is_sha(sha) {
        return Ok(None);
    }
    match std::fs::read(blob_path(data_dir, sha)) {
        Ok(bytes) if sha256_hex(&bytes) == sha => Ok(Some(bytes)),
        // Damaged on disk: treated as missing, so a console fetches it again.
        Ok(_) => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error("cannot read the file", e)),
    }
}

fn has_blob(data_dir: &Path, sha: &str, size: i64) -> bool {
    is_sha(sha) && std::fs::metadata(blob_path(data_dir, sha)).is_ok_and(|m| m.len() == size as u64)
}

const SELECT: &str =
    "SELECT a.id, a.ticket_id, a.comment_id, a.file_name, a.content_type, a.size, \
     a.sha256, a.source, a.uploaded_by, u.display_name, a.created_at, t.client_id AS ticket_client \
     FROM attachments a JOIN users u ON u.id = a.uploaded_by JOIN tickets t ON t.id = a.ticket_id";

fn from_row(data_dir: &Path, r: &SqliteRow) -> CoreResult<Attachment> {
    let comment: Option<String> = r.get("comment_id");
    // What a console sent is shown as it is made safe here, whatever it claimed.
    let file_name = safe_file_name(r.get("file_name"));
    let content_type: String = r.get("content_type");
    let sha256: String = r.get("sha256");
    let size: i64 = r.get("size");
    Ok(Attachment {
        id: parse_uuid(r.get("id"))?,
        ticket_id: parse_uuid(r.get("ticket_id"))?,
        comment_id: comment.as_deref().map(parse_uuid).transpose()?,
        warning: warning_for(&file_name),
        preview: is_preview(&content_type),
        available: has_blob(data_dir, &sha256, size),
        file_name,
        content_type,
        size,
        sha256,
        source: r.get("source"),
        uploaded_by: parse_uuid(r.get("uploaded_by"))?,
        uploaded_by_name: r.get("display_name"),
        created_at: from_ms(r.get("created_at")),
    })
}

/// A ticket's files, oldest first.
pub(crate) async fn list_for_ticket(
    pool: &sqlx::SqlitePool,
    data_dir: &Path,
    ticket: Uuid,
) -> CoreResult<Vec<Attachment>> {
    sqlx::query(&format!("{SELECT} WHERE a.ticket_id = ? ORDER BY a.rid"))
        .bind(ticket.to_string())
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| from_row(data_dir, r))
        .collect()
}

/// This store's limit on one file, in bytes.
pub(crate) async fn max_file_bytes(w: &mut WriteTx<'_>) -> CoreResult<i64> {
    limit_in(&mut *w.tx).await
}

async fn limit_in<'e>(db: impl sqlx::SqliteExecutor<'e>) -> CoreResult<i64> {
    let set: Option<i64> =
        sqlx::query_scalar("SELECT max_file_bytes FROM attachment_settings WHERE only_row = 1")
            .fetch_optional(db)
            .await?;
    Ok(set.unwrap_or(DEFAULT_MAX_FILE_BYTES))
}

/// What `attach` was asked to keep.
pub(crate) struct NewFile<'a> {
    pub ticket_id: Uuid,
    pub comment_id: Option<Uuid>,
    pub file_name: &'a str,
    pub bytes: &'a [u8],
    pub source: &'static str,
    pub uploaded_by: Uuid,
}

/// Keeps one file in the caller's transaction (a mail's files go in with its comment). The
/// bytes are stored first: if the transaction is rolled back they stay unreferenced, never
/// the other way round.
pub(crate) async fn attach(
    w: &mut WriteTx<'_>,
    data_dir: &Path,
    f: NewFile<'_>,
) -> CoreResult<Uuid> {
    let file_name = safe_file_name(f.file_name);
    if f.bytes.is_empty() {
        return Err(invalid(format!(
            "'{file_name}' is empty; there is nothing to attach"
        )));
    }
    let max = max_file_bytes(w).await?;
    if f.bytes.len() as i64 > max {
        return Err(invalid(format!(
            "'{file_name}' is {}; files up to {} can be attached (an admin sets the limit \
             under Settings → Attachments)",
            human_size(f.bytes.len() as i64),
            human_size(max)
        )));
    }
    let ticket_client: Option<String> =
        sqlx::query_scalar("SELECT client_id FROM tickets WHERE id = ?")
            .bind(f.ticket_id.to_string())
            .fetch_optional(&mut *w.tx)
            .await?;
    let Some(client) = ticket_client else {
        return Err(CoreError::NotFound(format!(
            "ticket {} does not exist",
            f.ticket_id
        )));
    };
    if !w.actor.may_see(parse_uuid(&client)?) {
        return Err(CoreError::NotFound(format!(
            "ticket {} does not exist",
            f.ticket_id
        )));
    }
    if let Some(comment) = f.comment_id {
        let on: Option<String> = sqlx::query_scalar("SELECT ticket_id FROM comments WHERE id = ?")
            .bind(comment.to_string())
            .fetch_optional(&mut *w.tx)
            .await?;
        if on.as_deref() != Some(f.ticket_id.to_string().as_str()) {
            return Err(invalid(format!(
                "comment {comment} is not a comment of ticket {}; attach the file to the ticket \
                 or to one of its comments",
                f.ticket_id
            )));
        }
    }
    let sha = sha256_hex(f.bytes);
    let content_type = content_type_of(&file_name, f.bytes);
    store_blob(data_dir, &sha, f.bytes)?;
    let id = Uuid::now_v7();
    let at = w.now_ms();
    sqlx::query(
        "INSERT INTO attachments (id, ticket_id, comment_id, file_name, content_type, size, \
         sha256, source, uploaded_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(f.ticket_id.to_string())
    .bind(f.comment_id.map(|c| c.to_string()))
    .bind(&file_name)
    .bind(content_type)
    .bind(f.bytes.len() as i64)
    .bind(&sha)
    .bind(f.source)
    .bind(f.uploaded_by.to_string())
    .bind(at)
    .execute(&mut *w.tx)
    .await?;
    w.inserted(
        "attachment.create",
        "attachment",
        id,
        json!({"ticket_id": f.ticket_id, "comment_id": f.comment_id, "file_name": file_name,
               "content_type": content_type, "size": f.bytes.len(), "sha256": sha,
               "source": f.source, "uploaded_by": f.uploaded_by, "created_at": at}),
    )
    .await?;
    Ok(id)
}

impl Core {
    async fn attachment_row(&self, actor: &Actor, id: Uuid) -> CoreResult<Attachment> {
        let missing = || CoreError::NotFound(format!("attachment {id} does not exist"));
        let row = sqlx::query(&format!("{SELECT} WHERE a.id = ?"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(missing)?;
        let a = from_row(&self.data_dir, &row)?;
        if !actor.may_see(parse_uuid(row.get("ticket_client"))?) {
            return Err(missing());
        }
        Ok(a)
    }

    /// Attaches a file to a ticket, or to one of its comments.
    pub async fn add_attachment(
        &self,
        actor: &Actor,
        ticket_id: Uuid,
        comment_id: Option<Uuid>,
        file_name: &str,
        bytes: &[u8],
    ) -> CoreResult<Attachment> {
        let mut added = self
            .add_attachments(actor, ticket_id, comment_id, &[(file_name, bytes)])
            .await?;
        Ok(added.remove(0))
    }

    /// Attaches files together: all of them, or (one refused) none.
    pub async fn add_attachments(
        &self,
        actor: &Actor,
        ticket_id: Uuid,
        comment_id: Option<Uuid>,
        files: &[(&str, &[u8])],
    ) -> CoreResult<Vec<Attachment>> {
        actor.require_write()?;
        let author = actor
            .user_id
            .ok_or_else(|| invalid("files are attached by a person; log in first"))?;
        if files.is_empty() {
            return Err(invalid(
                "send at least one file (a form field named 'file')",
            ));
        }
        let mut w = self.write(actor).await?;
        let mut ids = Vec::new();
        let mut failed = None;
        for (file_name, bytes) in files {
            let added = attach(
                &mut w,
                &self.data_dir,
                NewFile {
                    ticket_id,
                    comment_id,
                    file_name,
                    bytes,
                    source: "upload",
                    uploaded_by: author,
                },
            )
            .await;
            match added {
                Ok(id) => ids.push(id),
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        if let Some(e) = failed {
            drop(w);
            // None of them is kept: the bytes stored before the refusal go too, unless
            // another record holds the same content.
            let w = self.write(actor).await?;
            for (_, bytes) in files {
                let sha = sha256_hex(bytes);
                let held: i64 =
                    sqlx::query_scalar("SELECT count(*) FROM attachments WHERE sha256 = ?")
                        .bind(&sha)
                        .fetch_one(&self.pool)
                        .await?;
                if held == 0 {
                    let _ = std::fs::remove_file(blob_path(&self.data_dir, &sha));
                }
            }
            drop(w);
            return Err(e);
        }
        w.commit().await?;
        let mut out = Vec::new();
        for id in ids {
            out.push(self.attachment_row(actor, id).await?);
        }
        Ok(out)
    }

    /// The largest file this store takes, in bytes (hosts stop reading a body past it).
    pub async fn max_attachment_bytes(&self) -> CoreResult<i64> {
        limit_in(&self.pool).await
    }

    /// A ticket's files, oldest first.
    pub async fn list_attachments(
        &self,
        actor: &Actor,
        ticket: Uuid,
    ) -> CoreResult<Vec<Attachment>> {
        let t = self.ticket(ticket).await?;
        if !actor.may_see(t.client_id) {
            return Err(CoreError::NotFound(format!(
                "ticket {ticket} does not exist"
            )));
        }
        list_for_ticket(&self.pool, &self.data_dir, ticket).await
    }

    /// A file and its bytes. A console that has not fetched them yet is told so (the desktop
    /// app then fetches them from its server); the server, that they have not arrived yet.
    pub async fn attachment_content(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> CoreResult<(Attachment, Vec<u8>)> {
        let a = self.attachment_row(actor, id).await?;
        match read_blob(&self.data_dir, &a.sha256)? {
            Some(bytes) => Ok((a, bytes)),
            None if self.sync_status().await?.server_url.is_some() => {
                Err(CoreError::Unavailable(format!(
                    "'{}' has not been opened on this console yet; connect to the server once \
                     to fetch it (it is kept here afterwards)",
                    a.file_name
                )))
            }
            None => Err(CoreError::Conflict(format!(
                "'{}' is known but its bytes have not reached this server yet: the console \
                 that attached it sends them when it next syncs",
                a.file_name
            ))),
        }
    }

    /// Keeps the bytes of a file this store knows (fetched from the server, or sent by the
    /// console that attached it): they must be exactly the bytes the file's hash names.
    pub async fn put_attachment_bytes(
        &self,
        actor: &Actor,
        id: Uuid,
        bytes: &[u8],
    ) -> CoreResult<Attachment> {
        let a = self.attachment_row(actor, id).await?;
        if bytes.len() as i64 != a.size || sha256_hex(bytes) != a.sha256 {
            return Err(invalid(format!(
                "these are not the bytes of '{}' ({}, SHA-256 {}): got {} that hash differently",
                a.file_name,
                human_size(a.size),
                a.sha256,
                human_size(bytes.len() as i64)
            )));
        }
        store_blob(&self.data_dir, &a.sha256, bytes)?;
        self.attachment_row(actor, id).await
    }

    /// Files attached on this store whose bytes its server has not confirmed yet (a
    /// console's sync sends them after the rows): their ids and bytes' hashes.
    pub async fn attachments_to_upload(&self) -> CoreResult<Vec<(Uuid, String)>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT a.id, a.sha256 FROM attachments a \
             WHERE a.id IN (SELECT entity_id FROM changes WHERE entity = 'attachment' \
                            AND op = 'insert' AND replica_id = ?) \
             AND a.id NOT IN (SELECT attachment_id FROM attachment_uploads) ORDER BY a.rid",
        )
        .bind(self.replica_id().to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(id, sha)| Ok((parse_uuid(&id)?, sha)))
            .collect()
    }

    /// The bytes of a stored file, by its hash, for the sync to send.
    pub fn attachment_bytes(&self, sha: &str) -> CoreResult<Option<Vec<u8>>> {
        read_blob(&self.data_dir, sha)
    }

    /// The server holds this file's bytes now.
    pub async fn attachment_uploaded(&self, id: Uuid) -> CoreResult<()> {
        sqlx::query("INSERT OR IGNORE INTO attachment_uploads (attachment_id, at) VALUES (?, ?)")
            .bind(id.to_string())
            .bind(to_ms(self.now()))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn attachment_settings(&self, actor: &Actor) -> CoreResult<AttachmentSettings> {
        actor.require_admin()?;
        let max = self.max_attachment_bytes().await?;
        Ok(AttachmentSettings {
            max_file_mib: max / (1024 * 1024),
        })
    }

    pub async fn set_attachment_settings(
        &self,
        actor: &Actor,
        req: AttachmentSettings,
    ) -> CoreResult<AttachmentSettings> {
        actor.require_admin()?;
        if !(1..=MAX_FILE_MIB).contains(&req.max_file_mib) {
            return Err(invalid(format!(
                "max_file_mib must be between 1 and {MAX_FILE_MIB} (got {})",
                req.max_file_mib
            )));
        }
        let mut w = self.write(actor).await?;
        let before = max_file_bytes(&mut w).await? / (1024 * 1024);
        sqlx::query(
            "INSERT INTO attachment_settings (only_row, max_file_bytes) VALUES (1, ?) \
             ON CONFLICT (only_row) DO UPDATE SET max_file_bytes = excluded.max_file_bytes",
        )
        .bind(req.max_file_mib * 1024 * 1024)
        .execute(&mut *w.tx)
        .await?;
        w.audit(
            "attachment_settings.update",
            "attachment_settings",
            Uuid::nil(),
            Some(json!({"max_file_mib": before})),
            Some(json!({"max_file_mib": req.max_file_mib})),
        )
        .await?;
        w.commit().await?;
        Ok(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_are_made_safe() {
        assert_eq!(safe_file_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_file_name("..\\..\\Windows\\win.ini"), "win.ini");
        assert_eq!(safe_file_name("...hidden"), "hidden");
        assert_eq!(safe_file_name("a\u{0}b\nc.txt"), "abc.txt");
        assert_eq!(safe_file_name("in<voi>ce?.pdf"), "in_voi_ce_.pdf");
        assert_eq!(safe_file_name("/"), "attachment");
        assert_eq!(safe_file_name("photo\u{202e}gpj.exe"), "photogpj.exe");
        let long = format!("{}.pdf", "x".repeat(500));
        let safe = safe_file_name(&long);
        assert_eq!(safe.chars().count(), MAX_NAME_CHARS);
        assert!(safe.ends_with(".pdf"));
    }

    #[test]
    fn programs_are_named_and_disguised_ones_called_out() {
        let w = warning_for("invoice.pdf.exe").expect("a program");
        assert!(w.contains("pretends to be a .pdf"), "{w}");
        assert!(warning_for("setup.exe").unwrap().contains("program (.exe)"));
        assert_eq!(warning_for("invoice.pdf"), None);
        assert_eq!(warning_for("README"), None);
    }

    #[test]
    fn types_come_from_the_bytes_and_nothing_runnable_is_served_as_such() {
        assert_eq!(
            content_type_of("x.txt", b"\x89PNG\r\n\x1a\n...."),
            "image/png"
        );
        assert_eq!(
            content_type_of("evil.html", b"<script>alert(1)</script>"),
            "application/octet-stream"
        );
        assert_eq!(
            content_type_of("logo.svg", b"<svg onload=alert(1)>"),
            "application/octet-stream"
        );
        assert_eq!(
            content_type_of("invoice.pdf", b"MZ\x90\x00"),
            "application/octet-stream"
        );
        assert_eq!(
            content_type_of("notes.txt", b"hello"),
            "text/plain; charset=utf-8"
        );
        assert_eq!(content_type_of("a.pdf", b"%PDF-1.7"), "application/pdf");
    }
}
