//! The SMTP submission relay: one connection (STARTTLS, implicit TLS, or plain toward loopback),
//! AUTH PLAIN/LOGIN, then one MAIL/RCPT/DATA transaction per submission, so a batch of drafts
//! shares the connection. Built on lettre's `SmtpConnection` rather than its `Transport`, for
//! per-recipient replies and connection reuse; see `send_data` and `classify` for the lettre
//! traps worked around here.

use super::{Delivery, ErrorKind, Relay, RelayError};
use crate::config::{PasswordSource, SmtpConfig, TlsMode};
use crate::envelope::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{
    Certificate, CertificateStore, SmtpConnection, TlsParameters,
};
use lettre::transport::smtp::commands::{Data, Ehlo, Rset};
use lettre::transport::smtp::extension::{ClientId, Extension};
use std::fmt;
use std::io;

/// Submits over SMTP; connects on the first submission and keeps the connection.
pub struct SmtpRelay {
    config: SmtpConfig,
    conn: Option<SmtpConnection>,
    /// The server offers PIPELINING (lettre does not track it, so envoi asks).
    pipelining: bool,
}

/// Where in the session an error happened: the same reply means different things.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Connect,
    Tls,
    Auth,
    Mail,
    Data,
}

impl SmtpRelay {
    pub fn new(config: SmtpConfig) -> SmtpRelay {
        SmtpRelay {
            config,
            conn: None,
            pipelining: false,
        }
    }

    fn server(&self) -> String {
        self.config.server()
    }

    fn tls_parameters(&self) -> Result<TlsParameters, RelayError> {
        let c = &self.config;
        let mut b = TlsParameters::builder(c.host.trim_matches(['[', ']']).to_owned());
        if let Some(ca) = &c.ca_file {
            let pem = std::fs::read(ca).map_err(|e| {
                RelayError::new(
                    ErrorKind::Config,
                    format!("cannot read ca_file {}: {e}", ca.display()),
                )
            })?;
            let cert = Certificate::from_pem(&pem).map_err(|e| {
                RelayError::new(
                    ErrorKind::Config,
                    format!(
                        "ca_file {} holds no usable PEM certificate: {e}",
                        ca.display()
                    ),
                )
            })?;
            // The admin's CA replaces the system roots: that is what pinning a CA means.
            b = b
                .certificate_store(CertificateStore::None)
                .add_root_certificate(cert);
        }
        b.build_rustls()
            .map_err(|e| RelayError::new(ErrorKind::Config, format!("cannot set up TLS: {e}")))
    }

    fn connect(&mut self) -> Result<SmtpConnection, RelayError> {
        let c = &self.config;
        let server = self.server();
        let tls = match c.tls {
            TlsMode::None => None,
            _ => Some(self.tls_parameters()?),
        };
        let hello = match &c.hello_name {
            Some(h) => ClientId::Domain(h.clone()),
            None => ClientId::default(),
        };
        let host = c.host.trim_matches(['[', ']']);
        let implicit = tls.as_ref().filter(|_| c.tls == TlsMode::Implicit);
        let stage = if implicit.is_some() {
            Stage::Tls
        } else {
            Stage::Connect
        };
        let mut conn =
            SmtpConnection::connect((host, c.port), Some(c.timeout), &hello, implicit, None)
                .map_err(|e| classify(&e, stage, &server, c))?;
        if c.tls == TlsMode::Starttls {
            if !conn.server_info().supports_feature(Extension::StartTls) {
                conn.abort();
                return Err(RelayError::new(
                    ErrorKind::Transient,
                    format!(
                        "TLS failure with {server}: the server does not offer STARTTLS, and envoi will not continue unencrypted"
                    ),
                )
                .session_over());
            }
            let params = tls.as_ref().expect("STARTTLS has TLS parameters");
            conn.starttls(params, &hello)
                .map_err(|e| classify(&e, Stage::Tls, &server, c))?;
        }
        // lettre's ServerInfo knows no PIPELINING; a second EHLO (harmless before AUTH) shows
        // the whole list.
        let ehlo = conn
            .command(Ehlo::new(hello.clone()))
            .map_err(|e| classify(&e, Stage::Connect, &server, c))?;
        let pipelining = ehlo.message().any(|l| {
            l.split_whitespace()
                .next()
                .is_some_and(|w| w.eq_ignore_ascii_case("PIPELINING"))
        });
        if let Some(user) = &c.user {
            self.authenticate(&mut conn, user)?;
        }
        self.pipelining = pipelining;
        Ok(conn)
    }

