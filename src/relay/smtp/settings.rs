//! What an SMTP relay needs to know: the server, how the link is protected, who logs in and
//! where the password comes from. Built with [`SmtpSettings::builder`]; the configuration module
//! builds the same type from TOML, and a mail client builds it from its own account settings.

use super::fingerprint::Fingerprint;
use crate::relay::{Dsn, ErrorKind, RelayError};
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
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
    /// The name used in configuration files: `starttls`, `implicit`, `none`.
    pub fn name(self) -> &'static str {
        match self {
            TlsMode::Starttls => "starttls",
            TlsMode::Implicit => "implicit",
            TlsMode::None => "none",
        }
    }

    /// The usual port for this mode: 587, 465, 25.
    pub fn default_port(self) -> u16 {
        match self {
            TlsMode::Starttls => 587,
            TlsMode::Implicit => 465,
            TlsMode::None => 25,
        }
    }
}

/// The SASL mechanism of the login. Without one, envoi takes the best the server offers of
/// PLAIN and LOGIN. The OAuth 2 mechanisms take an access token where the others take a
/// password; it comes from the same [`PasswordSource`]s (a command is how a token helper plugs
/// in).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMechanism {
    /// AUTH PLAIN (RFC 4616).
    Plain,
    /// AUTH LOGIN.
    Login,
    /// AUTH XOAUTH2, Google's and Microsoft's OAuth 2 mechanism.
    Xoauth2,
    /// AUTH OAUTHBEARER (RFC 7628).
    Oauthbearer,
}

impl AuthMechanism {
    /// The SASL name, as in the server's EHLO list: `PLAIN`, `LOGIN`, `XOAUTH2`, `OAUTHBEARER`.
    pub fn sasl_name(self) -> &'static str {
        match self {
            AuthMechanism::Plain => "PLAIN",
            AuthMechanism::Login => "LOGIN",
            AuthMechanism::Xoauth2 => "XOAUTH2",
            AuthMechanism::Oauthbearer => "OAUTHBEARER",
        }
    }

    /// The name used in configuration files: `plain`, `login`, `xoauth2`, `oauthbearer`.
    pub fn name(self) -> &'static str {
        match self {
            AuthMechanism::Plain => "plain",
            AuthMechanism::Login => "login",
            AuthMechanism::Xoauth2 => "xoauth2",
            AuthMechanism::Oauthbearer => "oauthbearer",
        }
    }

    /// Whether the secret is an OAuth 2 access token rather than a password.
    pub fn is_oauth(self) -> bool {
        matches!(self, AuthMechanism::Xoauth2 | AuthMechanism::Oauthbearer)
    }
}

/// A password the client already holds (from a keychain, an OAuth token cache...). Its `Debug`
/// never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Password {
        Password(secret.into())
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<hidden>)")
    }
}

/// Where the SMTP password comes from. Sources other than [`PasswordSource::Given`] are only
/// read when the relay logs in. `Debug` shows neither a given password nor a command (a command
/// line may hold a secret of its own).
#[derive(Clone, PartialEq, Eq)]
pub enum PasswordSource {
    /// The secret itself, handed over by the caller.
    Given(Password),
    /// A shell command whose standard output (less one trailing newline) is the password.
    Command(String),
    /// The name of an environment variable.
    Env(String),
    /// A file whose content (less one trailing newline) is the password.
    File(PathBuf),
}

impl fmt::Debug for PasswordSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PasswordSource::Given(p) => f.debug_tuple("Given").field(p).finish(),
            PasswordSource::Command(_) => f.write_str("Command(<hidden>)"),
            PasswordSource::Env(v) => f.debug_tuple("Env").field(v).finish(),
            PasswordSource::File(p) => f.debug_tuple("File").field(p).finish(),
        }
    }
}

