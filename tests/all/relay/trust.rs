//! Trusting a self-signed relay: aiosmtpd serving a certificate made the usual way
//! (`openssl req -x509`, hence CA:TRUE), pinned by `ca_file` (the certificate itself) or by
//! `tls_fingerprint`; an untrusted certificate fails with exit 75, the reason in words and the
//! fingerprint (computed here by openssl) with the line that pins it. Both drivers.

use super::draft;
use super::harness::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// A self-signed certificate as `openssl req -x509` makes it (OpenSSL 3: CA:TRUE), for
/// localhost and 127.0.0.1, and its SHA-256 fingerprint as openssl prints it.
pub struct SelfSigned {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub fingerprint: String,
}

pub fn self_signed() -> &'static SelfSigned {
    static S: OnceLock<SelfSigned> = OnceLock::new();
    S.get_or_init(|| {
        let dir = run_dir().join("self-signed");
        std::fs::create_dir_all(&dir).unwrap();
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        let out = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
            ])
            .args(["-subj", "/CN=localhost"])
            .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .expect("openssl is not installed (scripts/test installs it)");
        assert!(out.status.success(), "{out:?}");
        let text = openssl_text(&cert);
        assert!(
            text.contains("CA:TRUE"),
            "the point of the test is a CA:TRUE certificate: {text}"
        );
        SelfSigned {
            fingerprint: openssl_fingerprint(&cert),
            cert,
            key,
        }
    })
}

fn openssl_text(cert: &Path) -> String {
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-text", "-in"])
        .arg(cert)
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

/// `AB:CD:...` as `openssl x509 -fingerprint -sha256` prints it.
pub fn openssl_fingerprint(cert: &Path) -> String {
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(cert)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let fp = text.trim().split_once('=').unwrap().1.to_string();
    assert_eq!(fp.len(), 95, "{text}");
    fp
}

fn server(tls: Tls) -> Smtpd {
    let s = self_signed();
    Smtpd::builder()
        .tls(tls)
        .cert_files(&s.cert, &s.key)
        .start()
}

/// The `[relay]` body toward `server` with `trust` (a ca_file or tls_fingerprint line) instead of
/// the test CA.
fn relay_with(sb: &Sandbox, server: &Smtpd, tls: Tls, trust: &str) -> String {
    let body = sb.smtp_relay(server.port, tls);
    let ca_line = format!("ca_file = {}\n", toml_path(&cert().ca));
    assert!(body.contains(&ca_line));
    body.replace(&ca_line, trust)
}

fn send(sb: &Sandbox, subject: &str) -> Run {
    let d = sb.draft("d.eml", &draft(subject));
    sb.envoi(&["send", d.to_str().unwrap()], None)
}

#[test]
fn a_self_signed_ca_true_certificate_in_ca_file_is_trusted() {
    let server = server(Tls::Starttls);
    let sb = Sandbox::new();
    let trust = format!("ca_file = {}\n", toml_path(&self_signed().cert));
    sb.relay(&relay_with(&sb, &server, Tls::Starttls, &trust), "");
    send(&sb, "pinned by file").assert_ok();
    let got = server.messages();
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(got[0].tls);
    assert_eq!(got[0].header("Subject").as_deref(), Some("pinned by file"));
}

#[test]
fn an_untrusted_certificate_says_why_and_prints_the_line_that_pins_it() {
    let server = server(Tls::Implicit);
    let fp = &self_signed().fingerprint;
    let sb = Sandbox::new();
    // Trusting the test CA only: the self-signed certificate is not among its children.
    sb.relay(&sb.smtp_relay(server.port, Tls::Implicit), "");
    let run = send(&sb, "not yet pinned");
    run.assert_code(75);
    assert!(run.stderr.contains("not trusted"), "{run:#?}");
    assert!(
        run.stderr.contains("CA certificate") && run.stderr.contains("CA:TRUE"),
        "names the reason in words: {run:#?}"
    );
    let line = format!("tls_fingerprint = \"{fp}\"");
    let printed = run
        .stderr
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("tls_fingerprint = "))
        .unwrap_or_else(|| panic!("no tls_fingerprint line: {run:#?}"));
    assert_eq!(printed, line, "the fingerprint openssl computes");
    assert!(server.messages().is_empty());

    // The printed line, pasted into the settings in place of ca_file, is all it takes.
    sb.relay(
        &relay_with(&sb, &server, Tls::Implicit, &format!("{printed}\n")),
        "",
    );
    send(&sb, "pinned by fingerprint").assert_ok();
    let got = server.messages();
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(
        got[0].header("Subject").as_deref(),
        Some("pinned by fingerprint")
    );
}

