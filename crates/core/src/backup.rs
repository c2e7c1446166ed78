//! Backups that are known to restore.
//!
//! A backup is a `.tar.gz` (any tar lists it) holding, in this order: `manifest.json`, a
//! consistent copy of the store made while it serves (`VACUUM INTO`, which reads one snapshot
//! while writers go on), the key that seals stored secrets, the server's TLS certificate and
//! key (consoles pin its fingerprint, so a restored server must present the same one), and
//! every attached file the copy refers to. The manifest records the version, the row count
//! of every table, the audit chain's head and each file's size and SHA-256.
//!
//! A restore unpacks into a new folder beside the target, checks every file against the
//! manifest (a truncated, tampered or newer backup is refused in words) and with `verify`
//! proves the store: SQLite's integrity check, the row counts, and the audit chain
//! recomputed to the recorded head. Only then is the folder renamed into place: a refused
//! restore leaves nothing behind.

use crate::clock::Clock;
use crate::error::{CoreError, CoreResult};
use crate::notify::vault::KEY_FILE;
use crate::store::{Core, DB_FILE};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, Row};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use uuid::Uuid;

/// The backup layout this version writes and reads.
pub const BACKUP_FORMAT: u32 = 1;
const MANIFEST: &str = "manifest.json";
/// Files beside the store that a backup carries when they exist.
const EXTRA_FILES: [&str; 3] = [KEY_FILE, "tls/server-cert.pem", "tls/server-key.pem"];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BackupManifest {
    pub format: u32,
    /// The Outpost version that made it.
    pub made_by: String,
    pub made_at: chrono::DateTime<chrono::Utc>,
    /// The newest migration the store inside has.
    pub schema_version: i64,
    pub replica_id: String,
    /// Rows per table.
    pub tables: BTreeMap<String, i64>,
    pub audit_events: i64,
    pub audit_head_seq: Option<i64>,
    pub audit_head_hash: Option<String>,
    pub files: Vec<BackupFile>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BackupFile {
    /// The path inside the data folder, with `/`.
    pub name: String,
    pub bytes: u64,
    pub sha256: String,
}

fn io(what: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> CoreError {
    move |e| CoreError::Internal(format!("{what}: {e}"))
}

fn refused(msg: impl Into<String>) -> CoreError {
    CoreError::Validation(msg.into())
}

/// The newest migration this build knows.
fn known_schema() -> i64 {
    sqlx::migrate!("./migrations")
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or(0)
}

fn hash_file(path: &Path) -> CoreResult<(u64, String)> {
    let mut f = std::fs::File::open(path).map_err(io(format!("cannot read {}", path.display())))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let got = f
            .read(&mut buf)
            .map_err(io(format!("cannot read {}", path.display())))?;
        if got == 0 {
            break;
        }
        n += got as u64;
        h.update(&buf[..got]);
    }
    Ok((n, hex::encode(h.finalize())))
}

/// What a store copy holds: row counts, the newest migration, the audit head.
async fn describe_store(db: &Path) -> CoreResult<(BTreeMap<String, i64>, i64, String)> {
    let mut conn = SqliteConnectOptions::new()
        .filename(db)
        .read_only(true)
        .connect()
        .await?;
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         ORDER BY name",
    )
    .fetch_all(&mut conn)
    .await?;
    let mut tables = BTreeMap::new();
    for name in names {
        // Table names come from the store's own schema, quoted as identifiers.
        let n: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM \"{}\"",
            name.replace('"', "\"\"")
        ))
        .fetch_one(&mut conn)
        .await?;
        tables.insert(name, n);
    }
    let schema: Option<i64> =
        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success = 1")
            .fetch_one(&mut conn)
            .await?;
    let replica: String = sqlx::query_scalar("SELECT replica_id FROM replica WHERE singleton = 1")
        .fetch_one(&mut conn)
        .await?;
    conn.close().await?;
    Ok((tables, schema.unwrap_or(0), replica))
}

