//! The durable outbox: messages a relay did not take yet, kept on disk until one accepts them,
//! sent again by [`Outbox::flush`] with exponential backoff, and moved to `failed/` with the
//! reason when they are refused for good or outlive the queue lifetime.
//!
//! # Layout
//!
//! Each message is `ID.eml` (the exact composed bytes) beside `ID.envelope.json` (its envelope),
//! both written by [`MessageDir`], plus the outbox's own state in
//! `ID.state.json` (`queued_at`, `attempts`, `next_attempt`, `last_error`). A message is in the
//! queue while its `ID.envelope.json` is: that file is written last and removed first. Messages
//! refused for good live in `failed/` in the same form, with the reason as `last_error`.
//!
//! # Exactly once, and the at-least-once window
//!
//! A flush locks each message (`flock` on its `ID.eml`, which the kernel drops with the process,
//! so a flush killed by SIGKILL leaves nothing stale) and checks that the file is still queued
//! once the lock is held, so two flushes never send one message twice. A message leaves the
//! queue only after the relay accepted it: its envelope file is removed right after the
//! server's reply and the directory is fsync'd. A flush killed between the server's acceptance
//! and that removal (one `unlink`) sends the message again next time: that is the only
//! at-least-once window. Messages are submitted one at a time over one relay session, so the
//! window never spans more than one message. A kill at any other point loses nothing and sends
//! nothing twice.

mod state;

pub use state::State;

use crate::envelope::Envelope;
use crate::relay::{Delivery, ErrorKind, Relay, RelayError};
use crate::store::{MessageDir, WriteError};
use std::fs::{File, TryLockError};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a message may wait before it is given up, as Postfix's `maximal_queue_lifetime`.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(5 * 24 * 3600);

/// The first retry waits this long; each later one twice as long as the one before.
pub const MIN_BACKOFF: Duration = Duration::from_secs(300);
/// No retry waits longer than this (Postfix's `maximal_backoff_time`).
pub const MAX_BACKOFF: Duration = Duration::from_secs(4000);

/// Why the outbox could not do what was asked. The texts name files and ids, never flags.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// A file of the outbox could not be written (unwritable directory, full disk).
    #[error(transparent)]
    Write(#[from] WriteError),
    /// A file of the outbox could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: io::Error,
    },
    /// A file of the outbox does not hold what envoi writes there.
    #[error("{}: {message}; move it out of the outbox to go on", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// No message has this id (in the queue, or in `failed/` for a retry).
    #[error("there is no message {id} in {}", dir.display())]
    NotFound {
        /// The id asked for.
        id: String,
        /// Where it was looked for.
        dir: PathBuf,
    },
    /// Another process (a flush) holds the message right now.
    #[error("message {id} is being sent by another process; try again when it is done")]
    Busy {
        /// The message's id.
        id: String,
    },
}

/// One message of the outbox, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its id: the file names' stem.
    pub id: String,
    /// Who sends and who receives (None in `failed/` for a message kept before its envelope
    /// was known).
    pub envelope: Option<Envelope>,
    /// Attempts, schedule and last error.
    pub state: State,
    /// The message file, `ID.eml`.
    pub path: PathBuf,
}

/// A message that was queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    /// Its id, for `show`, `remove`, `retry`.
    pub id: String,
    /// The message file, `ID.eml`.
    pub path: PathBuf,
}

/// What a flush did, message by message.
#[derive(Debug, Default)]
pub struct FlushReport {
    /// Accepted by the relay and removed from the queue.
    pub sent: Vec<(String, Delivery)>,
    /// Moved to `failed/`: refused for good (a 5xx) or older than the lifetime; with the reason.
    pub failed: Vec<(String, String)>,
    /// Tried and not accepted for a temporary reason: still queued, next attempt rescheduled.
    pub deferred: Vec<(String, RelayError)>,
    /// Held by another flush at the time: left to it.
    pub busy: Vec<String>,
    /// The failure that stopped the flush (the relay is down, refused the login, is
    /// misconfigured): later messages were not tried, and keep their schedule.
    pub stopped: Option<RelayError>,
    /// Messages in the queue once the flush is over (due or not).
    pub remaining: usize,
}

