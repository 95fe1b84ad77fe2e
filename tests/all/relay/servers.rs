//! The test servers themselves, driven by standard clients (Python's smtplib, Postfix's own
//! sendmail): when these fail, the machine lacks something scripts/test installs, and envoi's
//! relay tests cannot mean anything.

use super::harness::*;
use std::time::Duration;

/// Sends one message with Python's smtplib; returns its exit status and stderr.
fn smtplib(port: u16, tls: Tls, auth: Option<(&str, &str)>) -> Run {
    let script = r#"
import smtplib, ssl, sys
port, tls, cafile, user, pw = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
ctx = ssl.create_default_context(cafile=cafile)
s = smtplib.SMTP_SSL("127.0.0.1", port, context=ctx) if tls == "implicit" else smtplib.SMTP("127.0.0.1", port)
if tls == "starttls":
    s.starttls(context=ctx)
if user:
    s.login(user, pw)
s.sendmail("a@x.example", ["b@y.example", "c@y.example"], b"Subject: smtplib\r\n\r\n.dot\r\nbody\r\n")
s.quit()
"#;
    let mut c = std::process::Command::new(repo().join(".venv/bin/python"));
    c.args(["-c", script, &port.to_string()])
        .arg(match tls {
            Tls::None => "none",
            Tls::Starttls => "starttls",
            Tls::Implicit => "implicit",
        })
        .arg(&cert().ca)
        .args(auth.map_or(["", ""], |(u, p)| [u, p]));
    run(c, None)
}

#[test]
fn smtpd_tls_auth_and_recording() {
    for tls in [Tls::Starttls, Tls::Implicit] {
        let server = Smtpd::builder().tls(tls).auth("u", "pw").start();
        smtplib(server.port, tls, Some(("u", "pw"))).assert_ok();
        let bad = smtplib(server.port, tls, Some(("u", "nope")));
        assert!(
            bad.code != 0 && bad.stderr.contains("535"),
            "{tls:?}: {bad:#?}"
        );
        let msgs = server.messages();
        assert_eq!(msgs.len(), 1, "{msgs:#?}");
        let m = &msgs[0];
        assert!(m.tls, "{tls:?}");
        assert_eq!(m.auth.as_deref(), Some("u"));
        assert_eq!(m.conn, 1);
        assert_eq!(
            (m.mail_from.as_str(), m.rcpt_tos.as_slice()),
            (
                "a@x.example",
                &["b@y.example".to_string(), "c@y.example".to_string()][..]
            )
        );
        assert_eq!(
            m.content, "Subject: smtplib\r\n\r\n.dot\r\nbody\r\n",
            "un-dot-stuffed, CRLF"
        );
        assert_eq!(server.connections(), 2);
    }
}

#[test]
fn smtpd_faults() {
    let refusing = Smtpd::builder().refuse("c@y.example").start();
    // smtplib goes on with the recipients that were accepted.
    smtplib(refusing.port, Tls::None, None).assert_ok();
    let msgs = refusing.messages();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].rcpt_tos, ["b@y.example"]);
    for fault in ["421-data", "drop-data"] {
        let server = Smtpd::builder().fault(fault, 0).start();
        let r = smtplib(server.port, Tls::None, None);
        assert!(r.code != 0, "{fault}: {r:#?}");
        assert!(server.messages().is_empty(), "{fault}");
    }
}

#[test]
fn postfix_relays_its_sendmail_to_the_relayhost() {
    let pf = postfix();
    let rcpt = format!("{}@y.example", unique("pf-self"));
    let mut c = std::process::Command::new("/usr/sbin/sendmail");
    c.arg("-C")
        .arg(&pf.dir)
        .args(["-i", "-f", "a@x.example", "--", &rcpt]);
    run(c, Some(b"Subject: postfix self test\n\nhello\n")).assert_ok();
    let m = pf.relayhost.wait_for_rcpt(&rcpt, Duration::from_secs(30));
    assert_eq!(m.mail_from, "a@x.example");
    assert!(m.content.contains("Subject: postfix self test\r\n"));
    assert!(m.body().ends_with("hello\r\n"));
}
