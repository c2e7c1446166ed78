//! The script library: scripts with typed parameters, versioned (an edit is a new version;
//! runs name the version they ran), and the starter library shipped with Outpost.

use crate::clock::from_ms;
use crate::error::{invalid, CoreError, CoreResult};
use crate::store::record::{Link, Merge, SyncedRecord};
use crate::store::{parse_uuid, Actor, Core};
use outpost_proto::{
    Interpreter, NewScript, ParameterKind, Script, ScriptOs, ScriptParameter, ScriptVersion,
};
use serde_json::json;
use sqlx::Row;
use uuid::Uuid;

pub const MAX_BODY_BYTES: usize = 256 * 1024;

pub(crate) fn check_parameter_name(name: &str) -> CoreResult<()> {
    if outpost_trust::parameter_name_allowed(name) {
        return Ok(());
    }
    Err(invalid(format!(
        "parameter name {name:?} must be A-Z, 0-9 and _, start with a letter, be at most 64 \
         long, and not be one that changes how the interpreter runs (PATH, IFS, LD_…, \
         PYTHON…, OUTPOST_…)"
    )))
}

/// A value given for a parameter, checked against its type (secrets are sealed, unseen).
pub(crate) fn check_parameter_value(p: &ScriptParameter, value: &str) -> CoreResult<()> {
    if value.len() > 16 * 1024 || value.contains('\0') {
        return Err(invalid(format!(
            "{} must be at most 16 KiB of text without NUL",
            p.name
        )));
    }
    match p.kind {
        ParameterKind::Number => {
            if value.trim().parse::<f64>().map_or(true, |v| !v.is_finite()) {
                return Err(invalid(format!(
                    "{} must be a number (got {value:?})",
                    p.name
                )));
            }
        }
        ParameterKind::Choice => {
            if !p.choices.iter().any(|c| c == value) {
                return Err(invalid(format!(
                    "{} must be one of {} (got {value:?})",
                    p.name,
                    p.choices.join(", ")
                )));
            }
        }
        ParameterKind::String | ParameterKind::Secret => {}
    }
    Ok(())
}

fn check_script(s: &NewScript) -> CoreResult<()> {
    let name = s.name.trim();
    if name.is_empty() || name.chars().count() > 120 {
        return Err(invalid("a script's name must be 1 to 120 characters"));
    }
    if s.description.chars().count() > 4000 {
        return Err(invalid("the description must be at most 4000 characters"));
    }
    if s.body.trim().is_empty() {
        return Err(invalid("the script body is empty"));
    }
    if s.body.len() > MAX_BODY_BYTES || s.body.contains('\0') {
        return Err(invalid(format!(
            "the script body must be at most {} KiB of text without NUL",
            MAX_BODY_BYTES / 1024
        )));
    }
    if !(1..=86_400).contains(&s.timeout_secs) {
        return Err(invalid("timeout_secs must be between 1 and 86400 (a day)"));
    }
    if s.parameters.len() > 32 {
        return Err(invalid("a script takes at most 32 parameters"));
    }
    let mut seen = std::collections::HashSet::new();
    for p in &s.parameters {
        check_parameter_name(&p.name)?;
        if !seen.insert(&p.name) {
            return Err(invalid(format!("parameter {} is named twice", p.name)));
        }
        if p.kind == ParameterKind::Choice && p.choices.is_empty() {
            return Err(invalid(format!(
                "choice parameter {} needs choices",
                p.name
            )));
        }
        if p.kind == ParameterKind::Secret && p.default.is_some() {
            return Err(invalid(format!(
                "secret parameter {} cannot have a default (it would be stored in clear)",
                p.name
            )));
        }
        if let Some(d) = &p.default {
            check_parameter_value(p, d)?;
        }
    }
    if s.tags.len() > 20 || s.tags.iter().any(|t| t.trim().is_empty() || t.len() > 40) {
        return Err(invalid("at most 20 tags, each 1 to 40 characters"));
    }
    Ok(())
}

