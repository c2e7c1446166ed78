//! The TypeScript client, written from the operation table to `ui/src/lib/api.ts` by
//! `cargo xtask gen` (and compared by `cargo xtask test`).

use super::{operations, Access, Shape};
use std::collections::BTreeSet;

/// `list_tickets` → `listTickets`.
fn camel(name: &str) -> String {
    let mut out = String::new();
    let mut up = false;
    for ch in name.chars() {
        if ch == '_' {
            up = true;
        } else if up {
            out.extend(ch.to_uppercase());
            up = false;
        } else {
            out.push(ch);
        }
    }
    out
}

/// The named types a TypeScript type expression mentions (`User[]` → `User`).
fn type_names(ts: &str, into: &mut BTreeSet<String>) {
    for word in ts.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
        if word.chars().next().is_some_and(char::is_uppercase) && word != "Array" {
            into.insert(word.to_string());
        }
    }
}

pub fn typescript_client() -> String {
    let mut names = BTreeSet::new();
    let mut methods = String::new();
    for op in operations() {
        let output = (op.output.ts)();
        type_names(&output, &mut names);
        let input = op.input.map(|t| (t.ts)());
        if let Some(i) = &input {
            type_names(i, &mut names);
        }
        let mut params = Vec::new();
        let mut fields = vec![
            format!("op: '{}'", op.name),
            format!("auth: {}", op.access != Access::Public),
            format!("write: {}", op.writes),
        ];
        if op.shape.has_id() {
            params.push("id: string".to_string());
            fields.push("id".into());
        }
        match (op.shape, &input) {
            (Shape::Body | Shape::IdBody, Some(t)) => {
                params.push(format!("body: {t}"));
                fields.push("body".into());
            }
            (Shape::Query | Shape::IdQuery, Some(t)) => {
                params.push(format!("query: {t}"));
                fields.push("query".into());
            }
            _ => {}
        }
        if let Some(route) = op.route {
            let path = route.path.replace("{id}", "${enc(id)}");
            fields.push(format!(
                "http: {{ method: '{}', path: `{path}` }}",
                route.method.as_str()
            ));
        }
        let note = if op.desktop_only() {
            " (desktop app only)"
        } else if op.server_only {
            " (answered by the server; the desktop app refuses it)"
        } else {
            ""
        };
        methods.push_str(&format!(
            "  /** {}{note} */\n  {}: ({}) =>\n    call<{output}>({{ {} }}),\n\n",
            op.summary,
            camel(op.name),
            params.join(", "),
            fields.join(", "),
        ));
    }
    let imports = names.into_iter().collect::<Vec<_>>().join(",\n  ");
    format!(
        "// Generated from the operation table (crates/core/src/api/operations.rs) by\n\
         // `cargo xtask gen`. Do not edit by hand: add or change the operation there.\n\n\
         import type {{\n  {imports},\n}} from './types';\n\
         import {{ call }} from './transport';\n\n\
         export * from './transport';\n\n\
         const enc = encodeURIComponent;\n\n\
         export const api = {{\n{}}};\n",
        methods.trim_end_matches('\n').to_string() + "\n"
    )
}