impl Core {
    /// Writes a backup of this store to `file` while it keeps serving; returns its manifest.
    /// The file appears only when complete (written as `FILE.part`, then renamed).
    pub async fn backup_to(&self, file: &Path) -> CoreResult<BackupManifest> {
        let parent = file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !parent.is_dir() {
            return Err(refused(format!(
                "{} is not a folder: create it first",
                parent.display()
            )));
        }
        let work = tempfile::Builder::new()
            .prefix(".outpost-backup-")
            .tempdir_in(parent)
            .map_err(io(format!("cannot write in {}", parent.display())))?;
        let snapshot = work.path().join(DB_FILE);
        sqlx::query("VACUUM INTO ?")
            .bind(snapshot.to_string_lossy().into_owned())
            .execute(&self.pool)
            .await?;
        let (tables, schema_version, replica_id) = describe_store(&snapshot).await?;
        // The chain as the copy holds it: verified here, so a backup never records a broken one
        // as its head without saying so.
        let copy = Core::open_dir(work.path(), Arc::new(FixedClock(self.clock.now()))).await?;
        let chain = copy.audit_verification().await?;
        let attachments: Vec<(String, i64)> =
            sqlx::query_as("SELECT DISTINCT sha256, size FROM attachments ORDER BY sha256")
                .fetch_all(copy.pool())
                .await?;
        copy.pool().close().await;
        if let Some(b) = chain.broken {
            return Err(CoreError::Conflict(format!(
                "the audit log is broken at event {} ({}); run `audit verify` and keep this \
                 store for investigation before backing it up",
                b.seq, b.reason
            )));
        }
        let mut sources: Vec<(String, PathBuf)> = vec![(DB_FILE.into(), snapshot.clone())];
        for extra in EXTRA_FILES {
            let path = self.data_dir.join(extra);
            if path.is_file() {
                sources.push((extra.to_string(), path));
            }
        }
        for (sha, _) in &attachments {
            if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
                continue;
            }
            let path = crate::desk::attachments::blob_path(&self.data_dir, sha);
            // A console may list files whose bytes it never fetched.
            if path.is_file() {
                sources.push((format!("attachments/{}/{sha}", &sha[..2]), path));
            }
        }
        let manifest_files = {
            let sources = sources.clone();
            tokio::task::spawn_blocking(move || {
                sources
                    .iter()
                    .map(|(name, path)| {
                        let (bytes, sha256) = hash_file(path)?;
                        Ok(BackupFile {
                            name: name.clone(),
                            bytes,
                            sha256,
                        })
                    })
                    .collect::<CoreResult<Vec<_>>>()
            })
            .await
            .map_err(|e| CoreError::Internal(format!("backup task failed: {e}")))??
        };
        let manifest = BackupManifest {
            format: BACKUP_FORMAT,
            made_by: format!("outpost {}", env!("CARGO_PKG_VERSION")),
            made_at: self.clock.now(),
            schema_version,
            replica_id,
            tables,
            audit_events: chain.events,
            audit_head_seq: chain.head_seq,
            audit_head_hash: chain.head_hash,
            files: manifest_files,
        };
        let out = file.to_path_buf();
        let written = manifest.clone();
        tokio::task::spawn_blocking(move || write_archive(&out, &written, &sources))
            .await
            .map_err(|e| CoreError::Internal(format!("backup task failed: {e}")))??;
        drop(work);
        Ok(manifest)
    }
}

/// Backups a console keeps in its own folder; older ones are removed.
const KEEP_CONSOLE_BACKUPS: usize = 10;
const CONSOLE_BACKUP_PREFIX: &str = "outpost-backup-";

impl Core {
    /// Backs this store up into `backups/` beside it (a desktop console's "Back up now"),
    /// keeping the newest ten (admins).
    pub async fn backup_here(
        &self,
        actor: &crate::store::Actor,
    ) -> CoreResult<outpost_proto::StoreBackup> {
        actor.require_admin()?;
        let dir = self.data_dir.join("backups");
        std::fs::create_dir_all(&dir).map_err(io(format!("cannot create {}", dir.display())))?;
        let file = backup_name(&dir, self.clock.now());
        let m = self.backup_to(&file).await?;
        prune(&dir, KEEP_CONSOLE_BACKUPS)?;
        let bytes = std::fs::metadata(&file)
            .map(|m| m.len() as i64)
            .unwrap_or(0);
        Ok(outpost_proto::StoreBackup {
            file: file.display().to_string(),
            bytes,
            made_at: m.made_at,
            tickets: m.tables.get("tickets").copied().unwrap_or(0),
            files: m.files.len() as i64,
            audit_head_seq: m.audit_head_seq,
        })
    }
}

