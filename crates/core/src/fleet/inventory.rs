//! An endpoint's inventory: the limits a report must keep, how a diff merges into what is
//! known, and what changed between two inventories, in the words a technician reads.

use crate::error::{invalid, CoreResult};
use crate::fleet::agents::agent_line;
use outpost_proto::Inventory;
use std::collections::BTreeMap;

const MAX_SOFTWARE: usize = 20_000;
const MAX_SERVICES: usize = 5_000;
const MAX_DISKS: usize = 64;
const MAX_INTERFACES: usize = 64;
const MAX_USERS: usize = 500;
const MAX_UPDATES: usize = 5_000;
/// History entries kept for one report; a bigger change (a release upgrade) is summed up.
const MAX_CHANGES: usize = 200;

fn line(field: &str, v: &str, max: usize) -> CoreResult<()> {
    agent_line(field, v, max).map(|_| ())
}

fn at_most<T>(what: &str, v: &[T], max: usize) -> CoreResult<()> {
    if v.len() > max {
        return Err(invalid(format!(
            "an inventory may list at most {max} {what} (got {})",
            v.len()
        )));
    }
    Ok(())
}

pub(crate) fn check_inventory(inv: &Inventory, full: bool) -> CoreResult<()> {
    if full && inv.system.is_none() {
        return Err(invalid("a full inventory must include the system section"));
    }
    if let Some(s) = &inv.system {
        line("hostname", &s.hostname, 253)?;
        line("os_name", &s.os_name, 200)?;
        line("os_version", &s.os_version, 200)?;
        line("kernel", &s.kernel, 200)?;
        line("arch", &s.arch, 50)?;
        line("cpu_model", &s.cpu_model, 200)?;
        line("manufacturer", &s.manufacturer, 200)?;
        line("model", &s.model, 200)?;
        line("serial", &s.serial, 100)?;
        if s.cpu_cores == 0 || s.cpu_cores > 4096 {
            return Err(invalid("cpu_cores must be between 1 and 4096"));
        }
        if s.memory_bytes == 0 || s.memory_bytes > 1 << 50 {
            return Err(invalid("memory_bytes must be between 1 byte and 1 PiB"));
        }
    }
    if let Some(disks) = &inv.disks {
        at_most("disks", disks, MAX_DISKS)?;
        for d in disks {
            line("disk mount", &d.mount, 300)?;
            line("disk device", &d.device, 300)?;
            line("file system", &d.file_system, 50)?;
            if d.free_bytes > d.total_bytes {
                return Err(invalid(format!(
                    "disk {} has more free space than its size",
                    d.mount
                )));
            }
        }
    }
    if let Some(net) = &inv.network {
        at_most("network interfaces", net, MAX_INTERFACES)?;
        for n in net {
            line("interface name", &n.name, 100)?;
            line("MAC address", &n.mac, 50)?;
            at_most("addresses per interface", &n.addresses, 64)?;
            for a in &n.addresses {
                line("address", a, 100)?;
            }
        }
    }
    if let Some(users) = &inv.users {
        at_most("logged-in users", users, MAX_USERS)?;
        for u in users {
            line("user", u, 200)?;
        }
    }
    if let Some(sw) = &inv.software {
        at_most("software packages", sw, MAX_SOFTWARE)?;
        for s in sw {
            line("software name", &s.name, 300)?;
            line("software version", &s.version, 200)?;
            line("software source", &s.source, 30)?;
        }
    }
    if let Some(services) = &inv.services {
        at_most("services", services, MAX_SERVICES)?;
        for s in services {
            line("service name", &s.name, 300)?;
            line("service description", &s.description, 500)?;
        }
    }
    if let Some(u) = &inv.updates {
        if let Some(p) = &u.pending {
            at_most("pending updates", p, MAX_UPDATES)?;
            for x in p {
                line("update name", &x.name, 300)?;
                line("update version", &x.version, 200)?;
            }
        }
    }
    Ok(())
}

/// What is known after a report: a full one replaces everything, a diff its sections.
pub(crate) fn merge(before: Option<Inventory>, report: &Inventory, full: bool) -> Inventory {
    if full {
        return report.clone();
    }
    let mut inv = before.unwrap_or_default();
    let r = report.clone();
    if r.system.is_some() {
        inv.system = r.system;
    }
    if r.disks.is_some() {
        inv.disks = r.disks;
    }
    if r.network.is_some() {
        inv.network = r.network;
    }
    if r.users.is_some() {
        inv.users = r.users;
    }
    if r.software.is_some() {
        inv.software = r.software;
    }
    if r.services.is_some() {
        inv.services = r.services;
    }
    if r.updates.is_some() {
        inv.updates = r.updates;
    }
    inv
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
}