/// Why a submission was not accepted, as [`Outbox::keep_unsent`] needs to know it.
#[derive(Debug, Clone, Copy)]
pub enum NotAccepted<'a> {
    /// The relay tried it and failed with this error.
    Failed(&'a RelayError),
    /// It was not tried: this earlier failure stopped the batch, or (`None`) there is no relay.
    NotTried(Option<&'a RelayError>),
}

/// Where [`Outbox::keep_unsent`] put a submission.
#[derive(Debug)]
pub enum Disposition {
    /// In the queue, to be sent again by a flush.
    Queued(Queued),
    /// In `failed/`, refused for good.
    Failed(Queued),
    /// Nowhere: the draft it came from is the copy to fix and send again.
    Left,
}

/// The outbox directory.
///
/// ```
/// use envoi::outbox::Outbox;
/// use envoi::relay::FileRelay;
/// use envoi::{Addr, Envelope};
/// # let tmp = tempfile::tempdir()?;
/// let outbox = Outbox::new(tmp.path().join("outbox"));
/// let env = Envelope::new(Addr::parse("a@x.example")?, [Addr::parse("b@y.example")?]);
/// let q = outbox.enqueue(b"Subject: hi\r\n\r\nHi\r\n", &env, Some("421 try later"))?;
/// assert_eq!(outbox.list()?[0].state.attempts, 1);
/// let report = outbox.flush(&mut FileRelay::new(tmp.path().join("spool")), false)?;
/// assert_eq!(report.sent[0].0, q.id);
/// assert_eq!(report.remaining, 0);
/// assert!(outbox.list()?.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outbox {
    dir: PathBuf,
    lifetime: Duration,
}

impl Outbox {
    /// The outbox in `dir` (created, 0700, when the first message is queued), with the default
    /// lifetime.
    pub fn new(dir: impl Into<PathBuf>) -> Outbox {
        Outbox {
            dir: dir.into(),
            lifetime: DEFAULT_LIFETIME,
        }
    }

    /// How long a message may wait before a flush moves it to `failed/`.
    pub fn with_lifetime(mut self, lifetime: Duration) -> Outbox {
        self.lifetime = lifetime;
        self
    }

    /// The queue's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where messages refused for good are kept: `failed/` in the queue's directory.
    pub fn failed_dir(&self) -> PathBuf {
        self.dir.join("failed")
    }

    /// Queues `message` (the exact bytes to send again) for `envelope`, durable before it
    /// returns. `last_error` is the failure of the attempt that was just made, if one was: it
    /// counts as an attempt, but the message is due at once all the same.
    pub fn enqueue(
        &self,
        message: &[u8],
        envelope: &Envelope,
        last_error: Option<&str>,
    ) -> Result<Queued, OutboxError> {
        let id = new_id();
        let now = unix_time();
        let state = State {
            queued_at: now,
            attempts: u32::from(last_error.is_some()),
            next_attempt: now,
            last_error: last_error.map(str::to_owned),
        };
        let mut dir = MessageDir::open(&self.dir)?;
        // The state first: the envelope, written last by `store`, is what makes it queued.
        dir.store_file(&state_name(&id), state.to_json().as_bytes())?;
        let path = dir
            .store(&id, message, Some(envelope))
            .inspect_err(|_| remove_quietly(&self.dir.join(state_name(&id))))?;
        Ok(Queued { id, path })
    }

    /// Keeps `message` for `envelope` in `failed/` with `reason` (a refusal for good), durable
    /// before it returns: out of the queue, never sent again unless [`retry`](Self::retry)
    /// puts it back.
    pub fn enqueue_failed(
        &self,
        message: &[u8],
        envelope: &Envelope,
        reason: &str,
    ) -> Result<Queued, OutboxError> {
        let id = new_id();
        let now = unix_time();
        let state = State {
            queued_at: now,
            attempts: 1,
            next_attempt: now,
            last_error: Some(reason.to_owned()),
        };
        let mut dir = MessageDir::open(self.failed_dir())?;
        dir.store_file(&state_name(&id), state.to_json().as_bytes())?;
        let path = dir.store(&id, message, Some(envelope))?;
        Ok(Queued { id, path })
    }

