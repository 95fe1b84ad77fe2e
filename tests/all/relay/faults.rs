//! Failures, each with its exit code, and the message never lost: with `send` the draft file is
//! untouched; with `sendmail` (message on stdin) every failure saves it to a file whose path is
//! printed: a temporary one queues the composed message in the outbox, any other keeps the bytes
//! as read in OUTBOX/failed/.

use super::harness::*;
use super::{DRAFT_BODY, draft};
use std::time::Duration;

const USER: &str = "alice";
const PASSWORD: &str = "Pw-5ecret-7f2c";

/// A sandbox whose relay is `server` with the given TLS and, when `auth`, user alice.
fn sandbox_for(server: &Smtpd, tls: Tls, auth: bool, extra_relay: &str) -> Sandbox {
    let mut sb = Sandbox::new();
    let mut relay = sb.smtp_relay(server.port, tls);
    if auth {
        relay += &sb.password_env(USER, PASSWORD);
    }
    if extra_relay.contains("timeout_secs") {
        relay = relay.replace("timeout_secs = 10\n", "");
    }
    relay += extra_relay;
    sb.relay(&relay, "");
    sb
}

/// `builder`'s server with STARTTLS and AUTH as alice, and a sandbox whose relay logs in there.
fn starttls_auth(builder: SmtpdBuilder) -> (Smtpd, Sandbox) {
    let server = builder.tls(Tls::Starttls).auth(USER, PASSWORD).start();
    let sb = sandbox_for(&server, Tls::Starttls, true, "");
    (server, sb)
}

/// `envoi send` on `draft()`, asserting the draft file is unchanged afterwards.
fn send_one(sb: &Sandbox, subject: &str) -> Run {
    let text = draft(subject);
    let d = sb.draft("d.eml", &text);
    let run = sb.envoi(&["send", d.to_str().unwrap()], None);
    assert_eq!(
        std::fs::read_to_string(&d).unwrap(),
        text,
        "the draft file was modified"
    );
    run
}

/// `envoi sendmail -t -i` on `draft()`; on 75 the saved file holds the message.
fn sendmail_one(sb: &Sandbox, subject: &str) -> Run {
    sb.envoi(&["sendmail", "-t", "-i"], Some(draft(subject).as_bytes()))
}

#[track_caller]
fn assert_saved(sb: &Sandbox, run: &Run, subject: &str) {
    let path = run.saved_path();
    assert!(
        path.starts_with(sb.outbox()),
        "saved under [outbox] dir {}: {run:#?}",
        sb.outbox().display()
    );
    let saved = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("saved file {}: {e}; {run:#?}", path.display()));
    let saved = String::from_utf8_lossy(&saved).replace("\r\n", "\n");
    assert!(
        saved.contains(&format!("Subject: {subject}")),
        "saved: {saved}"
    );
    assert!(
        saved.contains(&DRAFT_BODY.replace("\r\n", "\n")),
        "saved: {saved}"
    );
}

#[test]
fn refused_recipient_exits_69_naming_it() {
    let (server, sb) = starttls_auth(Smtpd::builder().refuse("carol@y.example"));
    let run = send_one(&sb, "refused");
    run.assert_code(69);
    assert!(
        run.stderr.contains("carol@y.example"),
        "names the refused recipient: {run:#?}"
    );
    assert!(
        run.stderr.contains("550") && run.stderr.contains("Recipient address rejected"),
        "quotes the server's reply: {run:#?}"
    );
    assert!(run.accepted().is_empty(), "{run:#?}");
    assert!(server.messages().is_empty());
}

/// A message kept after a failure that is not temporary: under OUTBOX/failed/ (out of the
/// queue), byte for byte what was read, beside the envelope when one was worked out.
#[track_caller]
pub fn assert_kept_as_read(sb: &Sandbox, run: &Run, input: &[u8]) -> std::path::PathBuf {
    let path = run.saved_path();
    assert!(
        path.starts_with(sb.outbox().join("failed")),
        "kept under [outbox] dir/failed: {run:#?}"
    );
    let saved = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("saved file {}: {e}; {run:#?}", path.display()));
    assert!(
        saved == input,
        "the saved file is not the message as read:\n{}",
        String::from_utf8_lossy(&saved)
    );
    let queued: Vec<_> = std::fs::read_dir(sb.outbox())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != "failed")
        .collect();
    assert!(queued.is_empty(), "nothing queued for a retry: {queued:?}");
    path
}

