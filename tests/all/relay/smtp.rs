//! `envoi send` through the smtp relay to aiosmtpd: STARTTLS + AUTH (port 587 style), implicit
//! TLS (465 style), the three password sources, SMTPUTF8, one connection for many drafts,
//! `--account`, `--dry-run`.

use super::harness::*;
use super::{DRAFT_BODY, DRAFT_RCPTS, draft};

const USER: &str = "alice";
const PASSWORD: &str = "Pw-5ecret-7f2c";

/// aiosmtpd with TLS `tls`, wanting AUTH as USER with PASSWORD, made `sb`'s relay; `login` is
/// the `user` and `password_*` lines of its `[relay]`.
fn auth_smtpd(sb: &Sandbox, tls: Tls, login: &str) -> Smtpd {
    let server = Smtpd::builder().tls(tls).auth(USER, PASSWORD).start();
    sb.relay(&format!("{}{login}", sb.smtp_relay(server.port, tls)), "");
    server
}

#[track_caller]
fn assert_no_password(text: &str, what: &str) {
    assert!(!text.contains(PASSWORD), "{what}: {text}");
}

/// `envoi config` and every stderr of the sandbox must not show the password.
#[track_caller]
fn assert_secret_hidden(sb: &Sandbox, runs: &[&Run]) {
    let shown = sb.envoi(&["config"], None);
    shown.assert_ok();
    assert_no_password(&shown.stdout, "envoi config shows the password");
    assert_no_password(&shown.stderr, "envoi config");
    for r in runs {
        assert_no_password(&r.stderr, "password on stderr");
        assert_no_password(&r.stdout, "password on stdout");
    }
}

/// Everything a submission of `draft()` must look like at the server.
#[track_caller]
fn assert_draft_arrived(m: &Received, run: &Run) {
    assert_eq!(m.mail_from, "alice@x.example");
    assert_eq!(m.rcpt_tos, DRAFT_RCPTS);
    assert_composed(m, &["dave.hidden", "Dave Hidden"]);
    assert_eq!(m.body(), DRAFT_BODY);
    assert_eq!(m.header("To").as_deref(), Some("Bob <bob@y.example>"));
    let id = m.header("Message-ID").unwrap();
    assert_eq!(
        run.accepted(),
        vec![(id, DRAFT_RCPTS.map(String::from).to_vec())],
        "stdout: one line `<ID> accepted: RCPTS`"
    );
}

#[test]
fn starttls_with_auth_password_env() {
    let mut sb = Sandbox::new();
    let login = sb.password_env(USER, PASSWORD);
    let server = auth_smtpd(&sb, Tls::Starttls, &login);
    let text = draft("starttls");
    let d = sb.draft("d.eml", &text);
    let run = sb.envoi(&["send", d.to_str().unwrap()], None);
    run.assert_ok();
    let msgs = server.messages();
    assert_eq!(msgs.len(), 1, "{msgs:#?}");
    let m = &msgs[0];
    assert!(m.tls, "the message went over TLS");
    assert_eq!(m.auth.as_deref(), Some(USER));
    assert_eq!(m.helo.as_deref(), Some("client.test.example"), "hello_name");
    assert_draft_arrived(m, &run);
    assert_eq!(m.header("Subject").as_deref(), Some("starttls"));
    assert_eq!(
        std::fs::read_to_string(&d).unwrap(),
        text,
        "the draft is never modified"
    );
    assert_secret_hidden(&sb, &[&run]);
}

#[test]
fn implicit_tls_password_file_many_drafts_one_connection() {
    let sb = Sandbox::new();
    let pw = sb.path("password");
    // A trailing newline, as editors and `pass` leave it: not part of the password.
    std::fs::write(&pw, format!("{PASSWORD}\n")).unwrap();
    // Private, as a password file must be (see modes.rs for one that is not).
    std::fs::set_permissions(&pw, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let login = format!("user = \"{USER}\"\npassword_file = {}\n", toml_path(&pw));
    let server = auth_smtpd(&sb, Tls::Implicit, &login);
    let drafts: Vec<_> = (0..3)
        .map(|i| sb.draft(&format!("d{i}.eml"), &draft(&format!("implicit {i}"))))
        .collect();
    let mut args = vec!["send"];
    args.extend(drafts.iter().map(|d| d.to_str().unwrap()));
    let run = sb.envoi(&args, None);
    run.assert_ok();
    let msgs = server.messages();
    assert_eq!(msgs.len(), 3, "{msgs:#?}");
    assert_eq!(
        server.connections(),
        1,
        "many drafts share one SMTP connection"
    );
    let accepted = run.accepted();
    assert_eq!(accepted.len(), 3, "one stdout line per message: {run:#?}");
    for (i, m) in msgs.iter().enumerate() {
        assert_eq!(m.conn, 1);
        assert!(m.tls);
        assert_eq!(m.auth.as_deref(), Some(USER));
        assert_eq!(m.mail_from, "alice@x.example");
        assert_eq!(m.rcpt_tos, DRAFT_RCPTS);
        assert_composed(m, &["dave.hidden"]);
        assert_eq!(m.body(), DRAFT_BODY);
        assert_eq!(m.header("Subject"), Some(format!("implicit {i}")));
        assert_eq!(accepted[i].0, m.header("Message-ID").unwrap());
    }
    let ids: std::collections::HashSet<_> = accepted.iter().map(|a| &a.0).collect();
    assert_eq!(ids.len(), 3, "Message-IDs are unique");
    assert_secret_hidden(&sb, &[&run]);
}

#[test]
fn starttls_password_command() {
    let sb = Sandbox::new();
    // A password manager stand-in: prints the secret and a newline, like `pass show`.
    let store = sb.path("store");
    std::fs::write(&store, format!("{PASSWORD}\n")).unwrap();
    let login = format!(
        "user = \"{USER}\"\npassword_command = {}\n",
        toml_str(format!("cat {}", store.display()))
    );
    let server = auth_smtpd(&sb, Tls::Starttls, &login);
    let d = sb.draft("d.eml", &draft("password command"));
    let run = sb.envoi(&["send", d.to_str().unwrap()], None);
    run.assert_ok();
    let msgs = server.messages();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].auth.as_deref(), Some(USER));
    assert_draft_arrived(&msgs[0], &run);
    assert_secret_hidden(&sb, &[&run]);
}

