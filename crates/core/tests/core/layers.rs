//! The layers of the core, read from its source: each imports only the layers below it, so
//! no domain is reached from store or sync and no two modules import each other.
//!
//! clock, error < store < sync < clients < auth, fleet, desk < scripts < alerts < notify < reports < demo, records < api
//! (scripts notes run results on tickets; alerts will run scripts when they fire)

use std::path::Path;

/// Every module the files of `module` (a file or a folder under src/) refer to as `crate::x`.
fn imports(module: &str) -> std::collections::BTreeSet<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    let dir = src.join(module);
    if dir.is_dir() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "rs") {
                files.push(p);
            }
        }
    } else {
        files.push(src.join(format!("{module}.rs")));
    }
    let mut found = std::collections::BTreeSet::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        // Code only: docs may name the layers above.
        for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for (i, _) in line.match_indices("crate::") {
                let name: String = line[i + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() && name != module {
                    found.insert(name);
                }
            }
        }
    }
    found
}

#[test]
fn each_layer_imports_only_the_layers_below_it() {
    let layers: &[(&str, &[&str])] = &[
        ("store", &["clock", "error"]),
        ("sync", &["clock", "error", "store"]),
        ("clients", &["clock", "error", "store", "sync"]),
        ("auth", &["clock", "error", "store", "sync", "clients"]),
        // Counts rows of every domain for the operator, in SQL only.
        ("operating", &["clock", "error", "store"]),
        // Reads the chain the store writes.
        ("audit", &["clock", "error", "store"]),
        ("fleet", &["clock", "error", "store", "sync", "clients"]),
        ("desk", &["clock", "error", "store", "sync", "clients"]),
        (
            "scripts",
            &[
                "clock", "error", "store", "sync", "clients", "auth", "fleet", "desk",
            ],
        ),
        (
            "alerts",
            &[
                "clock", "error", "store", "sync", "clients", "auth", "fleet", "desk", "scripts",
            ],
        ),
        // Reads the change log and the records it names; tells the outside world.
        (
            "notify",
            &[
                "clock", "error", "store", "sync", "clients", "auth", "fleet", "desk", "scripts",
                "alerts",
            ],
        ),
        // Copies the store and the files beside it that the domains keep.
        (
            "backup",
            &["clock", "error", "store", "audit", "desk", "notify"],
        ),
        // Counts what the domains wrote; its schedules mail through notify's outbox.
        (
            "reports",
            &[
                "clock", "error", "store", "sync", "clients", "auth", "fleet", "desk", "scripts",
                "alerts", "notify",
            ],
        ),
    ];
    for (module, allowed) in layers {
        for used in imports(module) {
            // Items re-exported at the crate root (`crate::Core`) are the store's.
            if used.chars().next().is_some_and(char::is_uppercase) {
                continue;
            }
            assert!(
                allowed.contains(&used.as_str()),
                "{module} imports crate::{used}, a layer above it or beside it"
            );
        }
    }
}
