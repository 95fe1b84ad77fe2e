//! OAuth 2 logins against aiosmtpd with XOAUTH2 and OAUTHBEARER added (smtpd.py --oauth): the
//! token comes from the usual password sources; a refused token fails as Gmail fails it (a 334
//! challenge carrying a JSON error, answered, then 535) and exits 77, not 75; a token too long
//! for the AUTH line follows an empty challenge; both drivers.

use super::draft;
use super::harness::*;
use super::library::USER;
use serde_json::Value;

const TOKEN: &str = "ya29.a0-test-token-5f1e";

fn server(tls: Tls, token: &str) -> Smtpd {
    Smtpd::builder().tls(tls).oauth(USER, token).start()
}

fn send(sb: &Sandbox, subject: &str) -> Run {
    let d = sb.draft("d.eml", &draft(subject));
    sb.envoi(&["send", d.to_str().unwrap()], None)
}

fn attempt(server: &Smtpd) -> Value {
    let a = server.oauth_attempts();
    assert_eq!(a.len(), 1, "{a:#?}");
    a.into_iter().next().unwrap()
}

#[test]
fn xoauth2_with_a_token_from_a_command() {
    let server = server(Tls::Starttls, TOKEN);
    let sb = Sandbox::new();
    sb.relay(
        &format!(
            "{}user = \"{USER}\"\nauth = \"xoauth2\"\npassword_command = \"echo {TOKEN}\"\n",
            sb.smtp_relay(server.port, Tls::Starttls)
        ),
        "",
    );
    send(&sb, "xoauth2").assert_ok();
    let a = attempt(&server);
    assert_eq!(a["mechanism"], "XOAUTH2");
    assert_eq!(a["ok"], true);
    assert_eq!(a["initial"], true, "a short token goes on the AUTH line");
    let got = server.messages();
    assert_eq!(got.len(), 1);
    assert!(got[0].tls);
    assert_eq!(got[0].auth.as_deref(), Some(USER));
    let shown = sb.envoi(&["config"], None);
    assert!(shown.stdout.contains("auth = \"xoauth2\""), "{shown:#?}");
}

#[test]
fn oauthbearer_over_implicit_tls_with_a_token_from_the_environment() {
    let server = server(Tls::Implicit, TOKEN);
    let mut sb = Sandbox::new();
    let login = sb.password_env(USER, TOKEN);
    sb.relay(
        &format!(
            "{}{login}auth = \"oauthbearer\"\n",
            sb.smtp_relay(server.port, Tls::Implicit)
        ),
        "",
    );
    send(&sb, "oauthbearer").assert_ok();
    let a = attempt(&server);
    assert_eq!(a["mechanism"], "OAUTHBEARER");
    assert_eq!(a["ok"], true);
    assert_eq!(server.messages().len(), 1);
}

#[test]
fn a_refused_token_exits_77_as_gmail_refuses_it() {
    for (mechanism, answer) in [("xoauth2", ""), ("oauthbearer", "\u{1}")] {
        let server = server(Tls::Starttls, TOKEN);
        let mut sb = Sandbox::new();
        let stale = "ya29.expired-token-0b7d";
        let login = sb.password_env(USER, stale);
        sb.relay(
            &format!(
                "{}{login}auth = \"{mechanism}\"\n",
                sb.smtp_relay(server.port, Tls::Starttls)
            ),
            "",
        );
        let run = send(&sb, "refused token");
        run.assert_code(77);
        let a = attempt(&server);
        assert_eq!(a["ok"], false);
        assert_eq!(
            a["error_answer"], answer,
            "{mechanism}: the error challenge is answered as RFC 7628 / Google say"
        );
        assert!(
            run.stderr.contains("535") && run.stderr.contains(r#""status":"400""#),
            "names the reply and the server's reason: {run:#?}"
        );
        assert!(!run.stderr.contains(stale), "the token is never shown");
        assert!(server.messages().is_empty());
    }
}

#[test]
fn a_mechanism_the_server_does_not_offer_exits_77_naming_what_it_offers() {
    // PLAIN and LOGIN only: aiosmtpd's own.
    let server = Smtpd::builder().tls(Tls::Starttls).auth(USER, "pw").start();
    let mut sb = Sandbox::new();
    let login = sb.password_env(USER, TOKEN);
    sb.relay(
        &format!(
            "{}{login}auth = \"oauthbearer\"\n",
            sb.smtp_relay(server.port, Tls::Starttls)
        ),
        "",
    );
    let run = send(&sb, "x");
    run.assert_code(77);
    assert!(
        run.stderr.contains("AUTH LOGIN PLAIN") && run.stderr.contains("not AUTH OAUTHBEARER"),
        "{run:#?}"
    );
}

#[test]
fn an_unknown_mechanism_is_a_config_error_with_its_line() {
    let sb = Sandbox::new();
    sb.relay(
        &format!(
            "{}user = \"{USER}\"\npassword_env = \"X\"\nauth = \"cram-md5\"\n",
            sb.smtp_relay(free_port(), Tls::Starttls)
        ),
        "",
    );
    let run = send(&sb, "x");
    run.assert_code(78);
    assert!(
        run.stderr.contains("auth") && run.stderr.contains("admin.toml:11"),
        "{run:#?}"
    );
}

#[cfg(feature = "tokio")]
#[test]
fn the_async_driver_sends_a_long_token_after_an_empty_challenge() {
    use super::library::{composed, settings};
    use envoi::relay::ErrorKind;
    use envoi::relay::smtp::{AsyncSmtpRelay, AuthMechanism, Credentials, SmtpSettings, TlsMode};
    // Real access tokens are often longer than an AUTH line may be (RFC 4954 §4): over 512
    // octets in base64, yet within aiosmtpd's own limit for a line (1001).
    let long = format!("ya29.{}", "Zq9".repeat(200));
    let server = server(Tls::Implicit, &long);
    let msgs = composed("async oauth");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let with = |token: &str, m: AuthMechanism| -> SmtpSettings {
        let s = settings(&server, TlsMode::Implicit, None);
        SmtpSettings::builder(s.host())
            .port(s.port())
            .tls(TlsMode::Implicit)
            .ca_file(s.ca_file().unwrap())
            .credentials(Credentials::with_password(USER, token))
            .auth(m)
            .build()
            .unwrap()
    };
    let submit = |s: SmtpSettings| {
        rt.block_on(async {
            let mut relay = AsyncSmtpRelay::new(s);
            let r = relay.submit(&msgs[0].0, &msgs[0].1).await;
            relay.close().await;
            r
        })
    };
    submit(with(&long, AuthMechanism::Xoauth2)).unwrap();
    submit(with(&long, AuthMechanism::Oauthbearer)).unwrap();
    let e = submit(with("stale", AuthMechanism::Xoauth2)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth, "{e}");
    let attempts = server.oauth_attempts();
    assert_eq!(attempts.len(), 3, "{attempts:#?}");
    for a in &attempts[..2] {
        assert_eq!(a["ok"], true);
        assert_eq!(a["initial"], false, "too long for the AUTH line");
    }
    assert_eq!(attempts[2]["error_answer"], "");
    assert_eq!(server.messages().len(), 2);
}