impl PasswordSource {
    /// What the source is called in errors and in the configuration: `password_command`...
    pub fn name(&self) -> &'static str {
        match self {
            PasswordSource::Given(_) => "password",
            PasswordSource::Command(_) => "password_command",
            PasswordSource::Env(_) => "password_env",
            PasswordSource::File(_) => "password_file",
        }
    }

    /// Reads the password (running the command, if that is the source). Errors name the source,
    /// never its value.
    pub fn read(&self) -> Result<Password, RelayError> {
        let raw = match self {
            PasswordSource::Given(p) => return Ok(p.clone()),
            PasswordSource::Env(name) => read_env(name)?,
            PasswordSource::File(p) => read_file(p)?,
            PasswordSource::Command(c) => {
                // Through the shell, like msmtp's passwordeval; stderr and the terminal stay the
                // user's, so a password manager can ask for its passphrase.
                let out = std::process::Command::new("/bin/sh")
                    .arg("-c")
                    .arg(c)
                    .stdin(std::process::Stdio::inherit())
                    .stderr(std::process::Stdio::inherit())
                    .output();
                command_output(out.map(|o| (o.status, o.stdout)))?
            }
        };
        self.finish(raw)
    }

    /// One trailing newline (LF or CRLF) is not part of the password; an empty one is an error.
    pub(crate) fn finish(&self, raw: String) -> Result<Password, RelayError> {
        let pw = raw
            .strip_suffix('\n')
            .map(|s| s.strip_suffix('\r').unwrap_or(s))
            .unwrap_or(&raw);
        if pw.is_empty() {
            return Err(config_error(format!(
                "{}: the password is empty",
                self.name()
            )));
        }
        Ok(Password(pw.to_owned()))
    }
}

fn config_error(m: String) -> RelayError {
    RelayError::new(ErrorKind::Config, m)
}

pub(crate) fn read_env(name: &str) -> Result<String, RelayError> {
    std::env::var(name).map_err(|_| {
        config_error(format!(
            "password_env: the environment variable {name} is not set (or not UTF-8)"
        ))
    })
}

pub(crate) fn read_file(p: &Path) -> Result<String, RelayError> {
    use std::io::Read;
    // The mode of the file opened, not of whatever the path names a moment later.
    let mut f = std::fs::File::open(p).map_err(|e| file_error(p, &e))?;
    check_secret_file(p, &f.metadata().map_err(|e| file_error(p, &e))?)?;
    let mut text = String::new();
    f.read_to_string(&mut text).map_err(|e| file_error(p, &e))?;
    Ok(text)
}

/// A password file must be readable and writable by its owner only: others could read the
/// secret, or put theirs in its place.
pub(crate) fn check_secret_file(p: &Path, meta: &std::fs::Metadata) -> Result<(), RelayError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 == 0 {
        return Ok(());
    }
    let who = match (mode & 0o070 != 0, mode & 0o007 != 0) {
        (true, true) => "group and others",
        (true, false) => "its group",
        _ => "others",
    };
    let p = p.display();
    Err(config_error(format!(
        "password_file {p} can be read or written by {who} (mode {mode:04o}), so envoi will not use it; fix it with `chmod 600 {p}`"
    )))
}

pub(crate) fn file_error(p: &Path, e: &std::io::Error) -> RelayError {
    config_error(format!(
        "password_file {}: cannot read it: {e}",
        p.display()
    ))
}

/// The password command's result, whoever ran it (std or tokio).
pub(crate) fn command_output(
    out: std::io::Result<(std::process::ExitStatus, Vec<u8>)>,
) -> Result<String, RelayError> {
    let (status, stdout) =
        out.map_err(|e| config_error(format!("password_command: cannot run /bin/sh: {e}")))?;
    if !status.success() {
        return Err(config_error(format!(
            "password_command failed ({status}); its output is not shown"
        )));
    }
    String::from_utf8(stdout)
        .map_err(|_| config_error("password_command: its output is not UTF-8".into()))
}

/// Who logs in (AUTH PLAIN or LOGIN), and where the password comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    user: String,
    password: PasswordSource,
}

impl Credentials {
    /// `user` logs in with the password `source` gives.
    pub fn new(user: impl Into<String>, password: PasswordSource) -> Credentials {
        Credentials {
            user: user.into(),
            password,
        }
    }