    fn authenticate(&self, conn: &mut SmtpConnection, user: &str) -> Result<(), RelayError> {
        let server = self.server();
        if !conn.is_encrypted() {
            conn.abort();
            return Err(RelayError::new(
                ErrorKind::Config,
                format!(
                    "refusing to send the password for {user} to {server} over an unencrypted connection"
                ),
            ));
        }
        let info = conn.server_info();
        if !info.supports_auth_mechanism(Mechanism::Plain)
            && !info.supports_auth_mechanism(Mechanism::Login)
        {
            conn.abort();
            return Err(RelayError::new(
                ErrorKind::Auth,
                format!("{server} offers neither AUTH PLAIN nor AUTH LOGIN, so user {user} cannot log in"),
            )
            .session_over());
        }
        let source = self.config.password.as_ref().ok_or_else(|| {
            RelayError::new(ErrorKind::Config, format!("no password source for {user}"))
        })?;
        let password = read_password(source)?;
        let creds = Credentials::new(user.to_owned(), password);
        conn.auth(&[Mechanism::Plain, Mechanism::Login], &creds)
            .map(|_| ())
            .map_err(|e| {
                let mut err = classify(&e, Stage::Auth, &server, &self.config);
                if err.kind == ErrorKind::Auth {
                    err.message = format!("authentication as {user} failed: {}", err.message);
                }
                err.session_over()
            })
    }

    /// One MAIL/RCPT/DATA transaction on an open connection.
    fn transaction(
        &self,
        conn: &mut SmtpConnection,
        pipelining: bool,
        env: &Envelope,
        message: &[u8],
    ) -> Result<Delivery, RelayError> {
        let server = self.server();
        let cfg = &self.config;
        let info = conn.server_info();
        if env.smtputf8 && !info.supports_feature(Extension::SmtpUtfEight) {
            let who = std::iter::once(&env.from)
                .chain(&env.to)
                .find(|a| a.needs_smtputf8())
                .map_or_else(String::new, |a| format!(" (for {a})"));
            return Err(RelayError::new(
                ErrorKind::Permanent,
                format!(
                    "{server} does not support SMTPUTF8, which this envelope needs{who}; it cannot take a non-ASCII local part"
                ),
            ));
        }
        let mut mail = format!("MAIL FROM:<{}>", env.from);
        if env.smtputf8 {
            mail.push_str(" SMTPUTF8");
        }
        // Servers without 8BITMIME still take 8-bit data in practice; lettre's own send would
        // refuse the message instead.
        if !message.is_ascii() && info.supports_feature(Extension::EightBitMime) {
            mail.push_str(" BODY=8BITMIME");
        }
        mail.push_str("\r\n");
        let rcpt_lines: Vec<String> = env
            .to
            .iter()
            .map(|r| format!("RCPT TO:<{r}>\r\n"))
            .collect();
        // With PIPELINING (RFC 2920) MAIL and every RCPT go out in one write and their replies
        // are read afterwards: one round trip instead of 1 + recipients. DATA waits for them,
        // so a refused recipient still stops the message before any data is sent.
        let mail_result = if pipelining {
            let mut batch = mail.clone();
            rcpt_lines.iter().for_each(|l| batch.push_str(l));
            conn.command(Line(&batch))
        } else {
            conn.command(Line(&mail))
        };
        let mail_error = match mail_result {
            Ok(_) => None,
            Err(e) => {
                let mut err = classify(&e, Stage::Mail, &server, cfg);
                if err.session_over {
                    // A kept connection the server closed while idle fails at once; a timeout
                    // would only repeat on a fresh one.
                    err.stale = Cause::of(&e) != Cause::Timeout;
                    return Err(with_context(err, &format!("the sender <{}>", env.from)));
                }
                Some(with_context(err, &format!("the sender <{}>", env.from)))
            }
        };
        if let (Some(err), false) = (&mail_error, pipelining) {
            let _ = conn.command(Rset);
            return Err(err.clone());
        }
        // Every RCPT is tried, so one error names every refused recipient at once.
        let mut refused: Vec<(String, ErrorKind)> = Vec::new();
        for (rcpt, line) in env.to.iter().zip(&rcpt_lines) {
            let reply = if pipelining {
                conn.read_response()
            } else {
                conn.command(Line(line))
            };
            if let Err(e) = reply {
                let err = classify(&e, Stage::Mail, &server, cfg);
                if err.session_over {
                    return Err(err);
                }
                refused.push((format!("{rcpt} ({})", reply_text(&e)), err.kind));
            }
        }
        if let Some(err) = mail_error {
            let _ = conn.command(Rset);
            return Err(err);
        }
        if !refused.is_empty() {
            let _ = conn.command(Rset);
            // Permanent wins: trying the same envelope later would fail again.
            let kind = if refused.iter().any(|r| r.1 == ErrorKind::Permanent) {
                ErrorKind::Permanent
            } else {
                ErrorKind::Transient
            };
            let list: Vec<String> = refused.into_iter().map(|r| r.0).collect();
            return Err(RelayError::new(
                kind,
                format!(
                    "{server} refused recipient{} {}; the message went to nobody",
                    if list.len() == 1 { "" } else { "s" },
                    list.join(", ")
                ),
            ));
        }
        if let Err(e) = conn.command(Data) {
            let err = classify(&e, Stage::Data, &server, cfg);
            if !err.session_over {
                let _ = conn.command(Rset);
            }
            return Err(with_context(err, "DATA"));
        }
        send_data(conn, message)
            .map_err(|e| with_context(classify(&e, Stage::Data, &server, cfg), "the message"))?;
        Ok(Delivery::all(env))
    }
}

