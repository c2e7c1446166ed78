//! The desk's mail templates: Outpost's defaults and filling in `{{placeholders}}`.

use outpost_proto::MailTemplateKind;
use std::collections::BTreeMap;

/// Every placeholder a template may use.
pub const PLACEHOLDERS: &[&str] = &[
    "ticket.number",
    "ticket.title",
    "ticket.status",
    "ticket.priority",
    "client.name",
    "contact.name",
    "technician.name",
    "comment.body",
    "organisation.name",
];

pub fn default_template(kind: MailTemplateKind) -> (&'static str, &'static str) {
    match kind {
        MailTemplateKind::Reply => (
            "Re: [#{{ticket.number}}] {{ticket.title}}",
            "{{comment.body}}\n\n-- \n{{technician.name}}\n{{organisation.name}}\n\n\
             Reply to this mail to add to ticket #{{ticket.number}}; please keep \
             [#{{ticket.number}}] in the subject.\n",
        ),
        MailTemplateKind::Acknowledgement => (
            "[#{{ticket.number}}] {{ticket.title}}",
            "Hello {{contact.name}},\n\nwe have your request; it is ticket #{{ticket.number}}: \
             {{ticket.title}}.\nReply to this mail to add anything; please keep \
             [#{{ticket.number}}] in the subject.\n\n{{organisation.name}}\n",
        ),
        MailTemplateKind::Resolved => (
            "[#{{ticket.number}}] Resolved: {{ticket.title}}",
            "Hello {{contact.name}},\n\nticket #{{ticket.number}} ({{ticket.title}}) is resolved.\n\
             If it is not fixed for you, reply to this mail and we will look at it again.\n\n\
             {{technician.name}}\n{{organisation.name}}\n",
        ),
        // Written by the notifier itself, not from a template.
        MailTemplateKind::Notification => ("{{ticket.title}}", "{{comment.body}}\n"),
        // Written by the report schedule itself.
        MailTemplateKind::Report => ("{{report.title}}", "{{report.body}}\n"),
    }
}

pub fn kind_str(kind: MailTemplateKind) -> &'static str {
    match kind {
        MailTemplateKind::Reply => "reply",
        MailTemplateKind::Acknowledgement => "acknowledgement",
        MailTemplateKind::Resolved => "resolved",
        MailTemplateKind::Notification => "notification",
        MailTemplateKind::Report => "report",
    }
}

pub fn parse_kind(s: &str) -> Option<MailTemplateKind> {
    match s {
        "reply" => Some(MailTemplateKind::Reply),
        "acknowledgement" => Some(MailTemplateKind::Acknowledgement),
        "resolved" => Some(MailTemplateKind::Resolved),
        "notification" => Some(MailTemplateKind::Notification),
        "report" => Some(MailTemplateKind::Report),
        _ => None,
    }
}

/// Fills `{{name}}` with `values`; a placeholder it does not know stays as written and is
/// listed (so a preview can say so).
pub fn fill(template: &str, values: &BTreeMap<&str, String>) -> (String, Vec<String>) {
    let mut out = String::with_capacity(template.len());
    let mut unknown = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let name = after[..end].trim();
                match values.get(name) {
                    Some(v) => out.push_str(v),
                    None => {
                        out.push_str(&rest[start..start + 2 + end + 2]);
                        if !unknown.iter().any(|u| u == name) {
                            unknown.push(name.to_string());
                        }
                    }
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    (out, unknown)
}

/// A subject is one line: line breaks in a title must not become headers.
pub fn one_line(s: &str) -> String {
    s.split(['\r', '\n'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The ticket number in a subject such as `Re: [#1042] Printer offline`.
pub fn ticket_number_in(subject: &str) -> Option<i64> {
    let mut rest = subject;
    while let Some(i) = rest.find("[#") {
        let after = &rest[i + 2..];
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        if !digits.is_empty() && after[digits.len()..].starts_with(']') {
            if let Ok(n) = digits.parse() {
                return Some(n);
            }
        }
        rest = after;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_known_and_keeps_unknown() {
        let mut v = BTreeMap::new();
        v.insert("ticket.number", "1042".to_string());
        let (s, unknown) = fill("[#{{ticket.number}}] {{ nope }} {{ticket.number}} {{", &v);
        assert_eq!(s, "[#1042] {{ nope }} 1042 {{");
        assert_eq!(unknown, vec!["nope"]);
    }

    #[test]
    fn finds_the_ticket_number() {
        assert_eq!(ticket_number_in("Re: [#1042] Printer"), Some(1042));
        assert_eq!(ticket_number_in("AW: Re: [#x] [#7]"), Some(7));
        assert_eq!(ticket_number_in("[#12 no"), None);
        assert_eq!(one_line("a\r\nBcc: x@y\n b"), "a Bcc: x@y b");
    }
}
