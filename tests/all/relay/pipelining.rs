//! RFC 2920 pipelining against real servers: one round trip per message in a batch, counted by
//! a proxy in front of Postfix's smtp-sink (both drivers); all or nothing through Postfix's
//! smtpd, whose check_recipient_access map refuses `refused-*` after DATA was pipelined (the
//! transaction is abandoned without its final dot: nobody gets the message); and its
//! `452 too many recipients` (smtpd_recipient_limit = 5) answered with a further transaction.
//!
//! A lone dot after a 354 that no recipient earned needs a server that answers DATA with 354
//! after refusing every recipient; Postfix's smtpd and smtp-sink never do, so that path is
//! tested with scripted replies only (src/relay/smtp/core/tests.rs).

use super::harness::*;
use super::sink::{Sink, TurnCounter};
use envoi::relay::Relay;
use envoi::relay::smtp::{SmtpRelay, SmtpSettings, TlsMode};
use envoi::{Addr, Envelope};
use std::time::Duration;

const N: usize = 5;

fn messages() -> Vec<(Envelope, Vec<u8>)> {
    (0..N)
        .map(|i| {
            let env = Envelope::new(
                Addr::parse("a@x.example").unwrap(),
                vec![
                    Addr::parse(&format!("b{i}@y.example")).unwrap(),
                    Addr::parse(&format!("c{i}@y.example")).unwrap(),
                ],
            );
            (
                env,
                format!("Subject: {i}\r\n\r\n.dot {i}\r\n").into_bytes(),
            )
        })
        .collect()
}

fn settings(port: u16) -> SmtpSettings {
    SmtpSettings::builder("127.0.0.1")
        .port(port)
        .tls(TlsMode::None)
        .hello_name("client.test.example")
        .build()
        .unwrap()
}

/// Greeting read, then: EHLO; the first message's MAIL/RCPT/DATA; each message's content with
/// the next one's commands (the last one's alone); QUIT.
const TURNS: usize = 1 + 1 + N + 1;

fn check_sink(sink: &Sink) {
    let dumps = sink.wait_for(N);
    assert_eq!(dumps.len(), N);
    for i in 0..N {
        assert!(
            dumps
                .iter()
                .any(|d| d.contains(&format!("\n..dot {i}\r\n"))
                    || d.contains(&format!("\n.dot {i}"))),
            "message {i} arrived: {dumps:#?}"
        );
    }
}

#[test]
fn a_batch_costs_one_round_trip_per_message() {
    let sink = Sink::start();
    let proxy = TurnCounter::start(sink.port);
    let msgs = messages();
    let batch: Vec<_> = msgs.iter().map(|(e, m)| (e, m.as_slice())).collect();
    let mut relay = SmtpRelay::new(settings(proxy.port));
    let results = relay.submit_batch(&batch);
    relay.close();
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    check_sink(&sink);
    assert_eq!(proxy.client_turns(), TURNS);
}

#[cfg(feature = "tokio")]
#[test]
fn the_async_relay_pipelines_the_same_way() {
    let sink = Sink::start();
    let proxy = TurnCounter::start(sink.port);
    let msgs = messages();
    let batch: Vec<_> = msgs.iter().map(|(e, m)| (e, m.as_slice())).collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let results = rt.block_on(async {
        let mut relay = envoi::relay::AsyncSmtpRelay::new(settings(proxy.port));
        let r = relay.submit_batch(&batch).await;
        relay.close().await;
        r
    });
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    check_sink(&sink);
    assert_eq!(proxy.client_turns(), TURNS);
}