/// Names what the server refused, in front of its reply.
fn with_context(mut err: RelayError, what: &str) -> RelayError {
    if matches!(err.kind, ErrorKind::Permanent | ErrorKind::Transient)
        && err.message.starts_with("server ")
    {
        err.message = format!("refused {what}: {}", &err.message["server ".len()..]);
    }
    err
}

/// Sends the message and the final dot as ONE write. lettre's `message()` writes the data and
/// then `\r\n.\r\n` separately; with Nagle's algorithm the second small write waits for the
/// server's delayed ACK (about 40 ms per message on Linux), and lettre gives no way to set
/// TCP_NODELAY. Its `command()` writes any Display in one go, so a UTF-8 message goes through
/// it; other bytes fall back to `message()`, whose terminator adds a CRLF of its own, so the
/// message's last CRLF is left out there.
fn send_data(
    conn: &mut SmtpConnection,
    message: &[u8],
) -> Result<(), lettre::transport::smtp::Error> {
    match String::from_utf8(dot_stuff(message)) {
        Ok(data) => conn.command(Line(&data)).map(|_| ()),
        Err(_) => {
            let body = message.strip_suffix(b"\r\n").unwrap_or(message);
            conn.message(body).map(|_| ())
        }
    }
}

/// RFC 5321 §4.5.2 transparency: a line that starts with `.` gets another; then the end of
/// data. Lines start after LF, so a stray LF-only line is stuffed too (lettre only looks after
/// CRLF).
pub fn dot_stuff(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + message.len() / 64 + 8);
    let mut at_line_start = true;
    for &b in message {
        if at_line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        at_line_start = b == b'\n';
    }
    if !message.is_empty() && !message.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// A command line written as is (already CRLF-terminated).
struct Line<'a>(&'a str);

impl fmt::Display for Line<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// The server's reply as it sent it: `550 5.1.1 <x@example.org>: User unknown`.
fn reply_text(e: &lettre::transport::smtp::Error) -> String {
    let text = std::error::Error::source(e)
        .map(|s| s.to_string())
        .unwrap_or_default();
    match e.status() {
        Some(code) => format!("{code} {text}").trim().to_owned(),
        None => text,
    }
}

fn io_cause(e: &lettre::transport::smtp::Error) -> Option<&io::Error> {
    let mut s = std::error::Error::source(e);
    while let Some(x) = s {
        if let Some(io) = x.downcast_ref::<io::Error>() {
            return Some(io);
        }
        s = x.source();
    }
    None
}

/// What went wrong, read out of a lettre error. lettre's traps: a read timeout comes back as a
/// Network error wrapping WouldBlock (not `is_timeout()`); a certificate failure surfaces as a
/// Network error wrapping a rustls error on the first read, because rustls shakes hands lazily;
/// a closed connection is a Response error ("incomplete response").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// A negative reply: its code and the whole reply as sent.
    Reply {
        code: u16,
        reply: String,
    },
    Tls(String),
    Timeout,
    /// Any other socket error (refused, reset, unreachable).
    Io(String),
    /// The server hung up or sent something that is not a reply.
    Closed(String),
    Other(String),
}

