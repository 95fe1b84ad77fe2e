//! What a failure means: the raw cause (a reply, TLS, a timeout, the link), the stage it happened
//! at, and the classified `RelayError` (kind, session over) with its text.

use super::Reply;
use crate::relay::smtp::settings::SmtpSettings;
use crate::relay::smtp::tls::untrusted;
use crate::relay::{ErrorKind, RelayError};
use std::io;

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
    /// The server's certificate is not trusted: the reason, its fingerprint, how to pin it.
    Certificate(String),
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
        if let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
            return match untrusted(tls) {
                Some(u) => Cause::Certificate(u.to_string()),
                None => Cause::Tls(e.to_string()),
            };
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

    pub(super) fn of_reply(r: &Reply) -> Cause {
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
        Cause::Certificate(detail) => transient(format!("TLS failure with {server}: {detail}")),
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
pub(super) fn with_context(mut err: RelayError, what: &str) -> RelayError {
    if matches!(err.kind(), ErrorKind::Permanent | ErrorKind::Transient)
        && let Some(rest) = err.message().strip_prefix("server ")
    {
        err.message = format!("refused {what}: {rest}");
    }
    err
}
