//! Mail out against a real SMTP server on loopback (aiosmtpd, tests/support/smtp_sink.py):
//! settings and the test mail's words, the desk's mails with their threading headers, and
//! the outbox across SIGKILL of the real server binary.

pub use crate::mail_servers::{free_port, header, Sink};
use crate::{refused, server, Server};
use outpost_server::mail::{MailConfig, MailInConfig};
use outpost_server::senders::{self, SendersConfig};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub fn smtp_body(port: u16) -> Value {
    json!({"host": "127.0.0.1", "port": port, "security": "none",
           "from_address": "help@acme-it.example", "from_name": "Acme IT Service Desk"})
}

/// The planner, the senders and the mailbox readers at test speed.
pub fn start(core: std::sync::Arc<outpost_core::Core>) {
    senders::start(
        core,
        SendersConfig {
            plan_every: Duration::from_millis(50),
            mail: MailConfig {
                tick: Duration::from_millis(50),
                retry_base: Duration::from_millis(200),
                timeout: Duration::from_secs(5),
            },
            mail_in: MailInConfig {
                poll: Duration::from_millis(300),
                rescan: Duration::from_millis(100),
                timeout: Duration::from_secs(5),
            },
            ..Default::default()
        },
    );
}

/// A client with a contact who has an address; returns (client id, contact id).
pub async fn client_with_contact(s: &Server, email: &str) -> (String, String) {
    let client = s
        .ok(s.post("/clients", json!({"name": "Acme Dental"})).await)
        .await;
    let id = client["id"].as_str().unwrap().to_string();
    let contact = s
        .ok(s
            .post(
                &format!("/clients/{id}/contacts"),
                json!({"name": "Dana Dentist", "email": email}),
            )
            .await)
        .await;
    (id, contact["id"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn the_test_mail_says_which_step_failed() {
    let s = server().await;
    start(s.core.clone());
    let sink = Sink::start(&["--auth", "desk:s3cret", "--refuse", "nobody@client.example"]);

    // Bad settings are refused in words, nothing stored.
    for (body, says) in [
        (
            json!({"host": "smtp example", "port": 25, "security": "none", "from_address": "a@b.example", "from_name": "x"}),
            "host",
        ),
        (
            json!({"host": "127.0.0.1", "port": 0, "security": "none", "from_address": "a@b.example", "from_name": "x"}),
            "port",
        ),
        (
            json!({"host": "127.0.0.1", "port": 25, "security": "none", "from_address": "not an address", "from_name": "x"}),
            "from_address",
        ),
        (
            json!({"host": "127.0.0.1", "port": 25, "security": "ssl", "from_address": "a@b.example", "from_name": "x"}),
            "security",
        ),
        (
            json!({"host": "127.0.0.1", "port": 25, "security": "none", "from_address": "a@b.example", "from_name": "x", "password": "p"}),
            "username",
        ),
    ] {
        let m = refused(
            s.put("/mail/smtp", body.clone()).await,
            StatusCode::BAD_REQUEST,
            "validation",
        )
        .await;
        assert!(m.contains(says), "{body}: {m}");
    }
    assert_eq!(s.ok(s.get("/mail/smtp").await).await["configured"], false);
    let m = refused(
        s.post("/mail/smtp/test", json!({"to": "dana@client.example"}))
            .await,
        StatusCode::BAD_REQUEST,
        "validation",
    )
    .await;
    assert!(m.contains("save the SMTP settings first"), "{m}");

    let mut settings = smtp_body(sink.port);
    settings["username"] = json!("desk");
    settings["password"] = json!("wrong");
    let saved = s.ok(s.put("/mail/smtp", settings.clone()).await).await;
    assert_eq!(saved["password_set"], true);
    assert!(saved.get("password").is_none(), "{saved}");
    let test = |to: &'static str| {
        let s = &s;
        async move {
            s.ok(s.post("/mail/smtp/test", json!({"to": to})).await)
                .await
        }
    };
    let r = test("dana@client.example").await;
    assert_eq!(
        (r["ok"].clone(), r["step"].clone()),
        (json!(false), json!("auth")),
        "{r}"
    );
    assert!(r["message"].as_str().unwrap().contains("535"), "{r}");

    // Absent password: the stored one stays (still wrong); then the right one.
    settings.as_object_mut().unwrap().remove("password");
    assert_eq!(
        s.ok(s.put("/mail/smtp", settings.clone()).await).await["password_set"],
        true
    );
    settings["password"] = json!("s3cret");
    s.ok(s.put("/mail/smtp", settings.clone()).await).await;
    let r = test("nobody@client.example").await;
    assert_eq!(r["step"], "recipient", "{r}");
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .contains("nobody@client.example"),
        "{r}"
    );
    assert!(r["message"].as_str().unwrap().contains("550"), "{r}");
    let r = test("dana@client.example").await;
    assert_eq!(r["ok"], true, "{r}");
    let mails = sink.wait_mails(1).await;
    assert_eq!(mails.len(), 1, "only the good test arrived");
    assert_eq!(mails[0]["rcpt_tos"], json!(["dana@client.example"]));
    assert_eq!(mails[0]["mail_from"], "help@acme-it.example");
    let data = mails[0]["data"].as_str().unwrap();
    assert_eq!(
        header(data, "Subject").as_deref(),
        Some("Outpost test mail")
    );
    assert!(header(data, "From")
        .unwrap()
        .contains("Acme IT Service Desk"));

    // Nothing listens there / no such host.
    let closed = free_port();
    let mut elsewhere = smtp_body(closed);
    s.ok(s.put("/mail/smtp", elsewhere.clone()).await).await;
    let r = test("dana@client.example").await;
    assert_eq!(r["step"], "connect", "{r}");
    elsewhere["host"] = json!("no-such-host.invalid");
    s.ok(s.put("/mail/smtp", elsewhere).await).await;
    let r = test("dana@client.example").await;
    assert_eq!(r["step"], "dns", "{r}");
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .contains("no-such-host.invalid"),
        "{r}"
    );
}

