//! Configuration: the admin's and the user's TOML files, validated and merged into the relay,
//! account, compose and outbox settings envoi runs with. Secrets are never read here: a password
//! is only a [`PasswordSource`], resolved by the SMTP relay when it connects.

use crate::address::Addr;
use crate::compose::{BccPolicy, Options};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What went wrong with the configuration: which file, which line, which key (exit 78).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: Option<PathBuf>,
    /// Counts from 1.
    pub line: Option<usize>,
    /// Dotted key, e.g. `relay.port`.
    pub key: Option<String>,
    pub message: String,
}

impl ConfigError {
    pub fn new(message: impl Into<String>) -> ConfigError {
        ConfigError {
            path: None,
            line: None,
            key: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.path {
            write!(f, "{}", p.display())?;
            if let Some(l) = self.line {
                write!(f, ":{l}")?;
            }
            f.write_str(": ")?;
        }
        if let Some(k) = &self.key {
            write!(f, "key `{k}`: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Which relay kind a `[relay]` or `[accounts.NAME]` section chooses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RelayKind {
    Smtp,
    Sendmail,
    File,
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plain connection upgraded with STARTTLS (port 587); the upgrade is required.
    Starttls,
    /// TLS from the first byte (port 465).
    Implicit,
    /// No encryption: only toward a loopback host, and never with AUTH.
    None,
}

impl TlsMode {
    pub fn name(self) -> &'static str {
        match self {
            TlsMode::Starttls => "starttls",
            TlsMode::Implicit => "implicit",
            TlsMode::None => "none",
        }
    }
}

/// Where the SMTP password comes from. The value itself is only read when connecting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    /// A shell command whose standard output (less one trailing newline) is the password.
    Command(String),
    /// The name of an environment variable.
    Env(String),
    /// A file whose content (less one trailing newline) is the password.
    File(PathBuf),
}

/// A validated SMTP submission relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub user: Option<String>,
    pub password: Option<PasswordSource>,
    /// Trust only these roots (PEM) instead of the system's.
    pub ca_file: Option<PathBuf>,
    pub timeout: Duration,
    pub hello_name: Option<String>,
}

/// A validated sendmail relay: `PATH [ARGS] -i -f SENDER -- RCPT...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendmailConfig {
    pub path: PathBuf,
    pub args: Vec<String>,
}

/// One relay, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayConfig {
    Smtp(SmtpConfig),
    Sendmail(SendmailConfig),
    /// Writes NAME.eml + NAME.envelope.json into this directory.
    File {
        dir: PathBuf,
    },
}

impl SmtpConfig {
    /// `host:port`, with an IPv6 address in brackets.
    pub fn server(&self) -> String {
        if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl RelayConfig {
    /// Names the relay for a person: `the SMTP server smtp.corp.example:587`.
    pub fn describe(&self) -> String {
        match self {
            RelayConfig::Smtp(s) => format!("the SMTP server {}", s.server()),
            RelayConfig::Sendmail(s) => format!("the sendmail relay {}", s.path.display()),
            RelayConfig::File { dir } => format!("the file relay {}", dir.display()),
        }
    }
}

/// Default SMTP timeout for connecting and for each reply.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_SENDMAIL: &str = "/usr/sbin/sendmail";

/// The `[compose]` settings (CLI flags override them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ComposeConfig {
    pub id_domain: Option<String>,
    /// Some("") means no X-Mailer field.
    pub x_mailer: Option<String>,
    pub bcc_policy: Option<BccPolicy>,
    /// Envelope sender where a draft has no From.
    pub from: Option<Addr>,
    /// Qualifies bare local names (`root`).
    pub domain: Option<String>,
    /// A file in /etc/aliases format.
    pub aliases: Option<PathBuf>,
}

impl ComposeConfig {
    /// The compose options these settings give, before CLI flags.
    pub fn options(&self) -> Options {
        let mut o = Options::default();
        if let Some(p) = self.bcc_policy {
            o.bcc_policy = p;
        }
        o.id_domain = self.id_domain.clone();
        match self.x_mailer.as_deref() {
            Some("") => o.x_mailer = None,
            Some(x) => o.x_mailer = Some(x.to_owned()),
            None => {}
        }
        o.default_from = self.from.clone();
        o.local_domain = self.domain.clone();
        o
    }
}

/// Which file a setting came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Admin,
    User,
}

