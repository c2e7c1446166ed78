use super::*;

const NOW: i64 = 1_800_000_000;

struct World {
    root: SigningKey,
    tech: SigningKey,
    cert: Certificate,
    serial: Uuid,
    agent: Uuid,
    client: Uuid,
    revocations: RevocationBody,
}

fn certify(root: &SigningKey, tech: &SigningKey, clients: ClientScope) -> (Certificate, Uuid) {
    let serial = Uuid::now_v7();
    let body = CertificateBody {
        serial,
        root_key: root.verifying_key().to_bytes(),
        public_key: tech.verifying_key().to_bytes(),
        user_id: Uuid::now_v7(),
        name: "Ana Tech".into(),
        not_before: NOW - 3600,
        not_after: NOW + 90 * 86400,
        clients,
    };
    (body.sign(root), serial)
}

fn world() -> World {
    let root = new_signing_key();
    let tech = new_signing_key();
    let client = Uuid::now_v7();
    let (cert, serial) = certify(&root, &tech, ClientScope::Only(vec![client]));
    World {
        revocations: RevocationBody {
            root_key: root.verifying_key().to_bytes(),
            ..Default::default()
        },
        root,
        tech,
        cert,
        serial,
        agent: Uuid::now_v7(),
        client,
    }
}

fn request(w: &World) -> RunRequest {
    RunRequest {
        run_id: Uuid::now_v7(),
        nonce: rand::random(),
        target_agent: w.agent,
        target_client: w.client,
        script_id: Uuid::now_v7(),
        script_version: 3,
        script_hash: script_hash("echo hello"),
        interpreter: "bash".into(),
        parameters: vec![Parameter {
            name: "SERVICE".into(),
            value: ParameterValue::Text("nginx".into()),
        }],
        timeout_secs: 60,
        not_before: NOW - 10,
        not_after: NOW + 3600,
        revocation_seq: 0,
        approvals_required: 0,
        certificate_serial: w.serial,
    }
}

fn judge(w: &World, run: &SignedRun) -> Result<Verified, Refusal> {
    let root = w.root.verifying_key();
    verify_run(
        run,
        &AgentView {
            root: &root,
            agent_id: w.agent,
            client_id: Some(w.client),
            revocations: &w.revocations,
            now: NOW,
        },
    )
}

#[test]
fn a_signed_request_verifies_and_says_what_was_signed() {
    let w = world();
    let req = request(&w);
    let run = req.sign(&w.tech, &w.cert);
    let ok = judge(&w, &run).expect("verifies");
    assert_eq!(ok.request, req);
    assert_eq!(ok.signer.name, "Ana Tech");
    // It survives the trip through JSON unchanged.
    let json = serde_json::to_string(&run).unwrap();
    let back: SignedRun = serde_json::from_str(&json).unwrap();
    assert_eq!(back, run);
    assert!(judge(&w, &back).is_ok());
}

#[test]
fn flipping_any_bit_of_the_request_or_its_signature_is_refused() {
    let w = world();
    let run = request(&w).sign(&w.tech, &w.cert);
    for i in 0..run.request.body.0.len() {
        for bit in [0x01u8, 0x80] {
            let mut bad = run.clone();
            bad.request.body.0[i] ^= bit;
            assert!(judge(&w, &bad).is_err(), "body byte {i} bit {bit:#x}");
        }
    }
    for i in 0..64 {
        let mut bad = run.clone();
        bad.request.signature.0[i] ^= 0x01;
        assert_eq!(
            judge(&w, &bad).unwrap_err(),
            Refusal::BadSignature,
            "sig {i}"
        );
    }
}

#[test]
fn flipping_any_bit_of_the_certificate_is_refused() {
    let w = world();
    let run = request(&w).sign(&w.tech, &w.cert);
    for i in 0..run.certificate.0.body.0.len() {
        let mut bad = run.clone();
        bad.certificate.0.body.0[i] ^= 0x01;
        assert!(judge(&w, &bad).is_err(), "certificate byte {i}");
    }
    for i in 0..64 {
        let mut bad = run.clone();
        bad.certificate.0.signature.0[i] ^= 0x01;
        assert!(judge(&w, &bad).is_err(), "certificate signature byte {i}");
    }
    // Truncated or extended bytes never decode.
    let mut longer = run.clone();
    longer.request.body.0.push(0);
    assert!(matches!(judge(&w, &longer), Err(Refusal::BadSignature)));
    assert!(matches!(
        RunRequest::decode(&longer.request.body.0),
        Err(Refusal::Malformed(_))
    ));
    let body = &run.request.body.0;
    assert!(RunRequest::decode(&body[..body.len() - 1]).is_err());
}

