//! Runs one verified script: the body written to a private file, the interpreter started on
//! it directly (never through a shell line), parameters passed as environment variables on
//! a clean environment, output read as it comes (capped per stream, marked truncated), and
//! the whole process tree killed on timeout, on cancellation, and when the script's main
//! process ends (nothing it started is left behind).

use chrono::Utc;
use outpost_proto::{
    OutputStream, RunEventKind, RunOutcome, RUN_OUTPUT_CAP_BYTES, RUN_OUTPUT_CHUNK_BYTES,
};
use outpost_trust::{ParameterValue, Verified};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

/// A report about a run, before it is numbered and queued.
pub struct Report {
    pub run_id: Uuid,
    pub event: RunEventKind,
}

/// How long output may wait before it is sent (live streaming without a message per line).
const FLUSH_EVERY: Duration = Duration::from_millis(200);

fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The interpreter's program and arguments before the script file, and the file's extension.
fn interpreter(name: &str) -> Option<(PathBuf, Vec<&'static str>, &'static str)> {
    let pick = |names: &[&str]| names.iter().find_map(|n| find_in_path(n));
    Some(match name {
        "bash" => (pick(&["bash"])?, vec!["--noprofile", "--norc"], "sh"),
        "sh" => (pick(&["sh"])?, vec![], "sh"),
        "python" => (
            pick(&["python3", "python", "python.exe"])?,
            vec!["-I"],
            "py",
        ),
        "powershell" => (
            pick(&["pwsh", "pwsh.exe", "powershell.exe"])?,
            vec![
                "-NoLogo",
                "-NoProfile",
                "-NonInteractive",
                "-ExecutionPolicy",
                "Bypass",
                "-File",
            ],
            "ps1",
        ),
        "cmd" if cfg!(windows) => (pick(&["cmd.exe"])?, vec!["/D", "/Q", "/C"], "cmd"),
        _ => return None,
    })
}

/// A private copy of the script (the folder is the agent's, 0700).
fn write_script(dir: &Path, run_id: Uuid, ext: &str, body: &str) -> std::io::Result<PathBuf> {
    let runs = dir.join("runs");
    std::fs::create_dir_all(&runs)?;
    let path = runs.join(format!("{run_id}.{ext}"));
    crate::write_secret(&path, body.as_bytes()).map_err(std::io::Error::other)?;
    Ok(path)
}

#[cfg(unix)]
fn kill_tree(pid: Option<u32>) {
    // The script leads its own process group: the group is everything it started (save
    // what deliberately left it with setsid).
    if let Some(p) = pid.and_then(|p| rustix::process::Pid::from_raw(p as i32)) {
        let _ = rustix::process::kill_process_group(p, rustix::process::Signal::KILL);
    }
}

