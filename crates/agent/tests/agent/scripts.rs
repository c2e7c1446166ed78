//! Signed scripts, end to end with real processes: the server stores and forwards, the real
//! agent verifies and runs. Signing happens here with outpost-trust, as the desktop app does.

use super::*;
use outpost_trust::ed25519_dalek::SigningKey;
use outpost_trust::{
    CertificateBody, ClientScope, Parameter, ParameterValue, RevocationBody, RunRequest,
};
use uuid::Uuid;

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// An organisation's keys: its root, one technician's key and certificate.
struct Org {
    root: SigningKey,
    tech: SigningKey,
    cert: outpost_trust::Certificate,
    serial: Uuid,
}

impl Org {
    fn new(user_id: &str, clients: ClientScope) -> Org {
        let root = outpost_trust::new_signing_key();
        let tech = outpost_trust::new_signing_key();
        let (cert, serial) = certify(&root, &tech, user_id, clients);
        Org {
            root,
            tech,
            cert,
            serial,
        }
    }

    fn root_hex(&self) -> String {
        hex::encode(self.root.verifying_key().to_bytes())
    }

    fn root_fingerprint(&self) -> String {
        outpost_trust::fingerprint(&self.root.verifying_key().to_bytes())
    }

    /// Registers the root and the technician's certificate on the server.
    async fn register(&self, server: &Server) {
        let (s, r) = server
            .call(
                "POST",
                "/trust/root",
                Some(json!({"public_key": self.root_hex()})),
            )
            .await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["fingerprint"], self.root_fingerprint());
        let (s, c) = server
            .call(
                "POST",
                "/trust/certificates",
                Some(json!({"certificate": self.cert})),
            )
            .await;
        assert_eq!(s, 201, "{c}");
    }
}

fn certify(
    root: &SigningKey,
    tech: &SigningKey,
    user_id: &str,
    clients: ClientScope,
) -> (outpost_trust::Certificate, Uuid) {
    let serial = Uuid::now_v7();
    let body = CertificateBody {
        serial,
        root_key: root.verifying_key().to_bytes(),
        public_key: tech.verifying_key().to_bytes(),
        user_id: user_id.parse().unwrap(),
        name: "Ana Admin".into(),
        not_before: now() - 60,
        not_after: now() + 30 * 86400,
        clients,
    };
    (body.sign(root), serial)
}

/// What a run request is for.
struct Target {
    agent: Uuid,
    client: Uuid,
    script: Uuid,
    version: u32,
    body: String,
    interpreter: String,
}

fn request(org: &Org, t: &Target, params: Vec<(&str, ParameterValue)>, timeout: u32) -> RunRequest {
    RunRequest {
        run_id: Uuid::now_v7(),
        nonce: rand::random(),
        target_agent: t.agent,
        target_client: t.client,
        script_id: t.script,
        script_version: t.version,
        script_hash: outpost_trust::script_hash(&t.body),
        interpreter: t.interpreter.clone(),
        parameters: params
            .into_iter()
            .map(|(n, v)| Parameter {
                name: n.into(),
                value: v,
            })
            .collect(),
        timeout_secs: timeout,
        not_before: now() - 5,
        not_after: now() + 600,
        revocation_seq: 0,
        approvals_required: 0,
        certificate_serial: org.serial,
    }
}

fn text(v: &str) -> ParameterValue {
    ParameterValue::Text(v.into())
}

fn agent_id(dir: &Path) -> Uuid {
    let id: Value =
        serde_json::from_slice(&std::fs::read(dir.join("agent.json")).unwrap()).unwrap();
    id["agent_id"].as_str().unwrap().parse().unwrap()
}

fn agent_public_key(server_db_key: &str) -> outpost_trust::ed25519_dalek::VerifyingKey {
    let bytes: [u8; 32] = hex::decode(server_db_key).unwrap().try_into().unwrap();
    outpost_trust::public_key(&bytes).unwrap()
}

