//! `outpost-server doctor`: checks a deployment and says in words what is wrong and what to
//! do — the data folder and its secrets' permissions, the store, the audit chain, free disk
//! space, the certificate's expiry, the clock against the newest write, and whether the
//! mail servers answer.

use outpost_core::{Actor, Core};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    Ok,
    Warn,
    Fail,
}

#[derive(Debug, Clone)]
pub struct Finding {
    pub verdict: Verdict,
    pub what: String,
}

fn ok(what: impl Into<String>) -> Finding {
    Finding {
        verdict: Verdict::Ok,
        what: what.into(),
    }
}
fn warn(what: impl Into<String>) -> Finding {
    Finding {
        verdict: Verdict::Warn,
        what: what.into(),
    }
}
fn fail(what: impl Into<String>) -> Finding {
    Finding {
        verdict: Verdict::Fail,
        what: what.into(),
    }
}

/// Files only the server's user may read.
const SECRET_FILES: [&str; 2] = ["secrets.key", "tls/server-key.pem"];

fn permissions(dir: &Path, out: &mut Vec<Finding>) {
    for name in SECRET_FILES {
        let path = dir.join(name);
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                out.push(fail(format!(
                    "{} can be read by other users of this machine (mode {mode:o}): run `chmod 600 {}`",
                    path.display(),
                    path.display()
                )));
                continue;
            }
        }
        let _ = meta;
        out.push(ok(format!("{name} is readable by this server's user only")));
    }
}

fn disk_space(dir: &Path, out: &mut Vec<Finding>) {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let disks = sysinfo::Disks::new_with_refreshed_list();
    let listed: &[sysinfo::Disk] = disks.as_ref().map(|d| &d[..]).unwrap_or_default();
    // The disk whose mount point is the longest prefix of the folder holds it.
    let Some(disk) = listed
        .iter()
        .filter(|d| dir.starts_with(d.mount_point()))
        .max_by_key(|d| d.mount_point().as_os_str().len())
    else {
        out.push(warn(format!(
            "could not tell which disk holds {}; check its free space yourself",
            dir.display()
        )));
        return;
    };
    let (free, total) = (disk.available_space(), disk.total_space().max(1));
    let gib = free as f64 / (1u64 << 30) as f64;
    let percent = free as f64 * 100.0 / total as f64;
    let said = format!(
        "{gib:.1} GiB free ({percent:.0} %) on {}",
        disk.mount_point().display()
    );
    out.push(if free < 1 << 30 || percent < 5.0 {
        fail(format!(
            "{said}: the store stops taking writes when the disk is full; free space or move the data folder"
        ))
    } else if free < 5 << 30 || percent < 15.0 {
        warn(format!("{said}: getting low"))
    } else {
        ok(said)
    });
}

fn certificate(path: &Path, now: i64, out: &mut Vec<Finding>) {
    let Ok(pem) = std::fs::read(path) else {
        return;
    };
    let parsed = x509_parser::pem::parse_x509_pem(&pem)
        .ok()
        .and_then(|(_, p)| {
            p.parse_x509()
                .ok()
                .map(|c| c.validity().not_after.timestamp())
        });
    let Some(not_after) = parsed else {
        out.push(fail(format!(
            "{} is not a PEM certificate Outpost can read",
            path.display()
        )));
        return;
    };
    let days = (not_after - now) / 86_400;
    let when = chrono::DateTime::from_timestamp(not_after, 0)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default();
    out.push(if not_after <= now {
        fail(format!(
            "the certificate {} expired on {when}: browsers and consoles refuse it; renew it (or delete it and the server makes a new self-signed one, which consoles must trust again)",
            path.display()
        ))
    } else if days < 21 {
        warn(format!(
            "the certificate {} expires in {days} days ({when}): renew it soon",
            path.display()
        ))
    } else {
        ok(format!("the certificate is valid until {when} ({days} days)"))
    });
}

async fn reachable(host: &str, port: u16) -> Result<(), String> {
    match tokio::time::timeout(
        Duration::from_secs(5),
        tokio::net::TcpStream::connect((host, port)),
    )
    .await
    {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("no answer within 5 seconds".into()),
    }
}

/// Every check, in order; `cert` is the served certificate when not the self-signed one.
pub async fn examine(dir: &Path, cert: Option<PathBuf>) -> Vec<Finding> {
    let mut out = Vec::new();
    if !dir.join(outpost_core::store::DB_FILE).is_file() {
        out.push(fail(format!(
            "{} holds no Outpost store: check --data-dir (or run `outpost-server serve --data-dir {}` once to make one)",
            dir.display(),
            dir.display()
        )));
        return out;
    }
    permissions(dir, &mut out);
    disk_space(dir, &mut out);
    let core = match Core::open_dir(dir, std::sync::Arc::new(outpost_core::SystemClock)).await {
        Ok(c) => c,
        Err(e) => {
            out.push(fail(format!("the store cannot be opened: {e}")));
            return out;
        }
    };
    let check = core.quick_check().await;
    out.push(match check {
        Ok(s) if s == "ok" => ok("the store passes SQLite's quick check"),
        Ok(s) => fail(format!(
            "the store fails SQLite's check ({s}): stop the server and restore the last backup"
        )),
        Err(e) => fail(format!("the store cannot be checked: {e}")),
    });
    out.push(match core.audit_verification().await {
        Ok(v) if v.intact => ok(format!(
            "the audit chain verifies ({} event{})",
            v.events,
            if v.events == 1 { "" } else { "s" }
        )),
        Ok(v) => {
            let b = v.broken.expect("not intact");
            fail(format!(
                "the audit chain is broken at event {}: {} (see `outpost-server audit verify`)",
                b.seq, b.reason
            ))
        }
        Err(e) => fail(format!("the audit log cannot be read: {e}")),
    });
    // The clock against the newest write: a clock set back makes new work look older.
    let now = chrono::Utc::now().timestamp_millis();
    let wall = core.newest_write_ms().await.ok().flatten();
    out.push(match wall {
        Some(w) if w - now > 120_000 => fail(format!(
            "this machine's clock is {} minutes behind the newest change in the store: set the clock right (NTP) before serving, or SLA times and sync order go wrong",
            (w - now) / 60_000
        )),
        Some(_) => ok("the clock is not behind the newest change in the store"),
        None => ok("the store has no changes yet to compare the clock with"),
    });
    let cert = cert.unwrap_or_else(|| dir.join("tls/server-cert.pem"));
    certificate(&cert, now / 1000, &mut out);
    let system = Actor::system();
    if let Ok(smtp) = core.smtp_settings(&system).await {
        if smtp.configured {
            out.push(match reachable(&smtp.host, smtp.port).await {
                Ok(()) => ok(format!("the mail server {}:{} answers", smtp.host, smtp.port)),
                Err(e) => fail(format!(
                    "the mail server {}:{} cannot be reached ({e}): mail waits in the outbox until it can",
                    smtp.host, smtp.port
                )),
            });
        }
    }
    if let Ok(boxes) = core.list_mailboxes(&system).await {
        for b in boxes {
            out.push(match reachable(&b.host, b.port).await {
                Ok(()) => ok(format!("the mailbox server {}:{} answers", b.host, b.port)),
                Err(e) => fail(format!(
                    "the mailbox {} on {}:{} cannot be reached ({e}): mail to it does not become tickets",
                    b.username, b.host, b.port
                )),
            });
        }
    }
    core.pool().close().await;
    out
}
