//! The SMTP session without I/O: what to write, how to read the replies, and what they mean.
//! The blocking driver (`blocking.rs`) and the async one (`tokio.rs`) only move bytes, so both
//! paths pipeline, classify and give up in exactly the same way.
//!
//! A machine (the handshake, then one transaction per message) is driven in a loop: ask
//! [`Machine::step`]; on [`Step::Write`] write all the bytes in one write; on [`Step::Read`] read
//! one reply and hand it to [`Machine::reply`]; on an I/O failure call [`Machine::failed`]; stop
//! at [`Step::Done`].

use super::settings::{Password, SmtpSettings, TlsMode};
use crate::envelope::Envelope;
use crate::relay::{Delivery, ErrorKind, RelayError};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use lettre::transport::smtp::authentication::{Credentials as LettreCredentials, Mechanism};
use lettre::transport::smtp::extension::{Extension, ServerInfo};
use lettre::transport::smtp::response::Response;
use std::io;
use std::str::FromStr;

/// What the driver must do next.
pub(crate) enum Step<T> {
    /// Write these bytes, all in one write (one TCP segment where they fit: see `dot_stuff`).
    Write(Vec<u8>),
    /// Read one reply and pass it to [`Machine::reply`].
    Read,
    /// Upgrade the link to TLS, then call [`Handshake::tls_ready`].
    StartTls,
    /// Read the password (the driver's own way: std or tokio), then call [`Handshake::password`].
    Password,
    /// Finished.
    Done(T),
}

/// A part of the session driven by the loop described in the module docs.
pub(crate) trait Machine {
    type Output;
    fn step(&mut self) -> Step<Self::Output>;
    fn reply(&mut self, reply: Reply);
    /// The link failed (or a reply could not be read) while doing the last step.
    fn failed(&mut self, cause: Cause);
    /// The link is now TLS (after [`Step::StartTls`]).
    fn tls_ready(&mut self) {}
    /// The password (after [`Step::Password`]), or why it could not be read.
    fn password(&mut self, _pw: Result<Password, RelayError>) {}
}

/// One complete reply: its code and its lines' texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    pub(crate) code: u16,
    pub(crate) response: Response,
}

impl Reply {
    fn negative(&self) -> bool {
        self.code >= 400
    }
    /// The reply as the server sent it, on one line: `550 5.1.1 <x@example.org>: User unknown`.
    pub(crate) fn text(&self) -> String {
        let lines: Vec<&str> = self.response.message().collect();
        format!("{} {}", self.code, lines.join(" "))
            .trim()
            .to_owned()
    }
}

/// The longest reply envoi accepts: far more than any EHLO list, far less than a flood.
const MAX_REPLY: usize = 64 * 1024;

/// Bytes read so far, cut into replies as soon as one is complete. Bytes after a reply stay for
/// the next one: with pipelining several replies arrive in one read.
#[derive(Debug, Default)]
pub(crate) struct ReplyBuffer {
    buf: Vec<u8>,
}

impl ReplyBuffer {
    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub(crate) fn extend(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The first complete reply, if one has arrived; an error when the bytes are not a reply.
    pub(crate) fn take(&mut self) -> Result<Option<Reply>, Cause> {
        let mut start = 0;
        while let Some(nl) = memchr::memchr(b'\n', &self.buf[start..]) {
            let line = &self.buf[start..start + nl + 1];
            start += nl + 1;
            // The last line of a reply has a space (or nothing) after the code; others a dash.
            if line.get(3) != Some(&b'-') {
                return self.parse(start).map(Some);
            }
        }
        if self.buf.len() > MAX_REPLY {
            return Err(Cause::Closed(format!(
                "a reply longer than {MAX_REPLY} bytes"
            )));
        }
        Ok(None)
    }

    fn parse(&mut self, end: usize) -> Result<Reply, Cause> {
        let raw: Vec<u8> = self.buf.drain(..end).collect();
        let unreadable = || Cause::Closed(format!("unreadable reply {:?}", lossy(&raw)));
        // lettre's parser wants CRLF line ends (a bare LF from a sloppy server is still one) and
        // a space after a final code, which RFC 5321 makes optional (`250` alone is a reply).
        let mut text = String::new();
        for line in String::from_utf8_lossy(&raw).lines() {
            text.push_str(line);
            if line.len() == 3 {
                text.push(' ');
            }
            text.push_str("\r\n");
        }
        let response = Response::from_str(&text).map_err(|_| unreadable())?;
        let code = text
            .get(..3)
            .and_then(|c| c.parse().ok())
            .ok_or_else(unreadable)?;
        Ok(Reply { code, response })
    }
}

fn lossy(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    let s = s.trim_end();
    s.chars().take(200).collect()
}

/// What the server offers, from its EHLO reply. lettre's `ServerInfo` knows no PIPELINING, so
/// envoi reads that keyword itself.
#[derive(Debug, Clone)]
pub(crate) struct Caps {
    info: ServerInfo,
    pub(crate) pipelining: bool,
}

impl Caps {
    fn of(reply: &Reply) -> Result<Caps, Cause> {
        let info = ServerInfo::from_response(&reply.response)
            .map_err(|e| Cause::Closed(format!("unreadable EHLO reply: {e}")))?;
        let pipelining = reply.response.message().any(|l| {
            l.split_whitespace()
                .next()
                .is_some_and(|w| w.eq_ignore_ascii_case("PIPELINING"))
        });
        Ok(Caps { info, pipelining })
    }
    fn has(&self, e: Extension) -> bool {
        self.info.supports_feature(e)
    }
}

/// Where in the session an error happened: the same reply means different things.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    Connect,
    Tls,
    Auth,
    Mail,
    Data,
}

