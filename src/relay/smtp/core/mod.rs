//! The SMTP session without I/O: what to write, how to read the replies, and what they mean.
//! The blocking driver (`blocking.rs`) and the async one (`tokio.rs`) only move bytes, so both
//! paths pipeline, classify and give up in exactly the same way.
//!
//! A machine (the handshake, then one transaction per message) is driven in a loop: ask
//! [`Machine::step`]; on [`Step::Write`] write all the bytes in one write; on [`Step::Read`] read
//! one reply and hand it to [`Machine::reply`]; on an I/O failure call [`Machine::failed`]; stop
//! at [`Step::Done`].

mod chain;
mod classify;
mod content;
mod handshake;
mod reply;
mod sasl;
mod transaction;

pub(crate) use chain::Chain;
pub(crate) use classify::{Cause, Stage, classify_cause};
pub(crate) use handshake::{Handshake, Session};
pub(crate) use reply::{Reply, ReplyBuffer};
pub(crate) use transaction::Transaction;

use super::settings::Password;
use crate::relay::{Delivery, RelayError};

/// What the driver must do next.
pub(crate) enum Step<T> {
    /// Write these bytes, all in one write (one TCP segment where they fit: see `content::Stuffer`).
    Write(Vec<u8>),
    /// Read one reply and pass it to [`Machine::reply`].
    Read,
    /// Upgrade the link to TLS, then call [`Machine::tls_ready`].
    StartTls,
    /// Read the password (the driver's own way: std or tokio), then call [`Machine::password`].
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
    /// The link broke, or a transaction was abandoned after 354: close it without a word.
    Drop,
}

pub(crate) fn after(result: &Result<Delivery, RelayError>, broken: bool) -> After {
    match result {
        // After a 354 anything written would become the message: close without QUIT.
        Err(e) if e.abandoned => After::Drop,
        Err(e) if e.is_session_over() => After::Abort,
        _ if broken => After::Drop,
        _ => After::Keep,
    }
}

/// The fuzz target's hook (`--cfg fuzzing` only): the replies in the bytes fed to the reader in
/// these pieces, each as its code and text (its EHLO reading taken too, which must not panic),
/// until the bytes run out or are not a reply (the error, last).
#[cfg(fuzzing)]
pub(crate) fn fuzz_replies(pieces: &[&[u8]]) -> Vec<Result<(u16, String), String>> {
    let mut buf = ReplyBuffer::default();
    let mut out = Vec::new();
    for piece in pieces {
        buf.extend(piece);
        loop {
            match buf.take() {
                Ok(Some(r)) => {
                    let _ = reply::Caps::of(&r);
                    out.push(Ok((r.code, r.text())));
                }
                Ok(None) => break,
                Err(e) => {
                    out.push(Err(format!("{e:?}")));
                    return out;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
