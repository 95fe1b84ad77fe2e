//! `AsyncSmtpRelay` (feature `tokio`) against aiosmtpd: AUTH over implicit TLS and STARTTLS, a
//! refused recipient classified as the blocking relay does, two relays in two tasks at once, and
//! futures that are `Send`.

use super::harness::*;
use super::library::{PASSWORD, USER, assert_draft, composed, settings};
use envoi::relay::ErrorKind;
use envoi::relay::smtp::{AsyncSmtpRelay, Credentials, PasswordSource, TlsMode};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn implicit_tls_with_a_given_password() {
    let server = Smtpd::builder()
        .tls(Tls::Implicit)
        .auth(USER, PASSWORD)
        .start();
    let login = Credentials::with_password(USER, PASSWORD);
    let mut relay = AsyncSmtpRelay::new(settings(&server, TlsMode::Implicit, Some(login)));
    let msgs = composed("async implicit");
    let results = runtime().block_on(async {
        let batch: Vec<_> = msgs.iter().map(|(e, b)| (e, b.as_slice())).collect();
        let mut r = relay.submit_batch(&batch).await;
        r.extend(relay.submit_batch(&batch).await);
        relay.close().await;
        r
    });
    assert_eq!(results.len(), 2);
    for r in &results {
        assert_eq!(r.as_ref().unwrap().accepted, msgs[0].0.to);
    }
    let got = server.messages();
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!(
        server.connections(),
        1,
        "the connection is kept between calls"
    );
    for m in &got {
        assert!(m.tls);
        assert_eq!(m.auth.as_deref(), Some(USER));
        assert_eq!(m.content.as_bytes(), msgs[0].1.as_slice());
        assert_draft(m, "async implicit");
    }
}

#[test]
fn starttls_with_a_password_command() {
    let server = Smtpd::builder()
        .tls(Tls::Starttls)
        .auth(USER, PASSWORD)
        .start();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    std::fs::write(&store, format!("{PASSWORD}\n")).unwrap();
    let source = PasswordSource::Command(format!("cat '{}'", store.display()));
    let login = Credentials::new(USER, source);
    let mut relay = AsyncSmtpRelay::new(settings(&server, TlsMode::Starttls, Some(login)));
    let msgs = composed("async starttls");
    let r = runtime().block_on(async {
        let r = relay.submit(&msgs[0].0, &msgs[0].1).await;
        relay.close().await;
        r
    });
    assert_eq!(r.unwrap().accepted, msgs[0].0.to);
    let got = server.messages();
    assert_eq!(got.len(), 1);
    assert!(got[0].tls);
    assert_eq!(got[0].auth.as_deref(), Some(USER));
    assert_draft(&got[0], "async starttls");
}

#[test]
fn refused_recipient_is_permanent_and_names_it() {
    let server = Smtpd::builder()
        .tls(Tls::Starttls)
        .auth(USER, PASSWORD)
        .refuse("carol@y.example")
        .start();
    let login = Credentials::with_password(USER, PASSWORD);
    let mut relay = AsyncSmtpRelay::new(settings(&server, TlsMode::Starttls, Some(login)));
    let msgs = composed("async refused");
    let e = runtime()
        .block_on(relay.submit(&msgs[0].0, &msgs[0].1))
        .unwrap_err();
    assert_eq!((e.kind(), e.exit_code()), (ErrorKind::Permanent, 69), "{e}");
    assert!(!e.is_session_over(), "{e}");
    assert!(e.message().contains("carol@y.example"), "{e}");
    assert!(
        e.message().contains("550") && e.message().contains("Recipient address rejected"),
        "{e}"
    );
    assert!(e.message().contains("went to nobody"), "{e}");
    assert!(server.messages().is_empty(), "all or nothing");
}

#[test]
fn wrong_password_and_stalled_server() {
    let server = Smtpd::builder()
        .tls(Tls::Implicit)
        .auth(USER, "the-right-one")
        .start();
    let login = Credentials::with_password(USER, PASSWORD);
    let mut relay = AsyncSmtpRelay::new(settings(&server, TlsMode::Implicit, Some(login)));
    let msgs = composed("async wrong password");
    let rt = runtime();
    let e = rt
        .block_on(relay.submit(&msgs[0].0, &msgs[0].1))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth, "{e}");
    assert!(!e.message().contains(PASSWORD));

    let stalled = Smtpd::builder().fault("stall-data", 0).start();
    let s = envoi::relay::smtp::SmtpSettings::builder("127.0.0.1")
        .port(stalled.port)
        .tls(TlsMode::None)
        .timeout(std::time::Duration::from_secs(1))
        .build()
        .unwrap();
    let mut relay = AsyncSmtpRelay::new(s);
    // One thread only: a relay that blocked it would also stop the ticker beside it.
    let one_thread = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let t = std::time::Instant::now();
    let (e, ticks) = one_thread.block_on(async {
        let ticks = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let counter = ticks.clone();
        let ticker = tokio::spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        });
        let e = relay.submit(&msgs[0].0, &msgs[0].1).await.unwrap_err();
        ticker.abort();
        (e, ticks.load(std::sync::atomic::Ordering::Relaxed))
    });
    assert!(
        t.elapsed() < std::time::Duration::from_secs(8),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(e.exit_code(), 75, "{e}");
    assert!(e.message().contains("timed out after 1 s"), "{e}");
    assert!(
        ticks >= 10,
        "the runtime's only thread kept running while the relay waited ({ticks} ticks in 1 s)"
    );
}

#[test]
fn two_relays_in_two_tasks_at_once() {
    let server = Smtpd::builder().start();
    let s = settings(&server, TlsMode::None, None);
    let msgs = std::sync::Arc::new(composed("async tasks"));
    let results = runtime().block_on(async {
        let tasks: Vec<_> = (0..2)
            .map(|_| {
                let (s, msgs) = (s.clone(), msgs.clone());
                tokio::spawn(async move {
                    let mut relay = AsyncSmtpRelay::new(s);
                    let r = relay.submit(&msgs[0].0, &msgs[0].1).await;
                    relay.close().await;
                    r
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    });
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(server.messages().len(), 2);
    assert_eq!(server.connections(), 2);
}

/// The futures of the async relay are `Send`, so `tokio::spawn` takes them (checked at compile
/// time; nothing is run).
#[test]
fn futures_are_send() {
    fn send<T: Send>(_: &T) {}
    let s = envoi::relay::smtp::SmtpSettings::builder("127.0.0.1")
        .tls(TlsMode::None)
        .build()
        .unwrap();
    let mut relay = AsyncSmtpRelay::new(s);
    let msgs = composed("send");
    {
        let f = relay.submit(&msgs[0].0, &msgs[0].1);
        send(&f);
    }
    {
        let batch = [(&msgs[0].0, msgs[0].1.as_slice())];
        let f = relay.submit_batch(&batch);
        send(&f);
    }
    let f = relay.close();
    send(&f);
}
