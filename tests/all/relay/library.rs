//! The relays used as a library, without any configuration file: `SmtpRelay` with credentials the
//! caller holds, a batch with one result per message, the runnable examples (examples/send.rs,
//! examples/send_async.rs) against aiosmtpd, and that every relay is `Send`.

use super::harness::*;
use super::{DRAFT_BODY, DRAFT_RCPTS, draft};
use envoi::relay::smtp::{Credentials, SmtpRelay, SmtpSettings, TlsMode};
use envoi::relay::{ErrorKind, FileRelay, Relay, SendmailRelay};
use envoi::{Composer, Envelope, Options};
use std::path::PathBuf;
use std::time::Duration;

pub const USER: &str = "alice";
pub const PASSWORD: &str = "Pw-5ecret-7f2c";

/// `draft(subject)` composed with the library: (envelope, bytes) per submission.
pub fn composed(subject: &str) -> Vec<(Envelope, Vec<u8>)> {
    let text = draft(subject);
    let c = Composer::new(Options::default())
        .unwrap()
        .compose(text.as_bytes())
        .unwrap();
    c.iter()
        .map(|s| (s.envelope().clone(), s.to_bytes()))
        .collect()
}

/// Settings toward `server` on loopback, trusting only the test CA.
pub fn settings(server: &Smtpd, tls: TlsMode, login: Option<Credentials>) -> SmtpSettings {
    let mut b = SmtpSettings::builder("localhost")
        .port(server.port)
        .tls(tls)
        .ca_file(&cert().ca)
        .hello_name("lib.test.example")
        .timeout(Duration::from_secs(10));
    if let Some(c) = login {
        b = b.credentials(c);
    }
    b.build().unwrap()
}

/// What the server must have received for `draft(subject)`.
#[track_caller]
pub fn assert_draft(m: &Received, subject: &str) {
    assert_eq!(m.mail_from, "alice@x.example");
    assert_eq!(m.rcpt_tos, DRAFT_RCPTS);
    assert_composed(m, &["dave.hidden", "Dave Hidden"]);
    assert_eq!(m.body(), DRAFT_BODY);
    assert_eq!(m.header("Subject").as_deref(), Some(subject));
}

#[test]
fn given_password_over_starttls() {
    let server = Smtpd::builder()
        .tls(Tls::Starttls)
        .auth(USER, PASSWORD)
        .start();
    let login = Credentials::with_password(USER, PASSWORD);
    let mut relay = SmtpRelay::new(settings(&server, TlsMode::Starttls, Some(login)));
    let (env, bytes) = &composed("given password")[0];
    let d = relay.submit(env, bytes).unwrap();
    relay.close();
    let accepted: Vec<&str> = d.accepted.iter().map(|a| a.as_str()).collect();
    assert_eq!(accepted, DRAFT_RCPTS);
    let msgs = server.messages();
    assert_eq!(msgs.len(), 1, "{msgs:#?}");
    assert!(msgs[0].tls, "went over TLS");
    assert_eq!(msgs[0].auth.as_deref(), Some(USER));
    assert_eq!(msgs[0].helo.as_deref(), Some("lib.test.example"));
    assert_eq!(
        msgs[0].content.as_bytes(),
        bytes.as_slice(),
        "the exact bytes"
    );
    assert_draft(&msgs[0], "given password");

    // The wrong secret handed over directly: an authentication failure that does not show it.
    let login = Credentials::with_password(USER, "not-the-password-1b");
    let mut relay = SmtpRelay::new(settings(&server, TlsMode::Starttls, Some(login)));
    let e = relay.submit(env, bytes).unwrap_err();
    assert_eq!((e.kind(), e.exit_code()), (ErrorKind::Auth, 77), "{e}");
    assert!(e.message().contains("535"), "{e}");
    assert!(!e.message().contains("not-the-password-1b"), "{e}");
    assert_eq!(server.messages().len(), 1);
}

#[test]
fn batch_reports_one_result_per_message_in_order() {
    let server = Smtpd::builder().refuse("carol@y.example").start();
    let mut relay = SmtpRelay::new(settings(&server, TlsMode::None, None));
    let good = composed("batch good");
    let refused = composed("batch refused");
    // The refused one goes to carol too; a copy without her must still go through.
    let (mut env, bytes) = good[0].clone();
    env.to.retain(|a| a.as_str() != "carol@y.example");
    let batch: Vec<(&Envelope, &[u8])> = vec![
        (&refused[0].0, &refused[0].1),
        (&env, &bytes),
        (&refused[0].0, &refused[0].1),
    ];
    let results = relay.submit_batch(&batch);
    relay.close();
    assert_eq!(results.len(), 3);
    for r in [&results[0], &results[2]] {
        let e = r.as_ref().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Permanent, "{e}");
        assert!(e.message().contains("carol@y.example"), "{e}");
    }
    let d = results[1].as_ref().unwrap();
    assert_eq!(d.accepted, env.to);
    let msgs = server.messages();
    assert_eq!(msgs.len(), 1, "only the message without carol: {msgs:#?}");
    assert_eq!(msgs[0].rcpt_tos, ["bob@y.example", "dave.hidden@z.example"]);
    assert_eq!(server.connections(), 1, "one connection for the batch");
}

