//! Delivery status notifications (RFC 3461): sendmail's -N/-R/-V, `[relay]` dsn_notify and
//! dsn_return with `envoi send --dsn-*` over them, and the async relay, each checked on what
//! Postfix's smtp-sink received (it offers DSN and dumps MAIL and RCPT parameters); aiosmtpd,
//! which offers no DSN, gets the message without them and stderr says so.

use super::harness::*;
use super::sink::{Sink, args};

fn sink_sandbox(sink: &Sink, extra: &str) -> Sandbox {
    let sb = Sandbox::new();
    sb.relay(
        &format!("{}{extra}", sb.smtp_relay(sink.port, Tls::None)),
        "",
    );
    sb
}

#[test]
fn sendmail_dsn_options_reach_the_server() {
    let sink = Sink::start();
    let sb = sink_sandbox(&sink, "");
    let msg = "From: a@x.example\nTo: b@y.example\nSubject: dsn\n\nHi\n";
    let run = sb.envoi(
        &[
            "sendmail",
            "-oi",
            "-N",
            "success,failure",
            "-R",
            "hdrs",
            "-V",
            "env-42",
            "b@y.example",
            "c@y.example",
        ],
        Some(msg.as_bytes()),
    );
    run.assert_ok();
    assert!(!run.stderr.contains("DSN"), "{run:#?}");
    let dumps = sink.wait_for(1);
    assert_eq!(dumps.len(), 1);
    assert_eq!(
        args(&dumps[0], "X-Mail-Args"),
        ["<a@x.example> RET=HDRS ENVID=env-42"]
    );
    assert_eq!(
        args(&dumps[0], "X-Rcpt-Args"),
        [
            "<b@y.example> NOTIFY=SUCCESS,FAILURE",
            "<c@y.example> NOTIFY=SUCCESS,FAILURE"
        ]
    );
}

#[test]
fn send_options_override_the_configured_dsn() {
    let sink = Sink::start();
    let sb = sink_sandbox(&sink, "dsn_notify = \"never\"\ndsn_return = \"full\"\n");
    let d = sb.draft("d.eml", "From: a@x.example\nTo: b@y.example\n\nHi\n");
    let run = sb.envoi(
        &[
            "send",
            "--dsn-notify",
            "delay",
            "--dsn-envid",
            "one+two",
            d.to_str().unwrap(),
        ],
        None,
    );
    run.assert_ok();
    let dumps = sink.wait_for(1);
    // RET from the file, NOTIFY from the option; ENVID is xtext (`+` is `+2B`).
    assert_eq!(
        args(&dumps[0], "X-Mail-Args"),
        ["<a@x.example> RET=FULL ENVID=one+2Btwo"]
    );
    assert_eq!(
        args(&dumps[0], "X-Rcpt-Args"),
        ["<b@y.example> NOTIFY=DELAY"]
    );
    // `envoi config` shows the configured request.
    let shown = sb.envoi(&["config"], None);
    assert!(
        shown.stdout.contains("dsn_notify = \"never\""),
        "{shown:#?}"
    );
    assert!(shown.stdout.contains("dsn_return = \"full\""), "{shown:#?}");
}

#[test]
fn a_bad_dsn_value_is_named() {
    let sb = Sandbox::new();
    sb.relay(
        "kind = \"smtp\"\nhost = \"127.0.0.1\"\ntls = \"none\"\n\n\ndsn_notify = \"sometimes\"\n",
        "",
    );
    let run = sb.envoi(&["config"], None);
    run.assert_code(78);
    assert!(run.stderr.contains(":7:"), "the key's line: {run:#?}");
    assert!(run.stderr.contains("sometimes"), "{run:#?}");
    let run = sb.envoi(&["sendmail", "-R", "body", "b@y.example"], Some(b"Hi\n"));
    run.assert_code(64);
    assert!(
        run.stderr.contains("full") && run.stderr.contains("hdrs"),
        "{run:#?}"
    );
}

#[test]
fn without_dsn_on_the_server_the_message_goes_and_stderr_says_so() {
    let server = Smtpd::builder().start();
    let sb = Sandbox::for_smtpd(&server);
    let run = sb.envoi(
        &[
            "sendmail",
            "-oi",
            "-N",
            "failure",
            "-R",
            "hdrs",
            "b@y.example",
        ],
        Some(b"From: a@x.example\nTo: b@y.example\n\nHi\n"),
    );
    run.assert_ok();
    assert!(
        run.stderr.contains("does not offer DSN") && run.stderr.contains("RET=HDRS NOTIFY=FAILURE"),
        "{run:#?}"
    );
    // aiosmtpd refuses parameters it does not know: its acceptance shows none were sent.
    let got = server.messages();
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0].rcpt_tos, ["b@y.example"]);
}

#[cfg(feature = "tokio")]
#[test]
fn the_async_relay_sends_the_same_parameters() {
    use envoi::relay::smtp::{AsyncSmtpRelay, SmtpSettings, TlsMode};
    use envoi::relay::{Dsn, Ret};
    let sink = Sink::start();
    let dsn = Dsn::default()
        .with_notify("success".parse().unwrap())
        .with_ret(Ret::Full)
        .with_envid("async-1")
        .unwrap();
    let settings = SmtpSettings::builder("127.0.0.1")
        .port(sink.port)
        .tls(TlsMode::None)
        .dsn(dsn)
        .build()
        .unwrap();
    let env = envoi::Envelope::new(
        envoi::Addr::parse("a@x.example").unwrap(),
        vec![envoi::Addr::parse("b@y.example").unwrap()],
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let d = rt.block_on(async {
        let mut relay = AsyncSmtpRelay::new(settings);
        let d = relay.submit(&env, b"Subject: x\r\n\r\nHi\r\n").await;
        relay.close().await;
        d
    });
    assert!(d.unwrap().warnings.is_empty());
    let dumps = sink.wait_for(1);
    assert_eq!(
        args(&dumps[0], "X-Mail-Args"),
        ["<a@x.example> RET=FULL ENVID=async-1"]
    );
    assert_eq!(
        args(&dumps[0], "X-Rcpt-Args"),
        ["<b@y.example> NOTIFY=SUCCESS"]
    );
}