#[test]
fn refused_recipient_in_sendmail_mode_exits_69_and_keeps_the_message() {
    let (server, sb) = starttls_auth(Smtpd::builder().refuse("carol@y.example"));
    let input = draft("refused in sendmail mode");
    let run = sendmail_one(&sb, "refused in sendmail mode");
    run.assert_code(69);
    assert!(
        run.stderr.contains(&format!(
            "refused by the SMTP server 127.0.0.1:{}",
            server.port
        )),
        "says who refused it: {run:#?}"
    );
    assert!(
        run.stderr.contains("carol@y.example") && run.stderr.contains("550"),
        "names the recipient and quotes the reply: {run:#?}"
    );
    let eml = assert_kept_as_read(&sb, &run, input.as_bytes());
    let env = eml.with_extension("envelope.json");
    let env: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&env).unwrap()).unwrap();
    assert_eq!(
        env,
        serde_json::json!({"from": "alice@x.example", "to": super::DRAFT_RCPTS, "smtputf8": false})
    );
    assert!(server.messages().is_empty());
}

#[test]
fn reply_421_mid_session_exits_75() {
    // Two drafts on one connection: the first is accepted, the server then says 421 and hangs up.
    let server = Smtpd::builder().fault("421-data", 1).start();
    let sb = sandbox_for(&server, Tls::None, false, "");
    let (t1, t2) = (draft("first"), draft("second"));
    let (d1, d2) = (sb.draft("d1.eml", &t1), sb.draft("d2.eml", &t2));
    let run = sb.envoi(&["send", d1.to_str().unwrap(), d2.to_str().unwrap()], None);
    run.assert_code(75);
    let msgs = server.messages();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].header("Subject").as_deref(), Some("first"));
    let accepted = run.accepted();
    assert_eq!(accepted.len(), 1, "only the first was accepted: {run:#?}");
    assert_eq!(accepted[0].0, msgs[0].header("Message-ID").unwrap());
    assert!(run.stderr.contains("421"), "quotes the reply: {run:#?}");
    assert_eq!(std::fs::read_to_string(&d1).unwrap(), t1);
    assert_eq!(std::fs::read_to_string(&d2).unwrap(), t2);
}

#[test]
fn reply_421_in_sendmail_mode_saves_the_message() {
    let server = Smtpd::builder().fault("421-data", 0).start();
    let sb = sandbox_for(&server, Tls::None, false, "");
    let run = sendmail_one(&sb, "421 saved");
    run.assert_code(75);
    assert_saved(&sb, &run, "421 saved");
    assert!(server.messages().is_empty());
}

#[test]
fn connection_dropped_during_data_exits_75_and_saves() {
    let (server, sb) = starttls_auth(Smtpd::builder().fault("drop-data", 0));
    let run = sendmail_one(&sb, "dropped");
    run.assert_code(75);
    assert_saved(&sb, &run, "dropped");
    assert!(server.messages().is_empty());

    let run = send_one(&sb, "dropped send");
    run.assert_code(75);
    assert!(run.accepted().is_empty());
}

#[test]
fn wrong_password_exits_77() {
    let server = Smtpd::builder()
        .tls(Tls::Starttls)
        .auth(USER, "the-right-one")
        .start();
    let sb = sandbox_for(&server, Tls::Starttls, true, "");
    let run = send_one(&sb, "wrong password");
    run.assert_code(77);
    assert!(
        !run.stderr.contains(PASSWORD),
        "the password leaked: {}",
        run.stderr
    );

    let run = sendmail_one(&sb, "wrong password sendmail");
    run.assert_code(77);
    assert_kept_as_read(&sb, &run, draft("wrong password sendmail").as_bytes());
    assert!(!run.stderr.contains(PASSWORD), "{}", run.stderr);
    assert!(server.messages().is_empty());
}

#[test]
fn untrusted_certificate_exits_75_saying_tls() {
    for tls in [Tls::Starttls, Tls::Implicit] {
        let server = Smtpd::builder().tls(tls).auth(USER, PASSWORD).start();
        let mut sb = Sandbox::new();
        let login = sb.password_env(USER, PASSWORD);
        // No ca_file: the self-signed certificate is not among the system's roots.
        let relay: String = sb
            .smtp_relay(server.port, tls)
            .lines()
            .filter(|l| !l.starts_with("ca_file"))
            .map(|l| format!("{l}\n"))
            .collect();
        sb.relay(&format!("{relay}{login}"), "");
        let run = send_one(&sb, "untrusted");
        run.assert_code(75);
        assert!(
            run.stderr.contains("TLS"),
            "{tls:?}: the error says it was TLS: {run:#?}"
        );
        assert!(server.messages().is_empty());
    }
}

