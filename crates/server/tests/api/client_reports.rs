//! The client service report over HTTP and from the command line: the PDF read back by three
//! other programs (qpdf, poppler's pdfinfo/pdffonts/pdftotext/pdftoppm), its numbers the
//! dashboard's, the CSV tables, the preview, the MSP's logo, and bad input in words.

use crate::{refused, server, Server};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;

/// A 1×1 PNG.
const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

fn run(program: &str, args: &[&str], file: &Path) -> (String, String) {
    let out = Command::new(program)
        .args(args)
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("{program} is not installed ({e}): cargo xtask setup adds it"));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{program} failed: {stdout}{stderr}");
    (stdout, stderr)
}

/// Checks a PDF as a reader would; returns its page count and its text.
fn read_pdf(pdf: &[u8]) -> (usize, String) {
    assert!(pdf.starts_with(b"%PDF-"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.pdf");
    std::fs::write(&file, pdf).unwrap();
    let (check, _) = run("qpdf", &["--check"], &file);
    assert!(
        check.contains("No syntax or stream encoding errors"),
        "{check}"
    );
    let (info, _) = run("pdfinfo", &[], &file);
    let field = |name: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| panic!("no {name} in {info}"))
    };
    assert!(field("Page size:").contains("(A4)"), "{info}");
    let pages: usize = field("Pages:").parse().unwrap();
    let (fonts, _) = run("pdffonts", &[], &file);
    let faces: Vec<&str> = fonts.lines().skip(2).collect();
    assert!(!faces.is_empty(), "{fonts}");
    for face in &faces {
        // name, type…, emb sub uni, object id: "yes yes yes" for every face.
        assert!(face.contains("Inter"), "only the shipped font: {face}");
        assert!(
            face.contains(" yes yes yes "),
            "embedded, subset, unicode: {face}"
        );
    }
    let text_file = dir.path().join("report.txt");
    let out = Command::new("pdftotext")
        .args(["-layout"])
        .arg(&file)
        .arg(&text_file)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = std::fs::read_to_string(&text_file).unwrap();
    let prefix = dir.path().join("page");
    let out = Command::new("pdftoppm")
        .args(["-r", "40", "-png"])
        .arg(&file)
        .arg(&prefix)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let drawn = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "png")
        })
        .count();
    assert_eq!(drawn, pages, "every page renders");
    (pages, text)
}

async fn bytes(r: reqwest::Response) -> (StatusCode, String, Vec<u8>) {
    let status = r.status();
    let kind = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, kind, r.bytes().await.unwrap().to_vec())
}

/// A client with a few tickets (hostile titles among them) and time today.
async fn seeded(s: &Server) -> (String, Vec<String>) {
    let client: Value = s
        .ok(s.post("/clients", json!({"name": "Harbour Dental"})).await)
        .await;
    let id = client["id"].as_str().unwrap().to_string();
    let titles = vec![
        "Printer offline".to_string(),
        "#import \"/etc/passwd\": * ] $x$ <b>".to_string(),
        "Ünïcödé – Zahnarztpraxis Ελληνικά Кириллица".to_string(),
    ];
    let priorities = ["high", "normal", "low"];
    for (n, title) in titles.iter().enumerate() {
        let t: Value = s
            .ok(s
                .post(
                    "/tickets",
                    json!({"title": title, "client_id": id, "priority": priorities[n]}),
                )
                .await)
            .await;
        s.ok(s
            .post(
                &format!("/tickets/{}/time-entries", t["id"].as_str().unwrap()),
                json!({"minutes": 30 * (n + 1), "billable": n != 2, "note": "=1+1"}),
            )
            .await)
            .await;
    }
    (id, titles)
}

