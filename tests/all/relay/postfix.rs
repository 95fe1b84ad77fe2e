//! Postfix (the Debian package, one private instance per test process, see tests/servers/postfix.sh)
//! relaying everything to an aiosmtpd: envoi's sendmail relay through Postfix's sendmail, and
//! envoi's smtp relay to Postfix's smtpd. Tests share the instance and find their own message
//! by a recipient no other test uses.

use super::harness::*;
use std::time::Duration;

const ARRIVAL: Duration = Duration::from_secs(30);

/// `[relay]` for Postfix's own sendmail, pointed at the test instance.
fn postfix_sendmail(pf: &Postfix) -> String {
    format!(
        "kind = \"sendmail\"\npath = \"/usr/sbin/sendmail\"\nargs = [\"-C\", {}]\n",
        toml_path(&pf.dir)
    )
}

#[test]
fn send_through_postfix_sendmail() {
    let pf = postfix();
    let sb = Sandbox::new();
    sb.relay(&postfix_sendmail(pf), "");
    let tag = unique("pf-sendmail");
    let (to, bcc) = (
        format!("{tag}@y.example"),
        format!("hidden-{tag}@z.example"),
    );
    let d = sb.draft(
        "d.eml",
        &format!("From: Alice <alice@x.example>\nTo: {to}\nBcc: {bcc}\nSubject: {tag}\n\nvia Postfix sendmail\n.dot\n"),
    );
    let run = sb.envoi(&["send", d.to_str().unwrap()], None);
    run.assert_ok();
    let m = pf.relayhost.wait_for_rcpt(&to, ARRIVAL);
    assert_eq!(m.mail_from, "alice@x.example");
    assert_eq!(sorted(&m.rcpt_tos), sorted(&[to.clone(), bcc.clone()]));
    assert_composed(&m, &[&bcc]);
    assert!(
        m.body().ends_with("via Postfix sendmail\r\n.dot\r\n"),
        "{:?}",
        m.body()
    );
    // Postfix keeps the Message-ID envoi added; envoi reported that one.
    let id = m.header("Message-ID").unwrap();
    assert_eq!(run.accepted(), vec![(id, vec![to, bcc])], "{run:#?}");
}

#[test]
fn cron_style_sendmail_through_postfix() {
    // What Debian's cron runs: `sendmail -FCronDaemon -i -B8BITMIME -oem root`.
    let pf = postfix();
    let sb = Sandbox::new();
    let domain = format!("{}.test.example", unique("cron"));
    sb.relay(
        &postfix_sendmail(pf),
        &format!("[compose]\ndomain = {}\n", toml_str(&domain)),
    );
    let msg = "From: root (Cron Daemon)\nTo: root\nSubject: Cron <root@vm> run-parts /etc/cron.daily\n\nsome output\n";
    let run = sb.cron_sendmail(&["root"], msg);
    run.assert_ok();
    let rcpt = format!("root@{domain}");
    let m = pf.relayhost.wait_for_rcpt(&rcpt, ARRIVAL);
    assert_eq!(m.rcpt_tos, std::slice::from_ref(&rcpt));
    assert_eq!(m.mail_from, rcpt, "the bare sender is qualified too");
    assert_composed(&m, &[]);
    assert!(m.body().ends_with("some output\r\n"));
}

#[test]
fn send_to_postfix_smtpd() {
    let pf = postfix();
    let sb = Sandbox::new();
    sb.relay(&sb.smtp_relay(pf.smtpd_port, Tls::None), "");
    let tag = unique("pf-smtpd");
    let (to, cc, bcc) = (
        format!("{tag}@y.example"),
        format!("cc-{tag}@y.example"),
        format!("hidden-{tag}@z.example"),
    );
    let text = format!(
        "From: Alice <alice@x.example>\nTo: {to}\nCc: {cc}\nBcc: {bcc}\nSubject: {tag}\n\nvia Postfix smtpd\n"
    );
    let d = sb.draft("d.eml", &text);
    let run = sb.envoi(&["send", d.to_str().unwrap()], None);
    run.assert_ok();
    let m = pf.relayhost.wait_for_rcpt(&to, ARRIVAL);
    assert_eq!(m.mail_from, "alice@x.example");
    assert_eq!(
        sorted(&m.rcpt_tos),
        sorted(&[to.clone(), cc.clone(), bcc.clone()])
    );
    assert_composed(&m, &[&bcc]);
    assert!(m.body().ends_with("via Postfix smtpd\r\n"));
    let id = m.header("Message-ID").unwrap();
    assert_eq!(run.accepted(), vec![(id, vec![to, cc, bcc])], "{run:#?}");
    assert!(
        pf.maillog().contains("smtpd["),
        "Postfix's smtpd took it:\n{}",
        pf.maillog()
    );
}