    /// `user` logs in with a password the caller already holds.
    pub fn with_password(user: impl Into<String>, password: impl Into<String>) -> Credentials {
        Credentials::new(user, PasswordSource::Given(Password::new(password)))
    }

    /// The login name.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// Where the password comes from.
    pub fn password(&self) -> &PasswordSource {
        &self.password
    }
}

/// Default timeout for connecting and for each reply.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// A validated SMTP submission relay: see [`SmtpSettings::builder`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    host: String,
    port: u16,
    tls: TlsMode,
    credentials: Option<Credentials>,
    ca_file: Option<PathBuf>,
    tls_fingerprint: Option<Fingerprint>,
    auth: Option<AuthMechanism>,
    timeout: Duration,
    hello_name: Option<String>,
    dsn: Dsn,
}

impl SmtpSettings {
    /// Starts settings for `host` (a name, an IPv4 address, or an IPv6 address with or without
    /// brackets): STARTTLS on port 587, no login, system roots, a 30 s timeout.
    ///
    /// ```
    /// use envoi::relay::smtp::{Credentials, SmtpSettings, TlsMode};
    /// let settings = SmtpSettings::builder("smtp.example.org")
    ///     .tls(TlsMode::Implicit)
    ///     .credentials(Credentials::with_password("alice", "from the keychain"))
    ///     .build()?;
    /// assert_eq!(settings.server(), "smtp.example.org:465");
    /// assert!(!format!("{settings:?}").contains("keychain"));
    /// # Ok::<(), envoi::relay::RelayError>(())
    /// ```
    pub fn builder(host: impl Into<String>) -> SmtpSettingsBuilder {
        SmtpSettingsBuilder {
            host: host.into(),
            port: None,
            tls: TlsMode::Starttls,
            credentials: None,
            ca_file: None,
            tls_fingerprint: None,
            auth: None,
            timeout: DEFAULT_TIMEOUT,
            hello_name: None,
            dsn: Dsn::default(),
        }
    }

    /// The host as given (an IPv6 address may carry brackets).
    pub fn host(&self) -> &str {
        &self.host
    }
    /// The TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }
    /// How the link is protected.
    pub fn tls(&self) -> TlsMode {
        self.tls
    }
    /// Who logs in, if anyone.
    pub fn credentials(&self) -> Option<&Credentials> {
        self.credentials.as_ref()
    }
    /// The PEM file whose certificates are the only trusted roots, if set.
    pub fn ca_file(&self) -> Option<&Path> {
        self.ca_file.as_deref()
    }
    /// The one certificate trusted by its SHA-256 fingerprint, if set.
    pub fn tls_fingerprint(&self) -> Option<Fingerprint> {
        self.tls_fingerprint
    }
    /// The login's SASL mechanism, if one is chosen (else the best of PLAIN and LOGIN).
    pub fn auth(&self) -> Option<AuthMechanism> {
        self.auth
    }
    /// The limit for connecting, for each reply and for each write.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
    /// The name given in EHLO, if set (else the machine's host name).
    pub fn hello_name(&self) -> Option<&str> {
        self.hello_name.as_deref()
    }
    /// The delivery status notifications requested for every message.
    pub fn dsn(&self) -> &Dsn {
        &self.dsn
    }
    /// The same settings with this DSN request (for instance one message's flags over the
    /// configured defaults: `settings.dsn().clone().or(&flags)`).
    pub fn with_dsn(mut self, dsn: Dsn) -> SmtpSettings {
        self.dsn = dsn;
        self
    }

    /// `host:port`, with an IPv6 address in brackets.
    pub fn server(&self) -> String {
        if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The host without IPv6 brackets: what to connect to and what the certificate must name.
    pub(crate) fn bare_host(&self) -> &str {
        self.host.trim_matches(['[', ']'])
    }

    /// The EHLO argument: the configured name, else this machine's name, else an address literal.
    pub(crate) fn ehlo_name(&self) -> String {
        if let Some(h) = &self.hello_name {
            return h.clone();
        }
        hostname::get()
            .ok()
            .and_then(|h| h.into_string().ok())
            .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_graphic()))
            .unwrap_or_else(|| "[127.0.0.1]".to_owned())
    }
}

