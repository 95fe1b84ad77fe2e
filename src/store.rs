//! The one writer of envoi's message files: NAME.eml (the exact bytes of a submission) beside
//! NAME.envelope.json (its envelope), for the file relay, the outbox and `compose --out-dir`;
//! and the mbox record appended to `dead.letter` when no directory can take a message.
//!
//! These files may hold a Bcc field, so they are private: files 0600, directories created 0700.
//! Each file is written under a temporary name in the same directory and renamed into place, so
//! a reader never sees part of one, and a failed write leaves nothing behind.

use crate::envelope::Envelope;
use rustix::fs::{AtFlags, Mode, OFlags};
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

/// A file that could not be written, and why. The path is the file's final name, never the
/// temporary one.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}: {source}", path.display())]
pub struct WriteError {
    /// The file (or directory) that could not be written.
    pub path: PathBuf,
    /// What the system said.
    #[source]
    pub source: io::Error,
}

/// A directory of NAME.eml + NAME.envelope.json pairs, held open while it is written.
///
/// Two ways to write, for the two kinds of caller:
/// - [`store`](Self::store): one message made durable before it returns (each file and then
///   the directory are fsync'd), for a relay or an outbox that reports success right after;
/// - [`write`](Self::write) for each message of a batch, then [`sync`](Self::sync) once at the
///   end (one `syncfs`): an fsync per file would make a large batch several times slower.
///
/// ```
/// use envoi::store::MessageDir;
/// use envoi::{Addr, Envelope};
/// # let tmp = tempfile::tempdir()?;
/// let env = Envelope::new(Addr::parse("a@x.example")?, [Addr::parse("b@y.example")?]);
/// let mut dir = MessageDir::open(tmp.path().join("out"))?;
/// let eml = dir.store("hello", b"Subject: hi\r\n\r\nHi\r\n", Some(&env))?;
/// assert!(eml.ends_with("hello.eml"));
/// let json = std::fs::read_to_string(tmp.path().join("out/hello.envelope.json"))?;
/// assert_eq!(json, "{\"from\":\"a@x.example\",\"to\":[\"b@y.example\"],\"smtputf8\":false}\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct MessageDir {
    path: PathBuf,
    dir: OwnedFd,
    /// The envelope's JSON, reused for every message of a batch.
    json: Vec<u8>,
    /// `.PID.tmp`, the end of every temporary name: the process id keeps two writers of one
    /// name apart. Formatted once, since a batch writes thousands of files.
    tmp_suffix: String,
}

