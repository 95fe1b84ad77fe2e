//! The machines driven by scripted replies: what they write, and what they make of each reply.

use super::content;
use super::reply::Caps;
use crate::relay::Message;

fn dot_stuff(m: &[u8]) -> Vec<u8> {
    content::dot_stuff(Message::new(m))
}
use super::*;
use crate::address::Addr;
use crate::envelope::Envelope;
use crate::relay::ErrorKind;
use crate::relay::smtp::settings::{Credentials, SmtpSettings, TlsMode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

fn reply(text: &str) -> Reply {
    let mut b = ReplyBuffer::default();
    b.extend(text.as_bytes());
    b.take().unwrap().unwrap()
}

/// Drives `m` with scripted replies (one per Read); returns the output and every write.
fn run<M: Machine>(m: &mut M, replies: &[&str]) -> (M::Output, Vec<String>) {
    let mut replies = replies.iter();
    let mut writes = Vec::new();
    loop {
        match m.step() {
            Step::Write(b) => writes.push(String::from_utf8(b).unwrap()),
            Step::Read => match replies.next() {
                Some(r) => m.reply(reply(r)),
                None => m.failed(Cause::eof()),
            },
            Step::StartTls => m.tls_ready(),
            Step::Password => m.password(Ok(Password::new("pw"))),
            Step::Done(out) => return (out, writes),
        }
    }
}

fn settings() -> SmtpSettings {
    SmtpSettings::builder("mail.example.org")
        .hello_name("me.example")
        .credentials(Credentials::with_password("alice", "pw"))
        .build()
        .unwrap()
}

fn session(extensions: &str) -> Session {
    let mut text = "250-mail.example.org\r\n".to_owned();
    for e in extensions.split(',').filter(|e| !e.is_empty()) {
        text.push_str(&format!("250-{e}\r\n"));
    }
    text.push_str("250 HELP\r\n");
    Session {
        caps: Caps::of(&reply(&text)).unwrap(),
    }
}

fn envelope(to: &[&str]) -> Envelope {
    let to: Vec<Addr> = to.iter().map(|a| Addr::parse(a).unwrap()).collect();
    Envelope::new(Addr::parse("a@x.example").unwrap(), to)
}

#[test]
fn replies_are_cut_where_they_end() {
    let mut b = ReplyBuffer::default();
    b.extend(b"250-first\r\n250 last\r\n354 go");
    let r = b.take().unwrap().unwrap();
    assert_eq!((r.code, r.text()), (250, "250 first last".to_owned()));
    assert!(b.take().unwrap().is_none(), "354 is not complete yet");
    b.extend(b" ahead\r\n");
    assert_eq!(b.take().unwrap().unwrap().code, 354);
    assert!(b.is_empty());
    b.extend(b"250\n221-bye\r\n221\r\n");
    assert_eq!(b.take().unwrap().unwrap().text(), "250");
    assert_eq!(b.take().unwrap().unwrap().text(), "221 bye");
    b.extend(b"hello there\r\n");
    assert!(matches!(b.take(), Err(Cause::Closed(_))));
}

const GROUP: &str =
    "MAIL FROM:<a@x.example>\r\nRCPT TO:<b@y.example>\r\nRCPT TO:<c@y.example>\r\nDATA\r\n";

#[test]
fn pipelined_refusal_after_354_abandons_without_the_dot() {
    let cfg = settings();
    let env = envelope(&["b@y.example", "c@y.example"]);
    let mut tx = Transaction::new(&cfg, &session("PIPELINING"), &env, Message::new(b"Hi\r\n"));
    let replies = [
        "250 ok\r\n",
        "250 ok\r\n",
        "550 5.1.1 no such user\r\n",
        "354 go ahead\r\n",
    ];
    let (out, writes) = run(&mut tx, &replies);
    assert_eq!(
        writes,
        [GROUP],
        "MAIL, every RCPT and DATA in one write; no content, no dot"
    );
    let e = out.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Permanent);
    assert!(e.abandoned && !e.is_session_over());
    assert!(
        e.message().contains(
            "refused recipient c@y.example (550 5.1.1 no such user); the message went to nobody"
        ),
        "{}",
        e.message()
    );
    // Closed without QUIT, which the server would take as a line of the message.
    assert_eq!(after(&Err(e), false), After::Drop);
}

