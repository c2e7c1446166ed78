//! Files over HTTP: multipart in, downloads out with safe headers, and everything hostile
//! refused in words with nothing kept.

use crate::{refused, server, Server};
use reqwest::{header, StatusCode};
use serde_json::{json, Value};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDRpretend";

/// A multipart body written out by hand (what a browser's FormData sends).
fn form(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----outpost-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (field, file_name, bytes) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file_name {
            Some(n) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{field}\"; filename=\"{n}\"\r\n\
                     Content-Type: text/html\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{field}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(
    s: &Server,
    ticket: &str,
    parts: &[(&str, Option<&str>, &[u8])],
) -> reqwest::Response {
    let (content_type, body) = form(parts);
    s.http
        .post(format!("{}/tickets/{ticket}/attachments", s.base))
        .bearer_auth(&s.token)
        .header(header::CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn ticket(s: &Server) -> String {
    let client: Value = s
        .ok(s.post("/clients", json!({"name": "Acme"})).await)
        .await;
    let t: Value = s
        .ok(s
            .post(
                "/tickets",
                json!({"title": "Printer offline", "client_id": client["id"]}),
            )
            .await)
        .await;
    t["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn files_go_up_as_multipart_and_come_back_only_as_downloads() {
    let s = server().await;
    let t = ticket(&s).await;
    let r = upload(
        &s,
        &t,
        &[
            ("file", Some("../../etc/passwd"), b"root:x:0:0"),
            ("file", Some("screenshot.png"), PNG),
            ("file", Some("invoice.pdf.exe"), b"MZ\x90\0"),
            (
                "file",
                Some("page.html"),
                b"<script>alert(document.cookie)</script>",
            ),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let added: Vec<Value> = r.json().await.unwrap();
    let names: Vec<&str> = added
        .iter()
        .map(|a| a["file_name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["passwd", "screenshot.png", "invoice.pdf.exe", "page.html"]
    );
    assert_eq!(added[1]["preview"], true);
    assert!(added[2]["warning"]
        .as_str()
        .unwrap()
        .contains("pretends to be a .pdf"));
    // The ticket lists them, and so does its own route.
    let detail: Value = s.ok(s.get(&format!("/tickets/{t}")).await).await;
    assert_eq!(detail["attachments"].as_array().unwrap().len(), 4);
    let listed: Value = s
        .ok(s.get(&format!("/tickets/{t}/attachments")).await)
        .await;
    assert_eq!(listed.as_array().unwrap().len(), 4);

    let fetch = |id: &Value| {
        let url = format!("{}/attachments/{}", s.base, id.as_str().unwrap());
        let http = s.http.clone();
        let token = s.token.clone();
        async move { http.get(url).bearer_auth(token).send().await.unwrap() }
    };
    let png = fetch(&added[1]["id"]).await;
    assert_eq!(png.status(), StatusCode::OK);
    let h = png.headers().clone();
    assert_eq!(h[header::CONTENT_TYPE], "image/png");
    assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert!(h[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .starts_with("attachment; filename=\"screenshot.png\""));
    assert!(h[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .contains("sandbox"));
    assert_eq!(png.bytes().await.unwrap().as_ref(), PNG);
    // HTML is never served as HTML, whatever the sender said it was.
    let html = fetch(&added[3]["id"]).await;
    assert_eq!(
        html.headers()[header::CONTENT_TYPE],
        "application/octet-stream"
    );
    assert!(html.headers()[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .starts_with("attachment;"));
    // A name beyond ASCII: an ASCII stand-in for old clients, the real one encoded.
    let r = upload(&s, &t, &[("file", Some("Rechnung März.pdf"), b"%PDF-1.4")]).await;
    let odd: Vec<Value> = r.json().await.unwrap();
    let d = fetch(&odd[0]["id"]).await;
    assert_eq!(d.headers()[header::CONTENT_TYPE], "application/pdf");
    let disposition = d.headers()[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(
        disposition,
        "attachment; filename=\"Rechnung M_rz.pdf\"; filename*=UTF-8''Rechnung%20M%C3%A4rz.pdf"
    );
    // A file on a comment names it.
    let c: Value = s
        .ok(s
            .post(
                &format!("/tickets/{t}/comments"),
                json!({"body": "see the log"}),
            )
            .await)
        .await;
    let r = upload(
        &s,
        &t,
        &[
            ("comment_id", None, c["id"].as_str().unwrap().as_bytes()),
            ("file", Some("event.log"), b"disk full"),
        ],
    )
    .await;
    let on_comment: Vec<Value> = r.json().await.unwrap();
    assert_eq!(on_comment[0]["comment_id"], c["id"]);
    assert_eq!(
        fetch(&on_comment[0]["id"]).await.headers()[header::CONTENT_TYPE],
        "text/plain; charset=utf-8"
    );
}

#[tokio::test]
async fn hostile_or_oversized_uploads_are_refused_in_words_and_nothing_is_kept() {
    let s = server().await;
    let t = ticket(&s).await;
    // Not multipart.
    let r = s
        .post(&format!("/tickets/{t}/attachments"), json!({"file": "x"}))
        .await;
    let m = refused(r, StatusCode::UNSUPPORTED_MEDIA_TYPE, "validation").await;
    assert!(m.contains("multipart/form-data"), "{m}");
    // No file, an unknown field, a bad comment id, an empty file.
    let m = refused(
        upload(&s, &t, &[("comment_id", None, b"")]).await,
        StatusCode::BAD_REQUEST,
        "validation",
    )
    .await;
    assert!(m.contains("at least one file"), "{m}");
    let m = refused(
        upload(&s, &t, &[("avatar", Some("a.png"), PNG)]).await,
        StatusCode::BAD_REQUEST,
        "validation",
    )
    .await;
    assert!(m.contains("unknown form field 'avatar'"), "{m}");
    let m = refused(
        upload(
            &s,
            &t,
            &[("comment_id", None, b"nope"), ("file", Some("a"), b"a")],
        )
        .await,
        StatusCode::BAD_REQUEST,
        "validation",
    )
    .await;
    assert!(m.contains("comment_id 'nope'"), "{m}");
    // Over the limit an admin set: 413, and the good file sent with it is not kept either.
    s.ok(s
        .put("/settings/attachments", json!({"max_file_mib": 1}))
        .await)
        .await;
    let big = vec![b'x'; 1024 * 1024 + 1];
    let m = refused(
        upload(
            &s,
            &t,
            &[
                ("file", Some("ok.txt"), b"fine"),
                ("file", Some("dump.bin"), &big),
            ],
        )
        .await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "validation",
    )
    .await;
    assert!(m.contains("'dump.bin' is larger than 1.0 MiB"), "{m}");
    let listed: Value = s
        .ok(s.get(&format!("/tickets/{t}/attachments")).await)
        .await;
    assert_eq!(listed, json!([]));
    let m = refused(
        s.put("/settings/attachments", json!({"max_file_mib": 5000}))
            .await,
        StatusCode::BAD_REQUEST,
        "validation",
    )
    .await;
    assert!(m.contains("between 1 and 100"), "{m}");
    // Someone else's ticket or file: not found; no session: 401.
    let r = upload(
        &s,
        &uuid::Uuid::now_v7().to_string(),
        &[("file", Some("a"), b"a")],
    )
    .await;
    refused(r, StatusCode::NOT_FOUND, "not_found").await;
    let r = s
        .get(&format!("/attachments/{}", uuid::Uuid::now_v7()))
        .await;
    refused(r, StatusCode::NOT_FOUND, "not_found").await;
    let r = s
        .http
        .get(format!("{}/attachments/{}", s.base, uuid::Uuid::now_v7()))
        .send()
        .await
        .unwrap();
    refused(r, StatusCode::UNAUTHORIZED, "unauthorized").await;
    // Bytes for a known file must be exactly its bytes.
    let r = upload(&s, &t, &[("file", Some("a.txt"), b"right")]).await;
    let a: Vec<Value> = r.json().await.unwrap();
    let put = |bytes: &'static [u8]| {
        let url = format!(
            "{}/attachments/{}/content",
            s.base,
            a[0]["id"].as_str().unwrap()
        );
        let http = s.http.clone();
        let token = s.token.clone();
        async move {
            http.put(url)
                .bearer_auth(token)
                .body(bytes)
                .send()
                .await
                .unwrap()
        }
    };
    let m = refused(put(b"wrong").await, StatusCode::BAD_REQUEST, "validation").await;
    assert!(m.contains("are not the bytes of 'a.txt'"), "{m}");
    assert_eq!(put(b"right").await.status(), StatusCode::OK);
}