/// What went wrong on the link or in a reply, before it is classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cause {
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
}

impl Cause {
    /// A socket or TLS error as the drivers see it. rustls reports a certificate failure as an
    /// `io::Error` wrapping a `rustls::Error`; a timeout is WouldBlock (std) or TimedOut.
    pub(crate) fn of_io(e: &io::Error) -> Cause {
        if e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) {
            return Cause::Tls(e.to_string());
        }
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Cause::Timeout,
            io::ErrorKind::UnexpectedEof => Cause::Closed("the connection was closed".into()),
            _ => Cause::Io(e.to_string()),
        }
    }

    /// The link ended before a whole reply arrived.
    pub(crate) fn eof() -> Cause {
        Cause::Closed("the connection was closed before a complete reply".into())
    }

    fn of_reply(r: &Reply) -> Cause {
        Cause::Reply {
            code: r.code,
            reply: r.text(),
        }
    }
}

/// What a failure means for the message and the session: 5xx is permanent (535 and friends
/// during AUTH: an authentication failure), everything else is worth trying again later.
pub(crate) fn classify_cause(
    cause: &Cause,
    stage: Stage,
    server: &str,
    cfg: &SmtpSettings,
) -> RelayError {
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
            let hint = if cfg.ca_file().is_some() {
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
                cfg.timeout().as_secs()
            ))
        }
        Cause::Io(i) if stage == Stage::Connect => {
            transient(format!("cannot connect to {server}: {i}"))
        }
        Cause::Io(i) => transient(format!("the connection to {server} failed: {i}")),
        Cause::Closed(e) => transient(format!(
            "{server} closed the connection or sent an unreadable reply ({e})"
        )),
    }
}

/// Names what the server refused, in front of its reply.
fn with_context(mut err: RelayError, what: &str) -> RelayError {
    if matches!(err.kind(), ErrorKind::Permanent | ErrorKind::Transient)
        && let Some(rest) = err.message().strip_prefix("server ")
    {
        err.message = format!("refused {what}: {rest}");
    }
    err
}

/// RFC 5321 §4.5.2 transparency: a line that starts with `.` gets another; then the end of
/// data. Lines start after LF, so a stray LF-only line is stuffed too. The result goes out in
/// ONE write with the final dot: a separate small write of `.\r\n` would wait for the server's
/// delayed ACK under Nagle's algorithm (about 40 ms per message on Linux).
pub(crate) fn dot_stuff(message: &[u8]) -> Vec<u8> {
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

// ---- the handshake: greeting, EHLO, STARTTLS, AUTH ----

/// An open session: what the server offers after the handshake.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) caps: Caps,
}

#[derive(Debug)]
enum Hs {
    Greeting,
    Ehlo { sent: bool },
    StartTls { sent: bool },
    Upgrading,
    Password,
    Auth(AuthStep),
    Done(Result<Session, RelayError>),
    Taken,
}

enum AuthStep {
    /// AUTH PLAIN with its initial response, or AUTH LOGIN.
    Start,
    /// Waiting for a challenge (334) or the final reply.
    Wait,
    /// The answer to the last challenge, base64-encoded.
    Respond(String),
}

impl std::fmt::Debug for AuthStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A response carries the password.
        f.write_str(match self {
            AuthStep::Start => "Start",
            AuthStep::Wait => "Wait",
            AuthStep::Respond(_) => "Respond",
        })
    }
}

