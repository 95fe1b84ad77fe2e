//! Relays: handing composed submissions to the SMTP submission server, the sendmail binary or a
//! directory, and classifying what happened (transient, permanent, authentication, configuration)
//! so the caller can choose an exit code and never lose a message silently.

mod dsn;
pub mod file;
mod message;
pub mod sendmail;
pub mod smtp;

use crate::address::Addr;
use crate::envelope::Envelope;
use std::fmt;

pub use dsn::{Dsn, Notify, Ret};
pub use file::FileRelay;
pub use message::Message;
pub use sendmail::{SendmailRelay, SendmailSettings};
#[cfg(feature = "tokio")]
pub use smtp::AsyncSmtpRelay;
pub use smtp::{SmtpRelay, SmtpSettings};

/// What kind of failure: decides whether trying again later can help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Try later: a 4xx reply, a refused or dropped connection, a timeout, a TLS failure.
    Transient,
    /// Will not work as it is: a 5xx reply.
    Permanent,
    /// The server refused the credentials.
    Auth,
    /// The configuration is wrong (or a password source could not be read).
    Config,
    /// A local file could not be written.
    Io,
}

/// Why a submission failed. The message never contains a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayError {
    kind: ErrorKind,
    message: String,
    /// The exit code of a sendmail child, kept as the caller's own exit code.
    code: Option<u8>,
    /// The connection cannot be used any more: later submissions need a new one.
    session_over: bool,
    /// The first command on a kept connection failed: it was probably closed while idle.
    pub(crate) stale: bool,
    /// An SMTP transaction was left after DATA's 354 without its end of data: the connection
    /// must be closed without QUIT (which would become part of the message).
    pub(crate) abandoned: bool,
}

impl RelayError {
    /// An error of this kind; `message` says what happened and what to fix.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> RelayError {
        RelayError {
            kind,
            message: message.into(),
            code: None,
            session_over: false,
            stale: false,
            abandoned: false,
        }
    }
    pub(crate) fn with_code(mut self, code: u8) -> RelayError {
        self.code = Some(code);
        self
    }
    pub(crate) fn abandoned(mut self) -> RelayError {
        self.abandoned = true;
        self
    }
    pub(crate) fn session_over(mut self) -> RelayError {
        self.session_over = true;
        self
    }
    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    /// What happened, for a person (never a password).
    pub fn message(&self) -> &str {
        &self.message
    }
    /// True when the relay's connection broke: the next submission would start a new one.
    pub fn is_session_over(&self) -> bool {
        self.session_over
    }
    /// The sysexits code for this failure: the sendmail child's own code where there was one.
    pub fn exit_code(&self) -> u8 {
        self.code.unwrap_or(match self.kind {
            ErrorKind::Transient => 75,
            ErrorKind::Permanent => 69,
            ErrorKind::Auth => 77,
            ErrorKind::Config => 78,
            ErrorKind::Io => 74,
        })
    }
}

impl fmt::Display for RelayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RelayError {}

/// What the relay accepted. A submission is all or nothing: when the server refuses any
/// recipient, nobody gets the message (the whole submission fails), so that sending the
/// untouched draft again once it is fixed never gives the others a second copy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Recipients the relay accepted the message for.
    pub accepted: Vec<Addr>,
    /// What was sent otherwise than asked, for a person (the server offers no DSN, so the
    /// notification request was left out). The library never prints these.
    pub warnings: Vec<String>,
}

impl Delivery {
    /// Every recipient accepted.
    pub fn all(envelope: &Envelope) -> Delivery {
        Delivery {
            accepted: envelope.to.clone(),
            warnings: Vec::new(),
        }
    }
}

/// Something that takes composed messages. One value serves many submissions, so an SMTP relay
/// keeps one connection for a whole batch. Relays are `Send`: a relay can move to another thread
/// (or, for the async one, be held across `.await` in a spawned task).
pub trait Relay: Send {
    /// Submits `message` (CRLF line endings, as composed) to the envelope's recipients.
    fn submit(&mut self, envelope: &Envelope, message: &[u8]) -> Result<Delivery, RelayError>;

    /// Submits a message held in pieces ([`Submission::message`](crate::Submission::message)):
    /// the SMTP relay converts and dot-stuffs it as it writes, so a large message is never
    /// copied whole. The default joins the pieces and calls [`submit`](Relay::submit).
    fn submit_message(
        &mut self,
        envelope: &Envelope,
        message: Message<'_>,
    ) -> Result<Delivery, RelayError> {
        self.submit(envelope, &message.to_bytes())
    }

    /// Submits several messages held in pieces, one result per message, in order, as
    /// [`submit_batch`](Relay::submit_batch) does. The SMTP relay pipelines them across
    /// messages (about one round trip each). The default submits them one by one.
    fn submit_messages(
        &mut self,
        batch: &[(&Envelope, Message<'_>)],
    ) -> Vec<Result<Delivery, RelayError>> {
        batch
            .iter()
            .map(|(e, m)| self.submit_message(e, *m))
            .collect()
    }

    /// Submits several messages, returning one result per message, in order. A failed message
    /// does not stop the others (after a broken connection the next one starts a new one). The
    /// default submits them one by one.
    fn submit_batch(&mut self, batch: &[(&Envelope, &[u8])]) -> Vec<Result<Delivery, RelayError>> {
        batch.iter().map(|(e, m)| self.submit(e, m)).collect()
    }

    /// Ends the session politely (SMTP QUIT). Dropping the relay does the same.
    fn close(&mut self) {}
}

/// The addresses joined for a person: `a@x.example, b@y.example`.
pub fn join_addrs<'a>(addrs: impl IntoIterator<Item = &'a Addr>) -> String {
    addrs
        .into_iter()
        .map(Addr::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_sysexits() {
        let e = |k| RelayError::new(k, "x").exit_code();
        assert_eq!(e(ErrorKind::Transient), 75);
        assert_eq!(e(ErrorKind::Permanent), 69);
        assert_eq!(e(ErrorKind::Auth), 77);
        assert_eq!(e(ErrorKind::Config), 78);
        assert_eq!(e(ErrorKind::Io), 74);
        assert_eq!(
            RelayError::new(ErrorKind::Permanent, "x")
                .with_code(67)
                .exit_code(),
            67
        );
    }
}