fn version_from_row(r: &sqlx::sqlite::SqliteRow) -> CoreResult<ScriptVersion> {
    let bad = |what: &str| CoreError::Internal(format!("a stored script's {what} is unreadable"));
    Ok(ScriptVersion {
        script_id: parse_uuid(r.get("script_id"))?,
        version: r.get("version"),
        name: r.get("name"),
        description: r.get("description"),
        interpreter: Interpreter::parse(r.get("interpreter")).ok_or_else(|| bad("interpreter"))?,
        os: ScriptOs::parse(r.get("os")).ok_or_else(|| bad("os"))?,
        body: r.get("body"),
        body_sha256: r.get("body_sha256"),
        parameters: serde_json::from_str(r.get("parameters")).map_err(|_| bad("parameters"))?,
        timeout_secs: r.get("timeout_secs"),
        tags: serde_json::from_str(r.get("tags")).map_err(|_| bad("tags"))?,
        created_by: r.get("created_by"),
        created_at: from_ms(r.get("created_at")),
    })
}

/// One shipped script: its key, and what it is.
struct Starter {
    key: &'static str,
    name: &'static str,
    description: &'static str,
    interpreter: Interpreter,
    os: ScriptOs,
    body: &'static str,
    timeout: i64,
    parameters: fn() -> Vec<ScriptParameter>,
    tags: &'static [&'static str],
}

fn param(name: &str, kind: ParameterKind, label: &str, default: Option<&str>) -> ScriptParameter {
    ScriptParameter {
        name: name.into(),
        kind,
        label: Some(label.into()),
        required: true,
        default: default.map(str::to_string),
        choices: Vec::new(),
    }
}

fn choice(name: &str, label: &str, choices: &[&str], default: &str) -> ScriptParameter {
    ScriptParameter {
        choices: choices.iter().map(|c| c.to_string()).collect(),
        ..param(name, ParameterKind::Choice, label, Some(default))
    }
}

fn keep_days() -> Vec<ScriptParameter> {
    vec![param(
        "KEEP_DAYS",
        ParameterKind::Number,
        "Keep files newer than (days)",
        Some("14"),
    )]
}
fn service() -> Vec<ScriptParameter> {
    vec![param(
        "SERVICE",
        ParameterKind::String,
        "Service name",
        None,
    )]
}
fn logs() -> Vec<ScriptParameter> {
    vec![
        param("HOURS", ParameterKind::Number, "Hours back", Some("24")),
        param(
            "MAX_LINES",
            ParameterKind::Number,
            "At most this many lines",
            Some("500"),
        ),
    ]
}
fn large_files_unix() -> Vec<ScriptParameter> {
    vec![
        param(
            "FOLDER",
            ParameterKind::String,
            "Folder to search",
            Some("/"),
        ),
        param(
            "MIN_MB",
            ParameterKind::Number,
            "Larger than (MiB)",
            Some("100"),
        ),
    ]
}
fn large_files_windows() -> Vec<ScriptParameter> {
    vec![
        param(
            "FOLDER",
            ParameterKind::String,
            "Folder to search",
            Some("C:\\"),
        ),
        param(
            "MIN_MB",
            ParameterKind::Number,
            "Larger than (MiB)",
            Some("100"),
        ),
    ]
}
fn updates() -> Vec<ScriptParameter> {
    vec![choice("INSTALL", "Install them", &["no", "yes"], "no")]
}
fn none() -> Vec<ScriptParameter> {
    Vec::new()
}
fn reboot() -> Vec<ScriptParameter> {
    vec![
        param(
            "MINUTES",
            ParameterKind::Number,
            "Reboot in (minutes)",
            Some("5"),
        ),
        param(
            "MESSAGE",
            ParameterKind::String,
            "Message to logged-in users",
            Some("Your IT provider restarts this computer for maintenance. Please save your work."),
        ),
    ]
}

