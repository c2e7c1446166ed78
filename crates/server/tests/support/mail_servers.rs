//! Real mail servers on loopback for the tests and benchmarks: an SMTP sink (aiosmtpd,
//! smtp_sink.py beside this file) and Dovecot for IMAP, each in a temp folder.
// Each user takes the part it needs.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const SINK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/smtp_sink.py");

pub struct Sink {
    child: Child,
    pub port: u16,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
    /// What it prints after READY (RCPT-WAIT, DATA-WAIT).
    events: std::sync::mpsc::Receiver<String>,
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Sink {
    pub fn start(args: &[&str]) -> Sink {
        Sink::start_on(free_port(), args)
    }

    pub fn start_on(port: u16, args: &[&str]) -> Sink {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("mail.jsonl");
        let mut child = Command::new("python3")
            .arg(SINK)
            .args(["--port", &port.to_string(), "--log"])
            .arg(&log)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs the SMTP sink (cargo xtask setup installs aiosmtpd)");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        assert_eq!(
            first, "READY",
            "the SMTP sink did not start (is aiosmtpd installed?)"
        );
        let (tx, events) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for l in lines.map_while(Result::ok) {
                let _ = tx.send(l);
            }
        });
        Sink {
            child,
            port,
            log,
            _dir: dir,
            events,
        }
    }

    /// Every message taken so far.
    pub fn mails(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    pub async fn wait_mails(&self, n: usize) -> Vec<Value> {
        for _ in 0..300 {
            let m = self.mails();
            if m.len() >= n {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the SMTP server got {} mails, not {n}", self.mails().len());
    }

    pub fn wait_event(&self, what: &str) {
        let got = self
            .events
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("the SMTP sink never said {what}"));
        assert_eq!(got, what);
    }
}

/// A header's value in a raw message (first occurrence, unfolded).
pub fn header(data: &str, name: &str) -> Option<String> {
    let head = data.split("\r\n\r\n").next().unwrap_or(data);
    let mut value: Option<String> = None;
    for line in head.split("\r\n").flat_map(|l| l.split('\n')) {
        if let Some(v) = value.as_mut() {
            if line.starts_with([' ', '\t']) {
                v.push(' ');
                v.push_str(line.trim());
                continue;
            }
            break;
        }
        if let Some((n, v)) = line.split_once(':') {
            if n.eq_ignore_ascii_case(name) {
                value = Some(v.trim().to_string());
            }
        }
    }
    value
}

pub struct Dovecot {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
    seq: std::cell::Cell<u32>,
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

impl Dovecot {
    /// Dovecot serving `user`/`password` on a loopback port (plain IMAP, loopback only).
    pub fn start(user: &str, password: &str) -> Dovecot {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        let port = free_port();
        // Dovecot never runs mail as root: as root, mail belongs to nobody; otherwise to us.
        let (owner, group, extra) = if is_root() {
            ("nobody".to_string(), "nogroup".to_string(), String::new())
        } else {
            let me = std::env::var("USER").unwrap_or_else(|_| "nobody".into());
            let group =
                String::from_utf8_lossy(&Command::new("id").arg("-gn").output().unwrap().stdout)
                    .trim()
                    .to_string();
            let extra = format!(
                "default_internal_user = {me}\ndefault_login_user = {me}\ndefault_internal_group = {group}\n"
            );
            (me, group, extra)
        };
        for sub in ["mail", "home", "base", "state"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(dir.path().join("mail").join(user).join(sub)).unwrap();
        }
        std::fs::write(
            dir.path().join("users"),
            format!("{user}:{{PLAIN}}{password}\n"),
        )
        .unwrap();
        let config = format!(
            "base_dir = {d}/base\nstate_dir = {d}/state\nlog_path = {d}/dovecot.log\n\
             protocols = imap\nlisten = 127.0.0.1\nssl = no\ndisable_plaintext_auth = no\n\
             auth_mechanisms = plain login\nauth_failure_delay = 0\n\
             mail_location = maildir:{d}/mail/%u\nmail_uid = {owner}\nmail_gid = {group}\n\
             first_valid_uid = 0\n{extra}\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {d}/users\n}}\n\
             userdb {{\n  driver = static\n  args = uid={owner} gid={group} home={d}/home/%u\n}}\n\
             service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n\
               inet_listener imaps {{\n    port = 0\n  }}\n  chroot =\n}}\n\
             service anvil {{\n  chroot =\n}}\nservice stats {{\n  chroot =\n}}\n"
        );
        std::fs::write(dir.path().join("dovecot.conf"), config).unwrap();
        if is_root() {
            let ok = Command::new("chown")
                .args(["-R", &format!("{owner}:{group}")])
                .arg(dir.path().join("mail"))
                .arg(dir.path().join("home"))
                .status()
                .unwrap();
            assert!(ok.success());
        }
        let child = Command::new("/usr/sbin/dovecot")
            .args(["-F", "-c"])
            .arg(dir.path().join("dovecot.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("Dovecot runs (cargo xtask setup installs dovecot-imapd)");
        let dovecot = Dovecot {
            child,
            port,
            dir,
            seq: std::cell::Cell::new(0),
        };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return dovecot;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!(
            "Dovecot did not listen: {}",
            std::fs::read_to_string(dovecot.dir.path().join("dovecot.log")).unwrap_or_default()
        );
    }

    /// Puts a mail in `user`'s INBOX the way a delivery agent does (Maildir new/).
    pub fn deliver(&self, user: &str, raw: &str) {
        let n = self.seq.get() + 1;
        self.seq.set(n);
        let base = self.dir.path().join("mail").join(user);
        let tmp = base.join("tmp").join(format!("{n}.test"));
        std::fs::write(&tmp, raw.replace('\n', "\r\n")).unwrap();
        std::fs::rename(&tmp, base.join("new").join(format!("{n}.test"))).unwrap();
    }

    /// How many of `user`'s mails carry the Seen flag (processed), and how many there are.
    pub fn seen(&self, user: &str) -> (usize, usize) {
        let base = self.dir.path().join("mail").join(user);
        let mut seen = 0;
        let mut all = 0;
        for sub in ["new", "cur"] {
            for e in std::fs::read_dir(base.join(sub)).unwrap() {
                let name = e.unwrap().file_name().to_string_lossy().to_string();
                all += 1;
                if name
                    .rsplit_once(":2,")
                    .is_some_and(|(_, flags)| flags.contains('S'))
                {
                    seen += 1;
                }
            }
        }
        (seen, all)
    }
}
