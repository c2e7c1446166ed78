//! What the agent reads off its machine: samples for heartbeats (sysinfo) and the inventory
//! (sysinfo plus the OS's own tools: dpkg/rpm, systemd, apt/dnf on Linux; the registry and
//! `sc` on Windows; /Applications, launchd and softwareupdate on macOS).

use chrono::{DateTime, TimeZone, Utc};
use outpost_proto::{
    Disk, DiskUse, Heartbeat, Inventory, NetworkInterface, PendingUpdate, ProcessUse, Service,
    Software, Stat, SystemInfo, Updates,
};
use std::process::Command;
use std::time::Instant;
use sysinfo::{Components, Disks, Networks, ProcessRefreshKind, ProcessesToUpdate, System};

/// One reading, every few seconds.
#[derive(Clone, Copy)]
struct Sample {
    cpu: f64,
    memory: f64,
    net_in: f64,
    net_out: f64,
    temperature: Option<f64>,
}

pub struct Sampler {
    system: System,
    networks: Networks,
    components: Components,
    disks: Disks,
    last_net: Instant,
    samples: Vec<Sample>,
}

fn stat(values: impl Iterator<Item = f64> + Clone) -> Option<Stat> {
    let n = values.clone().count();
    if n == 0 {
        return None;
    }
    let (mut min, mut max, mut sum) = (f64::MAX, f64::MIN, 0.0);
    for v in values {
        min = min.min(v);
        max = max.max(v);
        sum += v;
    }
    let avg = (sum / n as f64).clamp(min, max);
    Some(Stat { min, avg, max })
}

fn pct(used: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        (used as f64 * 100.0 / total as f64).clamp(0.0, 100.0)
    }
}

impl Sampler {
    pub fn new() -> anyhow::Result<Sampler> {
        let mut system = System::new()?;
        system.refresh_cpu_usage();
        system.refresh_memory();
        Ok(Sampler {
            system,
            networks: Networks::new_with_refreshed_list()?,
            components: Components::new_with_refreshed_list()?,
            disks: Disks::new_with_refreshed_list()?,
            last_net: Instant::now(),
            samples: Vec::new(),
        })
    }

    /// Takes one reading (call every few seconds: CPU use is measured between readings).
    pub fn sample(&mut self) {
        self.system.refresh_cpu_usage();
        self.system.refresh_memory();
        self.networks.refresh(true);
        let secs = self.last_net.elapsed().as_secs_f64().max(0.001);
        self.last_net = Instant::now();
        let (rx, tx) = (&self.networks)
            .into_iter()
            .filter(|(name, _)| name.as_os_str() != "lo")
            .fold((0u64, 0u64), |(r, t), (_, n)| {
                (r + n.received(), t + n.transmitted())
            });
        self.components.refresh(false);
        let temperature = (&self.components)
            .into_iter()
            .filter_map(|c| c.temperature())
            .filter(|t| t.is_finite() && *t > -60.0 && *t < 150.0)
            .map(f64::from)
            .fold(None, |m: Option<f64>, t| Some(m.map_or(t, |m| m.max(t))));
        self.samples.push(Sample {
            cpu: f64::from(self.system.global_cpu_usage()).clamp(0.0, 100.0),
            memory: pct(self.system.used_memory(), self.system.total_memory()),
            net_in: rx as f64 / secs,
            net_out: tx as f64 / secs,
            temperature,
        });
    }

