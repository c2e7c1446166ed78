//! Mail in as hostile input: parsed with mail-parser (charsets decoded, lying ones replaced),
//! turned into plain text (HTML is never kept, only its text), quoted history folded away,
//! and machine-written mail recognised.

use mail_parser::{HeaderValue, MessageParser, MimeHeaders};
use outpost_proto::{IncomingAttachment, IncomingMail};

/// The most CC addresses kept (a 10,000-recipient line is not a reason to mail 10,000 people).
pub const MAX_CC: usize = 50;
/// The most text kept of one mail.
const MAX_TEXT_CHARS: usize = 100_000;

fn ids(v: &HeaderValue) -> Vec<String> {
    v.as_text_list()
        .map(|l| {
            l.iter()
                .map(|s| s.trim_matches(['<', '>', ' ']).to_string())
                .filter(|s| !s.is_empty() && s.len() <= 998)
                .take(50)
                .collect()
        })
        .unwrap_or_default()
}

/// Why a mail was written by a machine, if it was (RFC 3834 and the usual marks).
fn automatic(m: &mail_parser::Message, from: &str) -> Option<String> {
    let raw = |name: &str| m.header_raw(name).map(|v| v.trim().to_ascii_lowercase());
    if let Some(v) = raw("Auto-Submitted") {
        if !v.starts_with("no") {
            return Some(format!("Auto-Submitted: {v}"));
        }
    }
    if let Some(v) = raw("Precedence") {
        if ["bulk", "junk", "list", "auto_reply"]
            .iter()
            .any(|p| v.starts_with(p))
        {
            return Some(format!("Precedence: {v}"));
        }
    }
    for h in ["X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"] {
        if let Some(v) = raw(h) {
            if h != "X-Auto-Response-Suppress" || v.contains("all") || v.contains("autoreply") {
                return Some(format!("{h}: {v}"));
            }
        }
    }
    if raw("Content-Type").is_some_and(|c| c.starts_with("multipart/report")) {
        return Some("a delivery report (bounce)".into());
    }
    let local = from.split('@').next().unwrap_or("").to_ascii_lowercase();
    if local == "mailer-daemon"
        || local == "postmaster"
        || local.starts_with("noreply")
        || local.starts_with("no-reply")
        || local.starts_with("donotreply")
    {
        return Some(format!("sent by {from}"));
    }
    if m.return_address().is_none() && raw("Return-Path").is_some_and(|r| r == "<>") {
        return Some("an empty Return-Path (a bounce)".into());
    }
    None
}

/// Cuts the quoted history of a reply: from the first "On … wrote:", "-----Original
/// Message-----" or "From: …" header block, or the first run of `>` lines after text.
pub fn fold_quoted(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut cut = lines.len();
    for (i, l) in lines.iter().enumerate() {
        let t = l.trim();
        let lower = t.to_ascii_lowercase();
        let wrote = (lower.starts_with("on ")
            && (lower.ends_with("wrote:") || lower.ends_with("schrieb:")))
            || (lower.starts_with("am ") && lower.ends_with("schrieb:"));
        let original = lower.starts_with("-----original message")
            || lower.starts_with("----- original message")
            || lower.starts_with("-----ursprüngliche nachricht");
        let outlook = lower.starts_with("from:")
            && lines.get(i + 1..i + 4).is_some_and(|n| {
                n.iter().any(|x| {
                    x.trim().to_ascii_lowercase().starts_with("sent:")
                        || x.trim().to_ascii_lowercase().starts_with("date:")
                })
            });
        let quoted = t.starts_with('>')
            && lines[i..]
                .iter()
                .all(|x| x.trim().is_empty() || x.trim_start().starts_with('>'));
        if (wrote || original || outlook || quoted) && i > 0 {
            cut = i;
            break;
        }
    }
    let mut kept = lines[..cut].join("\n").trim_end().to_string();
    if cut < lines.len() {
        kept.push_str("\n\n[earlier messages folded away]");
    }
    kept
}

/// Parses one raw mail; None if it is not a mail at all.
pub fn parse(raw: &[u8]) -> Option<IncomingMail> {
    let m = MessageParser::default().parse(raw)?;
    let from = m.from().and_then(|a| a.first());
    let from_address = from
        .and_then(|a| a.address())
        .unwrap_or("")
        .trim()
        .to_string();
    let from_name = from.and_then(|a| a.name()).unwrap_or("").trim().to_string();
    let text = match m.body_text(0) {
        Some(t) => t.into_owned(),
        // HTML only: mail-parser turns it into text; the markup is never kept.
        None => m
            .body_html(0)
            .map(|h| mail_parser::decoders::html::html_to_text(&h))
            .unwrap_or_default(),
    };
    let text: String = text
        .replace("\r\n", "\n")
        .chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .take(MAX_TEXT_CHARS)
        .collect();
    let cc = m
        .cc()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.address())
                .map(|s| s.trim().to_ascii_lowercase())
                .take(MAX_CC)
                .collect()
        })
        .unwrap_or_default();
    Some(IncomingMail {
        message_id: m.message_id().unwrap_or("").trim().to_string(),
        in_reply_to: ids(m.in_reply_to()),
        references: ids(m.references()),
        automatic: automatic(&m, &from_address),
        from_address,
        from_name,
        subject: m.subject().unwrap_or("").to_string(),
        text: fold_quoted(&text),
        cc,
        size: raw.len() as u64,
        refused: None,
        attachments: m.attachments().map(attachment).collect(),
    })
}

