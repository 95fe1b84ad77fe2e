//! Reading one configuration file: the raw TOML shape, error positions (file, line, key), and
//! validation of each relay and compose table into the typed configuration.

use super::*;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    pub(super) allow_user_relay: Option<bool>,
    pub(super) relay: Option<RawRelay>,
    #[serde(default)]
    pub(super) accounts: BTreeMap<String, RawRelay>,
    pub(super) compose: Option<RawCompose>,
    pub(super) outbox: Option<RawOutbox>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRelay {
    pub(super) kind: Option<RelayKind>,
    pub(super) host: Option<String>,
    pub(super) port: Option<u16>,
    pub(super) tls: Option<TlsMode>,
    pub(super) user: Option<String>,
    pub(super) auth: Option<AuthMechanism>,
    pub(super) ca_file: Option<PathBuf>,
    pub(super) tls_fingerprint: Option<String>,
    pub(super) dsn_notify: Option<String>,
    pub(super) dsn_return: Option<String>,
    pub(super) timeout_secs: Option<u64>,
    pub(super) hello_name: Option<String>,
    pub(super) password_command: Option<String>,
    pub(super) password_env: Option<String>,
    pub(super) password_file: Option<PathBuf>,
    pub(super) path: Option<PathBuf>,
    pub(super) args: Option<Vec<String>>,
    pub(super) dir: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCompose {
    pub(super) id_domain: Option<String>,
    pub(super) x_mailer: Option<String>,
    pub(super) bcc_policy: Option<BccPolicy>,
    pub(super) from: Option<String>,
    pub(super) domain: Option<String>,
    pub(super) aliases: Option<PathBuf>,
    pub(super) me: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOutbox {
    pub(super) dir: Option<PathBuf>,
    pub(super) lifetime: Option<String>,
}

/// A span of time as `lifetime` takes it: a number and a unit (`5d`, `12h`, `30m`, `90s`).
pub(super) fn parse_lifetime(src: &Source, text: &str) -> Result<Duration, ConfigError> {
    let t = text.trim();
    let (n, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let secs = match unit.trim() {
        "d" => 86400,
        "h" => 3600,
        "m" => 60,
        "s" => 1,
        _ => 0,
    };
    match n.parse::<u64>() {
        Ok(n) if secs > 0 && n > 0 => Ok(Duration::from_secs(n.saturating_mul(secs))),
        _ => Err(src.error(
            "outbox",
            Some("lifetime"),
            format!("`{text}` is not a lifetime: write a number and a unit, e.g. \"5d\", \"12h\", \"30m\""),
        )),
    }
}

/// One file's text, kept so that errors found after parsing can still name a line.
pub(super) struct Source<'a> {
    pub(super) path: &'a Path,
    pub(super) text: &'a str,
}

impl Source<'_> {
    /// An error about `key` in `[table]`, with the key's line when it can be found.
    pub(super) fn error(
        &self,
        table: &str,
        key: Option<&str>,
        message: impl Into<String>,
    ) -> ConfigError {
        let line = key_line(self.text, table, key);
        ConfigError {
            path: Some(self.path.to_owned()),
            line,
            key: Some(match key {
                Some(k) => format!("{table}.{k}"),
                None => table.to_owned(),
            }),
            message: message.into(),
        }
    }

    /// A path from the file: `~/` is the home directory; a relative path is relative to the
    /// file's directory, so a config file can sit beside its CA and password files.
    pub(super) fn path_value(&self, p: &Path) -> PathBuf {
        if let Ok(rest) = p.strip_prefix("~")
            && let Some(home) = std::env::var_os("HOME")
        {
            return PathBuf::from(home).join(rest);
        }
        if p.is_absolute() {
            return p.to_owned();
        }
        self.path.parent().unwrap_or(Path::new(".")).join(p)
    }
}

/// Finds the line (from 1) of `key` inside `[table]`, else of the table header. A plain scan:
/// it only serves error messages, and serde's own errors carry exact spans.
pub(super) fn key_line(text: &str, table: &str, key: Option<&str>) -> Option<usize> {
    let mut current = String::new();
    let mut header_line = None;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if let Some(h) = t.strip_prefix('[') {
            let name = h.trim_start_matches('[');
            let name = name.split(']').next().unwrap_or("");
            current = name.replace(['"', '\'', ' '], "");
            if current == table {
                header_line = Some(i + 1);
            }
            continue;
        }
        if current != table {
            continue;
        }
        if let Some(k) = key
            && let Some(rest) = t.strip_prefix(k)
            && rest.trim_start().starts_with('=')
        {
            return Some(i + 1);
        }
    }
    header_line
}