#[test]
fn pipelined_refusal_of_everyone_ends_354_with_a_lone_dot_else_resets() {
    let cfg = settings();
    let env = envelope(&["b@y.example", "c@y.example"]);
    let s = session("PIPELINING");
    let refused = ["550 no\r\n", "550 no\r\n"];
    let mut tx = Transaction::new(&cfg, &s, &env, Message::new(b"Hi\r\n"));
    let replies = [
        "250 ok\r\n",
        refused[0],
        refused[1],
        "354 go\r\n",
        "554 no valid recipients\r\n",
    ];
    let (out, writes) = run(&mut tx, &replies);
    assert_eq!(writes, [GROUP, ".\r\n"]);
    let e = out.unwrap_err();
    assert!(
        !e.abandoned && e.message().contains("went to nobody"),
        "{e:?}"
    );
    assert_eq!(after(&Err(e), false), After::Keep);
    let mut tx = Transaction::new(&cfg, &s, &env, Message::new(b"Hi\r\n"));
    let replies = [
        "250 ok\r\n",
        refused[0],
        refused[1],
        "554 no valid recipients\r\n",
        "250 reset\r\n",
    ];
    let (out, writes) = run(&mut tx, &replies);
    assert_eq!(writes, [GROUP, "RSET\r\n"]);
    assert!(
        out.unwrap_err()
            .message()
            .contains("refused recipients b@y.example (550 no), c@y.example (550 no)")
    );
}

#[test]
fn too_many_recipients_go_in_a_further_transaction() {
    let cfg = settings();
    let env = envelope(&["b@y.example", "c@y.example"]);
    let mut tx = Transaction::new(&cfg, &session("PIPELINING"), &env, Message::new(b"Hi\r\n"));
    let replies = [
        "250 ok\r\n",
        "250 ok\r\n",
        "452 4.5.3 Error: too many recipients\r\n",
        "354 go\r\n",
        "250 queued 1\r\n",
        "250 ok\r\n",
        "250 ok\r\n",
        "354 go\r\n",
        "250 queued 2\r\n",
    ];
    let (out, writes) = run(&mut tx, &replies);
    assert_eq!(
        writes,
        [
            GROUP,
            "Hi\r\n.\r\n",
            "MAIL FROM:<a@x.example>\r\nRCPT TO:<c@y.example>\r\nDATA\r\n",
            "Hi\r\n.\r\n"
        ]
    );
    let d = out.unwrap();
    assert_eq!(d.accepted, env.to);
    // Any other 452 is a temporary refusal.
    let mut tx = Transaction::new(&cfg, &session("PIPELINING"), &env, Message::new(b"Hi\r\n"));
    let replies = [
        "250 ok\r\n",
        "250 ok\r\n",
        "452 4.3.1 Insufficient storage\r\n",
        "354 go\r\n",
    ];
    let e = run(&mut tx, &replies).0.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transient);
    assert!(e.abandoned);
}

#[test]
fn a_batch_pipelines_each_end_of_data_with_the_next_message() {
    let cfg = settings();
    let s = session("PIPELINING");
    let (e1, e2) = (envelope(&["b@y.example"]), envelope(&["c@y.example"]));
    let batch = [
        (&e1, Message::new(b"one\r\n")),
        (&e2, Message::new(b"two\r\n")),
    ];
    let mut chain = Chain::new(&cfg, &s, &batch);
    let ok = "250 ok\r\n";
    let replies = [
        ok,
        ok,
        "354 go\r\n",
        "250 queued 1\r\n",
        ok,
        ok,
        "354 go\r\n",
        "250 queued 2\r\n",
    ];
    let (out, writes) = run(&mut chain, &replies);
    assert_eq!(
        writes,
        [
            "MAIL FROM:<a@x.example>\r\nRCPT TO:<b@y.example>\r\nDATA\r\n",
            "one\r\n.\r\nMAIL FROM:<a@x.example>\r\nRCPT TO:<c@y.example>\r\nDATA\r\n",
            "two\r\n.\r\n"
        ],
        "three writes, three round trips, for two messages"
    );
    assert_eq!(out.len(), 2);
    assert!(out.iter().all(Result::is_ok), "{out:?}");
    // A session-ending reply to the first message's content ends the chain with its result
    // alone: the second one goes again on a new connection.
    let mut chain = Chain::new(&cfg, &s, &batch);
    let replies = [ok, ok, "354 go\r\n", "421 4.3.2 bye\r\n"];
    let (out, _) = run(&mut chain, &replies);
    assert_eq!(out.len(), 1);
    assert!(out[0].as_ref().unwrap_err().is_session_over());
}