/// One file of a mail, named as its sender named it (the core makes the name safe), or by
/// its type when it has no name (an inline screenshot).
fn attachment(part: &mail_parser::MessagePart<'_>) -> IncomingAttachment {
    let named = part
        .attachment_name()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    let file_name = match named {
        Some(n) => n.to_string(),
        None => {
            let (ctype, sub) = part
                .content_type()
                .map(|c| {
                    (
                        c.ctype().to_ascii_lowercase(),
                        c.subtype().unwrap_or("").to_ascii_lowercase(),
                    )
                })
                .unwrap_or_default();
            let ext = match (ctype.as_str(), sub.as_str()) {
                ("image", "png") => "png",
                ("image", "jpeg" | "jpg") => "jpg",
                ("image", "gif") => "gif",
                ("message", "rfc822") => "eml",
                ("text", _) => "txt",
                _ => "bin",
            };
            format!("attachment.{ext}")
        }
    };
    IncomingAttachment {
        file_name,
        bytes: part.contents().to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_becomes_text_and_history_folds() {
        let raw = b"From: Dana <dana@dental.example>\r\nTo: help@acme.example\r\nSubject: Re: [#1042] Printer\r\nMessage-ID: <a1@dental.example>\r\nIn-Reply-To: <x@acme.example>\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Still <b>broken</b><script>alert(1)</script></p><p>On Mon, Help wrote:</p><blockquote>old</blockquote>";
        let m = parse(raw).unwrap();
        assert_eq!(m.from_address, "dana@dental.example");
        assert_eq!(m.in_reply_to, vec!["x@acme.example"]);
        assert!(m.text.contains("Still broken"), "{}", m.text);
        assert!(!m.text.contains('<'), "{}", m.text);
        assert!(m.automatic.is_none());
    }

    #[test]
    fn auto_replies_are_recognised() {
        let raw = b"From: Dana <dana@dental.example>\r\nSubject: Out of office\r\nAuto-Submitted: auto-replied\r\n\r\nI am away";
        assert!(parse(raw)
            .unwrap()
            .automatic
            .unwrap()
            .contains("auto-replied"));
        let raw = b"From: MAILER-DAEMON@mx.example\r\nSubject: Undeliverable\r\n\r\nx";
        assert!(parse(raw).unwrap().automatic.is_some());
    }

    #[test]
    fn quoted_lines_fold() {
        let t = "Thanks, works now.\n\n> old line\n> older";
        assert_eq!(
            fold_quoted(t),
            "Thanks, works now.\n\n[earlier messages folded away]"
        );
        assert_eq!(fold_quoted("> only quote"), "> only quote");
    }
}

#[cfg(test)]
mod composed {
    use crate::smtp::{compose, Outgoing};

    /// A mail the desk writes with a file is read back (by the same parser that reads
    /// clients' mail) with its text and the file's exact bytes.
    #[test]
    fn a_report_mail_carries_its_pdf() {
        let pdf = b"%PDF-1.7\n\x00\xff binary \r\n bytes".to_vec();
        let raw = compose(&Outgoing {
            from_address: "desk@northwind.example".into(),
            from_name: "Northwind IT".into(),
            to: vec!["dana@harbour.example".into()],
            cc: vec![],
            subject: "Service report November 2026: Harbour Dental".into(),
            body: "Hello,\n\nattached is the report.\n".into(),
            message_id: "r1@northwind.example".into(),
            in_reply_to: None,
            references: vec![],
            date: std::time::SystemTime::now(),
            automatic: true,
            attachments: vec![(
                "Harbour Dental service report 2026-11-01 to 2026-11-30.pdf".into(),
                "application/pdf".into(),
                pdf.clone(),
            )],
        })
        .unwrap();
        let text = String::from_utf8_lossy(&raw);
        assert!(text.contains("multipart/mixed"), "{text}");
        let m = super::parse(&raw).unwrap();
        assert!(m.text.contains("attached is the report"), "{}", m.text);
        assert_eq!(m.attachments.len(), 1);
        assert_eq!(
            m.attachments[0].file_name,
            "Harbour Dental service report 2026-11-01 to 2026-11-30.pdf"
        );
        assert_eq!(m.attachments[0].bytes, pdf);
    }
}
