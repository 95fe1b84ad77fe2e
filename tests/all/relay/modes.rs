//! Files that choose what envoi runs, or hold a secret: a configuration file that others can
//! write is refused (exit 78, naming the file and the `chmod` that fixes it) before anything in
//! it is used, so its `password_command` never runs; a `password_file` that others can read is
//! refused by both drivers. aiosmtpd with STARTTLS and AUTH is the server, so that the same
//! settings in a private file do run the command and log in.

use super::draft;
use super::harness::*;
use super::library::{PASSWORD, USER};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn send(sb: &Sandbox, subject: &str) -> Run {
    let d = sb.draft("d.eml", &draft(subject));
    sb.envoi(&["send", d.to_str().unwrap()], None)
}

/// Settings whose password command leaves `marker` behind when it runs.
fn login_leaving(marker: &Path) -> String {
    format!(
        "user = \"{USER}\"\npassword_command = {}\n",
        toml_str(format!("touch {} && echo {PASSWORD}", marker.display()))
    )
}

#[test]
fn a_world_writable_config_is_refused_and_its_password_command_never_runs() {
    let server = Smtpd::builder()
        .tls(Tls::Starttls)
        .auth(USER, PASSWORD)
        .start();
    for file in ["admin.toml", "user.toml"] {
        let sb = Sandbox::new();
        let marker = sb.path("password-command-ran");
        let relay = format!(
            "{}{}",
            sb.smtp_relay(server.port, Tls::Starttls),
            login_leaving(&marker)
        );
        if file == "admin.toml" {
            sb.relay(&relay, "");
        } else {
            sb.user_config(&format!("[relay]\n{relay}"));
        }
        let path = sb.path(file);
        chmod(&path, 0o666);
        for args in [vec!["send"], vec!["config"]] {
            let mut args = args;
            let d = sb.draft("d.eml", &draft("never sent"));
            if args[0] == "send" {
                args.push(d.to_str().unwrap());
            }
            let run = sb.envoi(&args, None);
            run.assert_code(78);
            assert!(run.stderr.contains(&*path.to_string_lossy()), "{run:#?}");
            assert!(
                run.stderr
                    .contains(&format!("chmod go-w {}", path.display())),
                "{run:#?}"
            );
            assert!(run.stderr.contains("0666"), "{run:#?}");
            assert!(!marker.exists(), "the password command ran ({file})");
        }

        // The same file, private: the command runs and the message goes.
        chmod(&path, 0o644);
        send(&sb, "private config").assert_ok();
        assert!(
            marker.exists(),
            "the password command was meant to run ({file})"
        );
    }
    assert_eq!(server.messages().len(), 2);
}

#[test]
fn a_group_writable_config_is_refused_too() {
    let sb = Sandbox::new();
    sb.relay(&sb.smtp_relay(free_port(), Tls::None), "");
    chmod(&sb.path("admin.toml"), 0o664);
    let run = send(&sb, "x");
    run.assert_code(78);
    assert!(run.stderr.contains("its group"), "{run:#?}");
}

#[test]
fn a_password_file_others_can_read_is_refused_with_exit_78() {
    let server = Smtpd::builder()
        .tls(Tls::Implicit)
        .auth(USER, PASSWORD)
        .start();
    let sb = Sandbox::new();
    let pw = sb.path("password");
    std::fs::write(&pw, format!("{PASSWORD}\n")).unwrap();
    chmod(&pw, 0o644);
    sb.relay(
        &format!(
            "{}user = \"{USER}\"\npassword_file = {}\n",
            sb.smtp_relay(server.port, Tls::Implicit),
            toml_path(&pw)
        ),
        "",
    );
    let run = send(&sb, "leaky password file");
    run.assert_code(78);
    assert!(
        run.stderr.contains(&format!("chmod 600 {}", pw.display())),
        "{run:#?}"
    );
    assert!(!run.stderr.contains(PASSWORD));
    assert!(server.messages().is_empty());
    chmod(&pw, 0o600);
    send(&sb, "private password file").assert_ok();
    assert_eq!(server.messages().len(), 1);
}

#[cfg(feature = "tokio")]
#[test]
fn the_async_driver_refuses_it_too() {
    use super::library::{composed, settings};
    use envoi::relay::ErrorKind;
    use envoi::relay::smtp::{AsyncSmtpRelay, Credentials, PasswordSource, TlsMode};
    let server = Smtpd::builder()
        .tls(Tls::Implicit)
        .auth(USER, PASSWORD)
        .start();
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("password");
    std::fs::write(&pw, PASSWORD).unwrap();
    chmod(&pw, 0o604);
    let login = Credentials::new(USER, PasswordSource::File(pw.clone()));
    let msgs = composed("async password file");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let submit = || {
        let s = settings(&server, TlsMode::Implicit, Some(login.clone()));
        rt.block_on(async {
            let mut relay = AsyncSmtpRelay::new(s);
            let r = relay.submit(&msgs[0].0, &msgs[0].1).await;
            relay.close().await;
            r
        })
    };
    let e = submit().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.message().contains("chmod 600"), "{e}");
    chmod(&pw, 0o600);
    submit().unwrap();
    assert_eq!(server.messages().len(), 1);
}