#[cfg(windows)]
fn kill_tree(pid: Option<u32>) {
    if let Some(p) = pid {
        let _ = std::process::Command::new("taskkill")
            .args(["/T", "/F", "/PID", &p.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Decodes output as UTF-8 across chunk boundaries (a character split between two reads is
/// kept whole); bytes that are not UTF-8 become U+FFFD.
struct Utf8Carry(Vec<u8>);

impl Utf8Carry {
    fn push(&mut self, bytes: &[u8], end: bool) -> String {
        self.0.extend_from_slice(bytes);
        let mut out = String::new();
        loop {
            match std::str::from_utf8(&self.0) {
                Ok(s) => {
                    out.push_str(s);
                    self.0.clear();
                    return out;
                }
                Err(e) => {
                    let good = e.valid_up_to();
                    out.push_str(std::str::from_utf8(&self.0[..good]).unwrap_or_default());
                    match e.error_len() {
                        Some(n) => {
                            out.push('\u{FFFD}');
                            self.0.drain(..good + n);
                        }
                        None if end => {
                            out.push('\u{FFFD}');
                            self.0.clear();
                            return out;
                        }
                        None => {
                            self.0.drain(..good);
                            return out;
                        }
                    }
                }
            }
        }
    }
}

/// Reads one stream to its end; sends it in pieces; returns whether it was cut at the cap.
async fn pump(
    mut r: impl AsyncRead + Unpin,
    stream: OutputStream,
    run_id: Uuid,
    reports: mpsc::Sender<Report>,
) -> bool {
    let mut kept = 0usize;
    let mut truncated = false;
    let mut pending: Vec<u8> = Vec::new();
    let mut carry = Utf8Carry(Vec::new());
    let mut buf = vec![0u8; 16 * 1024];
    let mut last_flush = tokio::time::Instant::now();
    loop {
        let wait = FLUSH_EVERY.saturating_sub(last_flush.elapsed());
        let read = if pending.is_empty() {
            Ok(r.read(&mut buf).await)
        } else {
            tokio::time::timeout(wait, r.read(&mut buf)).await
        };
        let (n, end) = match read {
            Ok(Ok(0)) | Ok(Err(_)) => (0, true),
            Ok(Ok(n)) => (n, false),
            Err(_) => (0, false),
        };
        if n > 0 {
            let room = RUN_OUTPUT_CAP_BYTES.saturating_sub(kept);
            let take = n.min(room);
            pending.extend_from_slice(&buf[..take]);
            kept += take;
            if take < n {
                // Past the cap: keep reading (so the script is not blocked), keep nothing.
                truncated = true;
            }
        }
        let due = end
            || pending.len() >= RUN_OUTPUT_CHUNK_BYTES
            || (!pending.is_empty() && last_flush.elapsed() >= FLUSH_EVERY);
        if due {
            while !pending.is_empty() || (end && !carry.0.is_empty()) {
                let cut = pending.len().min(RUN_OUTPUT_CHUNK_BYTES);
                let piece: Vec<u8> = pending.drain(..cut).collect();
                let data = carry.push(&piece, end && pending.is_empty());
                if !data.is_empty() {
                    let _ = reports
                        .send(Report {
                            run_id,
                            event: RunEventKind::Output { stream, data },
                        })
                        .await;
                }
                if piece.is_empty() {
                    break;
                }
            }
            last_flush = tokio::time::Instant::now();
        }
        if end {
            return truncated;
        }
    }
}

/// The environment a script gets: nothing of the agent's but the basics, plus its
/// parameters (secret ones opened with the agent's key).
fn environment(
    v: &Verified,
    agent_key: &outpost_trust::ed25519_dalek::SigningKey,
) -> Result<Vec<(String, String)>, outpost_trust::Refusal> {
    let mut env: Vec<(String, String)> = Vec::new();
    if cfg!(windows) {
        // Windows programs need much of the system's environment; only ours is dropped.
        env.extend(
            std::env::vars().filter(|(k, _)| !k.to_ascii_uppercase().starts_with("OUTPOST_")),
        );
    } else {
        let keep = ["PATH", "HOME", "USER", "LOGNAME", "LANG", "TZ"];
        env.extend(std::env::vars().filter(|(k, _)| keep.contains(&k.as_str())));
        if !env.iter().any(|(k, _)| k == "PATH") {
            env.push((
                "PATH".into(),
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
            ));
        }
        if !env.iter().any(|(k, _)| k == "LANG") {
            env.push(("LANG".into(), "C.UTF-8".into()));
        }
    }
    env.push(("OUTPOST_RUN_ID".into(), v.request.run_id.to_string()));
    for p in &v.request.parameters {
        let name_ok = outpost_trust::parameter_name_allowed(&p.name);
        if !name_ok {
            return Err(outpost_trust::Refusal::Malformed(format!(
                "parameter name {:?} is not allowed",
                p.name
            )));
        }
        let value = match &p.value {
            ParameterValue::Text(t) => t.clone(),
            ParameterValue::Sealed(b) => {
                String::from_utf8(outpost_trust::seal::open(agent_key, &p.name, b)?)
                    .map_err(|_| outpost_trust::Refusal::SecretUnreadable)?
            }
        };
        if value.contains('\0') {
            return Err(outpost_trust::Refusal::Malformed(format!(
                "parameter {} contains NUL",
                p.name
            )));
        }
        env.retain(|(k, _)| k != &p.name);
        env.push((p.name.clone(), value));
    }
    Ok(env)
}

/// Runs a verified request to its end, reporting as it goes. `cancel` stops it.
pub async fn run(
    dir: PathBuf,
    v: Verified,
    body: String,
    agent_key: outpost_trust::ed25519_dalek::SigningKey,
    reports: mpsc::Sender<Report>,
    cancel: oneshot::Receiver<()>,
) {
    let run_id = v.request.run_id;
    let refuse = |e: outpost_trust::Refusal| Report {
        run_id,
        event: RunEventKind::Refused {
            code: e.code().into(),
            message: e.to_string(),
        },
    };
    let Some((program, args, ext)) = interpreter(&v.request.interpreter) else {
        let _ = reports
            .send(refuse(outpost_trust::Refusal::InterpreterMissing(
                v.request.interpreter.clone(),
            )))
            .await;
        return;
    };
    let env = match environment(&v, &agent_key) {
        Ok(e) => e,
        Err(e) => {
            let _ = reports.send(refuse(e)).await;
            return;
        }
    };
    let started_at = Utc::now();
    let failed = |message: String| {
        Report {
            run_id,
            event: RunEventKind::Finished {
                outcome: RunOutcome::Failed,
                exit_code: None,
                started_at,
                ended_at: Utc::now(),
                stdout_truncated: false,
                stderr_truncated: false,
            },
        }
        .with_note(message)
    };
    let script = match write_script(&dir, run_id, ext, &body) {
        Ok(p) => p,
        Err(e) => {
            for r in failed(format!("could not write the script file: {e}")) {
                let _ = reports.send(r).await;
            }
            return;
        }
    };
    let mut cmd = tokio::process::Command::new(&program);
    cmd.args(&args)
        .arg(&script)
        .env_clear()
        .envs(env)
        .current_dir(dir.join("runs"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    cmd.process_group(0);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            for r in failed(format!("{} would not start: {e}", program.display())) {
                let _ = reports.send(r).await;
            }
            let _ = std::fs::remove_file(&script);
            return;
        }
    };
    let pid = child.id();
    let _ = reports
        .send(Report {
            run_id,
            event: RunEventKind::Started {
                pid: pid.unwrap_or(0),
            },
        })
        .await;
    let out = tokio::spawn(pump(
        child.stdout.take().expect("piped"),
        OutputStream::Stdout,
        run_id,
        reports.clone(),
    ));
    let err = tokio::spawn(pump(
        child.stderr.take().expect("piped"),
        OutputStream::Stderr,
        run_id,
        reports.clone(),
    ));
    let timeout = Duration::from_secs(v.request.timeout_secs as u64);
    let (outcome, status) = tokio::select! {
        s = child.wait() => (RunOutcome::Exited, s.ok()),
        _ = tokio::time::sleep(timeout) => (RunOutcome::TimedOut, None),
        _ = cancel => (RunOutcome::Cancelled, None),
    };
    // Whatever ended it, nothing it started stays running (nor holds its output open).
    kill_tree(pid);
    let status = match status {
        Some(s) => Some(s),
        None => child.wait().await.ok(),
    };
    let drain = Duration::from_secs(5);
    let stdout_truncated = tokio::time::timeout(drain, out)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or(false);
    let stderr_truncated = tokio::time::timeout(drain, err)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or(false);
    let _ = std::fs::remove_file(&script);
    let exit_code = match outcome {
        RunOutcome::Exited => status.and_then(|s| s.code()),
        _ => None,
    };
    let _ = reports
        .send(Report {
            run_id,
            event: RunEventKind::Finished {
                outcome,
                exit_code,
                started_at,
                ended_at: Utc::now(),
                stdout_truncated,
                stderr_truncated,
            },
        })
        .await;
}

impl Report {
    /// A failure with a line on stderr saying why (the console shows it with the result).
    fn with_note(self, message: String) -> Vec<Report> {
        vec![
            Report {
                run_id: self.run_id,
                event: RunEventKind::Output {
                    stream: OutputStream::Stderr,
                    data: format!("outpost-agent: {message}\n"),
                },
            },
            self,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::Utf8Carry;

    #[test]
    fn a_character_split_between_reads_stays_whole() {
        let text = "disk ✓ ok";
        let bytes = text.as_bytes();
        let split = text.find('✓').unwrap() + 1;
        let mut c = Utf8Carry(Vec::new());
        let a = c.push(&bytes[..split], false);
        let b = c.push(&bytes[split..], true);
        assert_eq!(format!("{a}{b}"), text);
        let mut c = Utf8Carry(Vec::new());
        assert_eq!(c.push(b"a\xffb", true), "a\u{FFFD}b");
    }
}