    /// The heartbeat of the readings since the last one.
    pub fn heartbeat(&mut self, seq: u64, window_secs: u32) -> Heartbeat {
        if self.samples.is_empty() {
            self.sample();
        }
        let s = std::mem::take(&mut self.samples);
        self.disks.refresh(true);
        let disks = self
            .disks
            .into_iter()
            .filter(|d| d.total_space() > 0)
            .map(|d| DiskUse {
                mount: d.mount_point().to_string_lossy().into_owned(),
                used_pct: pct(d.total_space() - d.available_space(), d.total_space()),
            })
            .take(64)
            .collect();
        let zero = Stat::default();
        Heartbeat {
            seq,
            at: Utc::now(),
            window_secs: window_secs.clamp(1, 3600),
            samples: (s.len() as u32).clamp(1, 3600),
            cpu: stat(s.iter().map(|x| x.cpu)).unwrap_or(zero),
            memory: stat(s.iter().map(|x| x.memory)).unwrap_or(zero),
            disks,
            net_in: stat(s.iter().map(|x| x.net_in)).unwrap_or(zero),
            net_out: stat(s.iter().map(|x| x.net_out)).unwrap_or(zero),
            temperature: stat(s.iter().filter_map(|x| x.temperature)),
            top_processes: self.top_processes(),
        }
    }

    /// The five busiest processes by CPU, then the five largest by memory.
    fn top_processes(&mut self) -> Vec<ProcessUse> {
        self.system.refresh_processes_specifics(
            ProcessesToUpdate::All,
            true,
            ProcessRefreshKind::nothing().with_cpu().with_memory(),
        );
        let mut all: Vec<ProcessUse> = self
            .system
            .processes()
            .values()
            .map(|p| ProcessUse {
                name: p.name().to_string_lossy().chars().take(200).collect(),
                pid: p.pid().as_u32(),
                cpu_pct: f64::from(p.cpu_usage()).clamp(0.0, 100_000.0),
                memory_bytes: p.memory(),
            })
            .collect();
        all.sort_by(|a, b| b.cpu_pct.total_cmp(&a.cpu_pct));
        let mut top: Vec<ProcessUse> = all.iter().take(5).cloned().collect();
        all.sort_by_key(|p| std::cmp::Reverse(p.memory_bytes));
        for p in all.into_iter().take(5) {
            if !top.iter().any(|t| t.pid == p.pid) {
                top.push(p);
            }
        }
        top
    }

    /// The parts of the inventory that are cheap to read (checked every heartbeat).
    pub fn quick_inventory(&mut self) -> Inventory {
        self.disks.refresh(true);
        self.system.refresh_memory();
        let boot = System::boot_time().unwrap_or(0);
        let system = SystemInfo {
            // A machine whose OS name says little (a VDI clone, `localhost`) can be given one.
            hostname: std::env::var("OUTPOST_AGENT_HOSTNAME")
                .ok()
                .filter(|h| !h.trim().is_empty())
                .unwrap_or_else(|| System::host_name().unwrap_or_default()),
            os_name: System::name().unwrap_or_default(),
            os_version: System::os_version().unwrap_or_default(),
            kernel: System::kernel_version().unwrap_or_default(),
            arch: System::cpu_arch(),
            boot_time: Utc
                .timestamp_opt(boot as i64, 0)
                .single()
                .unwrap_or(DateTime::<Utc>::UNIX_EPOCH),
            cpu_model: self
                .system
                .cpus()
                .first()
                .map(|c| c.brand().trim().to_string())
                .unwrap_or_default(),
            cpu_cores: self.system.cpus().len().max(1) as u32,
            memory_bytes: self.system.total_memory().max(1),
            swap_bytes: self.system.total_swap(),
            manufacturer: dmi("sys_vendor"),
            model: dmi("product_name"),
            serial: dmi("product_serial"),
        };
        let disks = self
            .disks
            .into_iter()
            .filter(|d| d.total_space() > 0)
            .map(|d| Disk {
                mount: d.mount_point().to_string_lossy().into_owned(),
                device: d.name().to_string_lossy().into_owned(),
                file_system: d.file_system().to_string_lossy().into_owned(),
                total_bytes: d.total_space(),
                free_bytes: d.available_space().min(d.total_space()),
                removable: d.is_removable(),
            })
            .take(64)
            .collect();
        self.networks.refresh(true);
        let mut network: Vec<NetworkInterface> = (&self.networks)
            .into_iter()
            .filter(|(name, _)| name.as_os_str() != "lo")
            .map(|(name, n)| NetworkInterface {
                name: name.to_string_lossy().into_owned(),
                mac: n.mac_address().to_string(),
                addresses: n
                    .ip_networks()
                    .iter()
                    .map(|ip| format!("{}/{}", ip.addr, ip.prefix))
                    .take(64)
                    .collect(),
            })
            .take(64)
            .collect();
        network.sort_by(|a, b| a.name.cmp(&b.name));
        Inventory {
            system: Some(system),
            disks: Some(disks),
            network: Some(network),
            users: Some(logged_in_users()),
            ..Default::default()
        }
    }
}

