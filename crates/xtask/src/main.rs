//! `cargo xtask setup|run|test|bench|gen`: the project's own automation.
//!
//! `run` and `test` first do whatever `setup` would that is still missing, so a newcomer
//! needs only those two commands.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Debian/Ubuntu packages the desktop app, its tests and the web-console tests need.
const APT_PACKAGES: &[&str] = &[
    "libwebkit2gtk-4.1-dev",
    "build-essential",
    "libssl-dev",
    "libsoup-3.0-dev",
    "libjavascriptcoregtk-4.1-dev",
    "librsvg2-dev",
    "libayatana-appindicator3-dev",
    "pkg-config",
    "file",
    "curl",
    "xvfb",
    "xauth",
    "webkit2gtk-driver",
    "chromium",
    "python3",
    "python3-pip",
    "dovecot-imapd",
    "procps",
    "libdbus-1-dev",
    "dbus",
    "gnome-keyring",
    // The report tests check every PDF with a second and third reader.
    "poppler-utils",
    "qpdf",
];

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = root();
    std::env::set_current_dir(&root)?;
    // Builds land outside the checkout, so fresh clones on one machine share them.
    if std::env::var_os("CARGO_TARGET_DIR").is_none() {
        std::env::set_var("CARGO_TARGET_DIR", default_target_dir());
    }
    match args.first().map(String::as_str) {
        Some("setup") => setup(),
        Some("gen") => gen(false),
        Some("run") => run(),
        Some("test") => test(),
        Some("bench") => bench(),
        _ => {
            eprintln!(
                "usage: cargo xtask <command>\n\n\
                 setup   install what building and testing need (Debian/Ubuntu: apt, npm, tauri-driver)\n\
                 run     build the UI and start the desktop app (no display: the server + web console)\n\
                 test    every check: fmt, clippy, svelte-check, unit/integration, browser and desktop end to end\n\
                 bench   queue/search/detail latency on a large store, desktop cold start and memory\n\
                 gen     regenerate ui/src/lib/types.ts from the Rust types"
            );
            std::process::exit(2);
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

fn default_target_dir() -> PathBuf {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    home.join(".cache/outpost/target")
}

fn target_dir() -> PathBuf {
    PathBuf::from(std::env::var_os("CARGO_TARGET_DIR").expect("set in main"))
}

fn sh(cmd: &mut Command) -> Result<()> {
    eprintln!("\n$ {cmd:?}");
    let status = cmd
        .status()
        .with_context(|| format!("could not start {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed ({status})");
    }
    Ok(())
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn missing_apt_packages() -> Vec<&'static str> {
    APT_PACKAGES
        .iter()
        .copied()
        .filter(|p| {
            !Command::new("dpkg-query")
                .args(["-W", "-f=${Status}", p])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
                .unwrap_or(false)
        })
        .collect()
}

fn setup() -> Result<()> {
    if cfg!(target_os = "linux") && have("apt-get") {
        let missing = missing_apt_packages();
        if !missing.is_empty() {
            eprintln!("installing system packages: {}", missing.join(" "));
            let sudo = if is_root() { vec![] } else { vec!["sudo"] };
            let apt = |args: &[&str]| {
                let mut c = Command::new(sudo.first().copied().unwrap_or("apt-get"));
                if !sudo.is_empty() {
                    c.arg("apt-get");
                }
                c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
                c
            };
            sh(&mut apt(&["update"]))?;
            let mut install = apt(&["install", "-y", "--no-install-recommends"]);
            install.args(&missing);
            sh(&mut install)?;
        }
    } else if cfg!(target_os = "linux") {
        eprintln!(
            "Not a Debian/Ubuntu system: install these yourself (names differ per distribution): \
             webkit2gtk 4.1 (development files), libsoup 3, librsvg2, libayatana-appindicator3, \
             openssl development files, pkg-config, Node.js 20+ with npm, and for the tests Xvfb, \
             WebKitWebDriver and Chromium. See https://v2.tauri.app/start/prerequisites/"
        );
    } else if cfg!(target_os = "macos") {
        eprintln!(
            "macOS: install the Xcode command line tools (xcode-select --install) and Node.js 20+."
        );
    } else if cfg!(target_os = "windows") {
        eprintln!(
            "Windows: install the Visual Studio C++ Build Tools, WebView2 (present on Windows 11) \
             and Node.js 20+."
        );
    }
    if !have("npm") {
        bail!("npm is missing: install Node.js 20 or newer (with npm), then run this again");
    }
    if !Path::new("ui/node_modules/.package-lock.json").exists()
        || modified("ui/package-lock.json") > modified("ui/node_modules/.package-lock.json")
    {
        sh(Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir("ui"))?;
    }
    Ok(())
}

fn modified(p: &str) -> std::time::SystemTime {
    std::fs::metadata(p)
        .and_then(|m| m.modified())
        .unwrap_or(std::time::UNIX_EPOCH)
}

fn setup_test_tools() -> Result<()> {
    let cargo_bin = PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cargo/bin");
    if !have("tauri-driver") && !cargo_bin.join("tauri-driver").exists() {
        sh(cargo().args(["install", "tauri-driver", "--version", "^2", "--locked"]))?;
    }
    // The mail tests receive with a real SMTP server on loopback (Python's aiosmtpd); the
    // metrics test reads /metrics with Prometheus's own Python parser.
    for (module, package) in [
        ("aiosmtpd", "aiosmtpd==1.4.6"),
        ("prometheus_client", "prometheus-client==0.21.1"),
    ] {
        let present = Command::new("python3")
            .args(["-c", &format!("import {module}")])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if present {
            continue;
        }
        let pip = |extra: &[&str]| {
            Command::new("python3")
                .args(["-m", "pip", "install", "--quiet", package])
                .args(extra)
                .status()
                .is_ok_and(|s| s.success())
        };
        // A Debian-managed Python refuses plain installs; these are for tests only.
        if !pip(&[]) && !pip(&["--user", "--break-system-packages"]) {
            bail!("cannot install {package} for the tests: run `python3 -m pip install {package}`");
        }
    }
    Ok(())
}

/// Writes (or with `check`, compares) the generated TypeScript: the wire types and the
/// client of every declared operation.
fn gen(check: bool) -> Result<()> {
    let files = [
        (
            "ui/src/lib/types.ts",
            outpost_proto::typescript_declarations(),
            "crates/proto",
        ),
        (
            "ui/src/lib/api.ts",
            outpost_core::api::typescript_client(),
            "the operation table (crates/core/src/api)",
        ),
    ];
    for (path, fresh, source) in files {
        let path = Path::new(path);
        if check {
            let current = std::fs::read_to_string(path).unwrap_or_default();
            if current != fresh {
                bail!(
                    "{} is out of date with {source}: run `cargo xtask gen` and commit it",
                    path.display()
                );
            }
            continue;
        }
        std::fs::write(path, fresh)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

fn build_ui() -> Result<()> {
    sh(Command::new("npm").args(["run", "build"]).current_dir("ui"))
}

fn has_display() -> bool {
    !cfg!(target_os = "linux")
        || std::env::var_os("DISPLAY").is_some()
        || std::env::var_os("WAYLAND_DISPLAY").is_some()
}

fn run() -> Result<()> {
    setup()?;
    gen(false)?;
    build_ui()?;
    if has_display() {
        eprintln!("starting the Outpost desktop app (standalone, data in the OS app-data folder)");
        sh(cargo().args(["run", "-p", "outpost-desktop"]))
    } else {
        let data = PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| ".".into()))
            .join(".local/share/outpost-server");
        eprintln!(
            "no display found: starting the server with the web console instead (data in {}).\n\
             Open the address below in a browser; the first visit creates the admin.",
            data.display()
        );
        let listen = std::env::var("OUTPOST_LISTEN").unwrap_or_else(|_| "127.0.0.1:8787".into());
        sh(cargo()
            .args([
                "run",
                "-p",
                "outpost-server",
                "--",
                "serve",
                "--demo",
                "--data-dir",
            ])
            .arg(&data)
            .args(["--listen", &listen]))
    }
}

fn test() -> Result<()> {
    setup()?;
    setup_test_tools()?;
    gen(true)?;
    sh(cargo().args(["fmt", "--all", "--", "--check"]))?;
    sh(Command::new("npm").args(["run", "check"]).current_dir("ui"))?;
    build_ui()?;
    sh(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    if have("cargo-nextest") {
        sh(cargo().args(["nextest", "run", "--workspace", "--no-fail-fast"]))?;
    } else {
        sh(cargo().args(["test", "--workspace", "--no-fail-fast"]))?;
    }
    os_keyring_test()?;
    // The browser and desktop tests start the server and the real agent beside it.
    sh(cargo().args([
        "build",
        "-p",
        "outpost-server",
        "-p",
        "outpost-agent",
        "-p",
        "outpost-desktop",
    ]))?;
    let bin = target_dir().join("debug");
    sh(Command::new("npm")
        .args(["run", "test:e2e"])
        .current_dir("ui")
        .env("OUTPOST_SERVER_BIN", bin.join("outpost-server")))?;
    desktop_e2e(&bin.join("outpost"), &bin.join("outpost-server"))?;
    eprintln!("\nall checks passed");
    Ok(())
}

/// The desktop app keeps the server session in the OS keyring; on Linux that is the Secret
/// Service, so run its test against a real one (gnome-keyring in a private D-Bus session).
fn os_keyring_test() -> Result<()> {
    if !cfg!(target_os = "linux") {
        return Ok(());
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let nextest = if have("cargo-nextest") {
        "nextest run --no-fail-fast -p outpost-desktop --run-ignored only"
    } else {
        "test -p outpost-desktop -- --ignored"
    };
    sh(Command::new("dbus-run-session").args([
        "--",
        "sh",
        "-c",
        &format!(
            "echo -n outpost | gnome-keyring-daemon --unlock --components=secrets >/dev/null \
             && '{cargo}' {nextest}"
        ),
    ]))
}

fn tauri_driver() -> PathBuf {
    let installed =
        PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cargo/bin/tauri-driver");
    if installed.exists() {
        installed
    } else {
        PathBuf::from("tauri-driver")
    }
}

/// The real desktop window under Xvfb, driven through tauri-driver and WebKitWebDriver, in a
/// private D-Bus session with an unlocked gnome-keyring (the OS keyring the app keeps its
/// server session in).
fn desktop_e2e(app: &Path, server: &Path) -> Result<()> {
    if !cfg!(target_os = "linux") {
        eprintln!(
            "desktop end-to-end tests run on Linux only (tauri-driver + WebKitWebDriver); skipped"
        );
        return Ok(());
    }
    let run = || {
        sh(Command::new("dbus-run-session")
            .args([
                "--",
                "sh",
                "-c",
                "echo -n outpost | gnome-keyring-daemon --unlock --components=secrets >/dev/null \
                 && xvfb-run -a -s '-screen 0 1280x800x24' node --test --test-concurrency=1 \
                    tests/desktop/desktop.test.mjs tests/desktop/sync.test.mjs",
            ])
            .env("OUTPOST_DESKTOP_BIN", app)
            .env("OUTPOST_SERVER_BIN", server)
            .env("TAURI_DRIVER", tauri_driver()))
    };
    // The WebKitGTK window under Xvfb now and then comes up blank (about one run in six on
    // these machines, with nothing in the app's own log): a second run tells that apart from
    // a real failure, which fails both.
    run().or_else(|first| {
        eprintln!(
            "\ndesktop end-to-end failed once ({first}); running it again to tell a blank \
             window from a real failure"
        );
        run()
    })
}

/// The agent gateway under a simulated fleet, and signed runs (one real agent, then a bulk
/// run to simulated ones): many sockets, so under a raised file limit.
fn gateway_bench() -> Result<()> {
    sh(cargo().args(["build", "--release", "-p", "outpost-agent"]))?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    sh(Command::new("sh").args([
        "-c",
        // As many files as the machine allows (a connection is one on each side).
        &format!(
            "ulimit -n \"$(ulimit -Hn)\" && '{cargo}' bench -p outpost-server --bench gateway \
             && '{cargo}' bench -p outpost-server --bench runs \
             && '{cargo}' bench -p outpost-server --bench mail \
             && exec '{cargo}' bench -p outpost-server --bench report"
        ),
    ]))
}

fn bench() -> Result<()> {
    setup()?;
    setup_test_tools()?;
    sh(cargo().args(["bench", "-p", "outpost-core", "--bench", "queue"]))?;
    sh(cargo().args(["bench", "-p", "outpost-sync-client", "--bench", "sync"]))?;
    gateway_bench()?;
    if cfg!(target_os = "linux") {
        build_ui()?;
        sh(cargo().args(["build", "-p", "outpost-desktop"]))?;
        let app = target_dir().join("debug/outpost");
        sh(Command::new("xvfb-run")
            .args([
                "-a",
                "-s",
                "-screen 0 1280x800x24",
                "node",
                "tests/desktop/startup-bench.mjs",
            ])
            .env("OUTPOST_DESKTOP_BIN", app)
            .env("TAURI_DRIVER", tauri_driver()))?;
    }
    Ok(())
}