#[test]
fn a_fingerprint_pins_one_certificate_only() {
    let server = server(Tls::Starttls);
    let sb = Sandbox::new();
    // The test CA's fingerprint, lower case without colons: a valid pin of another certificate.
    let other = openssl_fingerprint(&cert().ca)
        .replace(':', "")
        .to_lowercase();
    let trust = format!("tls_fingerprint = \"{other}\"\n");
    sb.relay(&relay_with(&sb, &server, Tls::Starttls, &trust), "");
    let run = send(&sb, "wrong pin");
    run.assert_code(75);
    assert!(
        run.stderr
            .contains("not the certificate tls_fingerprint pins"),
        "{run:#?}"
    );
    assert!(run.stderr.contains(&self_signed().fingerprint), "{run:#?}");
    assert!(server.messages().is_empty());
}

#[test]
fn a_fingerprint_that_is_not_one_is_a_config_error() {
    let sb = Sandbox::new();
    sb.relay(
        &format!(
            "kind = \"smtp\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"implicit\"\ntls_fingerprint = \"AB:CD:EF\"\n",
            free_port()
        ),
        "",
    );
    let run = send(&sb, "bad pin");
    run.assert_code(78);
    assert!(
        run.stderr.contains("tls_fingerprint") && run.stderr.contains("admin.toml:6:"),
        "{run:#?}"
    );
}

#[cfg(feature = "tokio")]
#[test]
fn the_async_driver_pins_the_same_way() {
    use super::library::composed;
    use envoi::relay::ErrorKind;
    use envoi::relay::smtp::{AsyncSmtpRelay, SmtpSettings, TlsMode};
    let server = server(Tls::Starttls);
    let builder = || {
        SmtpSettings::builder("localhost")
            .port(server.port)
            .tls(TlsMode::Starttls)
            .timeout(std::time::Duration::from_secs(10))
    };
    let msgs = composed("async pinned");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let submit = |settings: SmtpSettings| {
        rt.block_on(async {
            let mut relay = AsyncSmtpRelay::new(settings);
            let r = relay.submit(&msgs[0].0, &msgs[0].1).await;
            relay.close().await;
            r
        })
    };
    let e = submit(builder().ca_file(&cert().ca).build().unwrap()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transient);
    assert!(e.message().contains(&self_signed().fingerprint), "{e}");
    let by_file = builder().ca_file(&self_signed().cert).build().unwrap();
    submit(by_file).unwrap();
    let fp = self_signed().fingerprint.parse().unwrap();
    submit(builder().tls_fingerprint(fp).build().unwrap()).unwrap();
    assert_eq!(server.messages().len(), 2);
}

/// A TLS server that presents the self-signed certificate but signs the handshake with `key`,
/// then hangs up: with another key than the certificate's, it is an impostor that copied the
/// certificate. A hand-written fault (rustls' own server): OpenSSL, hence aiosmtpd, refuses to
/// serve a key that does not match its certificate.
fn impostor(key: &Path) -> u16 {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use rustls::server::{ClientHello, ResolvesServerCert};
    use rustls::sign::CertifiedKey;
    use std::sync::Arc;

    #[derive(Debug)]
    struct Fixed(Arc<CertifiedKey>);
    impl ResolvesServerCert for Fixed {
        fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
            Some(Arc::clone(&self.0))
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let signer = provider
        .key_provider
        .load_private_key(PrivateKeyDer::from_pem_file(key).unwrap())
        .unwrap();
    let certs = CertificateDer::pem_file_iter(&self_signed().cert)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    // CertifiedKey::new does not check that the key belongs to the certificate.
    let resolver = Fixed(Arc::new(CertifiedKey::new(certs, signer)));
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver));
    let config = Arc::new(config);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        if let Ok((mut sock, _)) = listener.accept() {
            let mut conn = rustls::ServerConnection::new(config).unwrap();
            while conn.is_handshaking() {
                if conn.complete_io(&mut sock).is_err() {
                    break;
                }
            }
        }
    });
    port
}

#[test]
fn a_pin_still_checks_the_handshake_signature() {
    use envoi::relay::smtp::{SmtpRelay, SmtpSettings, TlsMode};
    use envoi::relay::{ErrorKind, Relay};
    let other_key = run_dir().join("self-signed/other-key.pem");
    let out = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ])
        .arg("-out")
        .arg(&other_key)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let msgs = super::library::composed("impostor");
    let submit = |port: u16| {
        let settings = SmtpSettings::builder("127.0.0.1")
            .port(port)
            .tls(TlsMode::Implicit)
            .tls_fingerprint(self_signed().fingerprint.parse().unwrap())
            .timeout(std::time::Duration::from_secs(5))
            .build()
            .unwrap();
        SmtpRelay::new(settings)
            .submit(&msgs[0].0, &msgs[0].1)
            .unwrap_err()
    };
    let e = submit(impostor(&other_key));
    assert_eq!(e.kind(), ErrorKind::Transient);
    assert!(
        e.message().contains("TLS failure") && e.message().contains("BadSignature"),
        "{e}"
    );
    // The same server with the certificate's own key gets through TLS, and fails only at the
    // SMTP greeting it never sends.
    let e = submit(impostor(&self_signed().key));
    assert!(!e.message().contains("TLS failure"), "{e}");
}
