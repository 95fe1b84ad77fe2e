use super::*;

fn load(admin: Option<&str>, user: Option<&str>) -> Result<Config, ConfigError> {
    Config::from_texts(
        Path::new("/etc/envoi/config.toml"),
        admin,
        Path::new("/home/u/.config/envoi/config.toml"),
        user,
    )
}

#[test]
fn smtp_defaults_and_ports() {
    let c = load(
        Some("[relay]\nkind = \"smtp\"\nhost = \"mail.example.org\"\n"),
        None,
    )
    .unwrap();
    let RelayConfig::Smtp(s) = c.relay_for(None).unwrap() else {
        panic!()
    };
    assert_eq!((s.port(), s.tls()), (587, TlsMode::Starttls));
    assert_eq!(s.timeout(), crate::relay::smtp::DEFAULT_TIMEOUT);
    let c = load(
        Some("[relay]\nkind = \"smtp\"\nhost = \"smtp.example.com\"\ntls = \"implicit\"\n"),
        None,
    )
    .unwrap();
    let RelayConfig::Smtp(s) = c.relay_for(None).unwrap() else {
        panic!()
    };
    assert_eq!(s.port(), 465);
}

#[test]
fn unknown_key_names_file_line_and_key() {
    let e = load(
        Some("[relay]\nkind = \"smtp\"\nhost = \"h\"\nprot = 25\n"),
        None,
    )
    .unwrap_err();
    assert_eq!(e.line, Some(4));
    assert_eq!(e.path.as_deref(), Some(Path::new("/etc/envoi/config.toml")));
    let s = e.to_string();
    assert!(
        s.contains("/etc/envoi/config.toml:4") && s.contains("prot"),
        "{s}"
    );
}

#[test]
fn bad_value_names_the_key() {
    let e = load(None, Some("[compose]\n\nbcc_policy = \"hide\"\n")).unwrap_err();
    assert_eq!(e.line, Some(3));
    assert_eq!(e.key.as_deref(), Some("compose.bcc_policy"));
    let e = load(
        Some("[relay]\nkind = \"smtp\"\nhost = \"h\"\nport = \"x\"\n"),
        None,
    )
    .unwrap_err();
    assert_eq!((e.line, e.key.as_deref()), (Some(4), Some("relay.port")));
    let e = load(Some("[relay]\nkind = \"pigeon\"\n"), None).unwrap_err();
    assert_eq!((e.line, e.key.as_deref()), (Some(2), Some("relay.kind")));
}

#[test]
fn semantic_errors_point_at_the_key() {
    let e = load(
        Some("[relay]\nkind = \"file\"\ndir = \"/x\"\nhost = \"h\"\n"),
        None,
    )
    .unwrap_err();
    assert_eq!((e.line, e.key.as_deref()), (Some(4), Some("relay.host")));
    let e = load(
        Some("[accounts.work]\nkind = \"smtp\"\nhost = \"mail.example.org\"\ntls = \"none\"\n"),
        None,
    )
    .unwrap_err();
    assert_eq!(
        (e.line, e.key.as_deref()),
        (Some(4), Some("accounts.work.tls"))
    );
    assert!(e.message.contains("loopback"));
}

#[test]
fn auth_needs_encryption_and_one_password_source() {
    let base = "[relay]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\n";
    let e = load(
        Some(&format!(
            "{base}tls = \"none\"\nuser = \"u\"\npassword_env = \"P\"\n"
        )),
        None,
    )
    .unwrap_err();
    assert_eq!(e.key.as_deref(), Some("relay.user"));
    assert!(e.message.contains("unencrypted"));
    let e = load(
        Some(&format!(
            "{base}user = \"u\"\npassword_env = \"P\"\npassword_file = \"f\"\n"
        )),
        None,
    )
    .unwrap_err();
    assert_eq!(e.key.as_deref(), Some("relay.password_file"));
    assert!(load(Some(&format!("{base}user = \"u\"\n")), None).is_err());
    assert!(load(Some(&format!("{base}tls = \"none\"\n")), None).is_ok());
}

#[test]
fn user_file_overrides_unless_forbidden() {
    let admin = "[relay]\nkind = \"sendmail\"\n[compose]\ndomain = \"example.org\"\nid_domain = \"ids.example.org\"\n";
    let user =
        "[relay]\nkind = \"file\"\ndir = \"/tmp/out\"\n[compose]\ndomain = \"Example.NET\"\n";
    let c = load(Some(admin), Some(user)).unwrap();
    assert!(matches!(
        c.relay_for(None).unwrap(),
        RelayConfig::File { .. }
    ));
    assert_eq!(c.compose.domain.as_deref(), Some("example.net"));
    assert_eq!(c.compose.id_domain.as_deref(), Some("ids.example.org"));
    let forbidding = format!("allow_user_relay = false\n{admin}");
    let e = load(Some(&forbidding), Some(user)).unwrap_err();
    assert!(e.message.contains("allow_user_relay"));
    assert_eq!(e.line, Some(1));
    let e = load(None, Some("allow_user_relay = true\n")).unwrap_err();
    assert_eq!(
        (e.line, e.key.as_deref()),
        (Some(1), Some("allow_user_relay"))
    );
    // Compose settings stay the user's to choose.
    assert!(
        load(
            Some(&forbidding),
            Some("[compose]\nbcc_policy = \"split\"\n")
        )
        .is_ok()
    );
}