/// Turns a toml/serde error into one naming the file, the line and the key.
pub(super) fn toml_error(path: &Path, text: &str, e: &toml::de::Error) -> ConfigError {
    let (line, key) = match e.span() {
        Some(span) => {
            let start = span.start.min(text.len());
            let line_no = text[..start].matches('\n').count() + 1;
            let line_text = text.lines().nth(line_no - 1).unwrap_or("");
            let table = text[..start]
                .lines()
                .rev()
                .map(str::trim)
                .find(|l| l.starts_with('['))
                .map(|l| l.trim_matches(['[', ']']).replace(['"', '\'', ' '], ""));
            let key = line_text
                .split_once('=')
                .map(|(k, _)| k.trim().to_owned())
                .filter(|k| !k.is_empty() && !k.starts_with('['))
                .map(|k| match &table {
                    Some(t) => format!("{t}.{k}"),
                    None => k,
                });
            (Some(line_no), key)
        }
        None => (None, None),
    };
    ConfigError {
        path: Some(path.to_owned()),
        line,
        key,
        message: e.message().trim().to_owned(),
    }
}

pub(super) fn parse_file(path: &Path, text: &str) -> Result<RawFile, ConfigError> {
    toml::from_str(text).map_err(|e| toml_error(path, text, &e))
}

const SMTP_KEYS: [&str; 14] = [
    "host",
    "port",
    "tls",
    "user",
    "auth",
    "ca_file",
    "tls_fingerprint",
    "dsn_notify",
    "dsn_return",
    "timeout_secs",
    "hello_name",
    "password_command",
    "password_env",
    "password_file",
];

pub(super) fn validate_relay(
    src: &Source,
    table: &str,
    r: &RawRelay,
) -> Result<RelayConfig, ConfigError> {
    let err = |key: &str, msg: String| src.error(table, Some(key), msg);
    let kind = r.kind.ok_or_else(|| {
        src.error(
            table,
            None,
            "`kind` is missing: set kind = \"smtp\", \"sendmail\" or \"file\"",
        )
    })?;
    let present: [(&str, bool); 17] = [
        ("host", r.host.is_some()),
        ("port", r.port.is_some()),
        ("tls", r.tls.is_some()),
        ("user", r.user.is_some()),
        ("auth", r.auth.is_some()),
        ("ca_file", r.ca_file.is_some()),
        ("tls_fingerprint", r.tls_fingerprint.is_some()),
        ("dsn_notify", r.dsn_notify.is_some()),
        ("dsn_return", r.dsn_return.is_some()),
        ("timeout_secs", r.timeout_secs.is_some()),
        ("hello_name", r.hello_name.is_some()),
        ("password_command", r.password_command.is_some()),
        ("password_env", r.password_env.is_some()),
        ("password_file", r.password_file.is_some()),
        ("path", r.path.is_some()),
        ("args", r.args.is_some()),
        ("dir", r.dir.is_some()),
    ];
    let allowed: &[&str] = match kind {
        RelayKind::Smtp => &SMTP_KEYS,
        RelayKind::Sendmail => &["path", "args"],
        RelayKind::File => &["dir"],
    };
    let kind_name = match kind {
        RelayKind::Smtp => "smtp",
        RelayKind::Sendmail => "sendmail",
        RelayKind::File => "file",
    };
    if let Some((k, _)) = present.iter().find(|(k, p)| *p && !allowed.contains(k)) {
        return Err(err(
            k,
            format!(
                "does not apply to kind = \"{kind_name}\" (it takes: {})",
                allowed.join(", ")
            ),
        ));
    }
    match kind {
        RelayKind::Smtp => validate_smtp(src, table, r),
        RelayKind::Sendmail => Ok(RelayConfig::Sendmail(SendmailSettings {
            path: r
                .path
                .as_deref()
                .map_or_else(|| PathBuf::from(DEFAULT_SENDMAIL), |p| src.path_value(p)),
            args: r.args.clone().unwrap_or_default(),
        })),
        RelayKind::File => match &r.dir {
            Some(d) => Ok(RelayConfig::File {
                dir: src.path_value(d),
            }),
            None => Err(src.error(
                table,
                None,
                "kind = \"file\" needs `dir`, the directory to write messages into",
            )),
        },
    }
}