const STARTERS: &[Starter] = &[
    Starter { key: "disk-cleanup-linux", name: "Disk cleanup (Linux)", description: "Frees space that is safe to free: package caches, old journal entries, temp files not used for KEEP_DAYS days. Shows free space before and after.", interpreter: Interpreter::Bash, os: ScriptOs::Linux, body: include_str!("../../starter-scripts/disk-cleanup.sh"), timeout: 900, parameters: keep_days, tags: &["disk", "maintenance"] },
    Starter { key: "disk-cleanup-windows", name: "Disk cleanup (Windows)", description: "Deletes temp files not used for KEEP_DAYS days and the Windows Update download cache. Shows free space before and after.", interpreter: Interpreter::Powershell, os: ScriptOs::Windows, body: include_str!("../../starter-scripts/disk-cleanup.ps1"), timeout: 1800, parameters: keep_days, tags: &["disk", "maintenance"] },
    Starter { key: "restart-service-linux", name: "Restart a service (Linux)", description: "Restarts a systemd service and shows its status.", interpreter: Interpreter::Bash, os: ScriptOs::Linux, body: include_str!("../../starter-scripts/restart-service.sh"), timeout: 120, parameters: service, tags: &["services"] },
    Starter { key: "restart-service-windows", name: "Restart a service (Windows)", description: "Restarts a Windows service and shows its status.", interpreter: Interpreter::Powershell, os: ScriptOs::Windows, body: include_str!("../../starter-scripts/restart-service.ps1"), timeout: 120, parameters: service, tags: &["services"] },
    Starter { key: "recent-logs-linux", name: "Recent system log warnings (Linux)", description: "Warnings and errors from the journal (or syslog) of the last HOURS hours.", interpreter: Interpreter::Bash, os: ScriptOs::Linux, body: include_str!("../../starter-scripts/recent-logs.sh"), timeout: 120, parameters: logs, tags: &["logs", "diagnostics"] },
    Starter { key: "recent-logs-windows", name: "Recent event log errors (Windows)", description: "Errors and warnings from the System and Application logs of the last HOURS hours.", interpreter: Interpreter::Powershell, os: ScriptOs::Windows, body: include_str!("../../starter-scripts/recent-logs.ps1"), timeout: 180, parameters: logs, tags: &["logs", "diagnostics"] },
    Starter { key: "large-files-linux", name: "List large files (Linux, macOS)", description: "The 50 largest files under a folder, on one file system.", interpreter: Interpreter::Bash, os: ScriptOs::Linux, body: include_str!("../../starter-scripts/large-files.sh"), timeout: 600, parameters: large_files_unix, tags: &["disk", "diagnostics"] },
    Starter { key: "large-files-windows", name: "List large files (Windows)", description: "The 50 largest files under a folder.", interpreter: Interpreter::Powershell, os: ScriptOs::Windows, body: include_str!("../../starter-scripts/large-files.ps1"), timeout: 900, parameters: large_files_windows, tags: &["disk", "diagnostics"] },
    Starter { key: "updates-linux", name: "Pending updates: check or install (Linux)", description: "Lists pending apt or dnf updates; installs them when INSTALL is yes.", interpreter: Interpreter::Bash, os: ScriptOs::Linux, body: include_str!("../../starter-scripts/updates.sh"), timeout: 3600, parameters: updates, tags: &["updates", "patching"] },
    Starter { key: "updates-windows", name: "Pending updates: check or install (Windows, winget)", description: "Lists pending winget upgrades; runs winget upgrade --all when INSTALL is yes.", interpreter: Interpreter::Powershell, os: ScriptOs::Windows, body: include_str!("../../starter-scripts/updates.ps1"), timeout: 3600, parameters: updates, tags: &["updates", "patching"] },
    Starter { key: "flush-dns-linux", name: "Flush DNS cache (Linux)", description: "Empties the DNS cache of systemd-resolved, nscd or dnsmasq, whichever runs.", interpreter: Interpreter::Bash, os: ScriptOs::Linux, body: include_str!("../../starter-scripts/flush-dns.sh"), timeout: 60, parameters: none, tags: &["network"] },
    Starter { key: "flush-dns-windows", name: "Flush DNS cache (Windows)", description: "ipconfig /flushdns.", interpreter: Interpreter::Cmd, os: ScriptOs::Windows, body: include_str!("../../starter-scripts/flush-dns.cmd"), timeout: 60, parameters: none, tags: &["network"] },
    Starter { key: "flush-dns-macos", name: "Flush DNS cache (macOS)", description: "dscacheutil -flushcache and a nudge to mDNSResponder.", interpreter: Interpreter::Sh, os: ScriptOs::Macos, body: include_str!("../../starter-scripts/flush-dns-macos.sh"), timeout: 60, parameters: none, tags: &["network"] },
    Starter { key: "reboot-linux", name: "Reboot with a delay and a message (Linux)", description: "Schedules a reboot in MINUTES minutes and tells logged-in users why.", interpreter: Interpreter::Bash, os: ScriptOs::Linux, body: include_str!("../../starter-scripts/reboot.sh"), timeout: 60, parameters: reboot, tags: &["reboot"] },
    Starter { key: "reboot-windows", name: "Reboot with a delay and a message (Windows)", description: "Schedules a reboot in MINUTES minutes and tells logged-in users why.", interpreter: Interpreter::Cmd, os: ScriptOs::Windows, body: include_str!("../../starter-scripts/reboot.cmd"), timeout: 60, parameters: reboot, tags: &["reboot"] },
    Starter { key: "reboot-macos", name: "Reboot with a delay and a message (macOS)", description: "Schedules a reboot in MINUTES minutes and shows a notification.", interpreter: Interpreter::Sh, os: ScriptOs::Macos, body: include_str!("../../starter-scripts/reboot-macos.sh"), timeout: 60, parameters: reboot, tags: &["reboot"] },
];

