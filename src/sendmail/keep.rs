//! Where a message that was not accepted goes, so that it is never lost: the outbox for a
//! temporary failure, OUTBOX/failed/ for any other, `dead.letter` when no outbox can take it.

use super::Prepared;
use super::aliases::login_user;
use crate::clock::{Clock, Now, SystemClock};
use crate::store::{MessageDir, WriteError, append_mbox};
use chrono::{FixedOffset, TimeZone};
use std::fmt;
use std::path::{Path, PathBuf};

/// A message that was not accepted, and how far it got.
#[derive(Debug, Clone, Copy)]
pub struct Unsent<'a> {
    /// The message as it was read, before any change.
    pub input: &'a [u8],
    /// The submission, when the message got as far as one.
    pub prepared: Option<&'a Prepared>,
    /// The failure was temporary (trying again later may work): the relay said so.
    pub temporary: bool,
    /// The envelope sender as the caller gave it, for the mbox record when there is no
    /// envelope.
    pub sender: Option<&'a str>,
    /// Why it was not accepted: kept with the message (its last error in the outbox, the
    /// reason in `failed/`).
    pub error: Option<&'a str>,
}

/// Where a message was kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kept {
    /// Queued in the outbox: the composed message and its envelope, to be sent again as they
    /// are. The path is the NAME.eml file.
    Queued(PathBuf),
    /// Kept as it was read (Bcc and all, ready to be fixed and submitted again) in the
    /// outbox's `failed/` directory, with its envelope where one was worked out: out of the
    /// queue, never sent again by itself, because the failure needs a person.
    Failed(PathBuf),
    /// Appended, as read, to this mbox file (`dead.letter`): no outbox could take it.
    DeadLetter(PathBuf),
}

impl Kept {
    /// The file that holds the message.
    pub fn path(&self) -> &Path {
        match self {
            Kept::Queued(p) | Kept::Failed(p) | Kept::DeadLetter(p) => p,
        }
    }
}

/// The message could not be kept anywhere: the caller must not drop it (say so, exit with an
/// error, leave it to whoever handed it over).
#[derive(Debug)]
pub struct NotKept {
    /// Why the outbox could not take it (None when there was no outbox to try).
    pub outbox: Option<WriteError>,
    /// Why the mbox file could not take it (None when there was no mbox file to try).
    pub dead_letter: Option<WriteError>,
}

impl fmt::Display for NotKept {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(e) = &self.outbox {
            write!(f, "{e}; ")?;
        }
        match &self.dead_letter {
            Some(e) => write!(f, "{e}"),
            None => f.write_str("there is no dead.letter file to append to (HOME is not set)"),
        }
    }
}

impl std::error::Error for NotKept {}

/// `$HOME/dead.letter`, where sendmail and mailx keep what they could not send; None when HOME
/// is not set.
pub fn default_dead_letter() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| Path::new(&h).join("dead.letter"))
}

/// Keeps a message that was not accepted and says where it went.
///
/// - A temporary failure of a prepared message queues the composed message and its envelope in
///   `outbox`, to be sent again as it is.
/// - Any other failure needs a person first, so the message is kept as it was read, with the
///   envelope where one was worked out, in `outbox/failed/`.
/// - When there is no outbox, or it cannot take the message, the message is appended as read
///   to the mbox file `dead_letter`.
///
/// Every file is private (0600) and durable before this returns.
///
/// ```
/// use envoi::sendmail::{Kept, Unsent, keep};
/// # let tmp = tempfile::tempdir()?;
/// let outbox = tmp.path().join("outbox");
/// let unsent = Unsent { input: b"To: root\n\nbody\n", prepared: None, temporary: false, sender: None, error: None };
/// let kept = keep(&unsent, Some(&outbox), None)?;
/// assert!(matches!(kept, Kept::Failed(_)) && kept.path().starts_with(outbox.join("failed")));
/// assert_eq!(std::fs::read(kept.path())?, b"To: root\n\nbody\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn keep(
    unsent: &Unsent<'_>,
    outbox: Option<&Path>,
    dead_letter: Option<&Path>,
) -> Result<Kept, NotKept> {
    let outbox_error = match outbox.map(|dir| to_outbox(unsent, dir)) {
        Some(Ok(kept)) => return Ok(kept),
        Some(Err(e)) => Some(e),
        None => None,
    };
    let not_kept = |dead_letter| NotKept {
        outbox: outbox_error,
        dead_letter,
    };
    let Some(path) = dead_letter else {
        return Err(not_kept(None));
    };
    let sender = match unsent.prepared {
        Some(p) => Some(p.envelope.from.to_string()),
        None => unsent.sender.map(str::to_owned).or_else(login_user),
    };
    let date = asctime(SystemClock.now());
    match append_mbox(path, sender.as_deref().unwrap_or(""), &date, unsent.input) {
        Ok(()) => Ok(Kept::DeadLetter(path.to_owned())),
        Err(e) => Err(not_kept(Some(e))),
    }
}

fn to_outbox(unsent: &Unsent<'_>, outbox: &Path) -> Result<Kept, WriteError> {
    use crate::outbox::{Outbox, OutboxError, State, unix_time};
    match unsent.prepared {
        Some(p) if unsent.temporary => {
            match Outbox::new(outbox).enqueue(&p.message, &p.envelope, unsent.error) {
                Ok(q) => Ok(Kept::Queued(q.path)),
                Err(OutboxError::Write(e)) => Err(e),
                Err(e) => Err(WriteError {
                    path: outbox.to_owned(),
                    source: std::io::Error::other(e.to_string()),
                }),
            }
        }
        _ => {
            // UUID v7: unique across processes and machines, and sorts by time.
            let name = uuid::Uuid::now_v7().simple().to_string();
            let mut dir = MessageDir::open(outbox.join("failed"))?;
            // The reason beside it, as the outbox keeps it, for `envoi queue list --failed`.
            if let Some(reason) = unsent.error {
                let now = unix_time();
                let state = State {
                    queued_at: now,
                    attempts: 1,
                    next_attempt: now,
                    last_error: Some(reason.to_owned()),
                };
                dir.store_file(&format!("{name}.state.json"), state.to_json().as_bytes())?;
            }
            dir.store(&name, unsent.input, unsent.prepared.map(|p| &p.envelope))
                .map(Kept::Failed)
        }
    }
}

/// `Thu Nov 29 04:46:28 2026`: the date of an mbox `From ` line, in local time.
fn asctime(now: Now) -> String {
    FixedOffset::east_opt(now.offset)
        .and_then(|tz| tz.timestamp_opt(now.unix, 0).single())
        .map(|t| t.format("%a %b %e %H:%M:%S %Y").to_string())
        .unwrap_or_else(|| "Thu Jan  1 00:00:00 1970".into())
}

#[cfg(test)]
mod tests;