/// Greeting, EHLO, STARTTLS (then EHLO again), AUTH. The driver has connected (and, for
/// implicit TLS, shaken hands) before the first step.
pub(crate) struct Handshake<'a> {
    cfg: &'a SmtpSettings,
    server: String,
    state: Hs,
    encrypted: bool,
    caps: Option<Caps>,
    mechanism: Option<Mechanism>,
    password: Option<Password>,
}

impl<'a> Handshake<'a> {
    pub(crate) fn new(cfg: &'a SmtpSettings) -> Handshake<'a> {
        Handshake {
            cfg,
            server: cfg.server(),
            state: Hs::Greeting,
            encrypted: cfg.tls() == TlsMode::Implicit,
            caps: None,
            mechanism: None,
            password: None,
        }
    }

    /// Where a failure at this point belongs: under implicit TLS, everything before AUTH is
    /// still setting up the protected link.
    fn stage(&self) -> Stage {
        match self.state {
            Hs::Password | Hs::Auth(_) => Stage::Auth,
            Hs::StartTls { .. } | Hs::Upgrading => Stage::Tls,
            _ if self.encrypted => Stage::Tls,
            _ => Stage::Connect,
        }
    }

    fn fail(&mut self, err: RelayError) {
        self.state = Hs::Done(Err(err));
    }

    fn fail_cause(&mut self, cause: &Cause) {
        let stage = self.stage();
        let mut err = classify_cause(cause, stage, &self.server, self.cfg);
        if stage == Stage::Auth {
            let user = self.cfg.credentials().map_or("", |c| c.user());
            if err.kind() == ErrorKind::Auth {
                err.message = format!("authentication as {user} failed: {}", err.message());
            }
            err = err.session_over();
        }
        self.fail(err);
    }

    /// The link is now TLS: say EHLO again (RFC 3207 §4.2: the old list is void).
    fn on_tls(&mut self) {
        self.encrypted = true;
        self.state = Hs::Ehlo { sent: false };
    }

    /// The password the driver read (or why it could not).
    fn on_password(&mut self, pw: Result<Password, RelayError>) {
        match pw {
            Ok(p) => {
                self.password = Some(p);
                self.state = Hs::Auth(AuthStep::Start);
            }
            Err(e) => self.fail(e),
        }
    }

    /// After EHLO: upgrade, log in, or finish.
    fn after_ehlo(&mut self) {
        let caps = self.caps.as_ref().expect("EHLO was read");
        if self.cfg.tls() == TlsMode::Starttls && !self.encrypted {
            if !caps.has(Extension::StartTls) {
                let server = &self.server;
                return self.fail(
                    RelayError::new(
                        ErrorKind::Transient,
                        format!(
                            "TLS failure with {server}: the server does not offer STARTTLS, and envoi will not continue unencrypted"
                        ),
                    )
                    .session_over(),
                );
            }
            self.state = Hs::StartTls { sent: false };
            return;
        }
        let Some(creds) = self.cfg.credentials() else {
            return self.finish();
        };
        let (user, server) = (creds.user(), &self.server);
        if !self.encrypted {
            return self.fail(RelayError::new(
                ErrorKind::Config,
                format!(
                    "refusing to send the password for {user} to {server} over an unencrypted connection"
                ),
            ));
        }
        let mechanism = [Mechanism::Plain, Mechanism::Login]
            .into_iter()
            .find(|m| caps.has(Extension::Authentication(*m)));
        if mechanism.is_none() {
            return self.fail(
                RelayError::new(
                    ErrorKind::Auth,
                    format!(
                        "{server} offers neither AUTH PLAIN nor AUTH LOGIN, so user {user} cannot log in"
                    ),
                )
                .session_over(),
            );
        }
        self.mechanism = mechanism;
        self.state = Hs::Password;
    }

    fn finish(&mut self) {
        self.password = None;
        let caps = self.caps.clone().expect("EHLO was read");
        self.state = Hs::Done(Ok(Session { caps }));
    }

    fn lettre_credentials(&self) -> LettreCredentials {
        let user = self.cfg.credentials().map_or("", |c| c.user());
        let pw = self.password.as_ref().map_or("", |p| p.expose());
        LettreCredentials::new(user.to_owned(), pw.to_owned())
    }

    /// The response to one AUTH challenge (None: the initial response), base64-encoded.
    fn auth_response(&self, challenge: Option<&str>) -> Result<String, RelayError> {
        let m = self.mechanism.expect("a mechanism was chosen");
        m.response(&self.lettre_credentials(), challenge)
            .map(|r| BASE64.encode(r))
            .map_err(|e| {
                RelayError::new(
                    ErrorKind::Auth,
                    format!("AUTH {m} with {} failed: {e}", self.server),
                )
                .session_over()
            })
    }
}

impl Machine for Handshake<'_> {
    type Output = Result<Session, RelayError>;