#[test]
fn one_write_per_command_without_pipelining_and_one_for_the_content() {
    let cfg = settings();
    let env = envelope(&["b@y.example"]);
    let mut tx = Transaction::new(
        &cfg,
        &session("8BITMIME"),
        &env,
        Message::new(".hi\r\nh\u{e9}\r\n".as_bytes()),
    );
    let replies = ["250 ok\r\n", "250 ok\r\n", "354 go\r\n", "250 queued\r\n"];
    let (out, writes) = run(&mut tx, &replies);
    assert_eq!(out.unwrap().accepted, env.to);
    assert_eq!(
        writes,
        [
            "MAIL FROM:<a@x.example> BODY=8BITMIME\r\n",
            "RCPT TO:<b@y.example>\r\n",
            "DATA\r\n",
            "..hi\r\nh\u{e9}\r\n.\r\n"
        ]
    );
}

#[test]
fn a_kept_connection_that_died_is_stale_unless_it_timed_out() {
    let cfg = settings();
    let env = envelope(&["b@y.example"]);
    let s = session("PIPELINING");
    let mut tx = Transaction::new(&cfg, &s, &env, Message::new(b"x\r\n"));
    let (out, _) = run(&mut tx, &[]);
    let e = out.unwrap_err();
    assert!(e.stale && e.is_session_over(), "{e:?}");
    assert!(worth_retry(true, &Err(e.clone())) && !worth_retry(false, &Err(e)));
    let mut tx = Transaction::new(&cfg, &s, &env, Message::new(b"x\r\n"));
    assert!(matches!(tx.step(), Step::Write(_)));
    tx.failed(Cause::Timeout);
    let Step::Done(Err(e)) = tx.step() else {
        panic!()
    };
    assert!(!e.stale && e.message().contains("timed out"), "{e:?}");
    assert_eq!(after(&Err(e), true), After::Abort);
}

const GROUP_ONE: &str = "MAIL FROM:<a@x.example>\r\nRCPT TO:<b@y.example>\r\nDATA\r\n";

#[test]
fn data_refused_then_reset_and_421_ends_the_session() {
    let cfg = settings();
    let env = envelope(&["b@y.example"]);
    let s = session("PIPELINING");
    let mut tx = Transaction::new(&cfg, &s, &env, Message::new(b"x\r\n"));
    let (out, writes) = run(
        &mut tx,
        &["250 ok\r\n", "250 ok\r\n", "451 later\r\n", "250 ok\r\n"],
    );
    let e = out.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transient);
    assert!(e.message().starts_with("refused DATA:"), "{}", e.message());
    assert_eq!(writes.last().unwrap(), "RSET\r\n");
    let mut tx = Transaction::new(&cfg, &s, &env, Message::new(b"x\r\n"));
    let replies = [
        "250 ok\r\n",
        "250 ok\r\n",
        "354 go\r\n",
        "421 4.3.2 bye\r\n",
    ];
    let (out, writes) = run(&mut tx, &replies);
    let e = out.unwrap_err();
    assert!(e.is_session_over() && !e.stale, "{e:?}");
    assert!(
        e.message().contains("refused the message: "),
        "{}",
        e.message()
    );
    assert_eq!(
        writes,
        [GROUP_ONE, "x\r\n.\r\n"],
        "no RSET after the final dot"
    );
}

#[test]
fn starttls_then_auth_plain() {
    let cfg = settings();
    let ehlo = "250-mail.example.org\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 AUTH LOGIN PLAIN\r\n";
    let replies = ["220 hi\r\n", ehlo, "220 go ahead\r\n", ehlo, "235 ok\r\n"];
    let (out, writes) = run(&mut Handshake::new(&cfg), &replies);
    assert!(out.unwrap().caps.pipelining);
    let plain = BASE64.encode("\0alice\0pw");
    assert_eq!(
        writes,
        [
            "EHLO me.example\r\n".to_owned(),
            "STARTTLS\r\n".to_owned(),
            "EHLO me.example\r\n".to_owned(),
            format!("AUTH PLAIN {plain}\r\n")
        ]
    );
}

