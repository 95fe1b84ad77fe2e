//! `envoi sendmail`, the sendmail-compatible front: recipients from argv or (-t) from the headers,
//! -f/-F, the binary invoked as `sendmail`, the file relay, and git send-email driving it.

use super::harness::*;
use super::{DRAFT_BODY, DRAFT_RCPTS, draft};
use std::path::Path;

#[test]
fn recipients_from_argv_only() {
    let server = Smtpd::builder().start();
    let sb = Sandbox::for_smtpd(&server);
    let run = sb.envoi(
        &[
            "sendmail",
            "-i",
            "-f",
            "bounces@x.example",
            "--",
            "only@w.example",
        ],
        Some(draft("argv").as_bytes()),
    );
    run.assert_ok();
    let msgs = server.messages();
    assert_eq!(msgs.len(), 1);
    let m = &msgs[0];
    assert_eq!(
        m.mail_from, "bounces@x.example",
        "-f sets the envelope sender"
    );
    assert_eq!(
        m.rcpt_tos,
        ["only@w.example"],
        "without -t the headers name no recipient"
    );
    assert_composed(m, &["dave.hidden"]);
    assert_eq!(m.body(), DRAFT_BODY);
}

#[test]
fn dash_t_takes_headers_plus_argv() {
    let server = Smtpd::builder().start();
    let sb = Sandbox::for_smtpd(&server);
    // bob is both in To and on argv (domain in another case): one RCPT TO.
    let run = sb.envoi(
        &[
            "sendmail",
            "-t",
            "-oi",
            "-oem",
            "extra@w.example",
            "bob@Y.EXAMPLE",
        ],
        Some(draft("dash t").as_bytes()),
    );
    run.assert_ok();
    let msgs = server.messages();
    assert_eq!(msgs.len(), 1);
    let m = &msgs[0];
    assert_eq!(m.mail_from, "alice@x.example");
    let mut want = DRAFT_RCPTS.to_vec();
    want.push("extra@w.example");
    assert_eq!(sorted(&m.rcpt_tos), sorted(&want));
    assert_composed(m, &["dave.hidden", "Dave Hidden"]);
    assert_eq!(m.body(), DRAFT_BODY);
}

#[test]
fn invoked_as_sendmail() {
    let server = Smtpd::builder().start();
    let sb = Sandbox::for_smtpd(&server);
    let bin = sb.path("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(ENVOI, bin.join("sendmail")).unwrap();
    let mut c = sb.command(bin.join("sendmail"));
    c.args(["-t", "-i"]);
    let run = run(c, Some(draft("as sendmail").as_bytes()));
    run.assert_ok();
    let msgs = server.messages();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].rcpt_tos, DRAFT_RCPTS);
    assert_composed(&msgs[0], &["dave.hidden"]);
}

#[test]
fn file_relay_with_dash_capital_f_and_no_from() {
    let sb = Sandbox::new();
    let out = sb.path("spool");
    std::fs::create_dir(&out).unwrap();
    sb.relay(&format!("kind = \"file\"\ndir = {}\n", toml_path(&out)), "");
    let msg = "To: bob@y.example\nBcc: hidden@z.example\nSubject: no From\n\nbody\n";
    let run = sb.envoi(
        &[
            "sendmail",
            "-t",
            "-i",
            "-f",
            "robot@x.example",
            "-F",
            "Build Robot",
        ],
        Some(msg.as_bytes()),
    );
    run.assert_ok();
    let mut files: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2, "NAME.eml and NAME.envelope.json: {files:?}");
    let eml = files
        .iter()
        .find(|p| p.to_str().unwrap().ends_with(".eml"))
        .unwrap();
    let env = files
        .iter()
        .find(|p| p.to_str().unwrap().ends_with(".envelope.json"))
        .unwrap();
    let stem = |p: &Path, ext: &str| p.to_str().unwrap().strip_suffix(ext).unwrap().to_string();
    assert_eq!(stem(eml, ".eml"), stem(env, ".envelope.json"));
    let envelope: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(env).unwrap()).unwrap();
    assert_eq!(
        envelope,
        serde_json::json!({"from": "robot@x.example", "to": ["bob@y.example", "hidden@z.example"], "smtputf8": false})
    );
    let content = std::fs::read_to_string(eml).unwrap();
    assert_crlf(&content);
    assert!(!content.contains("hidden@z.example"), "{content}");
    let from = header(&content, "From").expect("a From built from -f/-F");
    assert!(
        from.contains("Build Robot") && from.contains("robot@x.example"),
        "From: {from}"
    );
    assert!(header(&content, "Message-ID").is_some() && header(&content, "Date").is_some());
}