    fn step(&mut self) -> Step<Self::Output> {
        match &mut self.state {
            Hs::Greeting => Step::Read,
            Hs::Ehlo { sent } | Hs::StartTls { sent } if *sent => Step::Read,
            Hs::Ehlo { sent } => {
                *sent = true;
                Step::Write(format!("EHLO {}\r\n", self.cfg.ehlo_name()).into_bytes())
            }
            Hs::StartTls { sent } => {
                *sent = true;
                Step::Write(b"STARTTLS\r\n".to_vec())
            }
            Hs::Upgrading => Step::StartTls,
            Hs::Password => Step::Password,
            Hs::Auth(AuthStep::Wait) => Step::Read,
            Hs::Auth(AuthStep::Respond(r)) => {
                let line = format!("{r}\r\n").into_bytes();
                self.state = Hs::Auth(AuthStep::Wait);
                Step::Write(line)
            }
            Hs::Auth(AuthStep::Start) => {
                self.state = Hs::Auth(AuthStep::Wait);
                let m = self.mechanism.expect("a mechanism was chosen");
                if m.supports_initial_response() {
                    match self.auth_response(None) {
                        Ok(r) => Step::Write(format!("AUTH {m} {r}\r\n").into_bytes()),
                        Err(e) => {
                            self.fail(e);
                            self.step()
                        }
                    }
                } else {
                    Step::Write(format!("AUTH {m}\r\n").into_bytes())
                }
            }
            Hs::Done(_) => match std::mem::replace(&mut self.state, Hs::Taken) {
                Hs::Done(r) => Step::Done(r),
                _ => unreachable!(),
            },
            Hs::Taken => panic!("the handshake is over"),
        }
    }

    fn reply(&mut self, reply: Reply) {
        if reply.negative() {
            return self.fail_cause(&Cause::of_reply(&reply));
        }
        match self.state {
            Hs::Greeting => self.state = Hs::Ehlo { sent: false },
            Hs::Ehlo { .. } => match Caps::of(&reply) {
                Ok(c) => {
                    self.caps = Some(c);
                    self.after_ehlo();
                }
                Err(c) => self.fail_cause(&c),
            },
            Hs::StartTls { .. } => self.state = Hs::Upgrading,
            Hs::Auth(_) if reply.code == 334 => {
                let challenge = reply.response.message().next().unwrap_or("");
                let decoded = BASE64
                    .decode(challenge.trim())
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .unwrap_or_default();
                match self.auth_response(Some(&decoded)) {
                    Ok(r) => self.state = Hs::Auth(AuthStep::Respond(r)),
                    Err(e) => self.fail(e),
                }
            }
            Hs::Auth(_) => self.finish(),
            _ => {}
        }
    }

    fn failed(&mut self, cause: Cause) {
        self.fail_cause(&cause);
    }

    fn tls_ready(&mut self) {
        self.on_tls();
    }

    fn password(&mut self, pw: Result<Password, RelayError>) {
        self.on_password(pw);
    }
}

// ---- one message: MAIL, RCPT..., DATA, content ----

#[derive(Debug)]
enum Tx {
    /// MAIL (with every RCPT when pipelining) not written yet.
    Start,
    MailReply,
    /// Recipient `i`: its RCPT is written (unless pipelined already), then its reply read.
    Rcpt {
        i: usize,
        sent: bool,
    },
    Data {
        sent: bool,
    },
    Content {
        sent: bool,
    },
    /// RSET after a refusal, then the refusal is the result.
    Rset {
        sent: bool,
        err: RelayError,
    },
    Done(Result<Delivery, RelayError>),
    Taken,
}

/// One MAIL/RCPT/DATA transaction on an open session. All or nothing: a refused recipient
/// stops the message before DATA, and every RCPT is still tried so the error names them all.
pub(crate) struct Transaction<'a> {
    cfg: &'a SmtpSettings,
    server: String,
    envelope: &'a Envelope,
    message: &'a [u8],
    /// RFC 2920: MAIL and every RCPT in one write, their replies read afterwards.
    pipelining: bool,
    eight_bit: bool,
    state: Tx,
    mail_error: Option<RelayError>,
    refused: Vec<(String, ErrorKind)>,
}