    /// Keeps a submission the relay did not take, by the rule a flush follows too: a temporary
    /// failure waits in the queue, and so does a submission that was never tried because no
    /// relay is configured or a temporary failure stopped the batch; a refusal for good goes
    /// to `failed/` with its reason; after any other failure (authentication, configuration,
    /// or a refusal that ended the session) nothing is kept, because the same message would
    /// fail the same way: the draft stays as it is, to be fixed and sent again.
    pub fn keep_unsent(
        &self,
        message: &[u8],
        envelope: &Envelope,
        why: NotAccepted<'_>,
    ) -> Result<Disposition, OutboxError> {
        let transient = |e: &RelayError| e.kind() == ErrorKind::Transient;
        match why {
            NotAccepted::Failed(e) if transient(e) => self
                .enqueue(message, envelope, Some(e.message()))
                .map(Disposition::Queued),
            NotAccepted::Failed(e) if e.kind() == ErrorKind::Permanent => self
                .enqueue_failed(message, envelope, &format!("refused: {e}"))
                .map(Disposition::Failed),
            NotAccepted::NotTried(None) => self
                .enqueue(message, envelope, None)
                .map(Disposition::Queued),
            NotAccepted::NotTried(Some(e)) if transient(e) => self
                .enqueue(message, envelope, Some(e.message()))
                .map(Disposition::Queued),
            NotAccepted::Failed(_) | NotAccepted::NotTried(Some(_)) => Ok(Disposition::Left),
        }
    }

    /// The queued messages, oldest first.
    pub fn list(&self) -> Result<Vec<Entry>, OutboxError> {
        list_dir(&self.dir, true)
    }

    /// The queued messages whose next attempt is due now, oldest first: what a flush without
    /// `all` sends.
    pub fn due(&self) -> Result<Vec<Entry>, OutboxError> {
        let now = unix_time();
        let mut v = self.list()?;
        v.retain(|e| e.state.next_attempt <= now);
        Ok(v)
    }

    /// The messages in `failed/`, oldest first, each with its reason as `last_error`.
    pub fn list_failed(&self) -> Result<Vec<Entry>, OutboxError> {
        list_dir(&self.failed_dir(), false)
    }

    /// The bytes of message `id`, queued or failed.
    pub fn message(&self, id: &str) -> Result<Vec<u8>, OutboxError> {
        for dir in [self.dir.clone(), self.failed_dir()] {
            let path = dir.join(format!("{}.eml", checked(id, &dir)?));
            match std::fs::read(&path) {
                Ok(bytes) => return Ok(bytes),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(source) => return Err(OutboxError::Read { path, source }),
            }
        }
        Err(not_found(id, &self.dir))
    }

    /// Deletes message `id` from the queue, or from `failed/` when it is not queued.
    pub fn remove(&self, id: &str) -> Result<(), OutboxError> {
        for (dir, queued) in [(self.dir.clone(), true), (self.failed_dir(), false)] {
            let id = checked(id, &dir)?;
            if let Some(lock) = Locked::take(&dir, id, queued)? {
                drop_files(&dir, id)?;
                drop(lock);
                return Ok(());
            }
        }
        Err(not_found(id, &self.dir))
    }

    /// Puts message `id` back from `failed/` into the queue, due at once, its attempts reset.
    /// Only a message with an envelope can go back (one kept as it was read must be sent anew).
    pub fn retry(&self, id: &str) -> Result<Entry, OutboxError> {
        let failed = self.failed_dir();
        let id = checked(id, &failed)?;
        let Some(lock) = Locked::take(&failed, id, false)? else {
            return Err(not_found(id, &failed));
        };
        let env_path = failed.join(envelope_name(id));
        let envelope = read_envelope(&env_path)?.ok_or_else(|| OutboxError::Corrupt {
            path: failed.join(format!("{id}.eml")),
            message: "it has no envelope (it was kept as it was read): send it again instead of retrying it".into(),
        })?;
        let now = unix_time();
        let state = State {
            queued_at: now,
            attempts: 0,
            next_attempt: now,
            last_error: None,
        };
        move_message(&failed, &self.dir, id, &state)?;
        drop(lock);
        Ok(Entry {
            id: id.to_owned(),
            envelope: Some(envelope),
            path: self.dir.join(format!("{id}.eml")),
            state,
        })
    }

