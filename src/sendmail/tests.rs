use super::*;

fn front() -> Frontend {
    let mut f = Frontend::new(Options::default());
    f.domain = Some("host.example".into());
    f.fixed_time = Some(0);
    f
}

fn req(rcpts: &[&str]) -> Request {
    Request {
        recipients: rcpts.iter().map(|s| s.to_string()).collect(),
        ..Request::default()
    }
}

fn addrs(env: &Envelope) -> Vec<&str> {
    env.to.iter().map(Addr::as_str).collect()
}

const MSG: &[u8] =
    b"From: Ann <ann@x.example>\nTo: bob@y.example\nBcc: eve@z.example\nSubject: s\n\nbody\n";

#[test]
fn without_from_headers_only_the_given_recipients_get_it() {
    let p = front()
        .prepare(&req(&["only@w.example, root"]), MSG)
        .unwrap();
    assert_eq!(p.envelope.from.as_str(), "ann@x.example");
    assert_eq!(addrs(&p.envelope), ["only@w.example", "root@host.example"]);
    let text = String::from_utf8(p.message).unwrap();
    assert!(!text.contains("eve@"), "Bcc removed: {text}");
    assert!(text.contains("\r\nMessage-ID: <"), "{text}");
}

#[test]
fn from_headers_adds_the_given_recipients_once() {
    let mut r = req(&["bob@Y.EXAMPLE", "extra@w.example"]);
    r.from_headers = true;
    let p = front().prepare(&r, MSG).unwrap();
    assert_eq!(
        addrs(&p.envelope),
        ["bob@y.example", "eve@z.example", "extra@w.example"]
    );
}

#[test]
fn the_sender_sets_the_envelope_and_a_missing_from() {
    let mut r = req(&["b@y.example"]);
    r.sender = Some("robot".into());
    r.full_name = Some("Build Robot".into());
    let p = front().prepare(&r, b"Subject: s\n\nbody\n").unwrap();
    assert_eq!(p.envelope.from.as_str(), "robot@host.example");
    let text = String::from_utf8(p.message).unwrap();
    assert!(
        text.starts_with("From: Build Robot <robot@host.example>\r\n"),
        "{text}"
    );
    // A message with its own From keeps it; the envelope still takes the sender.
    let p = front().prepare(&r, MSG).unwrap();
    assert_eq!(p.envelope.from.as_str(), "robot@host.example");
    assert!(
        String::from_utf8(p.message)
            .unwrap()
            .starts_with("From: Ann <ann@x.example>\r\n")
    );
}

#[test]
fn mistakes_are_typed() {
    let f = front();
    let e = f.prepare(&req(&["a@@x"]), MSG).unwrap_err();
    assert!(
        matches!(&e, SendmailError::Recipient { text, .. } if text == "a@@x"),
        "{e}"
    );
    let e = f.prepare(&req(&[]), MSG).unwrap_err();
    assert!(matches!(e, SendmailError::NoRecipients), "{e}");
    let mut r = req(&["b@y.example"]);
    r.sender = Some("a@x.example, c@x.example".into());
    let e = f.prepare(&r, MSG).unwrap_err();
    assert!(matches!(e, SendmailError::SenderNotSingle { .. }), "{e}");
    let e = f
        .prepare(&req(&["b@y.example"]), b"To: b\nnot a header\n\nx\n")
        .unwrap_err();
    assert!(matches!(e, SendmailError::Compose(_)), "{e}");
    // Without a domain, a bare name is an error that says so.
    let mut f = front();
    f.domain = None;
    let e = f.prepare(&req(&["root"]), MSG).unwrap_err();
    assert!(matches!(e, SendmailError::Recipient { .. }), "{e}");
    let mut r = req(&["b@y.example"]);
    r.sender = None;
    let e = f.prepare(&r, b"Subject: s\n\nx\n").unwrap_err();
    assert!(
        matches!(e, SendmailError::NoDomain | SendmailError::NoLoginUser),
        "{e}"
    );
}

#[test]
fn aliases_map_local_names_and_report_what_they_skip() {
    let mut f = front();
    f.aliases = Some(
        Aliases::parse("root: admin@corp.example, \"|/usr/bin/logger\"\nlogs: /var/log/x\n")
            .unwrap(),
    );
    let p = f.prepare(&req(&["root", "www-data"]), MSG).unwrap();
    assert_eq!(
        addrs(&p.envelope),
        ["admin@corp.example", "www-data@host.example"]
    );
    assert_eq!(
        p.skipped,
        [Skipped {
            recipient: Addr::parse("root@host.example").unwrap(),
            target: "|/usr/bin/logger".into()
        }]
    );
    let e = f.prepare(&req(&["logs"]), MSG).unwrap_err();
    assert!(matches!(e, SendmailError::NoRecipientsAfterAliases), "{e}");
}

#[test]
fn a_fixed_time_gives_the_same_bytes() {
    let a = front().prepare(&req(&["b@y.example"]), MSG).unwrap();
    let b = front().prepare(&req(&["b@y.example"]), MSG).unwrap();
    assert_eq!(a, b);
    let text = String::from_utf8(a.message).unwrap();
    assert!(
        text.contains("\r\nDate: ") && text.contains(" 1970 00:00:00 +0000\r\n"),
        "{text}"
    );
}

#[test]
fn an_unreadable_aliases_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("aliases");
    let toml = format!("[compose]\naliases = \"{}\"\n", path.display());
    let (admin, user) = (dir.path().join("admin.toml"), dir.path().join("user.toml"));
    let config = Config::from_texts(&admin, Some(&toml), &user, None).unwrap();
    let e = Frontend::from_config(&config).unwrap_err();
    assert!(
        matches!(
            &e,
            SendmailError::Aliases {
                error: AliasesFileError::Read(_),
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains(&path.display().to_string()), "{e}");
    std::fs::write(&path, "  indented first\n").unwrap();
    let e = Frontend::from_config(&config).unwrap_err();
    assert!(
        matches!(
            &e,
            SendmailError::Aliases {
                error: AliasesFileError::Parse(_),
                ..
            }
        ),
        "{e}"
    );
}