impl<'a> Transaction<'a> {
    pub(crate) fn new(
        cfg: &'a SmtpSettings,
        session: &Session,
        envelope: &'a Envelope,
        message: &'a [u8],
    ) -> Transaction<'a> {
        let caps = &session.caps;
        let mut tx = Transaction {
            cfg,
            server: cfg.server(),
            envelope,
            message,
            pipelining: caps.pipelining,
            // Servers without 8BITMIME still take 8-bit data in practice: no refusal for that.
            eight_bit: !message.is_ascii() && caps.has(Extension::EightBitMime),
            state: Tx::Start,
            mail_error: None,
            refused: Vec::new(),
        };
        if envelope.smtputf8 && !caps.has(Extension::SmtpUtfEight) {
            let who = std::iter::once(&envelope.from)
                .chain(&envelope.to)
                .find(|a| a.needs_smtputf8())
                .map_or_else(String::new, |a| format!(" (for {a})"));
            tx.state = Tx::Done(Err(RelayError::new(
                ErrorKind::Permanent,
                format!(
                    "{} does not support SMTPUTF8, which this envelope needs{who}; it cannot take a non-ASCII local part",
                    tx.server
                ),
            )));
        }
        tx
    }

    fn mail_line(&self) -> String {
        let mut mail = format!("MAIL FROM:<{}>", self.envelope.from);
        if self.envelope.smtputf8 {
            mail.push_str(" SMTPUTF8");
        }
        if self.eight_bit {
            mail.push_str(" BODY=8BITMIME");
        }
        mail.push_str("\r\n");
        mail
    }

    fn rcpt_line(&self, i: usize) -> String {
        format!("RCPT TO:<{}>\r\n", self.envelope.to[i])
    }

    fn sender(&self) -> String {
        format!("the sender <{}>", self.envelope.from)
    }

    fn classify(&self, cause: &Cause, stage: Stage) -> RelayError {
        classify_cause(cause, stage, &self.server, self.cfg)
    }

    /// After the last recipient's reply: RSET and the refusal, or DATA.
    fn after_rcpts(&mut self) {
        if let Some(err) = self.mail_error.take() {
            self.state = Tx::Rset { sent: false, err };
            return;
        }
        if self.refused.is_empty() {
            self.state = Tx::Data { sent: false };
            return;
        }
        // Permanent wins: trying the same envelope later would fail again.
        let kind = if self.refused.iter().any(|r| r.1 == ErrorKind::Permanent) {
            ErrorKind::Permanent
        } else {
            ErrorKind::Transient
        };
        let list: Vec<&str> = self.refused.iter().map(|r| r.0.as_str()).collect();
        let err = RelayError::new(
            kind,
            format!(
                "{} refused recipient{} {}; the message went to nobody",
                self.server,
                if list.len() == 1 { "" } else { "s" },
                list.join(", ")
            ),
        );
        self.state = Tx::Rset { sent: false, err };
    }

    fn next_rcpt(&mut self, i: usize) {
        if i + 1 < self.envelope.to.len() {
            self.state = Tx::Rcpt {
                i: i + 1,
                sent: self.pipelining,
            };
        } else {
            self.after_rcpts();
        }
    }

    /// A failure at the first command: on a kept connection the server may have closed it while
    /// idle, so it is marked stale (worth one fresh try) unless it was a timeout, which would
    /// only repeat on a fresh connection.
    fn mail_failed(&mut self, cause: &Cause) {
        let mut err = self.classify(cause, Stage::Mail);
        let sender = self.sender();
        if err.is_session_over() {
            err.stale = *cause != Cause::Timeout;
            self.state = Tx::Done(Err(with_context(err, &sender)));
        } else if self.pipelining && !self.envelope.to.is_empty() {
            // The RCPT replies are on their way: read them, then RSET.
            self.mail_error = Some(with_context(err, &sender));
            self.state = Tx::Rcpt { i: 0, sent: true };
        } else {
            let err = with_context(err, &sender);
            self.state = Tx::Rset { sent: false, err };
        }
    }
}