impl Cause {
    pub fn of(e: &lettre::transport::smtp::Error) -> Cause {
        if let Some(code) = e.status() {
            let reply = reply_text(e);
            return Cause::Reply {
                code: code
                    .to_string()
                    .parse()
                    .unwrap_or(if e.is_permanent() { 500 } else { 400 }),
                reply,
            };
        }
        let io = io_cause(e);
        let tls_cause = io
            .and_then(|i| i.get_ref())
            .is_some_and(|inner| inner.is::<rustls::Error>());
        if e.is_tls() || tls_cause {
            return Cause::Tls(io.map_or_else(|| e.to_string(), |i| i.to_string()));
        }
        match io {
            Some(i)
                if matches!(
                    i.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Cause::Timeout
            }
            Some(i) => Cause::Io(i.to_string()),
            None if e.is_response() => Cause::Closed(e.to_string()),
            None => Cause::Other(e.to_string()),
        }
    }
}

/// Turns a lettre error into a classified one (see [`Cause`] and [`classify_cause`]).
pub fn classify(
    e: &lettre::transport::smtp::Error,
    stage: Stage,
    server: &str,
    cfg: &SmtpConfig,
) -> RelayError {
    classify_cause(&Cause::of(e), stage, server, cfg)
}

/// What a failure means for the message and the session: 5xx is permanent (535 and friends
/// during AUTH: an authentication failure), everything else is worth trying again later.
pub fn classify_cause(cause: &Cause, stage: Stage, server: &str, cfg: &SmtpConfig) -> RelayError {
    let transient = |m: String| RelayError::new(ErrorKind::Transient, m).session_over();
    match cause {
        Cause::Reply { code, reply } => {
            let kind = match (code / 100, stage) {
                (5, Stage::Auth) if matches!(code, 530 | 534 | 535) => ErrorKind::Auth,
                (5, _) => ErrorKind::Permanent,
                _ => ErrorKind::Transient,
            };
            let err = RelayError::new(kind, format!("server {server} replied: {reply}"));
            // 421: the server is closing the connection (RFC 5321 §3.8).
            if *code == 421 {
                err.session_over()
            } else {
                err
            }
        }
        Cause::Tls(detail) => {
            let hint = if cfg.ca_file.is_some() {
                " (the certificate is checked against ca_file only)"
            } else {
                ""
            };
            transient(format!("TLS failure with {server}: {detail}{hint}"))
        }
        Cause::Timeout => {
            let during = match stage {
                Stage::Connect => "connecting to",
                Stage::Tls => "setting up TLS with",
                Stage::Auth => "authenticating with",
                Stage::Mail | Stage::Data => "waiting for a reply from",
            };
            transient(format!(
                "timed out after {} s {during} {server}",
                cfg.timeout.as_secs()
            ))
        }
        Cause::Io(i) if stage == Stage::Connect => {
            transient(format!("cannot connect to {server}: {i}"))
        }
        Cause::Io(i) => transient(format!("the connection to {server} failed: {i}")),
        Cause::Closed(e) => transient(format!(
            "{server} closed the connection or sent an unreadable reply ({e})"
        )),
        Cause::Other(e) => transient(format!("SMTP with {server} failed: {e}")),
    }
}

/// Reads the password from its source. Errors name the source, never its value.
fn read_password(source: &PasswordSource) -> Result<String, RelayError> {
    let cfg = |m: String| RelayError::new(ErrorKind::Config, m);
    let raw = match source {
        PasswordSource::Env(name) => std::env::var(name).map_err(|_| {
            cfg(format!(
                "password_env: the environment variable {name} is not set (or not UTF-8)"
            ))
        })?,
        PasswordSource::File(p) => std::fs::read_to_string(p).map_err(|e| {
            cfg(format!(
                "password_file {}: cannot read it: {e}",
                p.display()
            ))
        })?,
        PasswordSource::Command(c) => {
            // Through the shell, like msmtp's passwordeval; stderr and the terminal stay the
            // user's, so a password manager can ask for its passphrase.
            let out = std::process::Command::new("/bin/sh")
                .arg("-c")
                .arg(c)
                .stdin(std::process::Stdio::inherit())
                .stderr(std::process::Stdio::inherit())
                .output()
                .map_err(|e| cfg(format!("password_command: cannot run /bin/sh: {e}")))?;
            if !out.status.success() {
                return Err(cfg(format!(
                    "password_command failed ({}); its output is not shown",
                    out.status
                )));
            }
            String::from_utf8(out.stdout)
                .map_err(|_| cfg("password_command: its output is not UTF-8".into()))?
        }
    };
    let pw = raw
        .strip_suffix('\n')
        .map(|s| s.strip_suffix('\r').unwrap_or(s))
        .unwrap_or(&raw);
    if pw.is_empty() {
        return Err(cfg(format!(
            "{}: the password is empty",
            source_name(source)
        )));
    }
    Ok(pw.to_owned())
}