pub(super) fn validate_smtp(
    src: &Source,
    table: &str,
    r: &RawRelay,
) -> Result<RelayConfig, ConfigError> {
    let err = |key: &str, msg: &str| src.error(table, Some(key), msg);
    let host = match r.host.as_deref().map(str::trim) {
        Some(h) if !h.is_empty() && !h.contains(char::is_whitespace) => h.to_owned(),
        Some(_) => return Err(err("host", "must be a host name or an IP address")),
        None => {
            return Err(src.error(
                table,
                None,
                "kind = \"smtp\" needs `host`, the submission server",
            ));
        }
    };
    let tls = r.tls.unwrap_or(TlsMode::Starttls);
    let port = r.port.unwrap_or(tls.default_port());
    if port == 0 {
        return Err(err("port", "must be between 1 and 65535"));
    }
    if tls == TlsMode::None && !crate::relay::smtp::is_loopback_host(&host) {
        return Err(err(
            "tls",
            "tls = \"none\" is allowed only toward a loopback host (localhost, 127.0.0.1, ::1); use \"starttls\" or \"implicit\"",
        ));
    }
    let sources: Vec<(&str, PasswordSource)> = [
        r.password_command
            .clone()
            .map(|c| ("password_command", PasswordSource::Command(c))),
        r.password_env
            .clone()
            .map(|e| ("password_env", PasswordSource::Env(e))),
        r.password_file
            .as_deref()
            .map(|f| ("password_file", PasswordSource::File(src.path_value(f)))),
    ]
    .into_iter()
    .flatten()
    .collect();
    if sources.len() > 1 {
        return Err(err(
            sources[1].0,
            "give only one of password_command, password_env and password_file",
        ));
    }
    let password = sources.into_iter().next();
    match (&r.user, &password) {
        (None, Some((k, _))) => {
            return Err(err(k, "a password source needs `user` too"));
        }
        (Some(_), None) => {
            return Err(err(
                "user",
                "needs a password source: password_command, password_env or password_file",
            ));
        }
        (Some(u), Some(_)) if u.is_empty() || u.contains(['\r', '\n']) => {
            return Err(err("user", "must be one line, not empty"));
        }
        _ => {}
    }
    if r.user.is_some() && tls == TlsMode::None {
        return Err(err(
            "user",
            "AUTH over an unencrypted connection is refused: use tls = \"starttls\" or \"implicit\"",
        ));
    }
    if let Some((_, PasswordSource::Command(c) | PasswordSource::Env(c))) = &password
        && c.trim().is_empty()
    {
        return Err(err(
            if matches!(password, Some((_, PasswordSource::Command(_)))) {
                "password_command"
            } else {
                "password_env"
            },
            "must not be empty",
        ));
    }
    if r.auth.is_some() && r.user.is_none() {
        return Err(err(
            "auth",
            "a login mechanism needs `user` and a password (or token) source",
        ));
    }
    if r.timeout_secs == Some(0) {
        return Err(err("timeout_secs", "must be at least 1"));
    }
    if let Some(h) = &r.hello_name
        && (h.is_empty() || !h.chars().all(|c| c.is_ascii_graphic()))
    {
        return Err(err(
            "hello_name",
            "must be a domain name or an address literal, without spaces",
        ));
    }
    let mut b = SmtpSettings::builder(host).port(port).tls(tls);
    if let (Some(user), Some((_, source))) = (&r.user, password) {
        b = b.credentials(Credentials::new(user.clone(), source));
    }
    if let Some(m) = r.auth {
        b = b.auth(m);
    }
    if let Some(ca) = &r.ca_file {
        b = b.ca_file(src.path_value(ca));
    }
    if let Some(fp) = &r.tls_fingerprint {
        if tls == TlsMode::None {
            return Err(err(
                "tls_fingerprint",
                "pins a TLS certificate, and tls = \"none\" has none",
            ));
        }
        let fp = fp
            .parse::<Fingerprint>()
            .map_err(|e| src.error(table, Some("tls_fingerprint"), e.message()))?;
        b = b.tls_fingerprint(fp);
    }
    let mut dsn = Dsn::default();
    if let Some(n) = &r.dsn_notify {
        let n = n
            .parse()
            .map_err(|e: RelayError| err("dsn_notify", e.message()))?;
        dsn = dsn.with_notify(n);
    }
    if let Some(v) = &r.dsn_return {
        let v = v
            .parse()
            .map_err(|e: RelayError| err("dsn_return", e.message()))?;
        dsn = dsn.with_ret(v);
    }
    b = b.dsn(dsn);
    if let Some(t) = r.timeout_secs {
        b = b.timeout(Duration::from_secs(t));
    }
    if let Some(h) = &r.hello_name {
        b = b.hello_name(h.clone());
    }
    // Every rule was checked above, with the key's line; this is the same check again.
    b.build()
        .map(RelayConfig::Smtp)
        .map_err(|e| src.error(table, None, e.message()))
}