impl Core {
    /// Adds the shipped scripts this store does not have yet (each once, by its key).
    pub async fn ensure_starter_scripts(&self) -> CoreResult<()> {
        let have: i64 = sqlx::query_scalar("SELECT count(*) FROM scripts WHERE starter = 1")
            .fetch_one(&self.pool)
            .await?;
        if have as usize >= STARTERS.len() {
            return Ok(());
        }
        let actor = Actor::system();
        let mut w = self.write(&actor).await?;
        for s in STARTERS {
            let exists: Option<i64> =
                sqlx::query_scalar("SELECT 1 FROM scripts WHERE starter_key = ?")
                    .bind(s.key)
                    .fetch_optional(&mut *w.tx)
                    .await?;
            if exists.is_some() {
                continue;
            }
            let script = NewScript {
                name: s.name.into(),
                description: s.description.into(),
                interpreter: s.interpreter,
                os: s.os,
                body: s.body.into(),
                parameters: (s.parameters)(),
                timeout_secs: s.timeout,
                tags: s.tags.iter().map(|t| t.to_string()).collect(),
            };
            check_script(&script)?;
            // The same ids, times and text in every store: a console's starter scripts are
            // the server's, so they need no sync (only edits of them travel).
            let id = starter_id(s.key, "script");
            sqlx::query(
                "INSERT INTO scripts (id, current_version, starter, starter_key, created_at, \
                 updated_at) VALUES (?, 1, 1, ?, 0, 0)",
            )
            .bind(id.to_string())
            .bind(s.key)
            .execute(&mut *w.tx)
            .await?;
            write_version(
                &mut w,
                starter_id(s.key, "v1"),
                id,
                1,
                &script,
                "Outpost",
                0,
            )
            .await?;
        }
        w.commit().await
    }