#[test]
fn settings_refuse_plain_text_away_from_loopback() {
    let e = SmtpSettings::builder("mail.example.org")
        .tls(TlsMode::None)
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    let e = SmtpSettings::builder("127.0.0.1")
        .tls(TlsMode::None)
        .credentials(Credentials::with_password(USER, PASSWORD))
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(!e.message().contains(PASSWORD));
}

/// The relays can move to another thread (and be held across `.await` in a spawned task).
#[test]
fn relays_are_send() {
    fn send<T: Send>() {}
    send::<SmtpRelay>();
    send::<SendmailRelay>();
    send::<FileRelay>();
    send::<Box<dyn Relay>>();
    #[cfg(feature = "tokio")]
    send::<envoi::relay::smtp::AsyncSmtpRelay>();
}

/// An example program built beside this test binary (cargo test builds the examples).
pub fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap().join("examples");
    let p = dir.join(name);
    assert!(
        p.exists(),
        "{} is missing: `cargo test` builds the examples (send_async needs --features tokio)",
        p.display()
    );
    p
}

/// Runs an example against `server` with `draft(subject)`.
fn run_example(name: &str, server: &Smtpd, subject: &str) -> (Run, String) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("draft.eml");
    let text = draft(subject);
    std::fs::write(&d, &text).unwrap();
    let mut c = std::process::Command::new(example(name));
    c.arg("127.0.0.1").arg(server.port.to_string()).arg(&d);
    (run(c, None), text)
}

#[test]
fn example_send_submits_a_draft() {
    let server = Smtpd::builder().start();
    let (run, _) = run_example("send", &server, "example send");
    run.assert_ok();
    let msgs = server.messages();
    assert_eq!(msgs.len(), 1, "{msgs:#?}");
    assert_draft(&msgs[0], "example send");
    assert!(!msgs[0].tls);
    let id = msgs[0].header("Message-ID").unwrap();
    assert_eq!(
        run.accepted(),
        vec![(id, DRAFT_RCPTS.map(String::from).to_vec())],
        "prints `<ID> accepted: RCPTS`"
    );
}

#[cfg(feature = "tokio")]
#[test]
fn example_send_async_submits_twice_over_two_connections() {
    let server = Smtpd::builder().start();
    let (run, _) = run_example("send_async", &server, "example async");
    run.assert_ok();
    let msgs = server.messages();
    assert_eq!(msgs.len(), 2, "{msgs:#?}");
    assert_eq!(server.connections(), 2, "one connection per task");
    let mut conns: Vec<u64> = msgs.iter().map(|m| m.conn).collect();
    conns.sort();
    assert_eq!(conns, [1, 2], "one message on each connection");
    for m in &msgs {
        assert_draft(m, "example async");
    }
    assert_eq!(msgs[0].content, msgs[1].content, "the same composed bytes");
    let id = msgs[0].header("Message-ID").unwrap();
    let accepted = run.accepted();
    assert_eq!(accepted.len(), 2, "{run:#?}");
    for (who, rcpts) in &accepted {
        assert!(who.ends_with(&id), "{who}");
        assert_eq!(rcpts, &DRAFT_RCPTS.map(String::from).to_vec());
    }
    assert!(run.stdout.contains("task 1:") && run.stdout.contains("task 2:"));
}

/// A server that never answers the end of DATA costs one timeout, not two: after the failure
/// the relay writes QUIT and closes without waiting for a reply.
#[test]
fn a_stalled_server_costs_one_timeout() {
    let server = Smtpd::builder().fault("stall-data", 0).start();
    let s = SmtpSettings::builder("127.0.0.1")
        .port(server.port)
        .tls(TlsMode::None)
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let mut relay = SmtpRelay::new(s);
    let (env, bytes) = &composed("stalled")[0];
    let t = std::time::Instant::now();
    let e = relay.submit(env, bytes).unwrap_err();
    relay.close();
    drop(relay);
    let took = t.elapsed();
    assert!(e.message().contains("timed out after 2 s"), "{e}");
    assert!(e.is_session_over());
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_millis(3500),
        "took {took:?}"
    );
}