#[tokio::test]
async fn the_client_report_prints_the_dashboards_numbers_as_a_readable_pdf() {
    let s = server().await;
    let (client, titles) = seeded(&s).await;
    let today = chrono::Utc::now().date_naive();
    let from = (today - chrono::Duration::days(9)).to_string();
    let to = today.to_string();
    let q = format!("from={from}&to={to}");

    // The preview: pages as SVG images, and the figures, which are the dashboard's.
    let preview: Value = s
        .ok(s
            .get(&format!("/reports/clients/{client}/preview?{q}"))
            .await)
        .await;
    let dashboard: Value = s
        .ok(s.get(&format!("/dashboard?{q}&client_id={client}")).await)
        .await;
    let report = &preview["report"];
    assert_eq!(
        report["summary"], dashboard,
        "the same numbers as the dashboard"
    );
    assert_eq!(report["summary"]["opened"], 3);
    assert_eq!(report["time"]["billable_minutes"], 30 + 60);
    assert_eq!(report["time"]["other_minutes"], 90);
    let pages = preview["pages"].as_array().unwrap();
    assert!(pages
        .iter()
        .all(|p| p.as_str().unwrap().starts_with("<svg")));

    // The PDF.
    let (status, kind, pdf) = bytes(
        s.get(&format!("/reports/clients/{client}?{q}&format=pdf"))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&pdf));
    assert_eq!(kind, "application/pdf");
    let (page_count, text) = read_pdf(&pdf);
    assert_eq!(page_count, pages.len(), "the preview shows the PDF's pages");
    assert_eq!(preview["page_count"], page_count);
    assert!(text.contains("Harbour Dental"));
    assert!(text.contains(&format!("Page 1 of {page_count}")), "{text}");
    assert!(text.contains(&format!("Page {page_count} of {page_count}")));
    for title in &titles {
        // Printed as the characters they are (markup never evaluated).
        assert!(text.contains(title.as_str()), "{title} in:\n{text}");
    }
    assert!(
        text.contains("Billable hours") && text.contains("1.5 h"),
        "{text}"
    );
    // Without a format, the PDF is what the route gives.
    let (_, kind, _) = bytes(s.get(&format!("/reports/clients/{client}?{q}")).await).await;
    assert_eq!(kind, "application/pdf");

    // CSV per table: BOM, parses, totals match the figures.
    let (status, kind, csv) = bytes(
        s.get(&format!(
            "/reports/clients/{client}?{q}&format=csv&table=time"
        ))
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kind, "text/csv; charset=utf-8");
    assert!(csv.starts_with(b"\xEF\xBB\xBF"));
    let mut reader = csv::Reader::from_reader(&csv[3..]);
    let header = reader.headers().unwrap().clone();
    assert_eq!(&header[4], "Minutes");
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let minutes: i64 = rows.iter().map(|r| r[4].parse::<i64>().unwrap()).sum();
    assert_eq!(minutes, 180);
    assert!(rows.iter().all(|r| &r[7] == "'=1+1"), "formulas stay text");
    for table in ["tickets", "endpoints", "alerts"] {
        let (status, _, body) = bytes(
            s.get(&format!(
                "/reports/clients/{client}?{q}&format=csv&table={table}"
            ))
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{table}");
        let rows = csv::Reader::from_reader(&body[3..]).records().count();
        assert_eq!(rows, if table == "tickets" { 3 } else { 0 }, "{table}");
    }

    // Sections switched off are not printed.
    s.ok(s
        .put(
            &format!("/clients/{client}/report-settings"),
            json!({"sections": ["summary"]}),
        )
        .await)
        .await;
    let (_, _, short) = bytes(s.get(&format!("/reports/clients/{client}?{q}")).await).await;
    let (short_pages, short_text) = read_pdf(&short);
    assert_eq!(short_pages, 2, "the cover and the summary");
    assert!(!short_text.contains("Appendix"));

    // Bad input, in words.
    let msg = refused(
        s.get(&format!("/reports/clients/{client}?{q}&format=csv"))
            .await,
        StatusCode::BAD_REQUEST,
        "validation",
    )
    .await;
    assert!(msg.contains("which table"), "{msg}");
    let msg = refused(
        s.get(&format!(
            "/reports/clients/{client}?{q}&format=csv&table=invoices"
        ))
        .await,
        StatusCode::BAD_REQUEST,
        "validation",
    )
    .await;
    assert!(msg.contains("table"), "{msg}");
    let future = (today + chrono::Duration::days(40)).to_string();
    let msg = refused(
        s.get(&format!(
            "/reports/clients/{client}?from={future}&to={future}"
        ))
        .await,
        StatusCode::BAD_REQUEST,
        "validation",
    )
    .await;
    assert!(msg.contains("in the future"), "{msg}");
    refused(
        s.get(&format!("/reports/clients/{}?{q}", uuid::Uuid::now_v7()))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    refused(
        s.get(&format!("/reports/clients/not-an-id?{q}")).await,
        StatusCode::BAD_REQUEST,
        "validation",
    )
    .await;
}

#[tokio::test]
async fn the_msps_logo_is_printed_and_a_file_that_is_not_an_image_is_refused() {
    let s = server().await;
    let (client, _) = seeded(&s).await;
    use base64::Engine;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    // A PNG header followed by junk: refused by the engine that would draw it.
    let mut fake = base64::engine::general_purpose::STANDARD
        .decode(PNG)
        .unwrap();
    fake.truncate(20);
    fake.extend_from_slice(b"not really an image");
    for (bytes, says) in [
        (b"<svg onload=alert(1)>".to_vec(), "not a PNG or JPEG"),
        (fake, "could not be read as an image"),
    ] {
        let msg = refused(
            s.put(
                "/settings/reports",
                json!({"msp_name": "Northwind IT", "logo_base64": b64(&bytes)}),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "validation",
        )
        .await;
        assert!(msg.contains(says), "{msg}");
    }
    let before: Value = s.ok(s.get("/settings/reports").await).await;
    assert_eq!(
        before["logo_type"],
        Value::Null,
        "a refused logo changes nothing"
    );
    let set: Value = s
        .ok(s
            .put(
                "/settings/reports",
                json!({"msp_name": "Northwind IT", "logo_base64": PNG}),
            )
            .await)
        .await;
    assert_eq!(set["logo_type"], "image/png");
    let today = chrono::Utc::now().date_naive().to_string();
    let (_, _, pdf) = bytes(
        s.get(&format!(
            "/reports/clients/{client}?from={today}&to={today}"
        ))
        .await,
    )
    .await;
    let (_, text) = read_pdf(&pdf);
    assert!(text.contains("Northwind IT"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.pdf");
    std::fs::write(&file, &pdf).unwrap();
    let (images, _) = run("pdfimages", &["-list"], &file);
    let drawn = images
        .lines()
        .skip(2)
        .filter(|l| l.split_whitespace().nth(2) == Some("image"))
        .count();
    assert_eq!(drawn, 1, "one image (the logo): {images}");
    // The name is required.
    refused(
        s.put("/settings/reports", json!({"msp_name": "  "})).await,
        StatusCode::BAD_REQUEST,
        "validation",
    )
    .await;
}

#[tokio::test]
async fn the_report_command_writes_the_pdf_from_a_store() {
    let s = server().await;
    let (client, _) = seeded(&s).await;
    let today = chrono::Utc::now().date_naive().to_string();
    let data_dir = s.core.data_dir().to_path_buf();
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("harbour.pdf");
    let bin = env!("CARGO_BIN_EXE_outpost-server");
    let run = |client: &str| {
        Command::new(bin)
            .args(["report", "--data-dir"])
            .arg(&data_dir)
            .args([
                "--client", client, "--from", &today, "--to", &today, "--out",
            ])
            .arg(&out)
            .env("RUST_LOG", "error")
            .output()
            .unwrap()
    };
    // By name, any case.
    let done = run("harbour dental");
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let (_, text) = read_pdf(&std::fs::read(&out).unwrap());
    assert!(text.contains("Harbour Dental"));
    std::fs::remove_file(&out).unwrap();
    // By id.
    assert!(run(&client).status.success());
    assert!(out.is_file());
    std::fs::remove_file(&out).unwrap();
    let unknown = run("Nobody Ltd");
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no client is named"));
    assert!(!out.exists(), "no file for a failed run");
}

#[tokio::test]
async fn the_billing_export_is_a_priced_csv_for_admins_only() {
    let s = server().await;
    let (client, _) = seeded(&s).await;
    s.ok(s
        .put(
            "/settings/billing",
            json!({"currency": "GBP", "default_rate_cents": 6000, "round_to_minutes": 15,
                   "minimum_minutes": 0, "technician_rates": [], "client_rates": []}),
        )
        .await)
        .await;
    let today = chrono::Utc::now().date_naive().to_string();
    let (status, kind, csv) = bytes(
        s.get(&format!(
            "/billing/export?from={today}&to={today}&client_id={client}"
        ))
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&csv));
    assert_eq!(kind, "text/csv; charset=utf-8");
    assert!(csv.starts_with(b"\xEF\xBB\xBF"));
    let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(&csv[3..])
        .records()
        .map(|r| r.unwrap())
        .collect();
    // The two billable entries (30 and 60 minutes) at 60.00 an hour; the unbillable one is out.
    let mut amounts: Vec<&str> = rows.iter().map(|r| &r[8]).collect();
    amounts.sort();
    assert_eq!(amounts, ["30.00", "60.00"]);
    assert!(rows.iter().all(|r| &r[9] == "GBP"));
    // A technician may not see the money.
    s.ok(s
        .post(
            "/users",
            json!({"username": "tess", "display_name": "Tess", "role": "technician", "password": "technician-1"}),
        )
        .await)
        .await;
    let login: Value = s
        .ok(s
            .post(
                "/auth/login",
                json!({"username": "tess", "password": "technician-1"}),
            )
            .await)
        .await;
    let mut tess = s.clone_base();
    tess.token = login["token"].as_str().unwrap().to_string();
    refused(
        tess.get(&format!("/billing/export?from={today}&to={today}"))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let msg = refused(
        s.get("/billing/export?from=yesterday&to=today").await,
        StatusCode::BAD_REQUEST,
        "validation",
    )
    .await;
    assert!(msg.contains("YYYY-MM-DD"), "{msg}");
}