    pub async fn list_scripts(&self, _actor: &Actor) -> CoreResult<Vec<Script>> {
        self.ensure_starter_scripts().await?;
        let rows = sqlx::query(
            "SELECT v.*, s.starter, (SELECT count(*) FROM script_versions x WHERE x.script_id = s.id) \
             AS versions FROM scripts s JOIN script_versions v ON v.id = (SELECT x.id FROM \
             script_versions x WHERE x.script_id = s.id AND x.version = s.current_version \
             ORDER BY x.created_at DESC LIMIT 1) ORDER BY v.name COLLATE NOCASE",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Script {
                    id: parse_uuid(r.get("script_id"))?,
                    current: version_from_row(r)?,
                    versions: r.get("versions"),
                    starter: r.get::<i64, _>("starter") != 0,
                })
            })
            .collect()
    }

    pub async fn get_script(&self, _actor: &Actor, id: Uuid) -> CoreResult<Script> {
        self.ensure_starter_scripts().await?;
        let r = sqlx::query(
            "SELECT v.*, s.starter, (SELECT count(*) FROM script_versions x WHERE x.script_id = s.id) \
             AS versions FROM scripts s JOIN script_versions v ON v.id = (SELECT x.id FROM \
             script_versions x WHERE x.script_id = s.id AND x.version = s.current_version \
             ORDER BY x.created_at DESC LIMIT 1) WHERE s.id = ?",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| CoreError::NotFound(format!("script {id} does not exist")))?;
        Ok(Script {
            id,
            current: version_from_row(&r)?,
            versions: r.get("versions"),
            starter: r.get::<i64, _>("starter") != 0,
        })
    }

    /// Every version of a script, newest first (the UI shows the differences).
    pub async fn script_versions(
        &self,
        _actor: &Actor,
        id: Uuid,
    ) -> CoreResult<Vec<ScriptVersion>> {
        let rows =
            sqlx::query("SELECT * FROM script_versions WHERE script_id = ? ORDER BY version DESC")
                .bind(id.to_string())
                .fetch_all(&self.pool)
                .await?;
        if rows.is_empty() {
            return Err(CoreError::NotFound(format!("script {id} does not exist")));
        }
        rows.iter().map(version_from_row).collect()
    }

    /// The version a run names: by number and body hash (two consoles editing offline can
    /// both make the same number).
    pub(crate) async fn script_version_with_hash(
        &self,
        id: Uuid,
        version: i64,
        hash: &str,
    ) -> CoreResult<Option<ScriptVersion>> {
        let r = sqlx::query(
            "SELECT * FROM script_versions WHERE script_id = ? AND version = ? \
             ORDER BY body_sha256 = ? DESC, created_at DESC LIMIT 1",
        )
        .bind(id.to_string())
        .bind(version)
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        r.as_ref().map(version_from_row).transpose()
    }

    pub async fn create_script(&self, actor: &Actor, input: NewScript) -> CoreResult<Script> {
        actor.require_write()?;
        check_script(&input)?;
        let mut w = self.write(actor).await?;
        let id = Uuid::now_v7();
        let now = w.now_ms();
        sqlx::query(
            "INSERT INTO scripts (id, current_version, created_at, updated_at) VALUES (?, 1, ?, ?)",
        )
        .bind(id.to_string())
        .bind(now)
        .bind(now)
        .execute(&mut *w.tx)
        .await?;
        w.inserted(
            "script.create",
            "script",
            id,
            json!({"current_version": 1, "starter": 0, "starter_key": null,
                   "created_at": now, "updated_at": now}),
        )
        .await?;
        insert_version(&mut w, id, 1, &input).await?;
        w.commit().await?;
        self.get_script(actor, id).await
    }

    /// An edit: a new version (the old ones stay; runs keep pointing at theirs).
    pub async fn update_script(
        &self,
        actor: &Actor,
        id: Uuid,
        script: NewScript,
    ) -> CoreResult<Script> {
        actor.require_write()?;
        check_script(&script)?;
        let mut w = self.write(actor).await?;
        let current: Option<i64> = sqlx::query_scalar(
            "SELECT max(v.version) FROM scripts s JOIN script_versions v ON v.script_id = s.id \
             WHERE s.id = ?",
        )
        .bind(id.to_string())
        .fetch_one(&mut *w.tx)
        .await?;
        let current =
            current.ok_or_else(|| CoreError::NotFound(format!("script {id} does not exist")))?;
        let before: i64 = sqlx::query_scalar("SELECT current_version FROM scripts WHERE id = ?")
            .bind(id.to_string())
            .fetch_one(&mut *w.tx)
            .await?;
        let next = current + 1;
        insert_version(&mut w, id, next, &script).await?;
        let now = w.now_ms();
        crate::clients::record_edit(
            &mut w,
            "scripts",
            "script",
            id,
            crate::clients::as_map(json!({"current_version": before})),
            crate::clients::as_map(json!({"current_version": next, "updated_at": now})),
        )
        .await?;
        w.commit().await?;
        self.get_script(actor, id).await
    }
}