#[test]
fn auth_login_answers_each_challenge() {
    let cfg = SmtpSettings::builder("mail.example.org")
        .tls(TlsMode::Implicit)
        .hello_name("me.example")
        .credentials(Credentials::with_password("alice", "pw"))
        .build()
        .unwrap();
    let user = format!("334 {}\r\n", BASE64.encode("Username:"));
    let pass = format!("334 {}\r\n", BASE64.encode("Password:"));
    let replies = [
        "220 hi\r\n",
        "250-x\r\n250 AUTH LOGIN\r\n",
        &user,
        &pass,
        "535 5.7.8 no\r\n",
    ];
    let (out, writes) = run(&mut Handshake::new(&cfg), &replies);
    assert_eq!(writes[1..], ["AUTH LOGIN\r\n", "YWxpY2U=\r\n", "cHc=\r\n"]);
    let e = out.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth);
    assert!(
        e.message().starts_with("authentication as alice failed: "),
        "{}",
        e.message()
    );
}

#[test]
fn a_refused_xoauth2_token_is_answered_as_gmail_expects() {
    let cfg = SmtpSettings::builder("smtp.gmail.com")
        .tls(TlsMode::Implicit)
        .hello_name("me.example")
        .credentials(Credentials::with_password("alice", "pw"))
        .auth(crate::relay::smtp::AuthMechanism::Xoauth2)
        .build()
        .unwrap();
    let error = r#"{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}"#;
    let challenge = format!("334 {}\r\n", BASE64.encode(error));
    let replies = [
        "220 hi\r\n",
        "250-smtp.gmail.com\r\n250 AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER\r\n",
        &challenge,
        "535-5.7.8 Username and Password not accepted.\r\n535 5.7.8 Learn more\r\n",
    ];
    // The token ("pw" here) comes from the password source.
    let (out, writes) = run(&mut Handshake::new(&cfg), &replies);
    let ir = BASE64.encode("user=alice\x01auth=Bearer pw\x01\x01");
    assert_eq!(
        writes[1..],
        [format!("AUTH XOAUTH2 {ir}\r\n"), "\r\n".to_owned()]
    );
    let e = out.unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::Auth,
        "535 after the challenge: exit 77"
    );
    assert!(e.message().contains(error), "{}", e.message());
    assert!(
        e.message().contains("access token was refused"),
        "{}",
        e.message()
    );
}

#[test]
fn a_chosen_mechanism_the_server_lacks_is_named() {
    let cfg = SmtpSettings::builder("mail.example.org")
        .tls(TlsMode::Implicit)
        .hello_name("me.example")
        .credentials(Credentials::with_password("alice", "pw"))
        .auth(crate::relay::smtp::AuthMechanism::Oauthbearer)
        .build()
        .unwrap();
    let replies = ["220 hi\r\n", "250-x\r\n250 AUTH=PLAIN LOGIN\r\n"];
    let (out, writes) = run(&mut Handshake::new(&cfg), &replies);
    let e = out.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth);
    assert!(
        e.message()
            .contains("offers AUTH PLAIN LOGIN, not AUTH OAUTHBEARER"),
        "{}",
        e.message()
    );
    assert_eq!(writes, ["EHLO me.example\r\n"], "no token was sent");
}

#[test]
fn no_starttls_offered_is_a_tls_failure() {
    let cfg = settings();
    let replies = ["220 hi\r\n", "250-x\r\n250 AUTH PLAIN\r\n"];
    let (out, writes) = run(&mut Handshake::new(&cfg), &replies);
    let e = out.unwrap_err();
    assert!(
        e.message().contains("does not offer STARTTLS"),
        "{}",
        e.message()
    );
    assert_eq!(writes, ["EHLO me.example\r\n"], "no password was sent");
}

fn timeout_7s() -> SmtpSettings {
    SmtpSettings::builder("mail.example.org")
        .timeout(std::time::Duration::from_secs(7))
        .build()
        .unwrap()
}