fn source_name(s: &PasswordSource) -> &'static str {
    match s {
        PasswordSource::Command(_) => "password_command",
        PasswordSource::Env(_) => "password_env",
        PasswordSource::File(_) => "password_file",
    }
}

impl Relay for SmtpRelay {
    fn submit(&mut self, envelope: &Envelope, message: &[u8]) -> Result<Delivery, RelayError> {
        let reused = self.conn.is_some();
        let mut conn = match self.conn.take() {
            Some(c) => c,
            None => self.connect()?,
        };
        let mut result = self.transaction(&mut conn, self.pipelining, envelope, message);
        // A kept connection may have been closed by the server while idle: one fresh try,
        // safe because nothing was accepted on the broken one.
        if reused
            && let Err(e) = &result
            && e.stale
        {
            conn = self.connect()?;
            result = self.transaction(&mut conn, self.pipelining, envelope, message);
        }
        match &result {
            Err(e) if e.session_over => conn.abort(),
            _ if conn.has_broken() => {}
            _ => self.conn = Some(conn),
        }
        result
    }

    fn close(&mut self) {
        if let Some(mut c) = self.conn.take() {
            let _ = c.quit();
        }
    }
}

impl Drop for SmtpRelay {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> SmtpConfig {
        SmtpConfig {
            host: "mail.example.org".into(),
            port: 587,
            tls: TlsMode::Starttls,
            user: None,
            password: None,
            ca_file: None,
            timeout: std::time::Duration::from_secs(7),
            hello_name: None,
        }
    }

    #[test]
    fn classification() {
        let c = |cause: Cause, stage| classify_cause(&cause, stage, "mail.example.org:587", &cfg());
        let reply = |code: u16| Cause::Reply {
            code,
            reply: format!("{code} 5.7.8 nope"),
        };
        let e = c(reply(535), Stage::Auth);
        assert_eq!((e.kind(), e.exit_code()), (ErrorKind::Auth, 77));
        assert!(e.message().contains("535 5.7.8 nope"));
        assert_eq!(c(reply(535), Stage::Mail).kind(), ErrorKind::Permanent);
        assert_eq!(c(reply(550), Stage::Mail).exit_code(), 69);
        assert_eq!(c(reply(454), Stage::Auth).exit_code(), 75);
        assert!(!c(reply(451), Stage::Data).is_session_over());
        assert!(c(reply(421), Stage::Data).is_session_over());
        let e = c(Cause::Timeout, Stage::Data);
        assert_eq!(e.exit_code(), 75);
        assert!(
            e.message().contains("timed out after 7 s"),
            "{}",
            e.message()
        );
        let e = c(
            Cause::Tls("invalid peer certificate: UnknownIssuer".into()),
            Stage::Tls,
        );
        assert_eq!(e.exit_code(), 75);
        assert!(e.message().starts_with("TLS failure"));
        let e = c(
            Cause::Io("Connection refused (os error 111)".into()),
            Stage::Connect,
        );
        assert!(
            e.message()
                .contains("cannot connect to mail.example.org:587")
        );
        assert_eq!(
            c(Cause::Closed("incomplete response".into()), Stage::Data).exit_code(),
            75
        );
    }

    #[test]
    fn dot_stuffing() {
        assert_eq!(dot_stuff(b".a\r\nb\r\n.\r\n"), b"..a\r\nb\r\n..\r\n.\r\n");
        assert_eq!(dot_stuff(b"a\r\nb"), b"a\r\nb\r\n.\r\n");
        assert_eq!(dot_stuff(b"x\n.y\r\n"), b"x\n..y\r\n.\r\n");
    }

    #[test]
    fn passwords_lose_one_trailing_newline() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pw");
        std::fs::write(&f, "s3cret\n").unwrap();
        assert_eq!(read_password(&PasswordSource::File(f)).unwrap(), "s3cret");
        let c = PasswordSource::Command("printf 'a b\\r\\n'".into());
        assert_eq!(read_password(&c).unwrap(), "a b");
        let e = read_password(&PasswordSource::Command("echo s3cret; exit 3".into())).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(!e.message().contains("s3cret"));
        let e = read_password(&PasswordSource::Env("ENVOI_SURELY_UNSET_VAR".into())).unwrap_err();
        assert!(e.message().contains("ENVOI_SURELY_UNSET_VAR"));
    }
}