#[test]
fn accounts_are_chosen_by_name() {
    let c = load(
        Some("[accounts.work]\nkind = \"sendmail\"\npath = \"/usr/lib/sendmail\"\nargs = [\"-odq\"]\n"),
        None,
    )
    .unwrap();
    assert!(
        matches!(c.relay_for(Some("work")).unwrap(), RelayConfig::Sendmail(s) if s.args == ["-odq"])
    );
    let e = c.relay_for(Some("home")).unwrap_err();
    assert!(e.message.contains("work"));
    assert!(c.relay_for(None).unwrap_err().message.contains("no relay"));
}

#[test]
fn masking_hides_password_commands() {
    let c = load(
        Some("[relay]\nkind = \"smtp\"\nhost = \"mail.example.org\"\nuser = \"ann\"\npassword_command = \"echo hunter2\"\n"),
        None,
    )
    .unwrap();
    let t = c.to_masked_toml();
    assert!(!t.contains("hunter2"), "{t}");
    assert!(t.contains("password_command = \"<hidden"), "{t}");
    // What is printed is TOML again.
    let stripped: String = t
        .lines()
        .filter(|l| !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    let v: toml::Table = toml::from_str(&stripped).unwrap();
    assert_eq!(v["relay"]["user"].as_str(), Some("ann"));
}

#[test]
fn relative_paths_follow_the_file() {
    let c = load(
        None,
        Some("[relay]\nkind = \"file\"\ndir = \"out\"\n[outbox]\ndir = \"/var/q\"\n"),
    )
    .unwrap();
    assert_eq!(
        c.relay_for(None).unwrap(),
        &RelayConfig::File {
            dir: PathBuf::from("/home/u/.config/envoi/out")
        }
    );
    assert_eq!(c.outbox_dir, PathBuf::from("/var/q"));
    assert_eq!(c.outbox_lifetime, crate::outbox::DEFAULT_LIFETIME);
}

#[test]
fn outbox_lifetime_takes_a_unit_and_a_bad_one_names_its_line() {
    let c = load(None, Some("[outbox]\nlifetime = \"12h\"\n")).unwrap();
    assert_eq!(c.outbox_lifetime, Duration::from_secs(12 * 3600));
    assert_eq!(c.outbox().dir(), c.outbox_dir);
    let e = load(None, Some("# x\n[outbox]\n\nlifetime = \"5 weeks\"\n")).unwrap_err();
    assert_eq!(e.line, Some(4));
    assert_eq!(e.key.as_deref(), Some("outbox.lifetime"));
    assert!(e.message.contains("5d"), "{e}");
}

#[test]
fn loopback_hosts() {
    for h in [
        "localhost",
        "127.0.0.1",
        "127.1.2.3",
        "::1",
        "[::1]",
        "a.localhost",
    ] {
        assert!(crate::relay::smtp::is_loopback_host(h), "{h}");
    }
    for h in ["mail.example.org", "10.0.0.1", "localhost.example.org"] {
        assert!(!crate::relay::smtp::is_loopback_host(h), "{h}");
    }
}

#[test]
fn relays_describe_themselves() {
    let d = |relay: &str| {
        load(Some(&format!("[relay]\n{relay}")), None)
            .unwrap()
            .relay_for(None)
            .unwrap()
            .describe()
    };
    assert_eq!(
        d("kind = \"smtp\"\nhost = \"smtp.corp.example\"\nport = 587\n"),
        "the SMTP server smtp.corp.example:587"
    );
    assert_eq!(
        d("kind = \"smtp\"\nhost = \"::1\"\nport = 25\ntls = \"none\"\n"),
        "the SMTP server [::1]:25"
    );
    assert_eq!(
        d("kind = \"sendmail\"\n"),
        "the sendmail relay /usr/sbin/sendmail"
    );
    assert_eq!(
        d("kind = \"file\"\ndir = \"/var/spool/envoi\"\n"),
        "the file relay /var/spool/envoi"
    );
}

#[test]
fn auth_and_tls_fingerprint_keys() {
    let base = "[relay]\nkind = \"smtp\"\nhost = \"smtp.gmail.com\"\n";
    let fp = "ab:cd:".repeat(16);
    let fp = fp.trim_end_matches(':');
    let c = load(
        Some(&format!(
            "{base}user = \"ann\"\nauth = \"xoauth2\"\npassword_env = \"TOKEN\"\ntls_fingerprint = \"{fp}\"\n"
        )),
        None,
    )
    .unwrap();
    let RelayConfig::Smtp(s) = c.relay_for(None).unwrap() else {
        panic!()
    };
    assert_eq!(s.auth(), Some(AuthMechanism::Xoauth2));
    assert_eq!(s.tls_fingerprint().unwrap().to_string(), fp.to_uppercase());
    let shown = c.to_masked_toml();
    assert!(shown.contains("auth = \"xoauth2\""), "{shown}");
    assert!(shown.contains(&fp.to_uppercase()), "{shown}");

    // auth without a user; a fingerprint that is not one; a mechanism envoi does not know.
    for (extra, line, key) in [
        ("auth = \"plain\"\n", 4, "relay.auth"),
        ("tls_fingerprint = \"abcd\"\n", 4, "relay.tls_fingerprint"),
        (
            "user = \"a\"\npassword_env = \"P\"\nauth = \"cram-md5\"\n",
            6,
            "relay.auth",
        ),
    ] {
        let e = load(Some(&format!("{base}{extra}")), None).unwrap_err();
        assert_eq!((e.line, e.key.as_deref()), (Some(line), Some(key)), "{e}");
    }
}