/// git send-email (Debian's git-email, for /usr/bin/git) with `--sendmail-cmd="envoi sendmail"`.
#[test]
fn git_send_email_through_envoi_sendmail() {
    let git = Path::new("/usr/bin/git");
    assert!(
        git.exists(),
        "/usr/bin/git is missing (scripts/test installs git-email)"
    );
    let server = Smtpd::builder().start();
    let sb = Sandbox::for_smtpd(&server);
    let repo = sb.path("repo");
    let g = |args: &[&str]| {
        let mut c = sb.command(git);
        c.current_dir(&repo)
            .args([
                "-c",
                "user.name=Dev Eloper",
                "-c",
                "user.email=dev@x.example",
            ])
            .args(args);
        let r = run(c, None);
        assert_eq!(r.code, 0, "git {args:?}: {r:#?}");
        r
    };
    std::fs::create_dir(&repo).unwrap();
    g(&["init", "-q"]);
    std::fs::write(repo.join("greeting.txt"), "hello\n.dotted line\n").unwrap();
    g(&["add", "greeting.txt"]);
    g(&["commit", "-q", "-m", "Add a greeting"]);
    g(&["format-patch", "-q", "-1", "-o", "../patches"]);
    let patch = std::fs::read_dir(sb.path("patches"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let sendmail_cmd = format!("'{ENVOI}' sendmail");
    let r = g(&[
        "send-email",
        &format!("--sendmail-cmd={sendmail_cmd}"),
        "--from=Dev Eloper <dev@x.example>",
        "--envelope-sender=dev@x.example",
        "--to=maint@y.example",
        "--cc=list@y.example",
        "--bcc=archive@z.example",
        "--suppress-cc=all",
        "--confirm=never",
        "--no-validate",
        "--quiet",
        patch.to_str().unwrap(),
    ]);
    let msgs = server.messages();
    assert_eq!(msgs.len(), 1, "{r:#?}");
    let m = &msgs[0];
    assert_eq!(m.mail_from, "dev@x.example");
    assert_eq!(
        sorted(&m.rcpt_tos),
        sorted(&["archive@z.example", "list@y.example", "maint@y.example"])
    );
    assert_crlf(&m.content);
    assert!(!m.content.contains("archive@z.example"), "{}", m.content);
    assert_eq!(
        m.header("Subject").as_deref(),
        Some("[PATCH] Add a greeting")
    );
    assert!(
        m.body().contains("+hello\r\n+.dotted line\r\n"),
        "{}",
        m.body()
    );
    // git send-email writes its own Message-ID and Date: envoi keeps them.
    assert!(m.header("Message-ID").unwrap().contains("@"));
    let ids = m
        .headers()
        .lines()
        .filter(|l| l.to_ascii_lowercase().starts_with("message-id:"));
    assert_eq!(ids.count(), 1, "one Message-ID: {}", m.headers());
}

/// Cron's `To: root` mapped through an aliases file (the /etc/aliases format); a name without an
/// alias is qualified with `[compose] domain`.
#[test]
fn local_names_through_aliases_and_domain() {
    let server = Smtpd::builder().start();
    let sb = Sandbox::new();
    let aliases = sb.path("aliases");
    std::fs::write(
        &aliases,
        "# local names\npostmaster: root\nroot: admin@corp.test.example,\n  oncall@corp.test.example\n",
    )
    .unwrap();
    sb.relay(
        &sb.smtp_relay(server.port, Tls::None),
        &format!(
            "[compose]\ndomain = \"host.test.example\"\naliases = {}\n",
            toml_path(&aliases)
        ),
    );
    let msg = "From: root (Cron Daemon)\nTo: root\nSubject: cron\n\nout\n";
    let run = sb.cron_sendmail(&["root", "www-data"], msg);
    run.assert_ok();
    let msgs = server.messages();
    assert_eq!(msgs.len(), 1, "{run:#?}");
    assert_eq!(
        sorted(&msgs[0].rcpt_tos),
        sorted(&[
            "admin@corp.test.example",
            "oncall@corp.test.example",
            "www-data@host.test.example"
        ])
    );
    assert_crlf(&msgs[0].content);
}

/// A broken configuration (the outbox it names is unknown): exit 78, and the message is appended
/// to $HOME/dead.letter in mbox form, one record per failed run.
#[test]
fn broken_config_exits_78_and_keeps_the_message_in_dead_letter() {
    let sb = Sandbox::new();
    sb.admin_config("[relay]\nkind = \"smtp\"\nport = \"not a number\"\n");
    let dead = sb.path("home").join("dead.letter");
    let mut want = String::new();
    for subject in ["first broken", "second broken"] {
        // A body line starting with "From " is quoted in the mbox, as mail readers expect.
        let input = format!("{}From the start of a line\n", draft(subject));
        let run = sb.envoi(
            &["sendmail", "-t", "-i", "-f", "alice@x.example"],
            Some(input.as_bytes()),
        );
        run.assert_code(78);
        assert!(
            run.stderr.contains("admin.toml"),
            "names the file: {run:#?}"
        );
        assert_eq!(run.saved_path(), dead, "{run:#?}");
        want += &format!("{}>From the start of a line\n\n", draft(subject));
        let mbox = std::fs::read_to_string(&dead).unwrap();
        let records: Vec<&str> = mbox
            .split_inclusive('\n')
            .filter(|l| l.starts_with("From "))
            .collect();
        assert_eq!(
            records.len(),
            if subject.starts_with("first") { 1 } else { 2 }
        );
        for r in &records {
            // From SENDER Www Mmm dd hh:mm:ss yyyy
            let date = r.trim_end().strip_prefix("From alice@x.example ").unwrap();
            assert_eq!(date.len(), 24, "asctime date: {r:?}");
        }
        let body: String = mbox
            .split_inclusive('\n')
            .filter(|l| !l.starts_with("From "))
            .collect();
        assert_eq!(body, want);
    }
    assert!(sb.outbox_files().is_empty());
}

/// A draft that cannot be composed (a line in the header block that is not a field): exit 65,
/// and the bytes as written, even those that are not UTF-8, are kept in the outbox.
#[test]
fn malformed_draft_exits_65_and_keeps_the_bytes() {
    let server = Smtpd::builder().start();
    let sb = Sandbox::for_smtpd(&server);
    let mut input =
        b"From: alice@x.example\r\nTo: bob@y.example\r\nThis line is not a header\r\nSubject: caf"
            .to_vec();
    input.extend_from_slice(b"\xe9\r\n\r\nbody\n.\nafter the dot\n");
    let run = sb.envoi(&["sendmail", "-t", "-i"], Some(&input));
    run.assert_code(65);
    assert!(run.stderr.contains("line 3"), "{run:#?}");
    super::faults::assert_kept_as_read(&sb, &run, &input);
    assert!(server.messages().is_empty());

    // Without -i the message ends at the lone dot: what is kept is the message, not the rest.
    let run = sb.envoi(&["sendmail", "-t"], Some(&input));
    run.assert_code(65);
    let end = input.windows(3).position(|w| w == b"\n.\n").unwrap() + 1;
    super::faults::assert_kept_as_read(&sb, &run, &input[..end]);
}
