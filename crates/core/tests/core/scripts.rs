//! The script library through the core: the starter library, versions, and the checks a
//! script must pass before it can be offered for signing.

use crate::fixture;
use outpost_proto::{Interpreter, NewScript, ParameterKind, ScriptOs, ScriptParameter};

fn script(body: &str, params: Vec<ScriptParameter>) -> NewScript {
    NewScript {
        name: "Restart the print spooler".into(),
        description: "When the front desk cannot print.".into(),
        interpreter: Interpreter::Powershell,
        os: ScriptOs::Windows,
        body: body.into(),
        parameters: params,
        timeout_secs: 120,
        tags: vec!["printing".into()],
    }
}

fn param(name: &str, kind: ParameterKind) -> ScriptParameter {
    ScriptParameter {
        name: name.into(),
        kind,
        label: None,
        required: true,
        default: None,
        choices: vec![],
    }
}

#[tokio::test]
async fn the_starter_library_is_there_once_for_every_os() {
    let f = fixture().await;
    let (_, admin) = f.admin().await;
    let first = f.core.list_scripts(&admin).await.unwrap();
    let again = f.core.list_scripts(&admin).await.unwrap();
    assert_eq!(first.len(), again.len(), "seeded once");
    assert!(first.iter().all(|s| s.starter && s.versions == 1));
    for needle in [
        "Disk cleanup",
        "Restart a service",
        "system log",
        "large files",
        "updates",
        "Flush DNS",
        "Reboot",
    ] {
        for os in [ScriptOs::Linux, ScriptOs::Windows] {
            assert!(
                first
                    .iter()
                    .any(|s| s.current.name.contains(needle) && s.current.os == os
                        || (needle == "system log"
                            && os == ScriptOs::Windows
                            && s.current.name.contains("event log"))),
                "{needle} for {os:?}"
            );
        }
    }
    // What a run signs is the hash of the body it names.
    for s in &first {
        assert_eq!(
            s.current.body_sha256,
            hex::encode(outpost_trust::script_hash(&s.current.body))
        );
    }
}

#[tokio::test]
async fn an_edit_is_a_new_version_and_the_old_one_stays() {
    let f = fixture().await;
    let (_, admin) = f.admin().await;
    let s = f
        .core
        .create_script(&admin, script("Restart-Service Spooler", vec![]))
        .await
        .unwrap();
    assert_eq!(s.current.version, 1);
    let edited = f
        .core
        .update_script(
            &admin,
            s.id,
            script("Restart-Service -Name Spooler -Force", vec![]),
        )
        .await
        .unwrap();
    assert_eq!(edited.current.version, 2);
    assert_eq!(edited.versions, 2);
    let versions = f.core.script_versions(&admin, s.id).await.unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[1].body, "Restart-Service Spooler");
    assert_ne!(versions[0].body_sha256, versions[1].body_sha256);
}

#[tokio::test]
async fn a_script_that_could_not_run_safely_is_refused_with_a_reason() {
    let f = fixture().await;
    let (_, admin) = f.admin().await;
    let cases = [
        (script("", vec![]), "empty"),
        (
            script("x", vec![param("PATH", ParameterKind::String)]),
            "PATH",
        ),
        (
            script("x", vec![param("LD_PRELOAD", ParameterKind::String)]),
            "LD_PRELOAD",
        ),
        (
            script("x", vec![param("lower", ParameterKind::String)]),
            "lower",
        ),
        (
            script("x", vec![param("MODE", ParameterKind::Choice)]),
            "needs choices",
        ),
        (
            script(
                "x",
                vec![
                    param("A", ParameterKind::String),
                    param("A", ParameterKind::Number),
                ],
            ),
            "named twice",
        ),
        (
            script(
                "x",
                vec![ScriptParameter {
                    default: Some("hunter2".into()),
                    ..param("PASSWORD", ParameterKind::Secret)
                }],
            ),
            "cannot have a default",
        ),
        (
            script(
                "x",
                vec![ScriptParameter {
                    default: Some("ten".into()),
                    ..param("COUNT", ParameterKind::Number)
                }],
            ),
            "must be a number",
        ),
        (
            NewScript {
                timeout_secs: 0,
                ..script("x", vec![])
            },
            "timeout_secs",
        ),
    ];
    for (s, says) in cases {
        let e = f.core.create_script(&admin, s).await.unwrap_err();
        assert!(e.to_string().contains(says), "{says}: {e}");
    }
    assert_eq!(
        f.core
            .list_scripts(&admin)
            .await
            .unwrap()
            .iter()
            .filter(|s| !s.starter)
            .count(),
        0,
        "nothing half-made"
    );
}