impl Machine for Transaction<'_> {
    type Output = Result<Delivery, RelayError>;

    fn step(&mut self) -> Step<Self::Output> {
        match &mut self.state {
            Tx::Start => {
                let mut batch = self.mail_line();
                if self.pipelining {
                    (0..self.envelope.to.len()).for_each(|i| batch.push_str(&self.rcpt_line(i)));
                }
                self.state = Tx::MailReply;
                Step::Write(batch.into_bytes())
            }
            Tx::Rcpt { i, sent: false } => {
                let i = *i;
                self.state = Tx::Rcpt { i, sent: true };
                Step::Write(self.rcpt_line(i).into_bytes())
            }
            Tx::Data { sent: false } => {
                self.state = Tx::Data { sent: true };
                Step::Write(b"DATA\r\n".to_vec())
            }
            Tx::Content { sent: false } => {
                self.state = Tx::Content { sent: true };
                Step::Write(dot_stuff(self.message))
            }
            Tx::Rset { sent, .. } if !*sent => {
                *sent = true;
                Step::Write(b"RSET\r\n".to_vec())
            }
            Tx::MailReply | Tx::Rcpt { .. } | Tx::Data { .. } | Tx::Content { .. } => Step::Read,
            Tx::Rset { .. } => Step::Read,
            Tx::Done(_) | Tx::Taken => match std::mem::replace(&mut self.state, Tx::Taken) {
                Tx::Done(r) => Step::Done(r),
                _ => panic!("the transaction is over"),
            },
        }
    }

    fn reply(&mut self, reply: Reply) {
        let cause = reply.negative().then(|| Cause::of_reply(&reply));
        match std::mem::replace(&mut self.state, Tx::Taken) {
            Tx::MailReply => match cause {
                Some(c) => self.mail_failed(&c),
                None if self.envelope.to.is_empty() => self.after_rcpts(),
                None => {
                    self.state = Tx::Rcpt {
                        i: 0,
                        sent: self.pipelining,
                    }
                }
            },
            Tx::Rcpt { i, .. } => {
                if let Some(c) = cause {
                    let err = self.classify(&c, Stage::Mail);
                    if err.is_session_over() {
                        self.state = Tx::Done(Err(err));
                        return;
                    }
                    let rcpt = &self.envelope.to[i];
                    self.refused
                        .push((format!("{rcpt} ({})", reply.text()), err.kind()));
                }
                self.next_rcpt(i);
            }
            Tx::Data { .. } => match cause {
                Some(c) => {
                    let err = with_context(self.classify(&c, Stage::Data), "DATA");
                    self.state = if err.is_session_over() {
                        Tx::Done(Err(err))
                    } else {
                        Tx::Rset { sent: false, err }
                    };
                }
                None => self.state = Tx::Content { sent: false },
            },
            Tx::Content { .. } => {
                self.state = Tx::Done(match cause {
                    Some(c) => Err(with_context(self.classify(&c, Stage::Data), "the message")),
                    None => Ok(Delivery::all(self.envelope)),
                })
            }
            // Whatever RSET gets, the refusal stands.
            Tx::Rset { err, .. } => self.state = Tx::Done(Err(err)),
            other => self.state = other,
        }
    }

    fn failed(&mut self, cause: Cause) {
        match std::mem::replace(&mut self.state, Tx::Taken) {
            Tx::MailReply | Tx::Start => self.mail_failed(&cause),
            Tx::Rcpt { .. } => self.state = Tx::Done(Err(self.classify(&cause, Stage::Mail))),
            Tx::Data { .. } => {
                let err = with_context(self.classify(&cause, Stage::Data), "DATA");
                self.state = Tx::Done(Err(err));
            }
            Tx::Content { .. } => {
                let err = with_context(self.classify(&cause, Stage::Data), "the message");
                self.state = Tx::Done(Err(err));
            }
            // The link broke during RSET: the refusal is still the answer (the driver drops
            // the broken connection).
            Tx::Rset { err, .. } => self.state = Tx::Done(Err(err)),
            other => self.state = other,
        }
    }
}

// ---- what both drivers decide between messages ----

/// A transaction on a kept connection failed at its first command: the server probably closed
/// the connection while idle. One fresh try is safe, because nothing was accepted on it.
pub(crate) fn worth_retry(reused: bool, result: &Result<Delivery, RelayError>) -> bool {
    reused && result.as_ref().is_err_and(|e| e.stale)
}

/// What to do with the connection after a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum After {
    /// Keep it for the next message.
    Keep,
    /// The session is over: QUIT without waiting, then close.
    Abort,
    /// The link broke: just drop it.
    Drop,
}