#[test]
fn a_key_the_root_did_not_certify_is_refused() {
    let w = world();
    let other_root = new_signing_key();
    let (cert, serial) = certify(&other_root, &w.tech, ClientScope::All);
    let mut req = request(&w);
    req.certificate_serial = serial;
    let run = req.sign(&w.tech, &cert);
    assert_eq!(judge(&w, &run).unwrap_err(), Refusal::UntrustedCertificate);

    // A certificate whose body claims our root but was signed by another key.
    let mut body = w.cert.claims().unwrap();
    body.public_key = new_signing_key().verifying_key().to_bytes();
    let forged = Certificate(super::sign(&other_root, CERTIFICATE_DOMAIN, body.encode()));
    let run = request(&w).sign(&w.tech, &forged);
    assert_eq!(judge(&w, &run).unwrap_err(), Refusal::UntrustedCertificate);

    // A request signed by someone else with a genuine certificate attached.
    let run = request(&w).sign(&new_signing_key(), &w.cert);
    assert_eq!(judge(&w, &run).unwrap_err(), Refusal::BadSignature);
}

#[test]
fn target_window_client_and_revocation_are_checked() {
    let mut w = world();
    let mut req = request(&w);
    req.target_agent = Uuid::now_v7();
    assert!(matches!(
        judge(&w, &req.sign(&w.tech, &w.cert)),
        Err(Refusal::WrongTarget { .. })
    ));

    let mut req = request(&w);
    req.not_after = NOW - 1;
    req.not_before = NOW - 100;
    assert!(matches!(
        judge(&w, &req.sign(&w.tech, &w.cert)),
        Err(Refusal::Expired { .. })
    ));

    let mut req = request(&w);
    req.not_before = NOW + CLOCK_SKEW_SECS + 10;
    req.not_after = NOW + 7200;
    assert!(matches!(
        judge(&w, &req.sign(&w.tech, &w.cert)),
        Err(Refusal::NotYetValid { .. })
    ));

    // Extreme times do not wrap into a short window.
    let mut req = request(&w);
    req.not_before = i64::MIN;
    req.not_after = i64::MAX;
    assert_eq!(
        judge(&w, &req.sign(&w.tech, &w.cert)).unwrap_err(),
        Refusal::WindowTooLong
    );

    let mut req = request(&w);
    req.not_after = req.not_before + MAX_RUN_WINDOW_SECS + 1;
    assert_eq!(
        judge(&w, &req.sign(&w.tech, &w.cert)).unwrap_err(),
        Refusal::WindowTooLong
    );

    // Another client: this agent's client differs, and the certificate does not cover it.
    let mut req = request(&w);
    req.target_client = Uuid::now_v7();
    assert!(matches!(
        judge(&w, &req.sign(&w.tech, &w.cert)),
        Err(Refusal::WrongClient { .. })
    ));

    let mut req = request(&w);
    req.interpreter = "perl".into();
    assert!(matches!(
        judge(&w, &req.sign(&w.tech, &w.cert)),
        Err(Refusal::UnknownInterpreter(_))
    ));

    // The signer knows list 2; the agent holds list 0: refused until the list arrives.
    let mut req = request(&w);
    req.revocation_seq = 2;
    let run = req.sign(&w.tech, &w.cert);
    assert_eq!(
        judge(&w, &run).unwrap_err(),
        Refusal::RevocationListBehind { have: 0, need: 2 }
    );
    w.revocations.seq = 2;
    assert!(judge(&w, &run).is_ok());
    w.revocations
        .revoked
        .push(w.tech.verifying_key().to_bytes());
    assert_eq!(judge(&w, &run).unwrap_err(), Refusal::Revoked);
}

#[test]
fn an_expired_certificate_is_refused() {
    let w = world();
    let mut body = w.cert.claims().unwrap();
    body.not_after = NOW - 1;
    let cert = body.sign(&w.root);
    let run = request(&w).sign(&w.tech, &cert);
    assert!(matches!(
        judge(&w, &run),
        Err(Refusal::CertificateNotValid { .. })
    ));
}

#[test]
fn weak_and_non_canonical_keys_and_signatures_are_refused() {
    // The identity point is a small-order key: anything "verifies" against it loosely.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert_eq!(public_key(&identity).unwrap_err(), Refusal::WeakKey);

    let w = world();
    let run = request(&w).sign(&w.tech, &w.cert);
    // s + L (the group order) is the same signature in loose verifiers; strict ones refuse it.
    let mut bad = run.clone();
    let l: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut carry = 0u16;
    for (s, l) in bad.request.signature.0[32..].iter_mut().zip(l) {
        let v = *s as u16 + l as u16 + carry;
        *s = v as u8;
        carry = v >> 8;
    }
    assert_eq!(judge(&w, &bad).unwrap_err(), Refusal::BadSignature);
}

