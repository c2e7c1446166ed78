//! Rotating the organisation's root, end to end: the server keeps the chain of hand-overs,
//! and the real agent, offline through two rotations, follows it from the root it pinned.

use super::*;

fn rotation(from: &SigningKey, to: &SigningKey) -> outpost_trust::RootRotation {
    outpost_trust::RotationBody {
        old_root: from.verifying_key().to_bytes(),
        new_root: to.verifying_key().to_bytes(),
        issued_at: now(),
    }
    .sign(from)
}

fn list(root: &SigningKey, seq: u64) -> outpost_trust::RevocationList {
    RevocationBody {
        root_key: root.verifying_key().to_bytes(),
        seq,
        issued_at: now(),
        revoked: vec![],
    }
    .sign(root)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_offline_through_two_root_rotations_follows_them_and_runs_only_the_new_roots() {
    let mut b = Bench::start().await;
    let t = b.target("echo rotated\n", json!([]), 60).await;
    drop(b.agent.take());
    let (a, b_root, c) = (
        b.org.root.clone(),
        outpost_trust::new_signing_key(),
        outpost_trust::new_signing_key(),
    );
    let post = |rot: &outpost_trust::RootRotation, l: &outpost_trust::RevocationList| json!({"rotation": rot, "revocation": l});

    // What the current root did not sign, or a list of the wrong root or number: refused.
    let (s, e) = b
        .server
        .call(
            "POST",
            "/trust/rotations",
            Some(post(&rotation(&b_root, &c), &list(&c, 1))),
        )
        .await;
    assert_eq!(s, 400, "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("untrusted_rotation"),
        "{e}"
    );
    let (s, e) = b
        .server
        .call(
            "POST",
            "/trust/rotations",
            Some(post(&rotation(&a, &b_root), &list(&a, 1))),
        )
        .await;
    assert_eq!(s, 400, "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("signed by the new root"),
        "{e}"
    );
    let (s, e) = b
        .server
        .call(
            "POST",
            "/trust/rotations",
            Some(post(&rotation(&a, &b_root), &list(&b_root, 0))),
        )
        .await;
    assert_eq!(s, 409, "{e}");

    // A → B → C while the agent is away.
    let (s, r) = b
        .server
        .call(
            "POST",
            "/trust/rotations",
            Some(post(&rotation(&a, &b_root), &list(&b_root, 1))),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let (s, r) = b
        .server
        .call(
            "POST",
            "/trust/rotations",
            Some(post(&rotation(&b_root, &c), &list(&c, 2))),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        r["root"]["fingerprint"],
        outpost_trust::fingerprint(&c.verifying_key().to_bytes())
    );
    assert_eq!(r["revocation_seq"], 2);

    // The old certificate is superseded and its key waits to be certified again.
    let (_, certs) = b.server.call("GET", "/trust/certificates", None).await;
    assert!(certs[0]["superseded_at"].is_string(), "{certs}");
    let (_, requests) = b
        .server
        .call("GET", "/trust/certificate-requests", None)
        .await;
    let tech_key = hex::encode(b.org.tech.verifying_key().to_bytes());
    assert!(
        requests
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["public_key"] == tech_key.as_str()),
        "{requests}"
    );
    // The server refuses runs of the old root's certificate, and certificates of old roots.
    let old = request(&b.org, &t, vec![], 60).sign(&b.org.tech, &b.org.cert);
    let (s, e) = post_run(&b.server, &old).await;
    assert_eq!(s, 400, "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("untrusted_certificate"),
        "{e}"
    );
    let (stale, _) = certify(&a, &b.org.tech, &b.server.user_id, ClientScope::All);
    let (s, e) = b
        .server
        .call(
            "POST",
            "/trust/certificates",
            Some(json!({"certificate": stale})),
        )
        .await;
    assert_eq!(s, 400, "{e}");

    // Certified by C, the technician's run goes to the agent, which has moved to C.
    let (cert, serial) = certify(&c, &b.org.tech, &b.server.user_id, ClientScope::All);
    let (s, e) = b
        .server
        .call(
            "POST",
            "/trust/certificates",
            Some(json!({"certificate": cert})),
        )
        .await;
    assert_eq!(s, 201, "{e}");
    let org = Org {
        root: c.clone(),
        tech: b.org.tech.clone(),
        cert,
        serial,
    };
    b.agent = Some(run_agent(&b.dir, "machine-scripts"));
    let req = request(&org, &t, vec![], 60);
    let signed = req.sign(&org.tech, &org.cert);
    let (s, r) = post_run(&b.server, &signed).await;
    assert_eq!(s, 201, "{r}");
    let done = run_until_done(&b.server, req.run_id, 60).await;
    assert_eq!(done["state"], "finished", "{done}");
    assert_eq!(done["stdout"], "rotated\n");
    let status = agent_status(&b.dir);
    assert!(
        status.contains(&outpost_trust::fingerprint(&c.verifying_key().to_bytes())),
        "{status}"
    );
}