pub(crate) fn after(result: &Result<Delivery, RelayError>, broken: bool) -> After {
    match result {
        Err(e) if e.is_session_over() => After::Abort,
        _ if broken => After::Drop,
        _ => After::Keep,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::Addr;
    use crate::relay::smtp::settings::Credentials;

    fn reply(text: &str) -> Reply {
        let mut b = ReplyBuffer::default();
        b.extend(text.as_bytes());
        b.take().unwrap().unwrap()
    }

    /// Drives `m` with scripted replies (one per Read); returns the output and every write.
    fn run<M: Machine>(m: &mut M, replies: &[&str]) -> (M::Output, Vec<String>) {
        let mut replies = replies.iter();
        let mut writes = Vec::new();
        loop {
            match m.step() {
                Step::Write(b) => writes.push(String::from_utf8(b).unwrap()),
                Step::Read => match replies.next() {
                    Some(r) => m.reply(reply(r)),
                    None => m.failed(Cause::eof()),
                },
                Step::StartTls => m.tls_ready(),
                Step::Password => m.password(Ok(Password::new("pw"))),
                Step::Done(out) => return (out, writes),
            }
        }
    }

    fn settings() -> SmtpSettings {
        SmtpSettings::builder("mail.example.org")
            .hello_name("me.example")
            .credentials(Credentials::with_password("alice", "pw"))
            .build()
            .unwrap()
    }

    fn session(extensions: &str) -> Session {
        let mut text = "250-mail.example.org\r\n".to_owned();
        for e in extensions.split(',').filter(|e| !e.is_empty()) {
            text.push_str(&format!("250-{e}\r\n"));
        }
        text.push_str("250 HELP\r\n");
        Session {
            caps: Caps::of(&reply(&text)).unwrap(),
        }
    }

    fn envelope(to: &[&str]) -> Envelope {
        let to: Vec<Addr> = to.iter().map(|a| Addr::parse(a).unwrap()).collect();
        Envelope::new(Addr::parse("a@x.example").unwrap(), to)
    }

    #[test]
    fn replies_are_cut_where_they_end() {
        let mut b = ReplyBuffer::default();
        b.extend(b"250-first\r\n250 last\r\n354 go");
        let r = b.take().unwrap().unwrap();
        assert_eq!((r.code, r.text()), (250, "250 first last".to_owned()));
        assert!(b.take().unwrap().is_none(), "354 is not complete yet");
        b.extend(b" ahead\r\n");
        assert_eq!(b.take().unwrap().unwrap().code, 354);
        assert!(b.is_empty());
        b.extend(b"250\n221-bye\r\n221\r\n");
        assert_eq!(b.take().unwrap().unwrap().text(), "250");
        assert_eq!(b.take().unwrap().unwrap().text(), "221 bye");
        b.extend(b"hello there\r\n");
        assert!(matches!(b.take(), Err(Cause::Closed(_))));
    }

    #[test]
    fn pipelined_refusal_sends_no_data_and_resets() {
        let cfg = settings();
        let env = envelope(&["b@y.example", "c@y.example"]);
        let mut tx = Transaction::new(&cfg, &session("PIPELINING"), &env, b"Hi\r\n");
        let replies = [
            "250 ok\r\n",
            "250 ok\r\n",
            "550 5.1.1 no such user\r\n",
            "250 reset\r\n",
        ];
        let (out, writes) = run(&mut tx, &replies);
        assert_eq!(
            writes,
            [
                "MAIL FROM:<a@x.example>\r\nRCPT TO:<b@y.example>\r\nRCPT TO:<c@y.example>\r\n",
                "RSET\r\n"
            ],
            "MAIL and every RCPT in one write"
        );
        let e = out.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Permanent);
        assert!(!e.is_session_over());
        assert!(
            e.message()
                .contains("refused recipient c@y.example (550 5.1.1 no such user)"),
            "{}",
            e.message()
        );
    }

    #[test]
    fn one_write_per_command_without_pipelining_and_one_for_the_content() {
        let cfg = settings();
        let env = envelope(&["b@y.example"]);
        let mut tx = Transaction::new(
            &cfg,
            &session("8BITMIME"),
            &env,
            ".hi\r\nh\u{e9}\r\n".as_bytes(),
        );
        let replies = ["250 ok\r\n", "250 ok\r\n", "354 go\r\n", "250 queued\r\n"];
        let (out, writes) = run(&mut tx, &replies);
        assert_eq!(out.unwrap().accepted, env.to);
        assert_eq!(
            writes,
            [
                "MAIL FROM:<a@x.example> BODY=8BITMIME\r\n",
                "RCPT TO:<b@y.example>\r\n",
                "DATA\r\n",
                "..hi\r\nh\u{e9}\r\n.\r\n"
            ]
        );
    }

    #[test]
    fn a_kept_connection_that_died_is_stale_unless_it_timed_out() {
        let cfg = settings();
        let env = envelope(&["b@y.example"]);
        let s = session("PIPELINING");
        let mut tx = Transaction::new(&cfg, &s, &env, b"x\r\n");
        let (out, _) = run(&mut tx, &[]);
        let e = out.unwrap_err();
        assert!(e.stale && e.is_session_over(), "{e:?}");
        assert!(worth_retry(true, &Err(e.clone())) && !worth_retry(false, &Err(e)));
        let mut tx = Transaction::new(&cfg, &s, &env, b"x\r\n");
        assert!(matches!(tx.step(), Step::Write(_)));
        tx.failed(Cause::Timeout);
        let Step::Done(Err(e)) = tx.step() else {
            panic!()
        };
        assert!(!e.stale && e.message().contains("timed out"), "{e:?}");
        assert_eq!(after(&Err(e), true), After::Abort);
    }

    #[test]
    fn data_refused_then_reset_and_421_ends_the_session() {
        let cfg = settings();
        let env = envelope(&["b@y.example"]);
        let s = session("PIPELINING");
        let mut tx = Transaction::new(&cfg, &s, &env, b"x\r\n");
        let (out, writes) = run(
            &mut tx,
            &["250 ok\r\n", "250 ok\r\n", "451 later\r\n", "250 ok\r\n"],
        );
        let e = out.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Transient);
        assert!(e.message().starts_with("refused DATA:"), "{}", e.message());
        assert_eq!(writes.last().unwrap(), "RSET\r\n");
        let mut tx = Transaction::new(&cfg, &s, &env, b"x\r\n");
        let replies = [
            "250 ok\r\n",
            "250 ok\r\n",
            "354 go\r\n",
            "421 4.3.2 bye\r\n",
        ];
        let (out, writes) = run(&mut tx, &replies);
        let e = out.unwrap_err();
        assert!(e.is_session_over() && !e.stale, "{e:?}");
        assert!(
            e.message().contains("refused the message: "),
            "{}",
            e.message()
        );
        assert_eq!(writes.len(), 3, "no RSET after the final dot");
    }

    #[test]
    fn starttls_then_auth_plain() {
        let cfg = settings();
        let ehlo =
            "250-mail.example.org\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 AUTH LOGIN PLAIN\r\n";
        let replies = ["220 hi\r\n", ehlo, "220 go ahead\r\n", ehlo, "235 ok\r\n"];
        let (out, writes) = run(&mut Handshake::new(&cfg), &replies);
        assert!(out.unwrap().caps.pipelining);
        let plain = BASE64.encode("\0alice\0pw");
        assert_eq!(
            writes,
            [
                "EHLO me.example\r\n".to_owned(),
                "STARTTLS\r\n".to_owned(),
                "EHLO me.example\r\n".to_owned(),
                format!("AUTH PLAIN {plain}\r\n")
            ]
        );
    }

    #[test]
    fn auth_login_answers_each_challenge() {
        let cfg = SmtpSettings::builder("mail.example.org")
            .tls(TlsMode::Implicit)
            .hello_name("me.example")
            .credentials(Credentials::with_password("alice", "pw"))
            .build()
            .unwrap();
        let user = format!("334 {}\r\n", BASE64.encode("Username:"));
        let pass = format!("334 {}\r\n", BASE64.encode("Password:"));
        let replies = [
            "220 hi\r\n",
            "250-x\r\n250 AUTH LOGIN\r\n",
            &user,
            &pass,
            "535 5.7.8 no\r\n",
        ];
        let (out, writes) = run(&mut Handshake::new(&cfg), &replies);
        assert_eq!(writes[1..], ["AUTH LOGIN\r\n", "YWxpY2U=\r\n", "cHc=\r\n"]);
        let e = out.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Auth);
        assert!(
            e.message().starts_with("authentication as alice failed: "),
            "{}",
            e.message()
        );
    }

    #[test]
    fn no_starttls_offered_is_a_tls_failure() {
        let cfg = settings();
        let replies = ["220 hi\r\n", "250-x\r\n250 AUTH PLAIN\r\n"];
        let (out, writes) = run(&mut Handshake::new(&cfg), &replies);
        let e = out.unwrap_err();
        assert!(
            e.message().contains("does not offer STARTTLS"),
            "{}",
            e.message()
        );
        assert_eq!(writes, ["EHLO me.example\r\n"], "no password was sent");
    }
}