/// One configuration file envoi looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFile {
    pub origin: Origin,
    pub path: PathBuf,
    pub found: bool,
}

/// The effective configuration: both files merged, everything validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub files: Vec<ConfigFile>,
    pub allow_user_relay: bool,
    pub relay: Option<(RelayConfig, Origin)>,
    pub accounts: BTreeMap<String, (RelayConfig, Origin)>,
    pub compose: ComposeConfig,
    pub outbox_dir: PathBuf,
}

// ---- the files as written ----

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    allow_user_relay: Option<bool>,
    relay: Option<RawRelay>,
    #[serde(default)]
    accounts: BTreeMap<String, RawRelay>,
    compose: Option<RawCompose>,
    outbox: Option<RawOutbox>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRelay {
    kind: Option<RelayKind>,
    host: Option<String>,
    port: Option<u16>,
    tls: Option<TlsMode>,
    user: Option<String>,
    ca_file: Option<PathBuf>,
    timeout_secs: Option<u64>,
    hello_name: Option<String>,
    password_command: Option<String>,
    password_env: Option<String>,
    password_file: Option<PathBuf>,
    path: Option<PathBuf>,
    args: Option<Vec<String>>,
    dir: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCompose {
    id_domain: Option<String>,
    x_mailer: Option<String>,
    bcc_policy: Option<BccPolicy>,
    from: Option<String>,
    domain: Option<String>,
    aliases: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOutbox {
    dir: Option<PathBuf>,
}

/// One file's text, kept so that errors found after parsing can still name a line.
struct Source<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Source<'_> {
    /// An error about `key` in `[table]`, with the key's line when it can be found.
    fn error(&self, table: &str, key: Option<&str>, message: impl Into<String>) -> ConfigError {
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
    fn path_value(&self, p: &Path) -> PathBuf {
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
fn key_line(text: &str, table: &str, key: Option<&str>) -> Option<usize> {
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
fn toml_error(path: &Path, text: &str, e: &toml::de::Error) -> ConfigError {
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

fn parse_file(path: &Path, text: &str) -> Result<RawFile, ConfigError> {
    toml::from_str(text).map_err(|e| toml_error(path, text, &e))
}

/// True for `localhost`, `*.localhost` and loopback IP addresses. No DNS: a name that
/// resolves to loopback today may not tomorrow.
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_matches(['[', ']']).to_ascii_lowercase();
    if h == "localhost" || h.ends_with(".localhost") {
        return true;
    }
    h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

const SMTP_KEYS: [&str; 10] = [
    "host",
    "port",
    "tls",
    "user",
    "ca_file",
    "timeout_secs",
    "hello_name",
    "password_command",
    "password_env",
    "password_file",
];

fn validate_relay(src: &Source, table: &str, r: &RawRelay) -> Result<RelayConfig, ConfigError> {
    let err = |key: &str, msg: String| src.error(table, Some(key), msg);
    let kind = r.kind.ok_or_else(|| {
        src.error(
            table,
            None,
            "`kind` is missing: set kind = \"smtp\", \"sendmail\" or \"file\"",
        )
    })?;
    let present: [(&str, bool); 13] = [
        ("host", r.host.is_some()),
        ("port", r.port.is_some()),
        ("tls", r.tls.is_some()),
        ("user", r.user.is_some()),
        ("ca_file", r.ca_file.is_some()),
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
        RelayKind::Sendmail => Ok(RelayConfig::Sendmail(SendmailConfig {
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

fn validate_smtp(src: &Source, table: &str, r: &RawRelay) -> Result<RelayConfig, ConfigError> {
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
    let port = r.port.unwrap_or(match tls {
        TlsMode::Starttls => 587,
        TlsMode::Implicit => 465,
        TlsMode::None => 25,
    });
    if port == 0 {
        return Err(err("port", "must be between 1 and 65535"));
    }
    if tls == TlsMode::None && !is_loopback_host(&host) {
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
    Ok(RelayConfig::Smtp(SmtpConfig {
        host,
        port,
        tls,
        user: r.user.clone(),
        password: password.map(|(_, p)| p),
        ca_file: r.ca_file.as_deref().map(|p| src.path_value(p)),
        timeout: r.timeout_secs.map_or(DEFAULT_TIMEOUT, Duration::from_secs),
        hello_name: r.hello_name.clone(),
    }))
}

fn validate_domain(src: &Source, key: &str, d: &str) -> Result<String, ConfigError> {
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

fn merge_compose(
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
    Ok(())
}

/// The admin file: `$ENVOI_ADMIN_CONFIG`, else /etc/envoi/config.toml.
pub fn admin_path() -> PathBuf {
    std::env::var_os("ENVOI_ADMIN_CONFIG")
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from("/etc/envoi/config.toml"), PathBuf::from)
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn xdg(var: &str, fallback: &str) -> PathBuf {
    std::env::var_os(var)
        .filter(|v| !v.is_empty() && Path::new(v).is_absolute())
        .map(PathBuf::from)
        .or_else(|| home().map(|h| h.join(fallback)))
        .unwrap_or_else(|| PathBuf::from(fallback))
}

/// The user file: `$ENVOI_CONFIG`, else `$XDG_CONFIG_HOME/envoi/config.toml`, else
/// ~/.config/envoi/config.toml.
pub fn user_path() -> PathBuf {
    std::env::var_os("ENVOI_CONFIG")
        .filter(|v| !v.is_empty())
        .map_or_else(
            || xdg("XDG_CONFIG_HOME", ".config").join("envoi/config.toml"),
            PathBuf::from,
        )
}

/// The default outbox: `$XDG_STATE_HOME/envoi/outbox`, else ~/.local/state/envoi/outbox.
pub fn default_outbox_dir() -> PathBuf {
    xdg("XDG_STATE_HOME", ".local/state").join("envoi/outbox")
}

fn read_optional(path: &Path) -> Result<Option<String>, ConfigError> {
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map(Some).map_err(|_| ConfigError {
            path: Some(path.to_owned()),
            line: None,
            key: None,
            message: "the file is not valid UTF-8".into(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ConfigError {
            path: Some(path.to_owned()),
            line: None,
            key: None,
            message: format!("cannot read it: {e}"),
        }),
    }
}

impl Config {
    /// Reads the admin and user files from their usual places (see [`admin_path`],
    /// [`user_path`]). Missing files are fine.
    pub fn load() -> Result<Config, ConfigError> {
        Config::load_from(&admin_path(), &user_path())
    }

    /// Reads and merges two files; either may be missing.
    pub fn load_from(admin: &Path, user: &Path) -> Result<Config, ConfigError> {
        let a = read_optional(admin)?;
        let u = read_optional(user)?;
        Config::from_texts(admin, a.as_deref(), user, u.as_deref())
    }

    /// Merges the two files' texts (None: the file does not exist). The user's settings win,
    /// except that the admin's `allow_user_relay = false` forbids a user relay or account.
    ///
    /// ```
    /// use envoi::config::{Config, RelayConfig};
    /// use std::path::Path;
    /// let admin = "[relay]\nkind = \"sendmail\"\n";
    /// let c = Config::from_texts(Path::new("/etc/envoi/config.toml"), Some(admin), Path::new("user.toml"), None)?;
    /// assert!(matches!(c.relay_for(None)?, RelayConfig::Sendmail(_)));
    /// # Ok::<(), envoi::config::ConfigError>(())
    /// ```
    pub fn from_texts(
        admin: &Path,
        admin_text: Option<&str>,
        user: &Path,
        user_text: Option<&str>,
    ) -> Result<Config, ConfigError> {
        let mut cfg = Config {
            files: vec![
                ConfigFile {
                    origin: Origin::Admin,
                    path: admin.to_owned(),
                    found: admin_text.is_some(),
                },
                ConfigFile {
                    origin: Origin::User,
                    path: user.to_owned(),
                    found: user_text.is_some(),
                },
            ],
            allow_user_relay: true,
            relay: None,
            accounts: BTreeMap::new(),
            compose: ComposeConfig::default(),
            outbox_dir: default_outbox_dir(),
        };
        for (origin, path, text) in [
            (Origin::Admin, admin, admin_text),
            (Origin::User, user, user_text),
        ] {
            let Some(text) = text else { continue };
            let raw = parse_file(path, text)?;
            cfg.apply(&Source { path, text }, origin, raw)?;
        }
        Ok(cfg)
    }

    fn apply(&mut self, src: &Source, origin: Origin, raw: RawFile) -> Result<(), ConfigError> {
        if let Some(allow) = raw.allow_user_relay {
            if origin == Origin::User {
                return Err(src
                    .error(
                        "allow_user_relay",
                        None,
                        "only the administrator's file may set allow_user_relay",
                    )
                    .with_top_level_key(src, "allow_user_relay"));
            }
            self.allow_user_relay = allow;
        }
        let user_relay_forbidden = origin == Origin::User && !self.allow_user_relay;
        if let Some(r) = &raw.relay {
            if user_relay_forbidden {
                return Err(src.error(
                    "relay",
                    None,
                    "the administrator does not allow a user relay (allow_user_relay = false); remove this section",
                ));
            }
            self.relay = Some((validate_relay(src, "relay", r)?, origin));
        }
        for (name, r) in &raw.accounts {
            let table = format!("accounts.{name}");
            if user_relay_forbidden {
                return Err(src.error(
                    &table,
                    None,
                    "the administrator does not allow user accounts (allow_user_relay = false); remove this section",
                ));
            }
            self.accounts
                .insert(name.clone(), (validate_relay(src, &table, r)?, origin));
        }
        if let Some(c) = &raw.compose {
            merge_compose(src, &mut self.compose, c)?;
        }
        if let Some(o) = &raw.outbox
            && let Some(d) = &o.dir
        {
            self.outbox_dir = src.path_value(d);
        }
        Ok(())
    }

    /// The relay to use: `[accounts.NAME]` for `--account NAME`, else `[relay]`.
    pub fn relay_for(&self, account: Option<&str>) -> Result<&RelayConfig, ConfigError> {
        match account {
            Some(name) => self.accounts.get(name).map(|(r, _)| r).ok_or_else(|| {
                let known: Vec<&str> = self.accounts.keys().map(String::as_str).collect();
                ConfigError::new(if known.is_empty() {
                    format!("there is no account `{name}`: no [accounts.NAME] section is configured")
                } else {
                    format!(
                        "there is no account `{name}`; configured accounts: {}",
                        known.join(", ")
                    )
                })
            }),
            None => self.relay.as_ref().map(|(r, _)| r).ok_or_else(|| {
                ConfigError::new(format!(
                    "no relay is configured: add a [relay] section to {} (or to {}); see docs/configuration.md",
                    self.files[0].path.display(),
                    self.files[1].path.display()
                ))
            }),
        }
    }

    /// The effective configuration as TOML, secrets masked: a password is never shown, only
    /// which source provides it (a command could itself contain a secret, so it is hidden too).
    pub fn to_masked_toml(&self) -> String {
        let mut out = String::new();
        for f in &self.files {
            let who = match f.origin {
                Origin::Admin => "admin file",
                Origin::User => "user file",
            };
            let state = if f.found { "read" } else { "not found" };
            out.push_str(&format!("# {who}: {} ({state})\n", f.path.display()));
        }
        out.push_str(&format!("allow_user_relay = {}\n", self.allow_user_relay));
        if let Some((r, o)) = &self.relay {
            out.push_str(&format!("\n[relay] # from the {}\n", origin_name(*o)));
            write_relay(&mut out, r);
        }
        for (name, (r, o)) in &self.accounts {
            out.push_str(&format!(
                "\n[accounts.{}] # from the {}\n",
                toml_key(name),
                origin_name(*o)
            ));
            write_relay(&mut out, r);
        }
        let c = &self.compose;
        out.push_str("\n[compose]\n");
        let opt = |out: &mut String, k: &str, v: Option<String>| {
            if let Some(v) = v {
                out.push_str(&format!("{k} = {}\n", quote(&v)));
            }
        };
        opt(&mut out, "id_domain", c.id_domain.clone());
        opt(&mut out, "x_mailer", c.x_mailer.clone());
        opt(&mut out, "bcc_policy", c.bcc_policy.map(|p| p.to_string()));
        opt(&mut out, "from", c.from.as_ref().map(|a| a.to_string()));
        opt(&mut out, "domain", c.domain.clone());
        opt(
            &mut out,
            "aliases",
            c.aliases.as_ref().map(|p| p.display().to_string()),
        );
        out.push_str("\n[outbox]\n");
        out.push_str(&format!(
            "dir = {}\n",
            quote(&self.outbox_dir.display().to_string())
        ));
        out
    }
}

impl ConfigError {
    /// Points a top-level key's error at its own line.
    fn with_top_level_key(mut self, src: &Source, key: &str) -> ConfigError {
        self.line = src
            .text
            .lines()
            .position(|l| {
                l.trim_start()
                    .strip_prefix(key)
                    .is_some_and(|r| r.trim_start().starts_with('='))
            })
            .map(|i| i + 1);
        self.key = Some(key.to_owned());
        self
    }
}

fn origin_name(o: Origin) -> &'static str {
    match o {
        Origin::Admin => "admin file",
        Origin::User => "user file",
    }
}

fn quote(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

fn toml_key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        k.to_owned()
    } else {
        quote(k)
    }
}

fn write_relay(out: &mut String, r: &RelayConfig) {
    let mut kv = |k: &str, v: String| out.push_str(&format!("{k} = {v}\n"));
    match r {
        RelayConfig::Smtp(s) => {
            kv("kind", quote("smtp"));
            kv("host", quote(&s.host));
            kv("port", s.port.to_string());
            kv("tls", quote(s.tls.name()));
            if let Some(u) = &s.user {
                kv("user", quote(u));
            }
            match &s.password {
                Some(PasswordSource::Command(_)) => kv(
                    "password_command",
                    quote("<hidden: the password comes from a command>"),
                ),
                Some(PasswordSource::Env(v)) => kv("password_env", quote(v)),
                Some(PasswordSource::File(p)) => {
                    kv("password_file", quote(&p.display().to_string()))
                }
                None => {}
            }
            if let Some(c) = &s.ca_file {
                kv("ca_file", quote(&c.display().to_string()));
            }
            kv("timeout_secs", s.timeout.as_secs().to_string());
            if let Some(h) = &s.hello_name {
                kv("hello_name", quote(h));
            }
        }
        RelayConfig::Sendmail(s) => {
            kv("kind", quote("sendmail"));
            kv("path", quote(&s.path.display().to_string()));
            let args: Vec<String> = s.args.iter().map(|a| quote(a)).collect();
            kv("args", format!("[{}]", args.join(", ")));
        }
        RelayConfig::File { dir } => {
            kv("kind", quote("file"));
            kv("dir", quote(&dir.display().to_string()));
        }
    }
}

#[cfg(test)]
mod tests {
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
        assert_eq!((s.port, s.tls), (587, TlsMode::Starttls));
        assert_eq!(s.timeout, DEFAULT_TIMEOUT);
        let c = load(
            Some("[relay]\nkind = \"smtp\"\nhost = \"smtp.example.com\"\ntls = \"implicit\"\n"),
            None,
        )
        .unwrap();
        let RelayConfig::Smtp(s) = c.relay_for(None).unwrap() else {
            panic!()
        };
        assert_eq!(s.port, 465);
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
            assert!(is_loopback_host(h), "{h}");
        }
        for h in ["mail.example.org", "10.0.0.1", "localhost.example.org"] {
            assert!(!is_loopback_host(h), "{h}");
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
}