impl MessageDir {
    /// Opens the directory `path`, creating it (and any missing parent) with mode 0700 when it
    /// does not exist. An existing directory keeps its mode: it may be shared on purpose (an
    /// admin's spool, the current directory), and the files written in it are 0600 anyway.
    pub fn open(path: impl Into<PathBuf>) -> Result<MessageDir, WriteError> {
        use std::os::unix::fs::DirBuilderExt;
        let path = path.into();
        let fail = |source| WriteError {
            path: path.clone(),
            source,
        };
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&path)
            .map_err(fail)?;
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let dir = rustix::fs::open(&path, flags, Mode::empty()).map_err(|e| fail(e.into()))?;
        Ok(MessageDir {
            path,
            dir,
            json: Vec::new(),
            tmp_suffix: format!(".{}.tmp", std::process::id()),
        })
    }

    /// The directory's path, as given to [`open`](Self::open).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes NAME.eml and, with an envelope, NAME.envelope.json, and makes both durable
    /// (fsync'd, then the directory fsync'd) before returning the path of NAME.eml. The
    /// envelope comes last, so a reader that waits for it never sees half a pair; if it cannot
    /// be written, NAME.eml is removed again.
    pub fn store(
        &mut self,
        name: &str,
        message: &[u8],
        envelope: Option<&Envelope>,
    ) -> Result<PathBuf, WriteError> {
        let eml = self.write_pair(name, message, envelope, Durability::File)?;
        rustix::fs::fsync(&self.dir).map_err(|e| self.error(&self.path, e.into()))?;
        Ok(self.path.join(eml))
    }

    /// Writes NAME.eml and NAME.envelope.json like [`store`](Self::store), replacing files of
    /// those names, but without waiting for the disk: call [`sync`](Self::sync) after the last
    /// message of the batch, before reporting success.
    pub fn write(
        &mut self,
        name: &str,
        message: &[u8],
        envelope: &Envelope,
    ) -> Result<(), WriteError> {
        self.write_pair(name, message, Some(envelope), Durability::Later)
            .map(drop)
    }

    /// Writes one file `name` whole (temporary name, fsync, rename, fsync of the directory),
    /// replacing a file of that name: for a small companion file such as the outbox's state.
    pub fn store_file(&mut self, name: &str, bytes: &[u8]) -> Result<PathBuf, WriteError> {
        self.write_file(name, bytes, Durability::File)?;
        rustix::fs::fsync(&self.dir).map_err(|e| self.error(&self.path, e.into()))?;
        Ok(self.path.join(name))
    }

    /// Makes everything written so far durable: one `syncfs` of the directory's file system.
    pub fn sync(&self) -> Result<(), WriteError> {
        rustix::fs::syncfs(&self.dir).map_err(|e| self.error(&self.path, e.into()))
    }

    fn write_pair(
        &mut self,
        name: &str,
        message: &[u8],
        envelope: Option<&Envelope>,
        durability: Durability,
    ) -> Result<String, WriteError> {
        // Names are joined, not formatted: `format!` cost a tenth of a batch's instructions.
        let eml = [name, ".eml"].concat();
        self.write_file(&eml, message, durability)?;
        if let Some(envelope) = envelope {
            let mut json = std::mem::take(&mut self.json);
            json.clear();
            envelope.push_json(&mut json);
            json.push(b'\n');
            let written = self.write_file(&[name, ".envelope.json"].concat(), &json, durability);
            self.json = json;
            if let Err(e) = written {
                let _ = rustix::fs::unlinkat(&self.dir, eml.as_str(), AtFlags::empty());
                return Err(e);
            }
        }
        Ok(eml)
    }

    /// Writes the file `name` whole under a temporary name, then renames it into place.
    fn write_file(
        &self,
        name: &str,
        bytes: &[u8],
        durability: Durability,
    ) -> Result<(), WriteError> {
        let fail = |e| self.error(&self.path.join(name), e);
        if name.is_empty() || name.contains(['/', '\0']) {
            return Err(fail(io::ErrorKind::InvalidInput.into()));
        }
        // Hidden and ending in .tmp, so that no reader takes it for a message.
        let tmp = [".", name, &self.tmp_suffix].concat();
        let mut file = self.create(&tmp).map_err(fail)?;
        let written = file
            .write_all(bytes)
            .and_then(|()| match durability {
                Durability::File => file.sync_all(),
                Durability::Later => Ok(()),
            })
            .and_then(|()| {
                rustix::fs::renameat(&self.dir, tmp.as_str(), &self.dir, name).map_err(Into::into)
            });
        written.map_err(|e| {
            let _ = rustix::fs::unlinkat(&self.dir, tmp.as_str(), AtFlags::empty());
            fail(e)
        })
    }

    /// Creates `name` for writing, private. A file left under that name by a writer that died
    /// (same process id, an earlier boot) is removed first: its mode cannot be trusted.
    fn create(&self, name: &str) -> io::Result<File> {
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC;
        let mode = Mode::RUSR | Mode::WUSR;
        let open = || rustix::fs::openat(&self.dir, name, flags, mode);
        let fd = match open() {
            Err(rustix::io::Errno::EXIST) => {
                rustix::fs::unlinkat(&self.dir, name, AtFlags::empty())?;
                open()?
            }
            other => other?,
        };
        Ok(File::from(fd))
    }

    fn error(&self, path: &Path, source: io::Error) -> WriteError {
        WriteError {
            path: path.to_owned(),
            source,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Durability {
    /// fsync each file before it is renamed into place.
    File,
    /// The caller syncs the whole batch.
    Later,
}

/// Appends `message` to the mbox file `path` (created 0600 if missing), as sendmail and mailx
/// do with `dead.letter`: a `From SENDER DATE` line, the message with its line endings kept and
/// mboxrd quoting (`>From `), then a blank line. `date` is in asctime form
/// (`Thu Nov 29 04:46:28 2026`). One write, so that records appended at once do not
/// interleave; fsync'd before it returns.
///
/// ```
/// # let tmp = tempfile::tempdir()?;
/// let path = tmp.path().join("dead.letter");
/// envoi::store::append_mbox(&path, "a@x.example", "Thu Nov 29 04:46:28 2026", b"Subject: s\n\nFrom me\n")?;
/// let text = std::fs::read_to_string(&path)?;
/// assert_eq!(text, "From a@x.example Thu Nov 29 04:46:28 2026\nSubject: s\n\n>From me\n\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn append_mbox(
    path: &Path,
    sender: &str,
    date: &str,
    message: &[u8],
) -> Result<(), WriteError> {
    use std::os::unix::fs::OpenOptionsExt;
    let record = mbox_record(sender, date, message);
    (|| {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path)?;
        f.write_all(&record)?;
        f.sync_all()
    })()
    .map_err(|source| WriteError {
        path: path.to_owned(),
        source,
    })
}

fn mbox_record(sender: &str, date: &str, message: &[u8]) -> Vec<u8> {
    let sender = if sender.is_empty() || sender.contains(char::is_whitespace) {
        "MAILER-DAEMON"
    } else {
        sender
    };
    let mut out = format!("From {sender} {date}\n").into_bytes();
    out.reserve(message.len() + 2);
    for line in message.split_inclusive(|&b| b == b'\n') {
        if line.iter().skip_while(|&&b| b == b'>').take(5).eq(b"From ") {
            out.push(b'>');
        }
        out.extend_from_slice(line);
    }
    if !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests;
