//! Automations end to end: runs signed ahead here (as the desktop app does), kept by the real
//! server, started by its clock or by an alert the real agent's own reports raise, run by
//! the real agent.

use super::*;
use outpost_core::scripts::automations::{parse_schedule, signable_until};

/// One request per window for the target, as a console signs an automation.
fn sign_ahead(
    org: &Org,
    t: &Target,
    windows: &[(i64, i64)],
    approvals: u8,
) -> Vec<outpost_trust::SignedRun> {
    windows
        .iter()
        .map(|(nb, na)| {
            let mut req = request(org, t, vec![], 60);
            req.not_before = *nb;
            req.not_after = *na;
            req.approvals_required = approvals;
            req.sign(&org.tech, &org.cert)
        })
        .collect()
}

fn at(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap()
        .to_rfc3339()
}

async fn runs_of(server: &Server, automation: &str, state: &str) -> Value {
    let (s, r) = server
        .call(
            "GET",
            &format!("/runs?automation_id={automation}&state={state}&limit=1000"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{r}");
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_runs_each_time_it_was_signed_for_and_nothing_the_server_brings_forward() {
    let b = Bench::start().await;
    let t = b.target("echo tick\n", json!([]), 60).await;
    // Every minute: the current minute's time is due at once, the rest wait.
    let schedule = parse_schedule("* * * * *", "Europe/Berlin").unwrap();
    let from = now() - 60;
    let until = signable_until(Some(&schedule), from, 1);
    let windows = schedule.windows(from, until).unwrap();
    assert_eq!(
        windows.len(),
        200,
        "an every-minute schedule is cut to 200 times"
    );
    let runs = sign_ahead(&b.org, &t, &windows, 0);
    let automation = |runs: &[outpost_trust::SignedRun]| {
        json!({"id": Uuid::now_v7(), "name": "Minute check", "trigger": "schedule",
               "schedule": "* * * * *", "time_zone": "Europe/Berlin",
               "script_id": t.script, "script_version": t.version,
               "valid_from": at(from), "valid_until": at(until), "runs": runs})
    };

    // What does not match the automation is refused, and nothing is kept.
    let mut shifted = runs.clone();
    shifted[3] = sign_ahead(&b.org, &t, &[(windows[3].0 + 1, windows[3].1)], 0).remove(0);
    let (s, e) = b
        .server
        .call("POST", "/automations", Some(automation(&shifted)))
        .await;
    assert_eq!(s, 400, "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("its window is not one of the schedule's times"),
        "{e}"
    );
    let (s, e) = b
        .server
        .call(
            "POST",
            "/automations",
            Some(automation(&[&runs[..5], &runs[6..]].concat())),
        )
        .await;
    assert_eq!(s, 400, "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("signed runs; the automation needs"),
        "{e}"
    );
    let mut bad = automation(&runs);
    bad["schedule"] = json!("every day at two");
    let (s, e) = b.server.call("POST", "/automations", Some(bad)).await;
    assert_eq!(s, 400, "{e}");
    assert!(
        e["message"].as_str().unwrap().contains("cron pattern"),
        "{e}"
    );
    let (_, none) = b.server.call("GET", "/automations", None).await;
    assert_eq!(none.as_array().unwrap().len(), 0, "{none}");

    let (s, a) = b
        .server
        .call("POST", "/automations", Some(automation(&runs)))
        .await;
    assert_eq!(s, 201, "{a}");
    let id = a["id"].as_str().unwrap().to_string();
    assert_eq!(a["state"], "active", "{a}");
    assert_eq!(a["assets"].as_array().unwrap().len(), 1);
    assert!(a["schedule_description"].as_str().unwrap().len() > 5, "{a}");

    // The due time goes to the agent within a second or two, and runs.
    // (A minute may turn while this test runs: then its next time runs too.)
    let done = wait_for(60, "the scheduled run's end", || async {
        let r = runs_of(&b.server, &id, "finished").await;
        (r["total"].as_i64() >= Some(1)).then_some(r)
    })
    .await;
    let run = &done["items"][0];
    assert_eq!(run["stdout"], "tick\n", "{run}");
    assert!(run["triggered_at"].is_string(), "{run}");
    assert_eq!(run["automation_id"], id.as_str());
    // History shows started runs only, not the ones waiting for their time.
    let (_, shown) = b
        .server
        .call("GET", &format!("/automations/{id}"), None)
        .await;
    let (_, history) = b.server.call("GET", "/runs", None).await;
    let started = shown["runs_started"].as_i64().unwrap();
    let listed = history["total"].as_i64().unwrap();
    // (One more if a time came between the two calls.)
    assert!(
        listed == started || listed == started + 1,
        "{history} {shown}"
    );
    assert!(shown["runs_left"].as_i64().unwrap() >= 197, "{shown}");

    // A server that starts a later time early: the agent refuses it (not yet valid).
    let later = runs[10].claims().unwrap();
    let db = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            sqlx::sqlite::SqliteConnectOptions::new()
                .filename(b.server.dir.path().join("outpost.db"))
                .busy_timeout(Duration::from_secs(10)),
        )
        .await
        .unwrap();
    sqlx::query("UPDATE runs SET state = 'waiting', triggered_at = 1 WHERE id = ?")
        .bind(later.run_id.to_string())
        .execute(&db)
        .await
        .unwrap();
    // Any new run makes the gateway send what waits.
    let nudge = request(&b.org, &t, vec![], 60);
    b.run(&nudge).await;
    let forged = run_until_done(&b.server, later.run_id, 30).await;
    assert_eq!(forged["state"], "refused", "{forged}");
    assert_eq!(forged["refusal_code"], "not_yet_valid", "{forged}");

    // Cancelled: none of the rest starts.
    let (s, c) = b
        .server
        .call("POST", &format!("/automations/{id}/cancel"), None)
        .await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["state"], "cancelled");
    assert_eq!(c["runs_left"], 0, "{c}");
    assert_eq!(runs_of(&b.server, &id, "scheduled").await["total"], 0);
    // All but the ones that started (a time whose window closed while this test signed is
    // not kept).
    let (_, every) = b
        .server
        .call("GET", &format!("/runs?automation_id={id}&limit=1000"), None)
        .await;
    let kept = every["total"].as_i64().unwrap();
    assert!(kept == 200 || kept == 199, "{kept}");
    // (A time whose window closed just after the server took it expires instead.)
    let expired = runs_of(&b.server, &id, "expired").await["total"]
        .as_i64()
        .unwrap();
    assert!(expired <= 1, "{expired}");
    assert_eq!(
        runs_of(&b.server, &id, "cancelled").await["total"]
            .as_i64()
            .unwrap(),
        kept - c["runs_started"].as_i64().unwrap() - expired
    );
    let (s, e) = b
        .server
        .call("POST", &format!("/automations/{id}/cancel"), None)
        .await;
    assert_eq!(s, 409, "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_starts_a_run_signed_ahead_on_its_endpoint_and_notes_it_on_the_alert_ticket() {
    let b = Bench::start().await;
    let t = b.target("echo 'freed 3.2 GiB'\n", json!([]), 60).await;
    let from = now() - 60;
    let until = now() + 7 * 86_400;
    let runs = sign_ahead(&b.org, &t, &[(from, until), (from, until)], 0);
    let automation = |kind: &str, pool: i64, runs: &[outpost_trust::SignedRun]| {
        json!({"id": Uuid::now_v7(), "name": "Clean full disks", "trigger": "alert",
               "alert_kind": kind, "runs_per_endpoint": pool, "cooldown_minutes": 0,
               "script_id": t.script, "script_version": t.version,
               "valid_from": at(from), "valid_until": at(until), "runs": runs})
    };
    let (s, e) = b
        .server
        .call(
            "POST",
            "/automations",
            Some(automation("offline", 2, &runs)),
        )
        .await;
    assert_eq!(s, 400, "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("offline cannot run"),
        "{e}"
    );
    let (s, e) = b
        .server
        .call("POST", "/automations", Some(automation("disk", 3, &runs)))
        .await;
    assert_eq!(s, 400, "{e}");
    assert!(
        e["message"].as_str().unwrap().contains("needs 3 each"),
        "{e}"
    );
    let (s, a) = b
        .server
        .call("POST", "/automations", Some(automation("disk", 2, &runs)))
        .await;
    assert_eq!(s, 201, "{a}");
    let id = a["id"].as_str().unwrap().to_string();
    assert_eq!(a["runs_left"], 2, "{a}");
    assert_eq!(runs_of(&b.server, &id, "standby").await["total"], 2);

    // This client's disk rule fires on any disk: the agent's next heartbeat raises it.
    let (s, r) = b
        .server
        .call(
            "POST",
            "/alert-rules",
            Some(json!({"client_id": b.client, "kind": "disk", "threshold": 0.1, "samples": 1})),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    let done = wait_for(60, "the alert's run to end", || async {
        let r = runs_of(&b.server, &id, "finished").await;
        (r["total"] == 1).then_some(r)
    })
    .await;
    let run = &done["items"][0];
    assert_eq!(run["stdout"], "freed 3.2 GiB\n", "{run}");
    let ticket = run["ticket_id"]
        .as_str()
        .expect("the alert's ticket")
        .to_string();
    let detail = wait_for(20, "the result noted on the alert's ticket", || async {
        let (_, d) = b
            .server
            .call("GET", &format!("/tickets/{ticket}"), None)
            .await;
        let bodies: Vec<String> = d["comments"]
            .as_array()?
            .iter()
            .map(|c| c["body"].as_str().unwrap_or_default().to_string())
            .collect();
        (bodies.iter().any(|b| b.contains("signed ahead"))
            && bodies.iter().any(|b| b.contains("freed 3.2 GiB")))
        .then_some(d)
    })
    .await;
    assert!(
        detail.to_string().contains("Alert: "),
        "the alert's own ticket: {detail}"
    );
    // One firing, one run: the other stays on standby while the alert keeps firing.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (_, a) = b
        .server
        .call("GET", &format!("/automations/{id}"), None)
        .await;
    assert_eq!(a["runs_started"], 1, "{a}");
    assert_eq!(a["runs_left"], 1, "{a}");
    assert_eq!(a["runs_failed"], 0, "{a}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wide_automation_waits_for_a_second_technician_and_nobody_approves_their_own() {
    let b = Bench::start().await;
    let t = b.target("echo wide\n", json!([]), 60).await;
    let from = now() - 60;
    let until = now() + 86_400;
    let unapproved = sign_ahead(&b.org, &t, &[(from, until)], 0);
    let body = |runs: &[outpost_trust::SignedRun]| {
        json!({"id": Uuid::now_v7(), "name": "Wide", "trigger": "alert", "alert_kind": "cpu",
               "script_id": t.script, "script_version": t.version,
               "valid_from": at(from), "valid_until": at(until), "runs": runs})
    };
    // The organisation's rule decides what is wide: with every run needing two people, an
    // unapproved automation is refused; with the defaults, this one is narrow.
    let rule = |endpoints: i64| json!({"endpoints": endpoints, "clients": 1});
    let (s, t0) = b
        .server
        .call("PUT", "/trust/two-person-rule", Some(rule(0)))
        .await;
    assert_eq!(s, 200, "{t0}");
    assert_eq!(t0["two_person_rule"]["endpoints"], 0);
    let (s, e) = b
        .server
        .call("POST", "/automations", Some(body(&unapproved)))
        .await;
    assert_eq!(s, 400, "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("more than 0 endpoints"),
        "{e}"
    );
    let (s, e) = b
        .server
        .call("PUT", "/trust/two-person-rule", Some(rule(-1)))
        .await;
    assert_eq!(s, 400, "{e}");
    let (s, _) = b
        .server
        .call("PUT", "/trust/two-person-rule", Some(rule(50)))
        .await;
    assert_eq!(s, 200);
    let (s, a) = b
        .server
        .call("POST", "/automations", Some(body(&unapproved)))
        .await;
    assert_eq!(s, 201, "{a}");
    assert_eq!(a["state"], "active");

    // Asking for an approval: it waits, and its own signer cannot give it.
    let asking = sign_ahead(&b.org, &t, &[(from, until)], 1);
    let (s, a) = b
        .server
        .call("POST", "/automations", Some(body(&asking)))
        .await;
    assert_eq!(s, 201, "{a}");
    assert_eq!(a["state"], "awaiting_approval", "{a}");
    let id = a["id"].as_str().unwrap().to_string();
    let waiting = runs_of(&b.server, &id, "awaiting_approval").await;
    assert_eq!(waiting["total"], 1);
    let run = &waiting["items"][0];
    let mut own = outpost_trust::SignedRun {
        request: serde_json::from_value(run["request"].clone()).unwrap(),
        certificate: b.org.cert.clone(),
        approvals: vec![],
    };
    own.approve(&b.org.tech, &b.org.cert);
    let (s, e) = b
        .server
        .call(
            "POST",
            &format!("/automations/{id}/approve"),
            Some(json!({"approvals": [{"run_id": run["id"], "approval": own.approvals[0]}]})),
        )
        .await;
    assert_eq!(s, 400, "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("nobody approves their own"),
        "{e}"
    );

    // Another technician, certified by the same root, approves it: active, on standby.
    let (second_id, second_token) = second_technician(&b.server).await;
    let second = outpost_trust::new_signing_key();
    let (second_cert, _) = certify(&b.org.root, &second, &second_id, ClientScope::All);
    let (s, c) = b
        .server
        .call(
            "POST",
            "/trust/certificates",
            Some(json!({"certificate": second_cert})),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    let mut theirs = own.clone();
    theirs.approvals.clear();
    theirs.approve(&second, &second_cert);
    let (s, a) = call_as(
        &b.server,
        &second_token,
        "POST",
        &format!("/automations/{id}/approve"),
        json!({"approvals": [{"run_id": run["id"], "approval": theirs.approvals[0]}]}),
    )
    .await;
    assert_eq!(s, 200, "{a}");
    assert_eq!(a["state"], "active", "{a}");
    assert_eq!(runs_of(&b.server, &id, "standby").await["total"], 1);
}