/// A new backup's file in `dir`, named by its time (names sort by time).
fn backup_name(dir: &Path, now: chrono::DateTime<chrono::Utc>) -> PathBuf {
    let stamp = now.format("%Y-%m-%d-%H%M%S");
    let mut file = dir.join(format!("{CONSOLE_BACKUP_PREFIX}{stamp}.tar.gz"));
    let mut n = 1;
    while file.exists() {
        n += 1;
        file = dir.join(format!("{CONSOLE_BACKUP_PREFIX}{stamp}-{n}.tar.gz"));
    }
    file
}

/// Removes the oldest of Outpost's backups in `dir` beyond the newest `keep` (other files
/// are left alone).
fn prune(dir: &Path, keep: usize) -> CoreResult<()> {
    let mut kept: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io(format!("cannot read {}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(CONSOLE_BACKUP_PREFIX) && n.ends_with(".tar.gz"))
        })
        .collect();
    kept.sort();
    let excess = kept.len().saturating_sub(keep);
    for old in &kept[..excess] {
        let _ = std::fs::remove_file(old);
    }
    Ok(())
}

impl Core {
    /// The server's backup schedule (admins).
    pub async fn backup_schedule(
        &self,
        actor: &crate::store::Actor,
    ) -> CoreResult<outpost_proto::BackupSchedule> {
        actor.require_admin()?;
        self.read_backup_schedule().await
    }

    async fn read_backup_schedule(&self) -> CoreResult<outpost_proto::BackupSchedule> {
        let r = sqlx::query(
            "SELECT enabled, folder, every_hours, keep, last_at, last_file, last_error \
             FROM backup_schedule WHERE singleton = 1",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(outpost_proto::BackupSchedule {
            enabled: r.get("enabled"),
            folder: r.get("folder"),
            every_hours: r.get("every_hours"),
            keep: r.get("keep"),
            last_at: r
                .get::<Option<i64>, _>("last_at")
                .map(crate::clock::from_ms),
            last_file: r.get("last_file"),
            last_error: r.get("last_error"),
        })
    }

    /// Sets the schedule; the folder must be absolute and writable now (admins).
    pub async fn set_backup_schedule(
        &self,
        actor: &crate::store::Actor,
        req: outpost_proto::BackupSchedule,
    ) -> CoreResult<outpost_proto::BackupSchedule> {
        actor.require_admin()?;
        if !(1..=168).contains(&req.every_hours) {
            return Err(refused("every_hours must be between 1 and 168 (a week)"));
        }
        if !(1..=365).contains(&req.keep) {
            return Err(refused("keep must be between 1 and 365"));
        }
        let folder = req.folder.trim().to_string();
        if req.enabled || !folder.is_empty() {
            let path = Path::new(&folder);
            if !path.is_absolute() {
                return Err(refused(format!(
                    "the folder must be an absolute path on the server (such as /var/backups/outpost), not '{folder}'"
                )));
            }
            std::fs::create_dir_all(path)
                .and_then(|_| tempfile::tempfile_in(path).map(drop))
                .map_err(|e| refused(format!("the server cannot write in {folder}: {e}")))?;
            if path.starts_with(&self.data_dir) {
                return Err(refused(
                    "keep backups outside the data folder (another disk or share): a backup beside the store is lost with it",
                ));
            }
        }
        let mut w = self.write(actor).await?;
        sqlx::query(
            "UPDATE backup_schedule SET enabled = ?, folder = ?, every_hours = ?, keep = ? \
             WHERE singleton = 1",
        )
        .bind(req.enabled)
        .bind(&folder)
        .bind(req.every_hours)
        .bind(req.keep)
        .execute(&mut *w.tx)
        .await?;
        w.audit(
            "settings.backups",
            "settings",
            Uuid::nil(),
            None,
            Some(serde_json::json!({"enabled": req.enabled, "folder": folder,
                "every_hours": req.every_hours, "keep": req.keep})),
        )
        .await?;
        w.commit().await?;
        self.read_backup_schedule().await
    }

    /// Makes the scheduled backup when one is due (the server calls this every minute);
    /// a failure is kept in words for Settings and tried again at the next look.
    pub async fn run_backup_schedule(&self) -> CoreResult<Option<PathBuf>> {
        let s = self.read_backup_schedule().await?;
        let now = self.clock.now();
        let due = s
            .last_at
            .is_none_or(|at| now - at >= chrono::Duration::hours(s.every_hours));
        if !s.enabled || !due {
            return Ok(None);
        }
        let dir = PathBuf::from(&s.folder);
        let file = backup_name(&dir, now);
        let outcome = match self.backup_to(&file).await {
            Ok(_) => prune(&dir, s.keep as usize).map(|_| file.clone()),
            Err(e) => Err(e),
        };
        let (last_file, last_error) = match &outcome {
            Ok(f) => (Some(f.display().to_string()), None),
            Err(e) => (s.last_file.clone(), Some(e.to_string())),
        };
        sqlx::query(
            "UPDATE backup_schedule SET last_at = ?, last_file = ?, last_error = ? WHERE singleton = 1",
        )
        .bind(crate::clock::to_ms(now))
        .bind(last_file)
        .bind(last_error)
        .execute(&self.pool)
        .await?;
        outcome.map(Some)
    }
}

/// A clock for the short-lived copy opened to read its chain.
struct FixedClock(chrono::DateTime<chrono::Utc>);
impl Clock for FixedClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.0
    }
}