async fn add_script(server: &Server, body: &str, params: Value, timeout: i64) -> (Uuid, u32) {
    let (s, sc) = server
        .call(
            "POST",
            "/scripts",
            Some(
                json!({"name": format!("test {}", Uuid::now_v7()), "interpreter": "bash",
                        "os": "linux", "body": body, "parameters": params,
                        "timeout_secs": timeout}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{sc}");
    (
        sc["id"].as_str().unwrap().parse().unwrap(),
        sc["current"]["version"].as_u64().unwrap() as u32,
    )
}

async fn post_run(server: &Server, signed: &outpost_trust::SignedRun) -> (u16, Value) {
    server
        .call("POST", "/runs", Some(json!({"runs": [signed]})))
        .await
}

async fn run_until_done(server: &Server, id: Uuid, secs: u64) -> Value {
    wait_for(secs, "the run's end", || async {
        let (_, r) = server.call("GET", &format!("/runs/{id}"), None).await;
        (!matches!(r["state"].as_str(), Some("waiting" | "running"))).then_some(r)
    })
    .await
}

/// A server with a root and a technician, one client, and one enrolled agent running.
struct Bench {
    server: Server,
    org: Org,
    client: Uuid,
    _state: tempfile::TempDir,
    dir: PathBuf,
    agent: Option<Proc>,
    agent_id: Uuid,
    agent_key: outpost_trust::ed25519_dalek::VerifyingKey,
}

impl Bench {
    async fn start() -> Bench {
        let server = Server::start().await;
        let org = Org::new(&server.user_id, ClientScope::All);
        org.register(&server).await;
        let client: Uuid = server.client("Acme Dental").await.parse().unwrap();
        let (token, _) = server.token(&client.to_string(), 1).await;
        let state = tempfile::tempdir().unwrap();
        let dir = state.path().join("agent");
        let (ok, out) = enroll_with(
            &server,
            &token,
            &dir,
            "machine-scripts",
            &["--root", &org.root_fingerprint().to_uppercase()],
        );
        assert!(ok, "{out}");
        assert!(out.contains("checked against --root"), "{out}");
        let agent = run_agent(&dir, "machine-scripts");
        let id = agent_id(&dir);
        wait_for(40, "the endpoint online", || async {
            let a = server.assets().await;
            (a["items"][0]["online"] == true).then_some(())
        })
        .await;
        let db = server.db().await;
        let key: String = sqlx::query_scalar("SELECT public_key FROM agents WHERE id = ?")
            .bind(id.to_string())
            .fetch_one(&db)
            .await
            .unwrap();
        Bench {
            server,
            org,
            client,
            _state: state,
            dir,
            agent: Some(agent),
            agent_id: id,
            agent_key: agent_public_key(&key),
        }
    }

    async fn target(&self, body: &str, params: Value, timeout: i64) -> Target {
        let (script, version) = add_script(&self.server, body, params, timeout).await;
        Target {
            agent: self.agent_id,
            client: self.client,
            script,
            version,
            body: body.into(),
            interpreter: "bash".into(),
        }
    }

    async fn run(&self, req: &RunRequest) -> Value {
        let signed = req.sign(&self.org.tech, &self.org.cert);
        let (s, r) = post_run(&self.server, &signed).await;
        assert_eq!(s, 201, "{r}");
        run_until_done(&self.server, req.run_id, 60).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_script_runs_with_its_parameters_and_its_output_exit_code_and_limits_are_kept() {
    let b = Bench::start().await;

    // Both streams, the exit code, a text parameter that would be an injection in a shell
    // line, and a secret that only the agent can read.
    let t = b
        .target(
            "echo \"hello $GREETING\"\necho \"secret has ${#PASSWORD} characters\"\n\
             echo 'to stderr' >&2\nexit 3\n",
            json!([{"name": "GREETING", "kind": "string", "required": true},
                   {"name": "PASSWORD", "kind": "secret", "required": true}]),
            60,
        )
        .await;
    let secret = "s3cr3t-Passw0rd-never-stored";
    let sealed = outpost_trust::seal::seal(&b.agent_key, "PASSWORD", secret.as_bytes());
    let req = request(
        &b.org,
        &t,
        vec![
            ("GREETING", text("world; touch /tmp/outpost-injected")),
            ("PASSWORD", ParameterValue::Sealed(sealed)),
        ],
        60,
    );
    let run = b.run(&req).await;
    assert_eq!(run["state"], "finished", "{run}");
    assert_eq!(run["outcome"], "exited");
    assert_eq!(run["exit_code"], 3);
    assert_eq!(
        run["stdout"],
        "hello world; touch /tmp/outpost-injected\nsecret has 28 characters\n"
    );
    assert_eq!(run["stderr"], "to stderr\n");
    assert_eq!(run["signer"], "Ana Admin");
    assert!(run["started_at"].is_string() && run["ended_at"].is_string());
    assert!(!Path::new("/tmp/outpost-injected").exists());
    let password = run["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "PASSWORD")
        .unwrap();
    assert!(password["value"].is_null(), "{run}");
    // The server's database (and its WAL) never held the secret in clear.
    for f in ["outpost.db", "outpost.db-wal"] {
        let bytes = std::fs::read(b.server.dir.path().join(f)).unwrap_or_default();
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{f} holds the secret"
        );
    }

    // A timeout kills the script and what it started.
    let pidfile = b.dir.with_extension("child.pid");
    let t = b
        .target(
            &format!("sleep 300 &\necho $! > {}\nsleep 300\n", pidfile.display()),
            json!([]),
            60,
        )
        .await;
    let run = b.run(&request(&b.org, &t, vec![], 2)).await;
    assert_eq!(run["outcome"], "timed_out", "{run}");
    assert!(run["exit_code"].is_null());
    let child: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    wait_for(10, "the script's child gone", || async {
        (!Path::new(&format!("/proc/{child}")).exists()).then_some(())
    })
    .await;

    // Output past the cap is cut and marked; the script still ends by itself.
    let t = b
        .target(
            "head -c 3000000 /dev/zero | tr '\\0' x\necho done >&2\n",
            json!([]),
            60,
        )
        .await;
    let run = b.run(&request(&b.org, &t, vec![], 60)).await;
    assert_eq!(run["exit_code"], 0, "{}", run["stderr"]);
    assert_eq!(run["stdout"].as_str().unwrap().len(), 1024 * 1024);
    assert_eq!(run["stdout_truncated"], true);
    assert_eq!(run["stderr"], "done\n");
    assert_eq!(run["stderr_truncated"], false);

    // Cancellation stops a running script; its output so far is kept.
    let t = b
        .target("echo started\nsleep 300\necho never\n", json!([]), 600)
        .await;
    let req = request(&b.org, &t, vec![], 600);
    let signed = req.sign(&b.org.tech, &b.org.cert);
    let (s, r) = post_run(&b.server, &signed).await;
    assert_eq!(s, 201, "{r}");
    let id = req.run_id;
    wait_for(30, "the script's first line", || async {
        let (_, r) = b.server.call("GET", &format!("/runs/{id}"), None).await;
        (r["state"] == "running" && r["stdout"] == "started\n").then_some(())
    })
    .await;
    let (s, c) = b
        .server
        .call("POST", &format!("/runs/{id}/cancel"), None)
        .await;
    assert_eq!(s, 200, "{c}");
    let run = run_until_done(&b.server, id, 30).await;
    assert_eq!(run["state"], "cancelled", "{run}");
    assert_eq!(run["outcome"], "cancelled");
    assert_eq!(run["stdout"], "started\n");
    // And a finished run cannot be cancelled.
    let (s, _) = b
        .server
        .call("POST", &format!("/runs/{id}/cancel"), None)
        .await;
    assert_eq!(s, 409);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_refuses_bad_runs_and_the_agent_refuses_every_forgery() {
    let mut b = Bench::start().await;
    let marker = b.dir.with_extension("ran");
    let body = format!("echo ran >> {}\n", marker.display());
    let t = b
        .target(
            &body,
            json!([{"name": "COUNT", "kind": "number", "required": true},
                   {"name": "MODE", "kind": "choice", "choices": ["fast", "slow"]}]),
            60,
        )
        .await;
    let good = || request(&b.org, &t, vec![("COUNT", text("2"))], 60);

    // Refused by the server before anything is sent, with a message saying what is wrong.
    let cases: Vec<(RunRequest, &str)> = vec![
        (
            RunRequest {
                interpreter: "perl".into(),
                ..good()
            },
            "perl",
        ),
        (
            RunRequest {
                parameters: vec![],
                ..good()
            },
            "COUNT is required",
        ),
        (
            request(&b.org, &t, vec![("COUNT", text("two"))], 60),
            "must be a number",
        ),
        (
            request(
                &b.org,
                &t,
                vec![("COUNT", text("1")), ("MODE", text("warp"))],
                60,
            ),
            "must be one of fast, slow",
        ),
        (
            RunRequest {
                not_before: now() - 7200,
                not_after: now() - 3600,
                ..good()
            },
            "expired",
        ),
        (
            RunRequest {
                target_client: Uuid::now_v7(),
                ..good()
            },
            "not this endpoint's client",
        ),
    ];
    for (req, says) in &cases {
        let (s, r) = post_run(&b.server, &req.sign(&b.org.tech, &b.org.cert)).await;
        assert_eq!(s, 400, "{r}");
        assert!(r["message"].as_str().unwrap().contains(says), "{says}: {r}");
    }
    // A Windows script for a Linux endpoint.
    let (s, win) = b
        .server
        .call(
            "POST",
            "/scripts",
            Some(
                json!({"name": "win only", "interpreter": "powershell", "os": "windows",
                        "body": "Get-Date", "timeout_secs": 30}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{win}");
    let wt = Target {
        script: win["id"].as_str().unwrap().parse().unwrap(),
        version: 1,
        body: "Get-Date".into(),
        interpreter: "powershell".into(),
        ..t_clone(&t)
    };
    let (s, r) = post_run(
        &b.server,
        &request(&b.org, &wt, vec![], 60).sign(&b.org.tech, &b.org.cert),
    )
    .await;
    assert_eq!(s, 400);
    assert!(
        r["message"].as_str().unwrap().contains("windows script"),
        "{r}"
    );
    // A certificate that does not cover this client.
    let scoped = outpost_trust::new_signing_key();
    let (scoped_cert, scoped_serial) = certify(
        &b.org.root,
        &scoped,
        &b.server.user_id,
        ClientScope::Only(vec![Uuid::now_v7()]),
    );
    let (s, r) = post_run(
        &b.server,
        &RunRequest {
            certificate_serial: scoped_serial,
            ..good()
        }
        .sign(&scoped, &scoped_cert),
    )
    .await;
    assert_eq!(s, 400);
    assert!(
        r["message"].as_str().unwrap().contains("does not cover"),
        "{r}"
    );

    // One good run, so there is something to replay.
    let first = good();
    let run = b.run(&first).await;
    assert_eq!(run["exit_code"], 0, "{run}");
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "ran\n");

    // Now a compromised server: runs written straight into its database. None may run.
    let signed_ok = good().sign(&b.org.tech, &b.org.cert);
    let mut forged: Vec<(String, Value, &str)> = Vec::new();
    // A changed parameter (the signature no longer covers the bytes).
    let mut tampered = signed_ok.clone();
    let req_bytes = &mut tampered.request.body.0;
    let at = req_bytes.len() - 60;
    req_bytes[at] ^= 0x04;
    forged.push((Uuid::now_v7().to_string(), json!(tampered), "bad_signature"));
    // Flipped bytes in the certificate.
    let mut bad_cert = signed_ok.clone();
    bad_cert.certificate.0.body.0[20] ^= 1;
    forged.push((
        Uuid::now_v7().to_string(),
        json!(bad_cert),
        "untrusted_certificate",
    ));
    // Signed for another agent (a swapped target).
    let other = RunRequest {
        target_agent: Uuid::now_v7(),
        ..good()
    };
    forged.push((
        other.run_id.to_string(),
        json!(other.sign(&b.org.tech, &b.org.cert)),
        "wrong_target",
    ));
    // Expired.
    let old = RunRequest {
        not_before: now() - 7200,
        not_after: now() - 3600,
        ..good()
    };
    forged.push((
        old.run_id.to_string(),
        json!(old.sign(&b.org.tech, &b.org.cert)),
        "expired",
    ));
    // Signed by a key another root certified (the attacker's own "root").
    let mallory = Org::new(&b.server.user_id, ClientScope::All);
    let m = RunRequest {
        certificate_serial: mallory.serial,
        ..good()
    };
    forged.push((
        m.run_id.to_string(),
        json!(m.sign(&mallory.tech, &mallory.cert)),
        "untrusted_certificate",
    ));
    // Naming a revocation list the agent has not been given (a server withholding it).
    let ahead = RunRequest {
        revocation_seq: 7,
        ..good()
    };
    forged.push((
        ahead.run_id.to_string(),
        json!(ahead.sign(&b.org.tech, &b.org.cert)),
        "revocation_list_behind",
    ));
    // A genuine request delivered with another script body.
    let swapped = good();
    let swapped_id = swapped.run_id.to_string();
    forged.push((
        swapped_id.clone(),
        json!(swapped.sign(&b.org.tech, &b.org.cert)),
        "script_mismatch",
    ));

    // The agent is stopped while the forgeries go in; it gets them when it reconnects.
    b.agent = None;
    let db = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            sqlx::sqlite::SqliteConnectOptions::new()
                .filename(b.server.dir.path().join("outpost.db")),
        )
        .await
        .unwrap();
    for (id, signed, _) in &forged {
        let version = if *id == swapped_id {
            2
        } else {
            t.version as i64
        };
        sqlx::query(
            "INSERT INTO runs (id, state, script_id, script_version, asset_id, agent_id, client_id, \
             signer_user_id, signer_name, signer_key, signed, parameters, not_before, not_after, \
             created_at, created_by) SELECT ?, 'waiting', ?, ?, asset_id, id, ?, ?, 'Mallory', '00', ?, \
             '[]', 0, ?, 0, 'mallory' FROM agents WHERE id = ?",
        )
        .bind(id)
        .bind(t.script.to_string())
        .bind(version)
        .bind(b.client.to_string())
        .bind(&b.server.user_id)
        .bind(signed.to_string())
        .bind((now() + 600) * 1000)
        .bind(b.agent_id.to_string())
        .execute(&db)
        .await
        .unwrap();
    }
    // The swapped body: a version 2 of the script the request does not name by hash.
    sqlx::query(
        "INSERT INTO script_versions (id, script_id, version, name, description, interpreter, os, body, \
         body_sha256, parameters, timeout_secs, tags, created_by, created_at) SELECT \
         lower(hex(randomblob(16))), script_id, 2, \
         name, description, interpreter, os, ?, body_sha256, parameters, timeout_secs, tags, \
         'mallory', 0 FROM script_versions WHERE script_id = ? AND version = 1",
    )
    .bind(format!("echo pwned >> {}\n", marker.display()))
    .bind(t.script.to_string())
    .execute(&db)
    .await
    .unwrap();
    // A replay: the run that ran is set waiting again.
    sqlx::query("UPDATE runs SET state = 'waiting', ended_at = NULL WHERE id = ?")
        .bind(first.run_id.to_string())
        .execute(&db)
        .await
        .unwrap();

    b.agent = Some(run_agent(&b.dir, "machine-scripts"));
    for (id, _, code) in &forged {
        let run = run_until_done(&b.server, id.parse().unwrap(), 60).await;
        assert_eq!(run["state"], "refused", "{id}: {run}");
        assert_eq!(run["refusal_code"], *code, "{run}");
    }
    // The replayed run is ignored (its nonce is known), so it stays as the server put it.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap(),
        "ran\n",
        "only the genuine run ran"
    );
    let log = agent_log(&b.dir);
    assert!(log.contains("refused a run"), "{log}");
    // Every refusal is audited with its reason.
    let refused: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE action = 'run.refused'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(refused, forged.len() as i64);

    // Revocation: the admin revokes the technician's key; new runs are refused by the
    // server, and by the agent if the server is made to send one anyway.
    let list = RevocationBody {
        root_key: b.org.root.verifying_key().to_bytes(),
        seq: 1,
        issued_at: now(),
        revoked: vec![b.org.tech.verifying_key().to_bytes()],
    }
    .sign(&b.org.root);
    let (s, r) = b
        .server
        .call("POST", "/trust/revocations", Some(json!({"list": list})))
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["seq"], 1);
    let late = good();
    let (s, r) = post_run(&b.server, &late.sign(&b.org.tech, &b.org.cert)).await;
    assert_eq!(s, 400);
    assert!(r["message"].as_str().unwrap().contains("revoked"), "{r}");
    wait_for(20, "the agent holding revocation list 1", || async {
        agent_status(&b.dir)
            .contains("revocations: list 1")
            .then_some(())
    })
    .await;
    sqlx::query(
        "INSERT INTO runs (id, state, script_id, script_version, asset_id, agent_id, client_id, \
         signer_user_id, signer_name, signer_key, signed, parameters, not_before, not_after, \
         created_at, created_by) SELECT ?, 'waiting', ?, ?, asset_id, id, ?, ?, 'Ana', '00', ?, \
         '[]', 0, ?, 0, 'mallory' FROM agents WHERE id = ?",
    )
    .bind(late.run_id.to_string())
    .bind(t.script.to_string())
    .bind(t.version as i64)
    .bind(b.client.to_string())
    .bind(&b.server.user_id)
    .bind(json!(late.sign(&b.org.tech, &b.org.cert)).to_string())
    .bind((now() + 600) * 1000)
    .bind(b.agent_id.to_string())
    .execute(&db)
    .await
    .unwrap();
    b.agent = None;
    b.agent = Some(run_agent(&b.dir, "machine-scripts"));
    let run = run_until_done(&b.server, late.run_id, 60).await;
    assert_eq!(run["refusal_code"], "revoked", "{run}");
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "ran\n");
}

fn t_clone(t: &Target) -> Target {
    Target {
        agent: t.agent,
        client: t.client,
        script: t.script,
        version: t.version,
        body: t.body.clone(),
        interpreter: t.interpreter.clone(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_run_reaches_every_agent_and_an_agent_enrolled_before_the_root_takes_it_once() {
    let server = Server::start().await;
    let client: Uuid = server.client("Bulk Ltd").await.parse().unwrap();
    let (token, _) = server.token(&client.to_string(), 10).await;
    let state = tempfile::tempdir().unwrap();
    // The first agent joins before the organisation has a root key.
    let early = state.path().join("early");
    let (ok, out) = enroll(&server, &token, &early, "machine-early");
    assert!(ok, "{out}");
    let org = Org::new(&server.user_id, ClientScope::All);
    org.register(&server).await;
    let mut dirs = vec![early];
    for i in 0..4 {
        let d = state.path().join(format!("agent-{i}"));
        let (ok, out) = enroll_with(
            &server,
            &token,
            &d,
            &format!("machine-{i}"),
            &["--root", &org.root_fingerprint()],
        );
        assert!(ok, "{out}");
        dirs.push(d);
    }
    // A wrong --root refuses the enrollment and saves nothing.
    let wrong = state.path().join("wrong");
    let (ok, out) = enroll_with(&server, &token, &wrong, "machine-w", &["--root", "ab:cd"]);
    assert!(
        !ok && out.contains("not the ab:cd given with --root"),
        "{out}"
    );
    assert!(!wrong.join("agent.json").exists());

    let _agents: Vec<Proc> = dirs
        .iter()
        .enumerate()
        .map(|(i, d)| {
            run_agent(
                d,
                &if i == 0 {
                    "machine-early".to_string()
                } else {
                    format!("machine-{}", i - 1)
                },
            )
        })
        .collect();
    wait_for(40, "five endpoints online", || async {
        let a = server.assets().await;
        let items = a["items"].as_array()?;
        (items.len() == 5 && items.iter().all(|i| i["online"] == true)).then_some(())
    })
    .await;
    wait_for(
        20,
        "the early agent taking the root on first use",
        || async {
            agent_status(&dirs[0])
                .contains(&format!("{} (pinned at first use)", org.root_fingerprint()))
                .then_some(())
        },
    )
    .await;
    assert!(agent_status(&dirs[1]).contains("(pinned at enrollment)"));

    let body = "echo \"on $(hostname) as $OUTPOST_RUN_ID\"\n";
    let (script, version) = add_script(&server, body, json!([]), 60).await;
    let runs: Vec<RunRequest> = dirs
        .iter()
        .map(|d| {
            request(
                &org,
                &Target {
                    agent: agent_id(d),
                    client,
                    script,
                    version,
                    body: body.into(),
                    interpreter: "bash".into(),
                },
                vec![],
                60,
            )
        })
        .collect();
    let signed: Vec<_> = runs.iter().map(|r| r.sign(&org.tech, &org.cert)).collect();
    let (s, r) = server
        .call("POST", "/runs", Some(json!({"runs": signed})))
        .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r.as_array().unwrap().len(), 5);
    // Sending the same requests again (a console retrying) adds nothing.
    let (s, _) = server
        .call("POST", "/runs", Some(json!({"runs": signed})))
        .await;
    assert_eq!(s, 201);
    for req in &runs {
        let run = run_until_done(&server, req.run_id, 60).await;
        assert_eq!(run["exit_code"], 0, "{run}");
        assert!(run["stdout"]
            .as_str()
            .unwrap()
            .ends_with(&format!("as {}\n", req.run_id)));
    }
    let (_, list) = server.call("GET", "/runs?state=finished", None).await;
    assert_eq!(list["total"], 5, "{list}");
    // The server shows how each agent pinned its root.
    let db = server.db().await;
    let pins: Vec<(String,)> =
        sqlx::query_as("SELECT root_pinned FROM agents ORDER BY enrolled_at")
            .fetch_all(&db)
            .await
            .unwrap();
    assert_eq!(pins[0].0, "first_use");
    assert!(pins[1..].iter().all(|p| p.0 == "enrollment"), "{pins:?}");

    // An admin confirms the root taken on first use (it is the organisation's); a root
    // pinned at enrollment has nothing to confirm.
    let assets: Vec<(String, String)> =
        sqlx::query_as("SELECT asset_id, root_pinned FROM agents ORDER BY enrolled_at")
            .fetch_all(&db)
            .await
            .unwrap();
    let (s, e) = server
        .call(
            "POST",
            &format!("/assets/{}/confirm-root", assets[1].0),
            None,
        )
        .await;
    assert_eq!(s, 409, "{e}");
    let (s, e) = server
        .call(
            "POST",
            &format!("/assets/{}/confirm-root", assets[0].0),
            None,
        )
        .await;
    assert!(s == 200 || s == 204, "{s} {e}");
    let (_, detail) = server
        .call("GET", &format!("/assets/{}", assets[0].0), None)
        .await;
    assert!(detail["agent"]["root_confirmed_by"].is_string(), "{detail}");
    assert!(detail["agent"]["root_confirmed_at"].is_string(), "{detail}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_starter_scripts_that_are_safe_here_work_on_this_machine() {
    let b = Bench::start().await;
    let (s, library) = b.server.call("GET", "/scripts", None).await;
    assert_eq!(s, 200, "{library}");
    let find = |name: &str| {
        library
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["current"]["name"] == name)
            .unwrap_or_else(|| panic!("{name} is not in the starter library"))
            .clone()
    };
    let target = |s: &Value| Target {
        agent: b.agent_id,
        client: b.client,
        script: s["id"].as_str().unwrap().parse().unwrap(),
        version: 1,
        body: s["current"]["body"].as_str().unwrap().into(),
        interpreter: s["current"]["interpreter"].as_str().unwrap().into(),
    };
    // Large files: a 3 MiB file in a folder of its own is listed, a small one is not.
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(folder.path().join("big.iso"), vec![7u8; 3 * 1024 * 1024]).unwrap();
    std::fs::write(folder.path().join("small.txt"), b"hello").unwrap();
    let large = find("List large files (Linux, macOS)");
    let run = b
        .run(&request(
            &b.org,
            &target(&large),
            vec![
                ("FOLDER", text(folder.path().to_str().unwrap())),
                ("MIN_MB", text("1")),
            ],
            60,
        ))
        .await;
    assert_eq!(run["exit_code"], 0, "{run}");
    let out = run["stdout"].as_str().unwrap();
    assert!(out.contains("3.0 MiB") && out.contains("big.iso"), "{out}");
    assert!(!out.contains("small.txt"), "{out}");

    // Flushing DNS says what it did (here: that there is no cache to flush, or which one).
    let dns = find("Flush DNS cache (Linux)");
    let run = b.run(&request(&b.org, &target(&dns), vec![], 60)).await;
    assert_eq!(run["exit_code"], 0, "{run}");
    assert!(
        run["stdout"].as_str().unwrap().contains("DNS")
            || run["stdout"].as_str().unwrap().contains("dnsmasq")
            || run["stdout"].as_str().unwrap().contains("nscd"),
        "{run}"
    );

    // Checking for updates lists them (or says there are none) without installing.
    if Command::new("apt-get").arg("--version").output().is_ok() {
        let updates = find("Pending updates: check or install (Linux)");
        let run = b
            .run(&request(
                &b.org,
                &target(&updates),
                vec![("INSTALL", text("no"))],
                300,
            ))
            .await;
        assert_eq!(run["exit_code"], 0, "{run}");
        let out = run["stdout"].as_str().unwrap();
        assert!(
            out.contains("Inst ") || out.contains("no pending updates"),
            "{out}"
        );
    }
}

/// Another technician ("bo"): their user id and a logged-in token.
async fn second_technician(server: &Server) -> (String, String) {
    let (s, bo) = server
        .call(
            "POST",
            "/users",
            Some(
                json!({"username": "bo", "display_name": "Bo Second", "role": "technician",
                        "password": "second-tech-1"}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{bo}");
    let login: Value = server
        .http
        .post(server.url("/api/v1/auth/login"))
        .json(&json!({"username": "bo", "password": "second-tech-1"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (
        bo["id"].as_str().unwrap().to_string(),
        login["token"].as_str().unwrap().to_string(),
    )
}

async fn call_as(
    server: &Server,
    token: &str,
    method: &str,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let r = server
        .http
        .request(m, server.url(&format!("/api/v1{path}")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_needs_a_second_technician_waits_for_their_approval() {
    let b = Bench::start().await;
    let marker = b.dir.with_extension("approved");
    let body = format!("echo ran >> {}\n", marker.display());
    let t = b.target(&body, json!([]), 60).await;

    // A second technician, with a certificate of their own.
    let (bo_id, bo_token) = second_technician(&b.server).await;
    let bo_key = outpost_trust::new_signing_key();
    let (bo_cert, _) = certify(&b.org.root, &bo_key, &bo_id, ClientScope::All);
    let (s, r) = b
        .server
        .call(
            "POST",
            "/trust/certificates",
            Some(json!({"certificate": bo_cert})),
        )
        .await;
    assert_eq!(s, 201, "{r}");

    let req = RunRequest {
        approvals_required: 1,
        ..request(&b.org, &t, vec![], 60)
    };
    let signed = req.sign(&b.org.tech, &b.org.cert);
    let (s, r) = post_run(&b.server, &signed).await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r[0]["state"], "awaiting_approval", "{r}");
    assert_eq!(r[0]["approvals_required"], 1);
    let id = req.run_id;

    // The signer cannot approve their own run.
    let mut own = signed.clone();
    own.approve(&b.org.tech, &b.org.cert);
    let (s, e) = b
        .server
        .call(
            "POST",
            &format!("/runs/{id}/approve"),
            Some(json!({"approval": own.approvals[0]})),
        )
        .await;
    assert_eq!(s, 400, "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("nobody approves their own run"),
        "{e}"
    );
    // An approval over other bytes does not count.
    let other = request(&b.org, &t, vec![], 60).sign(&b.org.tech, &b.org.cert);
    let mut wrong = other.clone();
    wrong.approve(&bo_key, &bo_cert);
    let (s, e) = call_as(
        &b.server,
        &bo_token,
        "POST",
        &format!("/runs/{id}/approve"),
        json!({"approval": wrong.approvals[0]}),
    )
    .await;
    assert_eq!(s, 400, "{e}");
    // Bo's approval sent by someone else is refused too.
    let mut right = signed.clone();
    right.approve(&bo_key, &bo_cert);
    let (s, _) = b
        .server
        .call(
            "POST",
            &format!("/runs/{id}/approve"),
            Some(json!({"approval": right.approvals[0]})),
        )
        .await;
    assert_eq!(s, 400);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!marker.exists(), "nothing runs before the approval");

    let (s, r) = call_as(
        &b.server,
        &bo_token,
        "POST",
        &format!("/runs/{id}/approve"),
        json!({"approval": right.approvals[0]}),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["approved_by"].as_array().unwrap().len(), 1, "{r}");
    let run = run_until_done(&b.server, id, 60).await;
    assert_eq!(run["state"], "finished", "{run}");
    assert_eq!(run["exit_code"], 0);
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "ran\n");
    // Approving again: it is not waiting any more.
    let (s, _) = call_as(
        &b.server,
        &bo_token,
        "POST",
        &format!("/runs/{id}/approve"),
        json!({"approval": right.approvals[0]}),
    )
    .await;
    assert_eq!(s, 409);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_from_a_ticket_notes_its_result_on_the_ticket() {
    let b = Bench::start().await;
    let (s, ticket) = b
        .server
        .call(
            "POST",
            "/tickets",
            Some(json!({"title": "Disk nearly full on the file server", "client_id": b.client})),
        )
        .await;
    assert_eq!(s, 201, "{ticket}");
    let ticket_id = ticket["id"].as_str().unwrap().to_string();
    let t = b
        .target(
            "echo 'freed 2.1 GiB'\necho 'one warning' >&2\n",
            json!([]),
            60,
        )
        .await;
    let req = request(&b.org, &t, vec![], 60);
    let signed = req.sign(&b.org.tech, &b.org.cert);

    // A ticket of another client is refused.
    let other = b.server.client("Other Ltd").await;
    let (_, foreign) = b
        .server
        .call(
            "POST",
            "/tickets",
            Some(json!({"title": "x", "client_id": other})),
        )
        .await;
    let (s, e) = b
        .server
        .call(
            "POST",
            "/runs",
            Some(json!({"runs": [signed], "ticket_id": foreign["id"]})),
        )
        .await;
    assert_eq!(s, 400, "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("another client than the ticket"),
        "{e}"
    );

    let (s, r) = b
        .server
        .call(
            "POST",
            "/runs",
            Some(json!({"runs": [signed], "ticket_id": ticket_id})),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r[0]["ticket_number"], ticket["number"]);
    run_until_done(&b.server, req.run_id, 60).await;
    let detail = wait_for(20, "the result noted on the ticket", || async {
        let (_, d) = b
            .server
            .call("GET", &format!("/tickets/{ticket_id}"), None)
            .await;
        let noted = d["comments"].as_array()?.iter().any(|c| {
            c["body"]
                .as_str()
                .is_some_and(|t| t.contains("freed 2.1 GiB"))
        });
        noted.then_some(d)
    })
    .await;
    let comment = detail["comments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["body"].as_str().unwrap().contains("freed"))
        .unwrap();
    assert_eq!(comment["internal"], true, "{comment}");
    let body = comment["body"].as_str().unwrap();
    assert!(
        body.contains("exit code 0") && body.contains("one warning"),
        "{body}"
    );
    // Noted once, whatever else the agent reports.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (_, d) = b
        .server
        .call("GET", &format!("/tickets/{ticket_id}"), None)
        .await;
    let notes = d["comments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["body"].as_str().unwrap().contains("freed"))
        .count();
    assert_eq!(notes, 1);
}

#[path = "automations.rs"]
mod automations;

#[path = "rotation.rs"]
mod rotation;