#[test]
fn classification() {
    let c =
        |cause: Cause, stage| classify_cause(&cause, stage, "mail.example.org:587", &timeout_7s());
    let reply = |code: u16| Cause::Reply {
        code,
        reply: format!("{code} 5.7.8 nope"),
    };
    let e = c(reply(535), Stage::Auth);
    assert_eq!((e.kind(), e.exit_code()), (ErrorKind::Auth, 77));
    assert!(e.message().contains("535 5.7.8 nope"));
    assert_eq!(c(reply(535), Stage::Mail).kind(), ErrorKind::Permanent);
    assert_eq!(c(reply(550), Stage::Mail).exit_code(), 69);
    assert_eq!(c(reply(454), Stage::Auth).exit_code(), 75);
    assert!(!c(reply(451), Stage::Data).is_session_over());
    assert!(c(reply(421), Stage::Data).is_session_over());
    let e = c(Cause::Timeout, Stage::Data);
    assert_eq!(e.exit_code(), 75);
    assert!(
        e.message().contains("timed out after 7 s"),
        "{}",
        e.message()
    );
    let e = c(
        Cause::Tls("invalid peer certificate: UnknownIssuer".into()),
        Stage::Tls,
    );
    assert_eq!(e.exit_code(), 75);
    assert!(e.message().starts_with("TLS failure"));
    let e = c(
        Cause::Io("Connection refused (os error 111)".into()),
        Stage::Connect,
    );
    assert!(
        e.message()
            .contains("cannot connect to mail.example.org:587")
    );
    assert_eq!(
        c(Cause::Closed("incomplete response".into()), Stage::Data).exit_code(),
        75
    );
}

#[test]
fn dot_stuffing() {
    assert_eq!(dot_stuff(b".a\r\nb\r\n.\r\n"), b"..a\r\nb\r\n..\r\n.\r\n");
    assert_eq!(dot_stuff(b"a\r\nb"), b"a\r\nb\r\n.\r\n");
    assert_eq!(dot_stuff(b"x\n.y\r\n"), b"x\n..y\r\n.\r\n");
}

#[test]
fn content_streams_a_bare_lf_body_converted_and_stuffed() {
    let stuffed = |h: &[u8], b: &[u8], lf| content::dot_stuff(Message::parts(h, b, lf));
    // The body's bare LFs get their CR, a CRLF stays, dots are stuffed across the join.
    assert_eq!(
        stuffed(b"S: x\r\n\r\n", b".a\nb\r\n.\nc", true),
        b"S: x\r\n\r\n..a\r\nb\r\n..\r\nc\r\n.\r\n"
    );
    assert_eq!(stuffed(b"", b"", false), b".\r\n");
    // Against the whole-message reference, over many chunks: each line's first dot stuffed
    // wherever the chunk boundaries fall.
    let body: Vec<u8> = (0..40_000)
        .flat_map(|i| format!(".{i} some text\n").into_bytes())
        .collect();
    let converted: Vec<u8> = body
        .split_inclusive(|&b| b == b'\n')
        .flat_map(|l| [b"..".as_slice(), &l[1..l.len() - 1], b"\r\n"].concat())
        .collect();
    let mut s = content::Stuffer::new(Message::parts(b"H: v\r\n\r\n", &body, true));
    let chunks: Vec<Vec<u8>> = std::iter::from_fn(|| s.next_chunk()).collect();
    assert!(chunks.len() > 1, "a large body goes in several writes");
    assert!(
        chunks[..chunks.len() - 1]
            .iter()
            .all(|c| !c.ends_with(b"\r\n.\r\n"))
    );
    let all = chunks.concat();
    assert_eq!(
        all,
        [b"H: v\r\n\r\n".as_slice(), &converted, b".\r\n"].concat()
    );
}

#[test]
fn a_small_message_and_its_dot_go_in_one_write() {
    let cfg = settings();
    let env = envelope(&["b@y.example"]);
    let mut tx = Transaction::new(&cfg, &session(""), &env, Message::new(b"Hi\r\n"));
    let (r, writes) = run(
        &mut tx,
        &["250 ok\r\n", "250 ok\r\n", "354 go\r\n", "250 queued\r\n"],
    );
    r.unwrap();
    assert_eq!(writes.last().unwrap(), "Hi\r\n.\r\n");
}

/// A server's EHLO reply with a line of blanks (found by the `smtp_reply` fuzz target: lettre's
/// reader panicked on it) is read, and the lines around it still count.
#[test]
fn an_ehlo_line_of_blanks_is_skipped_not_a_panic() {
    let r = reply(
        "250-mail.example.org\r\n250-  \r\n250-PIPELINING\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n",
    );
    let caps = Caps::of(&r).unwrap();
    assert!(caps.pipelining);
    assert!(caps.has(lettre::transport::smtp::extension::Extension::StartTls));
    assert_eq!(caps.auth_mechanisms(), ["PLAIN"]);
}
