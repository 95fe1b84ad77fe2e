//! Configuration: the admin's and the user's TOML files, validated and merged into the relay,
//! account, compose and outbox settings envoi runs with. Relays are described with the
//! transports' own settings types ([`SmtpSettings`], [`SendmailSettings`]). Secrets are never
//! read here: a password is only a [`PasswordSource`], resolved by the SMTP relay when it logs in.

use crate::address::Addr;
use crate::compose::{BccPolicy, Options};
use crate::relay::smtp::{
    AuthMechanism, Credentials, Fingerprint, PasswordSource, SmtpSettings, TlsMode,
};
use crate::relay::{
    Dsn, FileRelay, Relay, RelayError, Ret, SendmailRelay, SendmailSettings, SmtpRelay,
};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What went wrong with the configuration: which file, which line, which key (exit 78).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file at fault, when one is.
    pub path: Option<PathBuf>,
    /// Counts from 1.
    pub line: Option<usize>,
    /// Dotted key, e.g. `relay.port`.
    pub key: Option<String>,
    /// What is wrong and what to do about it.
    pub message: String,
}

impl ConfigError {
    /// An error not tied to a file.
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
    /// An SMTP submission server.
    Smtp,
    /// The local sendmail binary.
    Sendmail,
    /// A directory of NAME.eml + NAME.envelope.json files.
    File,
}

/// One relay, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayConfig {
    /// An SMTP submission server.
    Smtp(SmtpSettings),
    /// The local sendmail binary.
    Sendmail(SendmailSettings),
    /// Writes NAME.eml + NAME.envelope.json into a directory.
    File {
        /// The directory.
        dir: PathBuf,
    },
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

    /// This relay with `dsn`'s requests over the configured ones: an SMTP relay sends them when
    /// the server offers DSN, a sendmail relay passes them on as -N, -R and -V; a file relay
    /// has nobody to ask.
    pub fn with_dsn(self, dsn: &Dsn) -> RelayConfig {
        match self {
            RelayConfig::Smtp(s) => {
                let merged = s.dsn().clone().or(dsn);
                RelayConfig::Smtp(s.with_dsn(merged))
            }
            RelayConfig::Sendmail(mut s) => {
                s.args.extend(dsn.sendmail_args());
                RelayConfig::Sendmail(s)
            }
            other => other,
        }
    }

    /// The relay this section describes. Nothing is connected or run until the first
    /// submission.
    pub fn open(&self) -> Box<dyn Relay> {
        match self {
            RelayConfig::Smtp(s) => Box::new(SmtpRelay::new(s.clone())),
            RelayConfig::Sendmail(s) => Box::new(SendmailRelay::new(s.clone())),
            RelayConfig::File { dir } => Box::new(FileRelay::new(dir.clone())),
        }
    }
}

/// The sendmail binary used when `path` is not set.
pub const DEFAULT_SENDMAIL: &str = "/usr/sbin/sendmail";

/// The `[compose]` settings (CLI flags override them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ComposeConfig {
    /// The domain of added Message-IDs.
    pub id_domain: Option<String>,
    /// Some("") means no X-Mailer field.
    pub x_mailer: Option<String>,
    /// How Bcc recipients are handled.
    pub bcc_policy: Option<BccPolicy>,
    /// Envelope sender where a draft has no From.
    pub from: Option<Addr>,
    /// Qualifies bare local names (`root`).
    pub domain: Option<String>,
    /// A file in /etc/aliases format.
    pub aliases: Option<PathBuf>,
    /// The user's own addresses (`me = [...]`): a reply-all does not copy them.
    pub me: Vec<Addr>,
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
    /// The administrator's file.
    Admin,
    /// The user's file.
    User,
}

/// One configuration file envoi looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFile {
    /// Admin or user.
    pub origin: Origin,
    /// Where it was looked for.
    pub path: PathBuf,
    /// Whether it exists.
    pub found: bool,
}

/// The effective configuration: both files merged, everything validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The files looked at, admin first.
    pub files: Vec<ConfigFile>,
    /// The admin allows the user file to choose a relay or accounts.
    pub allow_user_relay: bool,
    /// The `[relay]` section, and which file it came from.
    pub relay: Option<(RelayConfig, Origin)>,
    /// The `[accounts.NAME]` sections.
    pub accounts: BTreeMap<String, (RelayConfig, Origin)>,
    /// The `[compose]` settings.
    pub compose: ComposeConfig,
    /// Where messages wait when the relay is unavailable.
    pub outbox_dir: PathBuf,
    /// How long a message may wait in the outbox before it is given up.
    pub outbox_lifetime: Duration,
}

// ---- the files as written ----

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

/// The file's text, once its mode and owner passed `modes::check` (checked on the file opened,
/// not on whatever the path names a moment later); None if it does not exist.
fn read_optional(path: &Path, origin: Origin) -> Result<Option<String>, ConfigError> {
    use std::io::Read;
    let error = |message: String| ConfigError {
        path: Some(path.to_owned()),
        line: None,
        key: None,
        message,
    };
    let cannot = |e: std::io::Error| error(format!("cannot read it: {e}"));
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(cannot(e)),
    };
    modes::check(path, origin, &f.metadata().map_err(cannot)?, modes::euid())?;
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes).map_err(cannot)?;
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| error("the file is not valid UTF-8".into()))
}

impl Config {
    /// Reads the admin and user files from their usual places (see [`admin_path`],
    /// [`user_path`]). Missing files are fine.
    pub fn load() -> Result<Config, ConfigError> {
        Config::load_from(&admin_path(), &user_path())
    }

    /// Reads and merges two files; either may be missing. A file that others can write, or
    /// that belongs to another user (root may own the admin's), is refused before anything in
    /// it is used.
    pub fn load_from(admin: &Path, user: &Path) -> Result<Config, ConfigError> {
        let a = read_optional(admin, Origin::Admin)?;
        let u = read_optional(user, Origin::User)?;
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
            outbox_lifetime: crate::outbox::DEFAULT_LIFETIME,
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
        if let Some(o) = &raw.outbox {
            if let Some(d) = &o.dir {
                self.outbox_dir = src.path_value(d);
            }
            if let Some(l) = &o.lifetime {
                self.outbox_lifetime = parse_lifetime(src, l)?;
            }
        }
        Ok(())
    }

    /// The outbox these settings describe (`[outbox] dir` and `lifetime`).
    pub fn outbox(&self) -> crate::outbox::Outbox {
        crate::outbox::Outbox::new(&self.outbox_dir).with_lifetime(self.outbox_lifetime)
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

mod file;
mod modes;
mod show;

use file::*;

#[cfg(test)]
mod tests;