    /// Sends the queued messages that are due (every queued message with `all`) through
    /// `relay`, one at a time over its one session, and reports what became of each. The
    /// caller closes the relay.
    ///
    /// Accepted messages leave the queue at once. A 5xx, or a message older than the lifetime,
    /// moves it to `failed/` with the reason. A temporary failure reschedules it (backoff from
    /// [`MIN_BACKOFF`] doubling up to [`MAX_BACKOFF`]); after a failure that any later message
    /// would meet too (the connection, the login, the configuration) the flush stops.
    pub fn flush<R: Relay + ?Sized>(
        &self,
        relay: &mut R,
        all: bool,
    ) -> Result<FlushReport, OutboxError> {
        let mut report = FlushReport::default();
        for entry in self.list()? {
            let now = unix_time();
            if !all && entry.state.next_attempt > now {
                continue;
            }
            let lock = match Locked::take(&self.dir, &entry.id, true) {
                Ok(Some(lock)) => lock,
                Ok(None) => continue, // sent or moved meanwhile
                Err(OutboxError::Busy { id }) => {
                    report.busy.push(id);
                    continue;
                }
                Err(e) => return Err(e),
            };
            // Read again under the lock: another flush may have tried it meanwhile.
            let Some(mut state) = read_state(&self.dir, &entry.id)? else {
                continue;
            };
            if !all && state.next_attempt > now {
                continue;
            }
            let age = now.saturating_sub(state.queued_at);
            if age > self.lifetime.as_secs() {
                let reason = expired(age, state.last_error.as_deref());
                self.give_up(&entry.id, &mut state, &reason)?;
                report.failed.push((entry.id, reason));
                continue;
            }
            let Some(envelope) = read_envelope(&self.dir.join(envelope_name(&entry.id)))? else {
                continue;
            };
            let message = read(&entry.path)?;
            match relay.submit(&envelope, &message) {
                Ok(delivery) => {
                    drop_files(&self.dir, &entry.id)?;
                    report.sent.push((entry.id, delivery));
                }
                Err(e) if e.kind() == ErrorKind::Permanent => {
                    let reason = format!("refused: {e}");
                    self.give_up(&entry.id, &mut state, &reason)?;
                    report.failed.push((entry.id, reason));
                    if e.is_session_over() {
                        report.stopped = Some(e);
                    }
                }
                Err(e) => {
                    state.attempts += 1;
                    state.last_error = Some(e.to_string());
                    state.next_attempt = now + backoff(state.attempts).as_secs();
                    MessageDir::open(&self.dir)?
                        .store_file(&state_name(&entry.id), state.to_json().as_bytes())?;
                    report.deferred.push((entry.id, e.clone()));
                    report.stopped = Some(e);
                }
            }
            drop(lock);
            if report.stopped.is_some() {
                break;
            }
        }
        report.remaining = self.list()?.len();
        Ok(report)
    }

    fn give_up(&self, id: &str, state: &mut State, reason: &str) -> Result<(), OutboxError> {
        state.last_error = Some(reason.to_owned());
        move_message(&self.dir, &self.failed_dir(), id, state)
    }
}

/// How long to wait after the `attempts`-th failed attempt.
pub fn backoff(attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(16);
    (MIN_BACKOFF * (1u32 << doublings)).min(MAX_BACKOFF)
}

fn expired(age: u64, last: Option<&str>) -> String {
    let days = age as f64 / 86400.0;
    match last {
        Some(e) => format!("gave up after {days:.1} days in the queue; last error: {e}"),
        None => format!("gave up after {days:.1} days in the queue"),
    }
}

/// UUID v7: unique across processes and machines, and sorts by time.
fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

/// Now, in seconds since the Unix epoch: the clock of [`State`]'s times.
pub fn unix_time() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn envelope_name(id: &str) -> String {
    format!("{id}.envelope.json")
}

fn state_name(id: &str) -> String {
    format!("{id}.state.json")
}

/// An id as a file stem: what envoi writes (letters, digits, `-`, `_`), so that no id names a
/// file outside the outbox.
fn checked<'a>(id: &'a str, dir: &Path) -> Result<&'a str, OutboxError> {
    let ok = !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok { Ok(id) } else { Err(not_found(id, dir)) }
}