/// Builds [`SmtpSettings`]; [`build`](SmtpSettingsBuilder::build) checks them.
#[derive(Debug, Clone)]
pub struct SmtpSettingsBuilder {
    host: String,
    port: Option<u16>,
    tls: TlsMode,
    credentials: Option<Credentials>,
    ca_file: Option<PathBuf>,
    tls_fingerprint: Option<Fingerprint>,
    auth: Option<AuthMechanism>,
    timeout: Duration,
    hello_name: Option<String>,
    dsn: Dsn,
}

impl SmtpSettingsBuilder {
    /// The TCP port (default: the TLS mode's usual port).
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }
    /// How the link is protected (default: STARTTLS).
    pub fn tls(mut self, tls: TlsMode) -> Self {
        self.tls = tls;
        self
    }
    /// Log in as this user (needs TLS).
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }
    /// Trust only the certificates of this PEM file, instead of the system's roots: as
    /// authorities, and each one itself when the server presents exactly that certificate (a
    /// self-signed one, CA:TRUE or not).
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }
    /// Trust the one certificate with this SHA-256 fingerprint, without any authority (besides
    /// `ca_file`'s, if that is set too). The handshake's signatures are still checked.
    pub fn tls_fingerprint(mut self, fingerprint: Fingerprint) -> Self {
        self.tls_fingerprint = Some(fingerprint);
        self
    }
    /// Log in with this SASL mechanism (default: the best the server offers of PLAIN and
    /// LOGIN). Needs [`credentials`](Self::credentials).
    pub fn auth(mut self, mechanism: AuthMechanism) -> Self {
        self.auth = Some(mechanism);
        self
    }
    /// The limit for connecting, for each reply and for each write (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
    /// The name to give in EHLO (default: this machine's host name).
    pub fn hello_name(mut self, name: impl Into<String>) -> Self {
        self.hello_name = Some(name.into());
        self
    }
    /// Delivery status notifications to request (RFC 3461; default: none).
    pub fn dsn(mut self, dsn: Dsn) -> Self {
        self.dsn = dsn;
        self
    }

    /// Checks the settings: a host, a port, a non-zero timeout, a one-word EHLO name, plain text
    /// only toward a loopback host, and never a login without TLS. Errors are
    /// [`ErrorKind::Config`].
    pub fn build(self) -> Result<SmtpSettings, RelayError> {
        let host = self.host.trim().to_owned();
        let bad = |m: &str| Err(config_error(m.to_owned()));
        if host.is_empty() || host.contains(char::is_whitespace) {
            return bad("the SMTP host must be a host name or an IP address");
        }
        let port = self.port.unwrap_or(self.tls.default_port());
        if port == 0 {
            return bad("the SMTP port must be between 1 and 65535");
        }
        if self.timeout.is_zero() {
            return bad("the SMTP timeout must be at least 1 second");
        }
        if self.tls == TlsMode::None && !is_loopback_host(&host) {
            return Err(config_error(format!(
                "TLS mode none is allowed only toward a loopback host, not {host}; use STARTTLS or implicit TLS"
            )));
        }
        if let Some(c) = &self.credentials {
            if c.user.is_empty() || c.user.contains(['\r', '\n']) {
                return bad("the SMTP user must be one line, not empty");
            }
            if self.tls == TlsMode::None {
                return bad(
                    "AUTH over an unencrypted connection is refused: use STARTTLS or implicit TLS",
                );
            }
        }
        if self.auth.is_some() && self.credentials.is_none() {
            return bad(
                "an AUTH mechanism needs credentials: a user and a password (or token) source",
            );
        }
        if self.tls_fingerprint.is_some() && self.tls == TlsMode::None {
            return bad("a certificate fingerprint needs TLS: use STARTTLS or implicit TLS");
        }
        if let Some(h) = &self.hello_name
            && (h.is_empty() || !h.chars().all(|c| c.is_ascii_graphic()))
        {
            return bad(
                "the EHLO name must be a domain name or an address literal, without spaces",
            );
        }
        Ok(SmtpSettings {
            host,
            port,
            tls: self.tls,
            credentials: self.credentials,
            ca_file: self.ca_file,
            tls_fingerprint: self.tls_fingerprint,
            auth: self.auth,
            timeout: self.timeout,
            hello_name: self.hello_name,
            dsn: self.dsn,
        })
    }
}