fn write_archive(
    file: &Path,
    manifest: &BackupManifest,
    sources: &[(String, PathBuf)],
) -> CoreResult<()> {
    let part = file.with_extension("part");
    let fail = io(format!("cannot write the backup {}", part.display()));
    let result = (|| -> std::io::Result<()> {
        let out = std::fs::File::create(&part)?;
        let gz = flate2::write::GzEncoder::new(out, flate2::Compression::new(6));
        let mut tar = tar::Builder::new(gz);
        let json = serde_json::to_vec_pretty(manifest).map_err(std::io::Error::other)?;
        let mut header = tar::Header::new_gnu();
        header.set_size(json.len() as u64);
        header.set_mode(0o600);
        header.set_mtime(manifest.made_at.timestamp().max(0) as u64);
        header.set_cksum();
        tar.append_data(&mut header, MANIFEST, json.as_slice())?;
        for (name, path) in sources {
            let mut f = std::fs::File::open(path)?;
            let mut header = tar::Header::new_gnu();
            header.set_size(f.metadata()?.len());
            header.set_mode(0o600);
            header.set_mtime(manifest.made_at.timestamp().max(0) as u64);
            header.set_cksum();
            tar.append_data(&mut header, name, &mut f)?;
        }
        let gz = tar.into_inner()?;
        let out = gz.finish()?;
        out.sync_all()?;
        drop(out);
        std::fs::rename(&part, file)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&part);
    }
    result.map_err(fail)
}

/// What a restore found and did.
#[derive(Debug, Clone, PartialEq)]
pub struct RestoreReport {
    pub manifest: BackupManifest,
    /// Whether the store was proved (integrity, counts, audit chain).
    pub verified: bool,
}

/// A name inside a backup that may be written under the data folder.
fn safe_name(name: &str) -> bool {
    let expected = name == DB_FILE
        || EXTRA_FILES.contains(&name)
        || name.strip_prefix("attachments/").is_some_and(|rest| {
            let mut parts = rest.split('/');
            match (parts.next(), parts.next(), parts.next()) {
                (Some(dir), Some(sha), None) => {
                    sha.len() == 64
                        && sha.bytes().all(|b| b.is_ascii_hexdigit())
                        && dir == &sha[..2]
                }
                _ => false,
            }
        });
    expected && !name.contains("..") && !name.starts_with('/')
}