#[test]
fn stalled_server_times_out_75() {
    // stall-data: the server never answers the end of DATA; stall-greeting: never says 220.
    for fault in ["stall-data", "stall-greeting"] {
        let server = Smtpd::builder().fault(fault, 0).start();
        let sb = sandbox_for(&server, Tls::None, false, "timeout_secs = 2\n");
        let run = sendmail_one(&sb, "stalled");
        run.assert_code(75);
        assert!(
            run.elapsed < Duration::from_secs(15),
            "{fault}: timeout_secs = 2 but envoi took {:?}",
            run.elapsed
        );
        assert_saved(&sb, &run, "stalled");
        assert!(server.messages().is_empty());
    }
}

#[test]
fn connection_refused_exits_75_and_saves() {
    let sb = Sandbox::new();
    let port = free_port(); // nothing listens there any more
    sb.relay(&sb.smtp_relay(port, Tls::None), "");
    let run = sendmail_one(&sb, "refused connection");
    run.assert_code(75);
    assert_saved(&sb, &run, "refused connection");
    let run = send_one(&sb, "refused connection send");
    run.assert_code(75);
}

/// A fake sendmail binary that reads the message, says `say` on stderr and exits with `code`,
/// made `sb`'s relay. This is fault injection: no real sendmail answers a well-formed message this
/// way on demand.
fn fake_sendmail_relay(sb: &Sandbox, code: i32, say: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = sb.path(&format!("fake-sendmail-{code}"));
    std::fs::write(
        &p,
        format!("#!/bin/sh\ncat >\"$0.stdin\"\necho \"$*\" >\"$0.args\"\necho '{say}' >&2\nexit {code}\n"),
    )
    .unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    sb.relay(
        &format!("kind = \"sendmail\"\npath = {}\n", toml_path(&p)),
        "",
    );
    p
}

/// `send_one` through a fake sendmail relay that exits `code`: envoi exits `code` too, and passes
/// on the child's stderr (`said`).
#[track_caller]
fn send_to_failing_child(sb: &Sandbox, subject: &str, code: i32, said: &str) {
    let run = send_one(sb, subject);
    run.assert_code(code);
    assert!(
        run.stderr.contains(said),
        "keeps the child's stderr: {run:#?}"
    );
}

#[test]
fn sendmail_child_exiting_75_is_temporary() {
    let sb = Sandbox::new();
    let fake = fake_sendmail_relay(&sb, 75, "fake-sendmail: queue directory full, try later");
    send_to_failing_child(&sb, "child 75", 75, "queue directory full");
    // The child got the composed message.
    let fed = std::fs::read_to_string(fake.with_extension("stdin")).unwrap();
    assert!(
        fed.contains("Subject: child 75") && !fed.contains("dave.hidden"),
        "{fed}"
    );

    let run = sendmail_one(&sb, "child 75 sendmail");
    run.assert_code(75);
    assert_saved(&sb, &run, "child 75 sendmail");
}

#[test]
fn sendmail_child_exiting_69_is_permanent() {
    let sb = Sandbox::new();
    let fake = fake_sendmail_relay(&sb, 69, "fake-sendmail: no such user here");
    send_to_failing_child(&sb, "child 69", 69, "no such user here");
    let args = std::fs::read_to_string(fake.with_extension("args")).unwrap();
    assert!(
        args.contains("-f alice@x.example") && args.contains("bob@y.example"),
        "run as PATH -i -f SENDER -- RCPT...: {args}"
    );

    let run = sendmail_one(&sb, "child 69 sendmail");
    run.assert_code(69);
    assert!(
        run.stderr
            .contains(&format!("refused by the sendmail relay {}", fake.display()))
            && run.stderr.contains("no such user here"),
        "says who refused it, and why: {run:#?}"
    );
    assert_kept_as_read(&sb, &run, draft("child 69 sendmail").as_bytes());
}

/// No usable outbox (here its path is a file): the message goes to $HOME/dead.letter.
#[test]
fn unwritable_outbox_falls_back_to_dead_letter() {
    let sb = Sandbox::new();
    std::fs::remove_dir(sb.outbox()).unwrap();
    std::fs::write(sb.outbox(), "not a directory\n").unwrap();
    fake_sendmail_relay(&sb, 75, "fake-sendmail: try later");
    let input = draft("no outbox");
    let run = sendmail_one(&sb, "no outbox");
    run.assert_code(75);
    assert_eq!(run.saved_path(), sb.path("home").join("dead.letter"));
    let mbox = std::fs::read_to_string(sb.path("home").join("dead.letter")).unwrap();
    let (from_line, rest) = mbox.split_once('\n').unwrap();
    assert!(from_line.starts_with("From alice@x.example "), "{mbox}");
    assert_eq!(rest, format!("{input}\n"), "the message, then a blank line");
}