#[test]
fn wide_runs_need_approvals_by_other_technicians() {
    let w = world();
    let mut req = request(&w);
    req.approvals_required = 1;
    let mut run = req.sign(&w.tech, &w.cert);
    assert_eq!(
        judge(&w, &run).unwrap_err(),
        Refusal::NotApproved {
            needed: 1,
            valid: 0
        }
    );
    // Approving your own run does not count.
    let own = run.certificate.clone();
    run.approve(&w.tech, &own);
    assert!(matches!(
        judge(&w, &run),
        Err(Refusal::NotApproved { valid: 0, .. })
    ));
    let second = new_signing_key();
    let (cert2, _) = certify(&w.root, &second, ClientScope::All);
    run.approve(&second, &cert2);
    assert!(judge(&w, &run).is_ok());
    // An approval signature over other bytes does not count.
    let mut forged = run.clone();
    forged.approvals[1].signature.0[5] ^= 1;
    assert!(judge(&w, &forged).is_err());
}

#[test]
fn revocation_lists_verify_and_never_go_back() {
    let w = world();
    let root = w.root.verifying_key();
    let list = RevocationBody {
        root_key: root.to_bytes(),
        seq: 3,
        issued_at: NOW,
        revoked: vec![w.tech.verifying_key().to_bytes()],
    }
    .sign(&w.root);
    let body = list.verify_newer(&root, 2).unwrap().expect("newer");
    assert!(body.is_revoked(&w.tech.verifying_key().to_bytes()));
    assert_eq!(list.verify_newer(&root, 3).unwrap(), None);
    assert_eq!(
        list.verify_newer(&root, 4).unwrap_err(),
        Refusal::RevocationListRollback {
            held: 4,
            offered: 3
        }
    );
    let mut bad = list.clone();
    bad.0.body.0[40] ^= 1;
    assert!(bad.verify(&root).is_err());
    let other = new_signing_key();
    assert!(list.verify(&other.verifying_key()).is_err());
}

#[test]
fn a_rotation_is_accepted_only_from_the_current_root() {
    let w = world();
    let next = new_signing_key();
    let rotation = RotationBody {
        old_root: w.root.verifying_key().to_bytes(),
        new_root: next.verifying_key().to_bytes(),
        issued_at: NOW,
    }
    .sign(&w.root);
    assert_eq!(
        rotation.verify(&w.root.verifying_key()).unwrap(),
        next.verifying_key()
    );
    assert_eq!(
        rotation.verify(&next.verifying_key()).unwrap_err(),
        Refusal::UntrustedRotation
    );
}

#[test]
fn a_sealed_secret_opens_only_for_its_agent_and_its_parameter() {
    let agent = new_signing_key();
    let sealed = seal::seal(&agent.verifying_key(), "PASSWORD", b"hunter2");
    assert!(!sealed.windows(7).any(|w| w == b"hunter2"));
    assert_eq!(seal::open(&agent, "PASSWORD", &sealed).unwrap(), b"hunter2");
    assert_eq!(
        seal::open(&agent, "OTHER", &sealed).unwrap_err(),
        Refusal::SecretUnreadable
    );
    assert!(seal::open(&new_signing_key(), "PASSWORD", &sealed).is_err());
    let mut bad = sealed.clone();
    bad[40] ^= 1;
    assert!(seal::open(&agent, "PASSWORD", &bad).is_err());
    assert!(seal::open(&agent, "PASSWORD", &sealed[..20]).is_err());
}

#[test]
fn fingerprints_are_grouped_hex_and_normalise() {
    let k = [7u8; 32];
    let f = fingerprint(&k);
    assert_eq!(f.len(), 64 + 15);
    assert_eq!(normalize_fingerprint(&f.to_uppercase()), f.replace(':', ""));
}

#[test]
fn parameter_names_that_would_change_the_interpreter_are_not_allowed() {
    for ok in ["SERVICE", "MIN_MB", "A1"] {
        assert!(parameter_name_allowed(ok), "{ok}");
    }
    for bad in [
        "",
        "service",
        "1A",
        "PATH",
        "IFS",
        "LD_PRELOAD",
        "PYTHONPATH",
        "OUTPOST_X",
        "A-B",
        &"A".repeat(65),
    ] {
        assert!(!parameter_name_allowed(bad), "{bad}");
    }
}

#[test]
fn the_recovery_file_gives_the_root_back_only_with_its_passphrase() {
    let root = new_signing_key();
    let file = recovery::seal(&root, "correct horse battery staple").unwrap();
    assert_eq!(
        file.fingerprint,
        fingerprint(&root.verifying_key().to_bytes())
    );
    let text = serde_json::to_string(&file).unwrap();
    assert!(!text.contains(&B64.encode(root.to_bytes())));
    let back = recovery::open(&file, "correct horse battery staple").unwrap();
    assert_eq!(back.to_bytes(), root.to_bytes());
    assert!(recovery::open(&file, "correct horse battery stapler").is_err());
    assert!(recovery::seal(&root, "short").is_err());
    let mut changed = file.clone();
    changed.fingerprint = fingerprint(&[1; 32]);
    assert!(recovery::open(&changed, "correct horse battery staple").is_err());
}