/// Restores `backup` into `data_dir`, which must not exist or be empty. With `verify`, the
/// store is proved before it is put in place (see the module's documentation).
pub async fn restore(backup: &Path, data_dir: &Path, verify: bool) -> CoreResult<RestoreReport> {
    if data_dir.exists() {
        let empty = std::fs::read_dir(data_dir)
            .map_err(io(format!("cannot read {}", data_dir.display())))?
            .next()
            .is_none();
        if !empty {
            return Err(refused(format!(
                "{} is not empty: restore into a new folder (nothing was changed)",
                data_dir.display()
            )));
        }
    }
    let parent = data_dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io(format!("cannot create {}", parent.display())))?;
    let staging = tempfile::Builder::new()
        .prefix(".outpost-restore-")
        .tempdir_in(parent)
        .map_err(io(format!("cannot write in {}", parent.display())))?;
    let (from, into) = (backup.to_path_buf(), staging.path().to_path_buf());
    let manifest = tokio::task::spawn_blocking(move || unpack(&from, &into))
        .await
        .map_err(|e| CoreError::Internal(format!("restore task failed: {e}")))??;
    if verify {
        prove(staging.path(), &manifest).await?;
    }
    start_epoch(staging.path()).await?;
    // Into place in one step (an empty target folder is replaced).
    if data_dir.exists() {
        std::fs::remove_dir(data_dir)
            .map_err(io(format!("cannot replace {}", data_dir.display())))?;
    }
    let staged = staging.keep();
    std::fs::rename(&staged, data_dir).map_err(|e| {
        let _ = std::fs::remove_dir_all(&staged);
        CoreError::Internal(format!(
            "cannot move the restored store to {}: {e}",
            data_dir.display()
        ))
    })?;
    Ok(RestoreReport {
        manifest,
        verified: verify,
    })
}

fn damaged(e: std::io::Error) -> CoreError {
    refused(format!(
        "the backup is truncated or damaged ({e}); nothing was restored"
    ))
}

fn unpack(backup: &Path, into: &Path) -> CoreResult<BackupManifest> {
    let file = std::fs::File::open(backup)
        .map_err(|e| refused(format!("cannot open the backup {}: {e}", backup.display())))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut entries = archive.entries().map_err(damaged)?;
    let not_ours = || refused(format!("{} is not an Outpost backup", backup.display()));
    let mut first = entries.next().ok_or_else(not_ours)?.map_err(|e| {
        if e.kind() == std::io::ErrorKind::InvalidInput || e.to_string().contains("invalid gzip") {
            not_ours()
        } else {
            damaged(e)
        }
    })?;
    if first.path().map_err(damaged)?.to_str() != Some(MANIFEST) {
        return Err(not_ours());
    }
    let mut text = Vec::new();
    first
        .by_ref()
        .take(16 << 20)
        .read_to_end(&mut text)
        .map_err(damaged)?;
    let manifest: BackupManifest = serde_json::from_slice(&text)
        .map_err(|e| refused(format!("the backup's manifest cannot be read ({e}); it was altered or is not an Outpost backup")))?;
    if manifest.format > BACKUP_FORMAT {
        return Err(refused(format!(
            "this backup was made by a newer Outpost ({}, backup format {}); this one reads \
             format {BACKUP_FORMAT}: restore it with that version or newer",
            manifest.made_by, manifest.format
        )));
    }
    if manifest.schema_version > known_schema() {
        return Err(refused(format!(
            "the store in this backup is from a newer Outpost ({}, schema {}); this one knows \
             schema {}: restore it with that version or newer",
            manifest.made_by,
            manifest.schema_version,
            known_schema()
        )));
    }
    let mut expected: BTreeMap<&str, &BackupFile> = manifest
        .files
        .iter()
        .map(|f| (f.name.as_str(), f))
        .collect();
    if !expected.contains_key(DB_FILE) {
        return Err(refused(
            "the backup's manifest lists no store; it was altered",
        ));
    }
    for entry in entries {
        let mut entry = entry.map_err(damaged)?;
        let name = entry
            .path()
            .map_err(damaged)?
            .to_str()
            .map(str::to_string)
            .unwrap_or_default();
        if !safe_name(&name) {
            return Err(refused(format!(
                "the backup holds '{name}', which no Outpost backup holds; it was altered \
                 (nothing was restored)"
            )));
        }
        let listed = expected.remove(name.as_str()).ok_or_else(|| {
            refused(format!(
                "the backup holds {name} twice or without listing it; it was altered \
                 (nothing was restored)"
            ))
        })?;
        let path = into.join(&name);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io(format!("cannot create {}", dir.display())))?;
        }
        let mut out =
            std::fs::File::create(&path).map_err(io(format!("cannot write {}", path.display())))?;
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut n = 0u64;
        loop {
            let got = entry.read(&mut buf).map_err(damaged)?;
            if got == 0 {
                break;
            }
            n += got as u64;
            h.update(&buf[..got]);
            out.write_all(&buf[..got])
                .map_err(io(format!("cannot write {}", path.display())))?;
        }
        out.sync_all()
            .map_err(io(format!("cannot write {}", path.display())))?;
        let sha = hex::encode(h.finalize());
        if n != listed.bytes || sha != listed.sha256 {
            return Err(refused(format!(
                "{name} in the backup does not match its manifest ({n} bytes, SHA-256 {sha}; \
                 the manifest says {} bytes, {}): the file was altered or damaged (nothing was \
                 restored)",
                listed.bytes, listed.sha256
            )));
        }
    }
    if let Some(missing) = expected.keys().next() {
        return Err(refused(format!(
            "the backup ends before {missing} (and {} more files its manifest lists): it is \
             truncated (nothing was restored)",
            expected.len() - 1
        )));
    }
    Ok(manifest)
}