/// What the firmware says (Linux; root may be needed for the serial number).
fn dmi(field: &str) -> String {
    std::fs::read_to_string(format!("/sys/class/dmi/id/{field}"))
        .map(|s| s.trim().chars().take(100).collect())
        .unwrap_or_default()
}

fn run(cmd: &str, args: &[&str]) -> Option<(i32, String)> {
    let out = Command::new(cmd).args(args).output().ok()?;
    Some((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    ))
}

fn logged_in_users() -> Vec<String> {
    let mut users: Vec<String> = if cfg!(windows) {
        run("query", &["user"])
            .map(|(_, o)| {
                o.lines()
                    .skip(1)
                    .filter_map(|l| l.trim_start_matches('>').split_whitespace().next())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    } else {
        run("who", &[])
            .map(|(_, o)| {
                o.lines()
                    .filter_map(|l| l.split_whitespace().next())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    users.sort();
    users.dedup();
    users.truncate(500);
    users
}

/// The slow parts: software, services, pending updates (checked every inventory interval).
pub fn slow_inventory() -> Inventory {
    Inventory {
        software: Some(software()),
        services: Some(services()),
        updates: Some(updates()),
        ..Default::default()
    }
}

#[cfg(not(any(windows, target_os = "macos")))]
fn software() -> Vec<Software> {
    // Installed packages only (a removed package whose configuration is kept is not).
    if let Some((0, out)) = run(
        "dpkg-query",
        &["-W", "-f", "${db:Status-Abbrev}\t${Package}\t${Version}\n"],
    ) {
        return out
            .lines()
            .filter_map(|l| {
                let mut p = l.split('\t');
                let status = p.next()?;
                let name = p.next()?;
                let version = p.next().unwrap_or("");
                (status.as_bytes().get(1) == Some(&b'i')).then(|| Software {
                    name: name.into(),
                    version: version.into(),
                    source: "dpkg".into(),
                })
            })
            .take(20_000)
            .collect();
    }
    if let Some((0, out)) = run("rpm", &["-qa", "--qf", "%{NAME}\t%{VERSION}-%{RELEASE}\n"]) {
        return out
            .lines()
            .filter_map(|l| {
                let (n, v) = l.split_once('\t')?;
                Some(Software {
                    name: n.into(),
                    version: v.into(),
                    source: "rpm".into(),
                })
            })
            .take(20_000)
            .collect();
    }
    Vec::new()
}

#[cfg(windows)]
fn software() -> Vec<Software> {
    // Programs and Features: the Uninstall keys, 64- and 32-bit.
    let mut out = Vec::new();
    for key in [
        r"HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall",
        r"HKLM\Software\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall",
    ] {
        let Some((0, text)) = run("reg", &["query", key, "/s"]) else {
            continue;
        };
        let (mut name, mut version) = (None::<String>, String::new());
        for line in text.lines().chain(std::iter::once("")) {
            let l = line.trim();
            if l.starts_with("HKEY_") || l.is_empty() {
                if let Some(n) = name.take() {
                    out.push(Software {
                        name: n,
                        version: std::mem::take(&mut version),
                        source: "registry".into(),
                    });
                }
                version.clear();
            } else if let Some(v) = l.strip_prefix("DisplayName") {
                name = v.split("REG_SZ").nth(1).map(|s| s.trim().to_string());
            } else if let Some(v) = l.strip_prefix("DisplayVersion") {
                version = v
                    .split("REG_SZ")
                    .nth(1)
                    .map(|s| s.trim().to_string())
                    .unwrap_or_default();
            }
        }
    }
    out.truncate(20_000);
    out
}

#[cfg(target_os = "macos")]
fn software() -> Vec<Software> {
    let Ok(dir) = std::fs::read_dir("/Applications") else {
        return Vec::new();
    };
    dir.filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "app"))
        .map(|e| {
            let plist = e.path().join("Contents/Info");
            let version = run(
                "defaults",
                &[
                    "read",
                    &plist.to_string_lossy(),
                    "CFBundleShortVersionString",
                ],
            )
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default();
            Software {
                name: e
                    .path()
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                version,
                source: "applications".into(),
            }
        })
        .take(20_000)
        .collect()
}

#[cfg(not(any(windows, target_os = "macos")))]
fn services() -> Vec<Service> {
    let Some((0, out)) = run(
        "systemctl",
        &[
            "list-units",
            "--type=service",
            "--all",
            "--no-legend",
            "--no-pager",
            "--plain",
        ],
    ) else {
        return Vec::new();
    };
    out.lines()
        .filter_map(|l| {
            let mut p = l.split_whitespace();
            let unit = p.next()?;
            let _load = p.next()?;
            let _active = p.next()?;
            let sub = p.next()?;
            let description: Vec<&str> = p.collect();
            Some(Service {
                name: unit.trim_end_matches(".service").to_string(),
                description: description.join(" "),
                running: sub == "running",
                enabled: None,
            })
        })
        .take(5_000)
        .collect()
}

#[cfg(windows)]
fn services() -> Vec<Service> {
    let Some((0, out)) = run("sc", &["query", "state=", "all"]) else {
        return Vec::new();
    };
    let mut list = Vec::new();
    let mut name = None::<String>;
    let mut display = String::new();
    for l in out.lines().map(str::trim) {
        if let Some(n) = l.strip_prefix("SERVICE_NAME:") {
            name = Some(n.trim().to_string());
        } else if let Some(d) = l.strip_prefix("DISPLAY_NAME:") {
            display = d.trim().to_string();
        } else if l.starts_with("STATE") {
            if let Some(n) = name.take() {
                list.push(Service {
                    name: n,
                    description: std::mem::take(&mut display),
                    running: l.contains("RUNNING"),
                    enabled: None,
                });
            }
        }
    }
    list
}

#[cfg(target_os = "macos")]
fn services() -> Vec<Service> {
    let Some((0, out)) = run("launchctl", &["list"]) else {
        return Vec::new();
    };
    out.lines()
        .skip(1)
        .filter_map(|l| {
            let mut p = l.split_whitespace();
            let pid = p.next()?;
            let _status = p.next()?;
            let label = p.next()?;
            Some(Service {
                name: label.to_string(),
                description: String::new(),
                running: pid != "-",
                enabled: None,
            })
        })
        .take(5_000)
        .collect()
}

#[cfg(not(any(windows, target_os = "macos")))]
fn updates() -> Updates {
    let reboot_required = std::path::Path::new("/run/reboot-required").exists();
    // Debian and Ubuntu: what an upgrade would install, without doing it.
    if let Some((0, out)) = run("apt-get", &["-s", "-q", "upgrade"]) {
        let pending = out
            .lines()
            .filter_map(|l| {
                let rest = l.strip_prefix("Inst ")?;
                let name = rest.split_whitespace().next()?;
                let version = rest
                    .split('(')
                    .nth(1)
                    .and_then(|v| v.split_whitespace().next())
                    .unwrap_or("");
                Some(PendingUpdate {
                    name: name.into(),
                    version: version.into(),
                    security: rest.contains("-security"),
                })
            })
            .take(5_000)
            .collect();
        return Updates {
            pending: Some(pending),
            reboot_required,
        };
    }
    // RHEL family: exit code 100 means updates are available.
    if let Some((code, out)) = run("dnf", &["check-update", "-q"]) {
        if code == 0 || code == 100 {
            let pending = out
                .lines()
                .filter_map(|l| {
                    let mut p = l.split_whitespace();
                    let name = p.next()?;
                    let version = p.next()?;
                    p.next()?;
                    Some(PendingUpdate {
                        name: name.into(),
                        version: version.into(),
                        security: false,
                    })
                })
                .take(5_000)
                .collect();
            return Updates {
                pending: Some(pending),
                reboot_required,
            };
        }
    }
    Updates {
        pending: None,
        reboot_required,
    }
}

#[cfg(windows)]
fn updates() -> Updates {
    let reboot_required = run(
        "reg",
        &[
            "query",
            r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired",
        ],
    )
    .is_some_and(|(code, _)| code == 0);
    // The Windows Update Agent's COM API, through PowerShell: one "title<TAB>security" line
    // per update not installed yet.
    let script = "$s = (New-Object -ComObject Microsoft.Update.Session).CreateUpdateSearcher(); \
        $r = $s.Search('IsInstalled=0 and IsHidden=0'); \
        foreach ($u in $r.Updates) { $sec = ($u.Categories | Where-Object { $_.Name -eq 'Security Updates' }).Count -gt 0; \
        Write-Output ($u.Title + [char]9 + $sec) }";
    let pending = run(
        "powershell",
        &["-NoProfile", "-NonInteractive", "-Command", script],
    )
    .filter(|(code, _)| *code == 0)
    .map(|(_, out)| {
        out.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let (title, security) = l.split_once('\t').unwrap_or((l, "False"));
                PendingUpdate {
                    name: title.trim().to_string(),
                    version: String::new(),
                    security: security.trim().eq_ignore_ascii_case("true"),
                }
            })
            .take(5_000)
            .collect()
    });
    Updates {
        pending,
        reboot_required,
    }
}

#[cfg(target_os = "macos")]
fn updates() -> Updates {
    let pending = run("softwareupdate", &["--list", "--no-scan"]).map(|(_, out)| {
        out.lines()
            .filter_map(|l| l.trim().strip_prefix("* Label: "))
            .map(|label| PendingUpdate {
                name: label.to_string(),
                version: String::new(),
                security: label.contains("Security"),
            })
            .collect()
    });
    Updates {
        pending,
        reboot_required: false,
    }
}

/// The sections of `now` that differ from `before` (all of them without a `before`).
pub fn diff(before: Option<&Inventory>, now: &Inventory) -> Inventory {
    let Some(b) = before else {
        return now.clone();
    };
    fn changed<T: PartialEq + Clone>(a: &Option<T>, b: &Option<T>) -> Option<T> {
        match (a, b) {
            (x, Some(y)) if x.as_ref() != Some(y) => Some(y.clone()),
            _ => None,
        }
    }
    // Uptime-like numbers do not count as a change of the system section.
    let system = match (&b.system, &now.system) {
        (Some(x), Some(y)) if x == y => None,
        (_, y) => y.clone(),
    };
    Inventory {
        system,
        disks: changed(&b.disks, &now.disks).filter(|d| !same_disks(b.disks.as_ref(), d)),
        network: changed(&b.network, &now.network),
        users: changed(&b.users, &now.users),
        software: changed(&b.software, &now.software),
        services: changed(&b.services, &now.services),
        updates: changed(&b.updates, &now.updates),
    }
}

/// Free space moves all the time; a disk section changes when disks come, go or grow, or
/// free space moves by more than 1 %.
fn same_disks(before: Option<&Vec<Disk>>, now: &[Disk]) -> bool {
    let Some(b) = before else { return false };
    b.len() == now.len()
        && b.iter().zip(now).all(|(x, y)| {
            x.mount == y.mount
                && x.total_bytes == y.total_bytes
                && x.file_system == y.file_system
                && (x.free_bytes as f64 - y.free_bytes as f64).abs() <= x.total_bytes as f64 / 100.0
        })
}

pub fn is_empty(inv: &Inventory) -> bool {
    inv == &Inventory::default()
}