#[test]
fn envoi_send_of_several_drafts_goes_at_one_round_trip_each() {
    let sink = Sink::start();
    let proxy = TurnCounter::start(sink.port);
    let sb = Sandbox::new();
    sb.relay(&sb.smtp_relay(proxy.port, Tls::None), "");
    let drafts: Vec<String> = (0..N)
        .map(|i| {
            let d = sb.draft(
                &format!("d{i}.eml"),
                &format!("From: a@x.example\nTo: b{i}@y.example\nSubject: {i}\n\n.dot {i}\n"),
            );
            d.to_str().unwrap().to_owned()
        })
        .collect();
    let mut args = vec!["send"];
    args.extend(drafts.iter().map(String::as_str));
    let run = sb.envoi(&args, None);
    run.assert_ok();
    assert_eq!(run.accepted().len(), N, "{run:#?}");
    check_sink(&sink);
    assert_eq!(proxy.client_turns(), TURNS);
}

#[test]
fn a_refusal_after_pipelined_data_reaches_nobody() {
    let pf = postfix();
    let sb = Sandbox::new();
    sb.relay(&sb.smtp_relay(pf.smtpd_port, Tls::None), "");
    let tag = unique("abandon");
    let (ok, refused, next) = (
        format!("ok-{tag}@y.example"),
        format!("refused-{tag}@y.example"),
        format!("next-{tag}@y.example"),
    );
    let a = sb.draft(
        "a.eml",
        &format!("From: a@x.example\nTo: {ok}\nCc: {refused}\nSubject: {tag}\n\nnot for anyone\n"),
    );
    let b = sb.draft(
        "b.eml",
        &format!("From: a@x.example\nTo: {next}\nSubject: {tag} next\n\nfor next\n"),
    );
    let run = sb.envoi(&["send", a.to_str().unwrap(), b.to_str().unwrap()], None);
    run.assert_code(69);
    assert!(
        run.stderr.contains(&format!("refused recipient {refused}"))
            && run.stderr.contains("went to nobody"),
        "{run:#?}"
    );
    assert_eq!(
        run.accepted().len(),
        1,
        "the next draft still went: {run:#?}"
    );
    // The next message arrives; the abandoned one never does, for its accepted recipient either.
    let m = pf.relayhost.wait_for_rcpt(&next, Duration::from_secs(30));
    assert!(m.body().contains("for next"));
    std::thread::sleep(Duration::from_secs(3));
    let got = pf.relayhost.messages();
    assert!(
        !got.iter().any(|m| m.rcpt_tos.contains(&ok)),
        "the abandoned message was delivered: {got:#?}"
    );
    assert!(
        pf.maillog().contains("lost connection after DATA"),
        "Postfix saw the transaction end without its dot:\n{}",
        pf.maillog()
    );
}

#[test]
fn too_many_recipients_go_in_a_further_transaction() {
    let pf = postfix();
    let tag = unique("many");
    let to: Vec<Addr> = (0..7)
        .map(|i| Addr::parse(&format!("r{i}-{tag}@y.example")).unwrap())
        .collect();
    let from = format!("many-{tag}@x.example");
    let env = Envelope::new(Addr::parse(&from).unwrap(), to.clone());
    let mut relay = SmtpRelay::new(settings(pf.smtpd_port));
    let d = relay
        .submit(&env, format!("Subject: {tag}\r\n\r\nseven\r\n").as_bytes())
        .unwrap();
    relay.close();
    assert_eq!(d.accepted, to);
    for r in &to {
        pf.relayhost
            .wait_for_rcpt(r.as_str(), Duration::from_secs(30));
    }
    // Two transactions reached Postfix's queue: five recipients (its limit), then two.
    let counts = wait_until(
        "Postfix's queue manager log",
        Duration::from_secs(10),
        || {
            let mut n: Vec<String> = pf
                .maillog()
                .lines()
                .filter(|l| l.contains(&format!("from=<{from}>")))
                .filter_map(|l| {
                    Some(
                        l.split("nrcpt=")
                            .nth(1)?
                            .split([' ', ','])
                            .next()?
                            .to_owned(),
                    )
                })
                .collect();
            n.sort();
            (n.len() == 2).then_some(n)
        },
    );
    assert_eq!(counts, ["2", "5"]);
}
