//! Configuration as the relay commands see it: a bad file names file, line and key (exit 78);
//! unsafe relay settings are refused before any connection; `envoi config` masks secrets.

use super::draft;
use super::harness::*;

#[test]
fn bad_file_exits_78_naming_file_line_and_key() {
    let sb = Sandbox::new();
    sb.admin_config(
        "[relay]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\nport = \"five-eight-seven\"\n",
    );
    let d = sb.draft("d.eml", &draft("bad config"));
    for args in [vec!["send", d.to_str().unwrap()], vec!["config"]] {
        let run = sb.envoi(&args, None);
        run.assert_code(78);
        assert!(
            run.stderr.contains("admin.toml"),
            "names the file: {run:#?}"
        );
        assert!(run.stderr.contains("port"), "names the key: {run:#?}");
        assert!(
            run.stderr.contains("line 4") || run.stderr.contains(":4"),
            "names the line: {run:#?}"
        );
    }
    // The same in the user's file.
    let sb = Sandbox::new();
    sb.user_config("[accounts.work]\nkind = \"smtp\"\ntls = \"sometimes\"\n");
    let run = sb.envoi(&["config"], None);
    run.assert_code(78);
    assert!(
        run.stderr.contains("user.toml") && run.stderr.contains("tls"),
        "{run:#?}"
    );
    assert!(
        run.stderr.contains("line 3") || run.stderr.contains(":3"),
        "{run:#?}"
    );
}

#[test]
fn auth_without_tls_is_refused_78() {
    let server = Smtpd::builder().start();
    let mut sb = Sandbox::new();
    sb.env("ENVOI_TEST_PW", "pw");
    sb.relay(
        &format!(
            "{}user = \"alice\"\npassword_env = \"ENVOI_TEST_PW\"\n",
            sb.smtp_relay(server.port, Tls::None)
        ),
        "",
    );
    let run = sb.envoi(
        &["send", sb.draft("d.eml", &draft("x")).to_str().unwrap()],
        None,
    );
    run.assert_code(78);
    assert_eq!(server.connections(), 0, "refused before connecting");
}

#[test]
fn plaintext_to_a_non_loopback_host_is_refused_78() {
    let sb = Sandbox::new();
    // 0.0.0.0 is not a loopback address, yet a connection to it would stay on this machine: the
    // test never sends a packet anywhere else, whatever envoi does.
    sb.relay(
        &sb.smtp_relay(free_port(), Tls::None)
            .replace("127.0.0.1", "0.0.0.0"),
        "",
    );
    let run = sb.envoi(
        &["send", sb.draft("d.eml", &draft("x")).to_str().unwrap()],
        None,
    );
    run.assert_code(78);
}

#[test]
fn config_shows_the_effective_settings_with_secrets_masked() {
    let sb = Sandbox::new();
    let pw = sb.path("pw");
    std::fs::write(&pw, "file-secret-91ab\n").unwrap();
    let store = sb.path("store");
    std::fs::write(&store, "cmd-secret-44de\n").unwrap();
    sb.relay(
        &format!(
            "kind = \"smtp\"\nhost = \"127.0.0.1\"\nport = 2587\ntls = \"starttls\"\nuser = \"alice\"\npassword_command = {}\n",
            toml_str(format!("cat {}", store.display()))
        ),
        "[compose]\ndomain = \"corp.test.example\"\n",
    );
    sb.user_config(&format!(
        "[accounts.work]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\nport = 2465\ntls = \"implicit\"\nuser = \"bob\"\npassword_file = {}\n",
        toml_path(&pw)
    ));
    let run = sb.envoi(&["config"], None);
    run.assert_ok();
    for shown in [
        "2587",
        "starttls",
        "alice",
        "corp.test.example",
        "work",
        "2465",
        "bob",
    ] {
        assert!(
            run.stdout.contains(shown),
            "`{shown}` missing from envoi config:\n{}",
            run.stdout
        );
    }
    for secret in ["file-secret-91ab", "cmd-secret-44de"] {
        assert!(
            !run.stdout.contains(secret),
            "{secret} shown:\n{}",
            run.stdout
        );
        assert!(!run.stderr.contains(secret));
    }
}