#[tokio::test]
async fn a_technician_asks_for_a_certificate_and_an_admin_root_issues_it() {
    use outpost_proto::{NewCertificate, NewCertificateRequest, NewTrustRoot};
    let f = fixture().await;
    let (_, admin) = f.admin().await;
    let tess = f.technician(&admin).await;
    let key = outpost_trust::new_signing_key();
    let hex_key = hex::encode(key.verifying_key().to_bytes());

    // Not a key: refused with what to send.
    let bad = f
        .core
        .request_certificate(
            &tess,
            NewCertificateRequest {
                public_key: "abc".into(),
            },
        )
        .await
        .unwrap_err();
    assert!(bad.to_string().contains("32 bytes in hex"), "{bad}");
    let req = f
        .core
        .request_certificate(
            &tess,
            NewCertificateRequest {
                public_key: hex_key.clone(),
            },
        )
        .await
        .unwrap();
    // Asking again is the same request.
    let again = f
        .core
        .request_certificate(
            &tess,
            NewCertificateRequest {
                public_key: hex_key.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(req.id, again.id);
    assert_eq!(Some(req.user_id), tess.user_id);
    assert_eq!(
        req.clients, None,
        "an unscoped technician sees every client"
    );
    assert_eq!(
        f.core
            .list_certificate_requests(&admin)
            .await
            .unwrap()
            .len(),
        1
    );

    // No root yet: a certificate cannot be stored.
    let root = outpost_trust::new_signing_key();
    let body = outpost_trust::CertificateBody {
        serial: uuid::Uuid::now_v7(),
        root_key: root.verifying_key().to_bytes(),
        public_key: key.verifying_key().to_bytes(),
        user_id: req.user_id,
        name: req.name.clone(),
        not_before: 1_800_000_000,
        not_after: 1_900_000_000,
        clients: outpost_trust::ClientScope::All,
    };
    let cert = serde_json::from_value(serde_json::json!(body.sign(&root))).unwrap();
    let e = f
        .core
        .add_certificate(&admin, NewCertificate { certificate: cert })
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no root key"), "{e}");
    f.core
        .set_trust_root(
            &admin,
            NewTrustRoot {
                public_key: hex::encode(root.verifying_key().to_bytes()),
            },
        )
        .await
        .unwrap();
    // Only an admin stores certificates; a second root is refused.
    let cert: outpost_proto::SignedBlob =
        serde_json::from_value(serde_json::json!(body.sign(&root))).unwrap();
    assert!(f
        .core
        .add_certificate(
            &tess,
            NewCertificate {
                certificate: cert.clone()
            }
        )
        .await
        .is_err());
    let other = outpost_trust::new_signing_key();
    assert!(f
        .core
        .set_trust_root(
            &admin,
            NewTrustRoot {
                public_key: hex::encode(other.verifying_key().to_bytes()),
            },
        )
        .await
        .is_err());
    // Impossible times are refused, not overflowed.
    let absurd = outpost_trust::CertificateBody {
        not_after: i64::MAX,
        serial: uuid::Uuid::now_v7(),
        ..body.clone()
    };
    let absurd: outpost_proto::SignedBlob =
        serde_json::from_value(serde_json::json!(absurd.sign(&root))).unwrap();
    let e = f
        .core
        .add_certificate(
            &admin,
            NewCertificate {
                certificate: absurd,
            },
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("between 1970 and 9999"), "{e}");
    let stored = f
        .core
        .add_certificate(&admin, NewCertificate { certificate: cert })
        .await
        .unwrap();
    assert_eq!(stored.public_key, hex_key);
    assert!(
        f.core
            .list_certificate_requests(&admin)
            .await
            .unwrap()
            .is_empty(),
        "issued"
    );
    // The technician sees their own certificate.
    let mine = f.core.list_certificates(&tess).await.unwrap();
    assert_eq!(mine.len(), 1);
}