/// What changed from `a` to `b`: (kind, summary) in the order a technician reads them.
pub(crate) fn differences(a: &Inventory, b: &Inventory) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    if let (Some(x), Some(y)) = (&a.system, &b.system) {
        if (&x.os_name, &x.os_version) != (&y.os_name, &y.os_version) {
            out.push((
                "os_changed".into(),
                format!(
                    "operating system {} {} → {} {}",
                    x.os_name, x.os_version, y.os_name, y.os_version
                ),
            ));
        }
        if x.kernel != y.kernel {
            out.push((
                "os_changed".into(),
                format!("kernel {} → {}", x.kernel, y.kernel),
            ));
        }
        if x.memory_bytes != y.memory_bytes {
            out.push((
                "memory_changed".into(),
                format!("memory {} → {}", gib(x.memory_bytes), gib(y.memory_bytes)),
            ));
        }
        if (&x.cpu_model, x.cpu_cores) != (&y.cpu_model, y.cpu_cores) {
            out.push((
                "cpu_changed".into(),
                format!(
                    "CPU {} ({} cores) → {} ({} cores)",
                    x.cpu_model, x.cpu_cores, y.cpu_model, y.cpu_cores
                ),
            ));
        }
    }
    if let (Some(x), Some(y)) = (&a.disks, &b.disks) {
        let old: BTreeMap<&str, u64> = x
            .iter()
            .map(|d| (d.mount.as_str(), d.total_bytes))
            .collect();
        let new: BTreeMap<&str, u64> = y
            .iter()
            .map(|d| (d.mount.as_str(), d.total_bytes))
            .collect();
        for (m, size) in &new {
            if !old.contains_key(m) {
                out.push((
                    "disk_added".into(),
                    format!("disk {m} added ({})", gib(*size)),
                ));
            }
        }
        for (m, size) in &old {
            if !new.contains_key(m) {
                out.push((
                    "disk_removed".into(),
                    format!("disk {m} removed ({})", gib(*size)),
                ));
            }
        }
    }
    if let (Some(x), Some(y)) = (&a.software, &b.software) {
        let old: BTreeMap<&str, &str> = x
            .iter()
            .map(|s| (s.name.as_str(), s.version.as_str()))
            .collect();
        let new: BTreeMap<&str, &str> = y
            .iter()
            .map(|s| (s.name.as_str(), s.version.as_str()))
            .collect();
        let mut sw = Vec::new();
        for (n, v) in &new {
            match old.get(n) {
                None => sw.push(("software_installed", format!("{n} {v} installed"))),
                Some(o) if o != v => sw.push(("software_updated", format!("{n} {o} → {v}"))),
                _ => {}
            }
        }
        for (n, v) in &old {
            if !new.contains_key(n) {
                sw.push(("software_removed", format!("{n} {v} removed")));
            }
        }
        let room = MAX_CHANGES.saturating_sub(out.len());
        if sw.len() > room {
            let (installed, updated, removed) =
                sw.iter().fold((0, 0, 0), |(i, u, r), (k, _)| match *k {
                    "software_installed" => (i + 1, u, r),
                    "software_updated" => (i, u + 1, r),
                    _ => (i, u, r + 1),
                });
            out.push((
                "software_updated".into(),
                format!(
                    "{} software changes: {installed} installed, {updated} updated, {removed} removed",
                    sw.len()
                ),
            ));
        } else {
            out.extend(sw.into_iter().map(|(k, s)| (k.to_string(), s)));
        }
    }
    if let (Some(x), Some(y)) = (&a.services, &b.services) {
        let old: BTreeMap<&str, ()> = x.iter().map(|s| (s.name.as_str(), ())).collect();
        let new: BTreeMap<&str, ()> = y.iter().map(|s| (s.name.as_str(), ())).collect();
        for n in new.keys().filter(|n| !old.contains_key(*n)) {
            out.push(("service_added".into(), format!("service {n} added")));
        }
        for n in old.keys().filter(|n| !new.contains_key(*n)) {
            out.push(("service_removed".into(), format!("service {n} removed")));
        }
    }
    out.truncate(MAX_CHANGES + 1);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use outpost_proto::Software;

    fn sw(list: &[(&str, &str)]) -> Inventory {
        Inventory {
            software: Some(
                list.iter()
                    .map(|(n, v)| Software {
                        name: n.to_string(),
                        version: v.to_string(),
                        source: "dpkg".into(),
                    })
                    .collect(),
            ),
            ..Default::default()
        }
    }

    #[test]
    fn software_changes_are_named_and_a_big_upgrade_is_summed_up() {
        let a = sw(&[("curl", "7.88"), ("vim", "9.0"), ("git", "2.39")]);
        let b = sw(&[("curl", "8.1"), ("git", "2.39"), ("htop", "3.2")]);
        let d = differences(&a, &b);
        assert_eq!(
            d,
            vec![
                (
                    "software_updated".to_string(),
                    "curl 7.88 → 8.1".to_string()
                ),
                (
                    "software_installed".to_string(),
                    "htop 3.2 installed".to_string()
                ),
                (
                    "software_removed".to_string(),
                    "vim 9.0 removed".to_string()
                ),
            ]
        );
        let many: Vec<(String, String)> = (0..500).map(|i| (format!("p{i}"), "1".into())).collect();
        let refs: Vec<(&str, &str)> = many.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        let d = differences(&sw(&[]), &sw(&refs));
        assert_eq!(d.len(), 1);
        assert!(
            d[0].1.starts_with("500 software changes: 500 installed"),
            "{d:?}"
        );
    }

    #[test]
    fn a_diff_replaces_only_its_sections() {
        let mut before = sw(&[("curl", "7")]);
        before.users = Some(vec!["ana".into()]);
        let report = Inventory {
            users: Some(vec!["ben".into()]),
            ..Default::default()
        };
        let after = merge(Some(before), &report, false);
        assert_eq!(after.users, Some(vec!["ben".into()]));
        assert_eq!(after.software.map(|s| s.len()), Some(1));
    }
}
