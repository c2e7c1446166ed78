//! Mail in against a real IMAP server (Debian's Dovecot, configured here in a temp folder)
//! with the real SMTP sink: a mail becomes a ticket for the right client, the technician's
//! reply goes out threaded, the client's answer lands on the same ticket, an auto-reply
//! does not loop, an unknown sender is added as a contact in one click, and nothing is
//! imported twice.

use crate::mail::{client_with_contact, header, smtp_body, start, Sink};
use crate::mail_servers::Dovecot;
use crate::{refused, server, Server};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

async fn tickets_titled(s: &Server, title: &str) -> Vec<Value> {
    let page = s.ok(s.get("/tickets?limit=100").await).await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["title"] == title)
        .cloned()
        .collect()
}

async fn wait_ticket(s: &Server, title: &str) -> Value {
    for _ in 0..200 {
        if let Some(t) = tickets_titled(s, title).await.pop() {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no ticket '{title}' came from the mailbox");
}

async fn comments(s: &Server, id: &str) -> Vec<Value> {
    let d = s.ok(s.get(&format!("/tickets/{id}")).await).await;
    d["comments"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_mail_becomes_a_ticket_and_the_thread_goes_both_ways() {
    let s = server().await;
    start(s.core.clone());
    let sink = Sink::start(&[]);
    let imap = Dovecot::start("help", "imap-pass");
    s.ok(s.put("/mail/smtp", smtp_body(sink.port)).await).await;
    let (client, contact) = client_with_contact(&s, "dana@dental.example").await;

    // Bad mailboxes are refused in words.
    for (body, says) in [
        (
            json!({"host": "127.0.0.1", "port": imap.port, "tls": "no", "username": "help", "password": "x", "folder": "INBOX"}),
            "tls",
        ),
        (
            json!({"host": "127.0.0.1", "port": 0, "tls": false, "username": "help", "password": "x", "folder": "INBOX"}),
            "port",
        ),
        (
            json!({"host": "127.0.0.1", "port": imap.port, "tls": false, "username": "help", "password": "", "folder": "INBOX"}),
            "password",
        ),
    ] {
        let m = refused(
            s.post("/mail/mailboxes", body.clone()).await,
            StatusCode::BAD_REQUEST,
            "validation",
        )
        .await;
        assert!(m.contains(says), "{body}: {m}");
    }
    let mailbox = json!({"host": "127.0.0.1", "port": imap.port, "tls": false, "username": "help",
                         "password": "imap-pass", "folder": "INBOX"});
    let r = s.post("/mail/mailboxes", mailbox.clone()).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    refused(
        s.post("/mail/mailboxes", mailbox).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;

    // A known contact writes in: a ticket for her client, acknowledged in her thread.
    imap.deliver(
        "help",
        "From: Dana Dentist <dana@dental.example>\nTo: help@acme-it.example\n\
         Cc: Office <office@dental.example>, help@acme-it.example\n\
         Subject: Printer offline\nMessage-ID: <first@dental.example>\n\
         MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b1\"\n\n\
         --b1\nContent-Type: text/plain; charset=utf-8\n\n\
         The reception printer shows offline since 9:00.\n\
         --b1\nContent-Type: image/png; name=\"display.png\"\n\
         Content-Disposition: attachment; filename=\"display.png\"\n\
         Content-Transfer-Encoding: base64\n\niVBORw0KGgpwcmludGVyIGRpc3BsYXk=\n\
         --b1\nContent-Type: text/html; name=\"../../etc/passwd\"\n\
         Content-Disposition: attachment; filename=\"../../etc/passwd\"\n\n\
         <script>alert(1)</script>\n\
         --b1--\n",
    );
    let t = wait_ticket(&s, "Printer offline").await;
    assert_eq!(t["client_id"], client.as_str());
    assert_eq!(t["contact_id"], contact.as_str());
    let tid = t["id"].as_str().unwrap().to_string();
    let number = t["number"].as_i64().unwrap();
    let detail = s.ok(s.get(&format!("/tickets/{tid}")).await).await;
    let description = detail["ticket"]["description"].as_str().unwrap();
    assert!(description.contains("offline since 9:00"), "{detail}");
    assert!(description.contains("dana@dental.example"), "{detail}");
    // Her files are on the ticket, named safely; the image previews, the page does not run.
    let files = detail["attachments"].as_array().unwrap();
    let shown: Vec<(&str, bool, &str)> = files
        .iter()
        .map(|f| {
            (
                f["file_name"].as_str().unwrap(),
                f["preview"].as_bool().unwrap(),
                f["source"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [("display.png", true, "mail"), ("passwd", false, "mail")],
        "{detail}"
    );
    let png = s
        .get(&format!(
            "/attachments/{}",
            files[0]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(png.headers()["content-type"], "image/png");
    assert_eq!(
        png.bytes().await.unwrap().as_ref(),
        b"\x89PNG\r\n\x1a\nprinter display"
    );
    let page = s
        .get(&format!(
            "/attachments/{}",
            files[1]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(page.headers()["content-type"], "application/octet-stream");
    let first_mails = sink.wait_mails(1).await;
    // Whoever she copied is copied back; our own address is not.
    assert_eq!(
        first_mails[0]["rcpt_tos"],
        json!(["dana@dental.example", "office@dental.example"])
    );
    let ack = first_mails[0]["data"].as_str().unwrap().to_string();
    assert!(header(&ack, "Cc")
        .unwrap()
        .contains("office@dental.example"));
    assert_eq!(
        header(&ack, "In-Reply-To").as_deref(),
        Some("<first@dental.example>")
    );

    // The technician answers and waits on the client; her reply lands on the same ticket
    // and reopens it, with the quoted history folded away.
    s.ok(s
        .post(
            &format!("/tickets/{tid}/comments"),
            json!({"body": "Can you restart it and tell me what the display says?"}),
        )
        .await)
        .await;
    s.ok(s
        .patch(
            &format!("/tickets/{tid}"),
            json!({"status": "waiting_on_client"}),
        )
        .await)
        .await;
    let reply = sink.wait_mails(2).await[1]["data"]
        .as_str()
        .unwrap()
        .to_string();
    let reply_id = header(&reply, "Message-ID").unwrap();
    imap.deliver(
        "help",
        &format!(
            "From: Dana Dentist <dana@dental.example>\nTo: help@acme-it.example\n\
             Subject: Re: [#{number}] Printer offline\nMessage-ID: <second@dental.example>\n\
             In-Reply-To: {reply_id}\nReferences: <first@dental.example> {reply_id}\n\
             Content-Type: text/plain; charset=utf-8\n\nIt says PC LOAD LETTER.\n\n\
             On Tue, Acme IT wrote:\n> Can you restart it?\n"
        ),
    );
    let mut from_mail = None;
    for _ in 0..200 {
        from_mail = comments(&s, &tid)
            .await
            .into_iter()
            .find(|c| c["body"].as_str().unwrap().contains("PC LOAD LETTER"));
        if from_mail.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let c = from_mail.expect("the client's reply became a comment");
    let body = c["body"].as_str().unwrap();
    assert!(
        body.starts_with("From Dana Dentist <dana@dental.example> by mail:"),
        "{body}"
    );
    assert!(
        !body.contains("Can you restart it?"),
        "history folded: {body}"
    );
    assert_eq!(c["internal"], false);
    let t = s.ok(s.get(&format!("/tickets/{tid}")).await).await;
    assert_eq!(
        t["ticket"]["status"], "open",
        "her answer reopens the ticket"
    );

    // Her out-of-office answer to that: no ticket, no comment, no answer.
    imap.deliver(
        "help",
        &format!(
            "From: Dana Dentist <dana@dental.example>\nSubject: Out of office: Re: [#{number}] Printer offline\n\
             Message-ID: <ooo@dental.example>\nAuto-Submitted: auto-replied\nIn-Reply-To: {reply_id}\n\n\
             I am away until Monday.\n"
        ),
    );
    // A stranger at a new domain: the Unsorted mail client, one click makes them a contact.
    imap.deliver(
        "help",
        "From: Sam Stranger <sam@new-client.example>\nSubject: Need a quote for 5 laptops\n\
         Message-ID: <sam1@new-client.example>\n\nHello, can you send a quote?\n",
    );
    let sam = wait_ticket(&s, "Need a quote for 5 laptops").await;
    let unsorted = s
        .ok(s
            .get(&format!("/clients/{}", sam["client_id"].as_str().unwrap()))
            .await)
        .await;
    assert_eq!(unsorted["client"]["name"], "Unsorted mail");
    let added = s
        .post(
            &format!("/tickets/{}/sender-contact", sam["id"].as_str().unwrap()),
            json!({}),
        )
        .await;
    assert_eq!(added.status(), StatusCode::CREATED);
    let added: Value = added.json().await.unwrap();
    assert_eq!(added["email"], "sam@new-client.example");
    assert_eq!(added["name"], "Sam Stranger");
    let sam_after = s
        .ok(s
            .get(&format!("/tickets/{}", sam["id"].as_str().unwrap()))
            .await)
        .await;
    assert!(sam_after
        .to_string()
        .contains(added["id"].as_str().unwrap()));

    // Every mail was taken and marked read; the auto-reply was counted as ignored.
    let mut boxes = Value::Null;
    for _ in 0..100 {
        boxes = s.ok(s.get("/mail/mailboxes").await).await;
        if boxes[0]["imported"].as_i64().unwrap() + boxes[0]["ignored"].as_i64().unwrap() >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(boxes[0]["imported"], 3, "{boxes}");
    assert_eq!(boxes[0]["ignored"], 1, "{boxes}");
    assert_eq!(boxes[0]["last_error"], Value::Null, "{boxes}");
    let mut seen = (0, 0);
    for _ in 0..100 {
        seen = imap.seen("help");
        if seen == (4, 4) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        seen,
        (4, 4),
        "every processed mail is marked read on the server"
    );
    // Replies went to Dana (ack, reply) and Sam's acknowledgement: none to the auto-reply.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let sent = sink.mails();
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert_eq!(sent[2]["rcpt_tos"], json!(["sam@new-client.example"]));

    // The same mailbox removed and read again from its start: nothing is imported twice.
    let id = boxes[0]["id"].as_str().unwrap();
    assert_eq!(
        s.delete(&format!("/mail/mailboxes/{id}")).await.status(),
        StatusCode::NO_CONTENT
    );
    let again = json!({"host": "127.0.0.1", "port": imap.port, "tls": false, "username": "help",
                       "password": "imap-pass", "folder": "INBOX"});
    s.ok(s.post("/mail/mailboxes", again).await).await;
    for _ in 0..100 {
        boxes = s.ok(s.get("/mail/mailboxes").await).await;
        if boxes[0]["ignored"].as_i64().unwrap() >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        (boxes[0]["imported"].clone(), boxes[0]["ignored"].clone()),
        (json!(0), json!(4)),
        "{boxes}"
    );
    assert_eq!(tickets_titled(&s, "Printer offline").await.len(), 1);
    assert_eq!(
        tickets_titled(&s, "Need a quote for 5 laptops").await.len(),
        1
    );
    assert_eq!(comments(&s, &tid).await.len(), 2);
}