/// The restored log begins a new epoch after its last position: consoles that synced with
/// the server after this backup was made rewind to there and offer their changes again
/// (`crates/core/src/sync/README.md`, "Restored servers").
async fn start_epoch(dir: &Path) -> CoreResult<()> {
    let core = Core::open_dir(dir, Arc::new(crate::clock::SystemClock)).await?;
    sqlx::query(
        "UPDATE log_epoch SET epoch = lower(hex(randomblob(16))), \
         starts_after = (SELECT coalesce(max(seq), 0) FROM changes) WHERE singleton = 1",
    )
    .execute(core.pool())
    .await?;
    core.pool().close().await;
    Ok(())
}

/// Integrity, row counts and the audit chain of an unpacked store against its manifest.
async fn prove(dir: &Path, manifest: &BackupManifest) -> CoreResult<()> {
    let db = dir.join(DB_FILE);
    let mut conn = SqliteConnectOptions::new()
        .filename(&db)
        .read_only(true)
        .connect()
        .await?;
    let check: Vec<String> = sqlx::query("PRAGMA integrity_check")
        .fetch_all(&mut conn)
        .await?
        .iter()
        .map(|r| r.get::<String, _>(0))
        .collect();
    conn.close().await?;
    if check != ["ok"] {
        return Err(refused(format!(
            "the restored store fails SQLite's integrity check: {}",
            check.join("; ")
        )));
    }
    let (tables, _, _) = describe_store(&db).await?;
    for (name, want) in &manifest.tables {
        let got = tables.get(name).copied();
        if got != Some(*want) {
            return Err(refused(format!(
                "the restored store's table {name} holds {} rows; the manifest says {want}",
                got.map(|n| n.to_string()).unwrap_or_else(|| "no".into())
            )));
        }
    }
    let core = Core::open_dir(dir, Arc::new(crate::clock::SystemClock)).await?;
    let chain = core.audit_verification().await?;
    core.pool().close().await;
    if let Some(b) = chain.broken {
        return Err(refused(format!(
            "the restored audit chain is broken at event {}: {}",
            b.seq, b.reason
        )));
    }
    if (
        chain.events,
        chain.head_seq.as_ref(),
        chain.head_hash.as_ref(),
    ) != (
        manifest.audit_events,
        manifest.audit_head_seq.as_ref(),
        manifest.audit_head_hash.as_ref(),
    ) {
        return Err(refused(format!(
            "the restored audit chain ends at event {} ({} events); the manifest recorded {} \
             ({} events)",
            chain.head_seq.unwrap_or(0),
            chain.events,
            manifest.audit_head_seq.unwrap_or(0),
            manifest.audit_events
        )));
    }
    Ok(())
}