/// True for `localhost`, `*.localhost` and loopback IP addresses (with or without brackets).
/// No DNS: a name that resolves to loopback today may not tomorrow.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_matches(['[', ']']).to_ascii_lowercase();
    if h == "localhost" || h.ends_with(".localhost") {
        return true;
    }
    h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_lose_one_trailing_newline() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pw");
        std::fs::write(&f, "s3cret\n").unwrap();
        std::fs::set_permissions(&f, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
        let read = |s: PasswordSource| s.read().map(|p| p.expose().to_owned());
        assert_eq!(read(PasswordSource::File(f)).unwrap(), "s3cret");
        let c = PasswordSource::Command("printf 'a b\\r\\n'".into());
        assert_eq!(read(c).unwrap(), "a b");
        let e = read(PasswordSource::Command("echo s3cret; exit 3".into())).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(!e.message().contains("s3cret"));
        let e = read(PasswordSource::Env("ENVOI_SURELY_UNSET_VAR".into())).unwrap_err();
        assert!(e.message().contains("ENVOI_SURELY_UNSET_VAR"));
        let given = PasswordSource::Given(Password::new("kept as is\n"));
        assert_eq!(read(given).unwrap(), "kept as is\n");
    }

    #[test]
    fn a_password_file_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pw");
        std::fs::write(&f, "s3cret\n").unwrap();
        let source = PasswordSource::File(f.clone());
        for (mode, who) in [(0o644, "others"), (0o640, "its group"), (0o606, "others")] {
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(mode)).unwrap();
            let e = source.read().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Config);
            assert!(e.message().contains(who), "{}", e.message());
            assert!(e.message().contains("chmod 600"), "{}", e.message());
            assert!(!e.message().contains("s3cret"));
        }
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(source.read().unwrap().expose(), "s3cret");
    }

    #[test]
    fn a_given_password_never_shows_in_debug() {
        let s = SmtpSettings::builder("mail.example.org")
            .credentials(Credentials::with_password("alice", "hunter2-x"))
            .build()
            .unwrap();
        assert!(!format!("{s:?}").contains("hunter2-x"));
        let cmd = PasswordSource::Command("echo token-9f3a".into());
        assert_eq!(format!("{cmd:?}"), "Command(<hidden>)");
        assert_eq!(s.credentials().unwrap().user(), "alice");
    }

    #[test]
    fn builder_checks() {
        let b = || SmtpSettings::builder("mail.example.org");
        assert_eq!(b().build().unwrap().port(), 587);
        assert_eq!(b().tls(TlsMode::Implicit).build().unwrap().port(), 465);
        let e = b().tls(TlsMode::None).build().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(e.message().contains("loopback"), "{}", e.message());
        let plain = SmtpSettings::builder("127.0.0.1")
            .port(2525)
            .tls(TlsMode::None);
        assert!(plain.clone().build().is_ok());
        let e = plain
            .credentials(Credentials::with_password("a", "b"))
            .build()
            .unwrap_err();
        assert!(e.message().contains("unencrypted"), "{}", e.message());
        assert!(b().hello_name("two words").build().is_err());
        assert!(b().timeout(Duration::ZERO).build().is_err());
        let v6 = SmtpSettings::builder("::1")
            .tls(TlsMode::None)
            .build()
            .unwrap();
        assert_eq!(v6.server(), "[::1]:25");
        assert!(is_loopback_host("[::1]") && is_loopback_host("a.localhost"));
        assert!(!is_loopback_host("mail.example.org"));
    }
}