fn not_found(id: &str, dir: &Path) -> OutboxError {
    OutboxError::NotFound {
        id: id.to_owned(),
        dir: dir.to_owned(),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, OutboxError> {
    std::fs::read(path).map_err(|source| OutboxError::Read {
        path: path.to_owned(),
        source,
    })
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, OutboxError> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(OutboxError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

fn read_envelope(path: &Path) -> Result<Option<Envelope>, OutboxError> {
    read_optional(path)?
        .map(|b| {
            state::parse_envelope(&b).map_err(|message| OutboxError::Corrupt {
                path: path.to_owned(),
                message,
            })
        })
        .transpose()
}

/// The state of message `id` in `dir`; a message queued without one (by an older envoi, or
/// killed between the two writes) is due at once, queued when its file was written.
fn read_state(dir: &Path, id: &str) -> Result<Option<State>, OutboxError> {
    let eml = dir.join(format!("{id}.eml"));
    let Ok(meta) = std::fs::metadata(&eml) else {
        return Ok(None);
    };
    let path = dir.join(state_name(id));
    match read_optional(&path)? {
        Some(b) => State::parse(&b)
            .map(Some)
            .map_err(|message| OutboxError::Corrupt { path, message }),
        None => {
            let t = u64::try_from(meta.mtime()).unwrap_or(0);
            Ok(Some(State {
                queued_at: t,
                attempts: 0,
                next_attempt: t,
                last_error: None,
            }))
        }
    }
}

fn list_dir(dir: &Path, need_envelope: bool) -> Result<Vec<Entry>, OutboxError> {
    let fail = |source| OutboxError::Read {
        path: dir.to_owned(),
        source,
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(fail(e)),
    };
    let mut ids = Vec::new();
    for e in entries {
        let name = e.map_err(fail)?.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with('.') {
            continue;
        }
        let stem = if need_envelope {
            name.strip_suffix(".envelope.json")
        } else {
            name.strip_suffix(".eml")
        };
        if let Some(id) = stem {
            ids.push(id.to_owned());
        }
    }
    let mut out = Vec::new();
    for id in ids {
        let envelope = read_envelope(&dir.join(envelope_name(&id)))?;
        if need_envelope && envelope.is_none() {
            continue; // removed meanwhile
        }
        let Some(state) = read_state(dir, &id)? else {
            continue; // an envelope whose message is gone: not a message
        };
        out.push(Entry {
            path: dir.join(format!("{id}.eml")),
            id,
            envelope,
            state,
        });
    }
    out.sort_by(|a, b| (a.state.queued_at, &a.id).cmp(&(b.state.queued_at, &b.id)));
    Ok(out)
}

/// An exclusive `flock` on a message's `ID.eml`, dropped with the value (or the process).
struct Locked {
    _file: File,
}

impl Locked {
    /// Locks message `id` in `dir`. None when it is not there (any more); Busy when another
    /// process holds it.
    fn take(dir: &Path, id: &str, queued: bool) -> Result<Option<Locked>, OutboxError> {
        let path = dir.join(format!("{id}.eml"));
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(OutboxError::Read { path, source }),
        };
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(OutboxError::Busy { id: id.to_owned() }),
            Err(TryLockError::Error(source)) => return Err(OutboxError::Read { path, source }),
        }
        // Under the lock, the name must still be this file: the process that held it before
        // may have sent it and removed it, or moved it to failed/.
        let held = file.metadata().map_err(|source| OutboxError::Read {
            path: path.clone(),
            source,
        })?;
        let same = std::fs::metadata(&path).is_ok_and(|m| m.ino() == held.ino());
        let whole = !queued || dir.join(envelope_name(id)).exists();
        Ok((same && whole).then_some(Locked { _file: file }))
    }
}

/// Removes message `id` from `dir`: its envelope first (from then on it is not queued), then
/// the rest, then fsyncs the directory.
fn drop_files(dir: &Path, id: &str) -> Result<(), OutboxError> {
    for name in [envelope_name(id), format!("{id}.eml"), state_name(id)] {
        let path = dir.join(name);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => return Err(WriteError { path, source }.into()),
        }
    }
    sync_dir(dir)
}

/// Moves message `id` from `from` to `to` with `state`, so that a kill at any point leaves it
/// whole in one place or both, never in neither: the state and hard links of the message and
/// envelope are made in `to` (the envelope last) and synced before anything leaves `from`.
fn move_message(from: &Path, to: &Path, id: &str, state: &State) -> Result<(), OutboxError> {
    let mut target = MessageDir::open(to)?;
    target.store_file(&state_name(id), state.to_json().as_bytes())?;
    for name in [format!("{id}.eml"), envelope_name(id)] {
        let dst = to.join(&name);
        remove_quietly(&dst);
        match std::fs::hard_link(from.join(&name), &dst) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => return Err(WriteError { path: dst, source }.into()),
        }
    }
    sync_dir(to)?;
    drop_files(from, id)
}

fn remove_quietly(path: &Path) {
    let _ = std::fs::remove_file(path);
}

fn sync_dir(dir: &Path) -> Result<(), OutboxError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| {
            WriteError {
                path: dir.to_owned(),
                source,
            }
            .into()
        })
}

#[cfg(test)]
mod tests;