/// A starter script's fixed id (the same in every store), from its key.
fn starter_id(key: &str, what: &str) -> Uuid {
    use sha2::Digest;
    let d = sha2::Sha256::digest(format!("outpost starter script\0{key}\0{what}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    Uuid::from_bytes(b)
}

/// A new version by the person acting, recorded for sync.
async fn insert_version(
    w: &mut crate::store::WriteTx<'_>,
    script: Uuid,
    version: i64,
    s: &NewScript,
) -> CoreResult<()> {
    let id = Uuid::now_v7();
    let (by, at) = (w.actor.name.clone(), w.now_ms());
    let fields = write_version(w, id, script, version, s, &by, at).await?;
    w.inserted("script.version", "script_version", id, fields)
        .await
}

/// Writes a version row; its fields as they sync.
async fn write_version(
    w: &mut crate::store::WriteTx<'_>,
    id: Uuid,
    script: Uuid,
    version: i64,
    s: &NewScript,
    by: &str,
    at: i64,
) -> CoreResult<serde_json::Value> {
    let fields = json!({
        "script_id": script.to_string(),
        "version": version,
        "name": s.name.trim(),
        "description": s.description.trim(),
        "interpreter": s.interpreter.as_str(),
        "os": s.os.as_str(),
        "body": s.body,
        "body_sha256": hex::encode(outpost_trust::script_hash(&s.body)),
        "parameters": json!(s.parameters).to_string(),
        "timeout_secs": s.timeout_secs,
        "tags": json!(s.tags.iter().map(|t| t.trim()).collect::<Vec<_>>()).to_string(),
        "created_by": by,
        "created_at": at,
    });
    sqlx::query(
        "INSERT INTO script_versions (id, script_id, version, name, description, interpreter, \
         os, body, body_sha256, parameters, timeout_secs, tags, created_by, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(script.to_string())
    .bind(version)
    .bind(fields["name"].as_str())
    .bind(fields["description"].as_str())
    .bind(fields["interpreter"].as_str())
    .bind(fields["os"].as_str())
    .bind(&s.body)
    .bind(fields["body_sha256"].as_str())
    .bind(fields["parameters"].as_str())
    .bind(s.timeout_secs)
    .bind(fields["tags"].as_str())
    .bind(by)
    .bind(at)
    .execute(&mut *w.tx)
    .await?;
    Ok(fields)
}

pub(crate) const SCRIPT_RECORD: SyncedRecord = SyncedRecord {
    since: 4,
    moves_updated_at: true,
    stamps: &["created_at", "updated_at"],
    merge: &[("starter", Merge::SetOnce), ("starter_key", Merge::SetOnce)],
    ..SyncedRecord::table(
        "script",
        "scripts",
        &["current_version", "starter", "starter_key"],
    )
};

/// Versions only ever get added: a run names the one it ran.
pub(crate) const SCRIPT_VERSION_RECORD: SyncedRecord = SyncedRecord {
    since: 4,
    append_only: true,
    links: &[Link {
        field: "script_id",
        entity: "script",
        required: true,
    }],
    stamps: &["created_at"],
    ..SyncedRecord::table(
        "script_version",
        "script_versions",
        &[
            "script_id",
            "version",
            "name",
            "description",
            "interpreter",
            "os",
            "body",
            "body_sha256",
            "parameters",
            "timeout_secs",
            "tags",
            "created_by",
        ],
    )
};