#[test]
fn smtputf8_envelope() {
    let server = Smtpd::builder().smtputf8().start();
    let sb = Sandbox::for_smtpd(&server);
    let d = sb.draft(
        "d.eml",
        "From: Jörg <jörg@x.example>\nTo: zoë@y.example, plain@y.example\nSubject: =?UTF-8?Q?gr=C3=BC=C3=9Fe?=\n\nGrüße, Jörg\n",
    );
    let run = sb.envoi(&["send", d.to_str().unwrap()], None);
    run.assert_ok();
    let msgs = server.messages();
    assert_eq!(msgs.len(), 1);
    let m = &msgs[0];
    assert_eq!(m.mail_from, "jörg@x.example");
    assert_eq!(m.rcpt_tos, ["zoë@y.example", "plain@y.example"]);
    assert!(
        m.mail_options
            .iter()
            .any(|o| o.eq_ignore_ascii_case("SMTPUTF8")),
        "MAIL FROM carries SMTPUTF8: {:?}",
        m.mail_options
    );
    assert!(!m.tls);
    assert_eq!(m.body(), "Grüße, Jörg\r\n", "UTF-8 body bytes unchanged");
    assert_eq!(run.accepted()[0].1, ["zoë@y.example", "plain@y.example"]);
}

#[test]
fn smtputf8_needed_but_not_offered_is_a_clear_error() {
    let server = Smtpd::builder().start();
    let sb = Sandbox::for_smtpd(&server);
    let text = "From: jörg@x.example\nTo: bob@y.example\nSubject: x\n\nx\n";
    let d = sb.draft("d.eml", text);
    let run = sb.envoi(&["send", d.to_str().unwrap()], None);
    assert_ne!(run.code, 0, "{run:#?}");
    assert!(
        run.stderr.contains("SMTPUTF8"),
        "the error names SMTPUTF8: {run:#?}"
    );
    assert!(server.messages().is_empty());
    assert_eq!(std::fs::read_to_string(&d).unwrap(), text);
}

#[test]
fn account_from_the_user_file() {
    let default = Smtpd::builder().start();
    let work = Smtpd::builder()
        .tls(Tls::Starttls)
        .auth("bob", PASSWORD)
        .start();
    let mut sb = Sandbox::new();
    sb.env("ENVOI_WORK_PW", PASSWORD);
    sb.relay(&sb.smtp_relay(default.port, Tls::None), "");
    sb.user_config(&format!(
        "[accounts.work]\n{}user = \"bob\"\npassword_env = \"ENVOI_WORK_PW\"\n",
        sb.smtp_relay(work.port, Tls::Starttls)
    ));
    let d = sb.draft("d.eml", &draft("account"));
    let run = sb.envoi(&["send", "--account", "work", d.to_str().unwrap()], None);
    run.assert_ok();
    assert_eq!(
        default.connections(),
        0,
        "--account work does not use [relay]"
    );
    let msgs = work.messages();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].auth.as_deref(), Some("bob"));
    assert_draft_arrived(&msgs[0], &run);

    let run = sb.envoi(&["send", "--account", "nosuch", d.to_str().unwrap()], None);
    assert_eq!(
        run.code, 78,
        "an unknown account is a configuration error: {run:#?}"
    );
    assert!(run.stderr.contains("nosuch"), "{run:#?}");
}

#[test]
fn dry_run_sends_nothing() {
    let mut sb = Sandbox::new();
    let login = sb.password_env(USER, PASSWORD);
    let server = auth_smtpd(&sb, Tls::Starttls, &login);
    let d = sb.draft("d.eml", &draft("dry run"));
    let run = sb.envoi(&["send", "--dry-run", d.to_str().unwrap()], None);
    run.assert_ok();
    assert!(
        !run.stdout.trim().is_empty(),
        "--dry-run shows what would be sent"
    );
    assert!(
        run.accepted().is_empty(),
        "nothing is reported as accepted: {run:#?}"
    );
    assert!(!run.stdout.contains(PASSWORD) && !run.stderr.contains(PASSWORD));
    // Give a stray connection time to show up before concluding there was none.
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(server.connections(), 0, "--dry-run opened a connection");
    assert!(sb.outbox_files().is_empty(), "--dry-run queued something");
}