pub(super) fn validate_domain(src: &Source, key: &str, d: &str) -> Result<String, ConfigError> {
    Addr::from_parts("x", d)
        .map(|a| a.domain().to_owned())
        .map_err(|e| {
            src.error(
                "compose",
                Some(key),
                format!("`{d}` is not a valid domain: {e}"),
            )
        })
}

pub(super) fn merge_compose(
    src: &Source,
    into: &mut ComposeConfig,
    c: &RawCompose,
) -> Result<(), ConfigError> {
    if let Some(d) = &c.id_domain {
        into.id_domain = Some(validate_domain(src, "id_domain", d)?);
    }
    if let Some(d) = &c.domain {
        into.domain = Some(validate_domain(src, "domain", d)?);
    }
    if let Some(x) = &c.x_mailer {
        if x.chars().any(char::is_control) {
            return Err(src.error("compose", Some("x_mailer"), "must be one line of text"));
        }
        into.x_mailer = Some(x.trim().to_owned());
    }
    if let Some(p) = c.bcc_policy {
        into.bcc_policy = Some(p);
    }
    if let Some(f) = &c.from {
        into.from = Some(Addr::parse(f).map_err(|e| {
            src.error(
                "compose",
                Some("from"),
                format!("`{f}` is not an address: {e}"),
            )
        })?);
    }
    if let Some(a) = &c.aliases {
        into.aliases = Some(src.path_value(a));
    }
    if let Some(me) = &c.me {
        into.me = me
            .iter()
            .map(|m| {
                Addr::parse(m).map_err(|e| {
                    src.error(
                        "compose",
                        Some("me"),
                        format!("`{m}` is not an address: {e}"),
                    )
                })
            })
            .collect::<Result<_, _>>()?;
    }
    Ok(())
}