#[tokio::test]
async fn the_desk_mails_the_contact_in_one_thread() {
    let s = server().await;
    start(s.core.clone());
    let sink = Sink::start(&[]);
    s.ok(s.put("/mail/smtp", smtp_body(sink.port)).await).await;
    let (client, contact) = client_with_contact(&s, "dana@client.example").await;
    let t = s
        .ok(s
            .post(
                "/tickets",
                json!({"title": "Printer offline", "client_id": client, "contact_id": contact}),
            )
            .await)
        .await;
    let number = t["number"].as_i64().unwrap();
    let tid = t["id"].as_str().unwrap();
    // The acknowledgement.
    let mails = sink.wait_mails(1).await;
    let ack = mails[0]["data"].as_str().unwrap().to_string();
    assert_eq!(mails[0]["rcpt_tos"], json!(["dana@client.example"]));
    let subject = header(&ack, "Subject").unwrap();
    assert!(
        subject.starts_with(&format!("[#{number}] Printer offline")),
        "{subject}"
    );
    assert_eq!(
        header(&ack, "Auto-Submitted").as_deref(),
        Some("auto-generated")
    );
    let ack_id = header(&ack, "Message-ID").unwrap();
    assert!(
        ack_id.starts_with('<') && ack_id.ends_with("@acme-it.example>"),
        "{ack_id}"
    );

    // An internal note mails nobody; a public reply goes in the same thread.
    s.ok(s
        .post(
            &format!("/tickets/{tid}/comments"),
            json!({"body": "Toner is low", "internal": true}),
        )
        .await)
        .await;
    s.ok(s
        .post(
            &format!("/tickets/{tid}/comments"),
            json!({"body": "We replaced the fuser; please print a test page. Grüße"}),
        )
        .await)
        .await;
    let mails = sink.wait_mails(2).await;
    let reply = mails[1]["data"].as_str().unwrap();
    assert_eq!(
        header(reply, "Subject").unwrap(),
        format!("Re: [#{number}] Printer offline")
    );
    assert_eq!(header(reply, "In-Reply-To").unwrap(), ack_id);
    assert!(header(reply, "References").unwrap().contains(&ack_id));
    assert_eq!(header(reply, "Auto-Submitted"), None, "a person wrote it");
    assert!(reply.contains("We replaced the fuser"), "{reply}");
    let reply_id = header(reply, "Message-ID").unwrap();

    // Resolving mails the resolution, threaded under both.
    s.ok(s
        .patch(&format!("/tickets/{tid}"), json!({"status": "resolved"}))
        .await)
        .await;
    let mails = sink.wait_mails(3).await;
    let resolved = mails[2]["data"].as_str().unwrap();
    assert!(header(resolved, "Subject").unwrap().contains("Resolved"));
    assert_eq!(header(resolved, "In-Reply-To").unwrap(), reply_id);
    let refs = header(resolved, "References").unwrap();
    assert!(refs.contains(&ack_id) && refs.contains(&reply_id), "{refs}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.mails().len(), 3, "nothing more was sent");

    let outbox = s
        .ok(s.get(&format!("/mail/outbox?ticket_id={tid}")).await)
        .await;
    let items = outbox["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert!(items.iter().all(|m| m["state"] == "sent"), "{outbox}");
    assert_eq!(items[0]["kind"], "resolved");
    assert_eq!(items[2]["kind"], "acknowledgement");
    assert_eq!(items[0]["ticket_number"], number);
}

#[tokio::test]
async fn a_down_mail_server_is_retried_and_a_refusal_fails_at_once() {
    let s = server().await;
    start(s.core.clone());
    let port = free_port();
    s.ok(s.put("/mail/smtp", smtp_body(port)).await).await;
    let (client, contact) = client_with_contact(&s, "dana@client.example").await;
    s.ok(s
        .post(
            "/tickets",
            json!({"title": "VPN down", "client_id": client, "contact_id": contact}),
        )
        .await)
        .await;
    // Nothing listens yet: the mail waits and says why.
    let mut outbox = Value::Null;
    for _ in 0..100 {
        outbox = s.ok(s.get("/mail/outbox").await).await;
        if outbox["items"][0]["attempts"].as_i64().unwrap_or(0) >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let m = &outbox["items"][0];
    assert_eq!(m["state"], "queued", "{outbox}");
    assert!(
        m["last_error"].as_str().unwrap().starts_with("connecting"),
        "{m}"
    );
    // The server comes up on that port: the mail goes, once.
    let sink = Sink::start_on(port, &["--refuse", "gone@client.example"]);
    let mails = sink.wait_mails(1).await;
    assert_eq!(mails.len(), 1);

    // A contact whose mailbox the server refuses (550): failed at once, in words.
    let c2 = s
        .ok(s
            .post(
                &format!("/clients/{client}/contacts"),
                json!({"name": "Gone", "email": "gone@client.example"}),
            )
            .await)
        .await;
    s.ok(s
        .post(
            "/tickets",
            json!({"title": "Old laptop", "client_id": client, "contact_id": c2["id"]}),
        )
        .await)
        .await;
    let mut failed = Value::Null;
    for _ in 0..100 {
        failed = s.ok(s.get("/mail/outbox?state=failed").await).await;
        if failed["total"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(failed["total"], 1, "{failed}");
    let f = &failed["items"][0];
    assert_eq!(f["attempts"], 1);
    let e = f["last_error"].as_str().unwrap();
    assert!(e.starts_with("a recipient") && e.contains("550"), "{e}");
    assert_eq!(failed["failed"], 1);
}

/// The real binary, killed (SIGKILL) while its mail is being handed over, and started again.
struct Binary {
    child: Child,
    base: String,
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Binary {
    async fn start(dir: &std::path::Path, port: u16) -> Binary {
        let child = Command::new(env!("CARGO_BIN_EXE_outpost-server"))
            .args(["serve", "--data-dir"])
            .arg(dir)
            .args([
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--mail-retry-secs",
                "0.2",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Killed and reaped on drop, whether or not it comes up.
        let server = Binary {
            child,
            base: format!("http://127.0.0.1:{port}/api/v1"),
        };
        for _ in 0..400 {
            if reqwest::get(format!("{}/health", server.base))
                .await
                .is_ok()
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("outpost-server did not come up");
    }
}

async fn call(token: &str, method: reqwest::Method, url: String, body: Option<Value>) -> Value {
    let mut r = reqwest::Client::new()
        .request(method, url)
        .bearer_auth(token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let status = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{status}: {v}");
    v
}

#[tokio::test]
async fn the_outbox_survives_sigkill_mid_send_without_sending_twice() {
    use reqwest::Method;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut server = Binary::start(dir.path(), port).await;
    let setup: Value = reqwest::Client::new()
        .post(format!("{}/setup", server.base))
        .json(&json!({"username": "ada", "display_name": "Ada", "password": "correct horse"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = setup["token"].as_str().unwrap().to_string();
    let base = server.base.clone();

    // 1. Killed after the mail server took the message but before it said so: the mail is
    // unsure after the restart and is not sent again by itself.
    let sink = Sink::start(&["--slow-data", "30"]);
    call(
        &token,
        Method::PUT,
        format!("{base}/mail/smtp"),
        Some(smtp_body(sink.port)),
    )
    .await;
    let client = call(
        &token,
        Method::POST,
        format!("{base}/clients"),
        Some(json!({"name": "Acme"})),
    )
    .await;
    let cid = client["id"].as_str().unwrap();
    let contact = call(
        &token,
        Method::POST,
        format!("{base}/clients/{cid}/contacts"),
        Some(json!({"name": "Dana", "email": "dana@client.example"})),
    )
    .await;
    let new_ticket = |title: &'static str| {
        let (token, base) = (token.clone(), base.clone());
        let body = json!({"title": title, "client_id": cid, "contact_id": contact["id"]});
        async move { call(&token, Method::POST, format!("{base}/tickets"), Some(body)).await }
    };
    new_ticket("Scanner jams").await;
    sink.wait_event("DATA-WAIT");
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    drop(sink);
    let sink = Sink::start(&[]);
    server = Binary::start(dir.path(), port).await;
    call(
        &token,
        Method::PUT,
        format!("{base}/mail/smtp"),
        Some(smtp_body(sink.port)),
    )
    .await;
    let outbox = call(&token, Method::GET, format!("{base}/mail/outbox"), None).await;
    assert_eq!(outbox["items"][0]["state"], "unsure", "{outbox}");
    assert_eq!(outbox["unsure"], 1);
    assert!(outbox["items"][0]["last_error"]
        .as_str()
        .unwrap()
        .contains("may have arrived"));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        sink.mails().is_empty(),
        "an unsure mail is not sent again by itself"
    );
    let id = outbox["items"][0]["id"].as_str().unwrap();
    let decided = call(
        &token,
        Method::POST,
        format!("{base}/mail/outbox/{id}/decide"),
        Some(json!({"decision": "mark_sent"})),
    )
    .await;
    assert_eq!(decided["state"], "sent");

    // 2. Killed before the mail server had the envelope: sent again after the restart, once.
    drop(sink);
    let sink = Sink::start(&["--slow-rcpt-once", "30"]);
    call(
        &token,
        Method::PUT,
        format!("{base}/mail/smtp"),
        Some(smtp_body(sink.port)),
    )
    .await;
    new_ticket("Monitor flickers").await;
    sink.wait_event("RCPT-WAIT");
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let _server = Binary::start(dir.path(), port).await;
    let mails = sink.wait_mails(1).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(sink.mails().len(), 1, "sent once: {mails:?}");
    assert!(header(mails[0]["data"].as_str().unwrap(), "Subject")
        .unwrap()
        .contains("Monitor flickers"));
    let outbox = call(
        &token,
        Method::GET,
        format!("{base}/mail/outbox?state=sent"),
        None,
    )
    .await;
    assert_eq!(outbox["total"], 2, "{outbox}");
}

#[tokio::test]
async fn one_connection_carries_mail_after_mail_and_a_refusal_stops_only_its_own() {
    use outpost_mail::smtp;
    let sink = Sink::start(&["--refuse", "gone@client.example"]);
    let server = smtp::Server {
        host: "127.0.0.1".into(),
        port: sink.port,
        security: outpost_proto::SmtpSecurity::None,
        username: String::new(),
        password: None,
        timeout: Duration::from_secs(5),
    };
    let mail = |to: &str, subject: &str| smtp::Outgoing {
        from_address: "help@acme-it.example".into(),
        from_name: "Acme IT".into(),
        to: vec![to.into()],
        cc: vec![],
        subject: subject.into(),
        body: "Hello".into(),
        message_id: format!("{subject}@acme-it.example"),
        in_reply_to: None,
        references: vec![],
        date: std::time::SystemTime::now(),
        automatic: true,
        attachments: vec![],
    };
    let mut conn = smtp::connect(&server).await.unwrap();
    for (to, subject) in [
        ("dana@client.example", "One"),
        ("gone@client.example", "Two"),
        ("dana@client.example", "Three"),
    ] {
        let m = mail(to, subject);
        match conn.begin(&m.from_address, &m.to).await {
            Ok(()) => conn.finish(&smtp::compose(&m).unwrap()).await.unwrap(),
            Err(f) => {
                assert_eq!(subject, "Two");
                assert_eq!(f.step, outpost_proto::MailStep::Recipient);
                assert!(f.permanent, "{f:?}");
                assert!(conn.reset().await, "the connection is still good");
            }
        }
    }
    conn.quit().await;
    let mails = sink.wait_mails(2).await;
    assert_eq!(mails.len(), 2);
    assert_eq!(
        mails[0]["peer"], mails[1]["peer"],
        "one SMTP session carried both"
    );
    assert_eq!(
        header(mails[1]["data"].as_str().unwrap(), "Subject").as_deref(),
        Some("Three")
    );
}
