//! The file relay: each submission becomes NAME.eml (the exact bytes) and NAME.envelope.json
//! (`{"from","to","smtputf8"}`) in a directory, for tests and for admins who hand mail to
//! another system. The same format serves as the outbox for messages that could not be sent, and
//! [`append_mbox`] keeps a message in an mbox file (`dead.letter`) when no directory can take it.

use super::{Delivery, ErrorKind, Relay, RelayError};
use crate::envelope::Envelope;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes submissions into a directory.
#[derive(Debug, Clone)]
pub struct FileRelay {
    dir: PathBuf,
}

impl FileRelay {
    pub fn new(dir: PathBuf) -> FileRelay {
        FileRelay { dir }
    }

    /// Writes one submission and returns the path of its `.eml` file. Each file appears whole
    /// (written under a temporary name, then renamed), and the envelope comes last, so a reader
    /// that waits for NAME.envelope.json never sees half a message.
    pub fn store(&self, envelope: &Envelope, message: &[u8]) -> Result<PathBuf, RelayError> {
        self.keep(message, Some(envelope))
    }

    /// Like [`store`](Self::store), for a message whose envelope may not be known (a draft that
    /// could not be composed): without one, only NAME.eml is written.
    pub fn keep(&self, message: &[u8], envelope: Option<&Envelope>) -> Result<PathBuf, RelayError> {
        create_private_dir(&self.dir).map_err(|e| io_error(&self.dir, e))?;
        // UUID v7: unique across processes and machines, and sorts by time.
        let name = uuid::Uuid::now_v7().simple().to_string();
        let eml = self.dir.join(format!("{name}.eml"));
        let json = self.dir.join(format!("{name}.envelope.json"));
        write_whole(&eml, message)?;
        let Some(envelope) = envelope else {
            return Ok(eml);
        };
        let mut env = envelope.to_json();
        env.push('\n');
        if let Err(e) = write_whole(&json, env.as_bytes()) {
            let _ = std::fs::remove_file(&eml);
            return Err(e);
        }
        Ok(eml)
    }
}

impl Relay for FileRelay {
    fn submit(&mut self, envelope: &Envelope, message: &[u8]) -> Result<Delivery, RelayError> {
        self.store(envelope, message)?;
        Ok(Delivery::all(envelope))
    }
}

/// Messages are private: a directory envoi creates is readable by its owner only.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

fn io_error(path: &Path, e: std::io::Error) -> RelayError {
    RelayError::new(
        ErrorKind::Io,
        format!("cannot write {}: {e}", path.display()),
    )
}

/// Opens a file readable by its owner only: a new one, or (`append`) an existing one at its end.
fn open_private(path: &Path, append: bool) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut o = std::fs::OpenOptions::new();
    if append {
        o.append(true).create(true);
    } else {
        o.write(true).create_new(true);
    }
    o.mode(0o600).open(path)
}

fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), RelayError> {
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{}.tmp", file_name.unwrap_or_default()));
    let result = (|| {
        let mut f = open_private(&tmp, false)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io_error(path, e)
    })
}

/// Appends `message` to the mbox file `path` (created private if missing), as sendmail and mailx
/// do with `dead.letter`: a `From SENDER DATE` line, the message with its line endings kept and
/// mboxrd quoting (`>From `), then a blank line. `date` is in asctime form
/// (`Thu Nov 29 04:46:28 2026`). One write, so that records appended at once do not interleave.
pub fn append_mbox(
    path: &Path,
    sender: &str,
    date: &str,
    message: &[u8],
) -> Result<(), RelayError> {
    let record = mbox_record(sender, date, message);
    (|| {
        let mut f = open_private(path, true)?;
        f.write_all(&record)?;
        f.sync_all()
    })()
    .map_err(|e| io_error(path, e))
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
mod tests {
    use super::*;
    use crate::address::Addr;

    #[test]
    fn writes_message_and_envelope_with_unique_names() {
        let dir = tempfile::tempdir().unwrap();
        let env = Envelope::new(
            Addr::parse("a@x.example").unwrap(),
            [Addr::parse("b@y.example").unwrap()],
        );
        let mut r = FileRelay::new(dir.path().join("out"));
        r.submit(&env, b"Subject: 1\r\n\r\nHi\r\n").unwrap();
        r.submit(&env, b"Subject: 2\r\n\r\nHi\r\n").unwrap();
        let mut names: Vec<String> = std::fs::read_dir(dir.path().join("out"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names.len(), 4, "{names:?}");
        let json = names
            .iter()
            .find(|n| n.ends_with(".envelope.json"))
            .unwrap();
        let text = std::fs::read_to_string(dir.path().join("out").join(json)).unwrap();
        assert_eq!(
            text,
            "{\"from\":\"a@x.example\",\"to\":[\"b@y.example\"],\"smtputf8\":false}\n"
        );
    }

    #[test]
    fn mbox_records_quote_from_lines_and_end_with_a_blank_line() {
        let r = mbox_record(
            "a@x.example",
            "Thu Nov 29 04:46:28 2026",
            b"Subject: s\n\nFrom here\n>From there\nFrom: not at start\nlast",
        );
        assert_eq!(
            String::from_utf8(r).unwrap(),
            "From a@x.example Thu Nov 29 04:46:28 2026\nSubject: s\n\n>From here\n>>From there\nFrom: not at start\nlast\n\n"
        );
        let r = mbox_record("", "D", b"x\r\n");
        assert_eq!(r, b"From MAILER-DAEMON D\nx\r\n\n");
    }

    #[test]
    fn append_mbox_appends_privately() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("dead.letter");
        append_mbox(&p, "a@x.example", "D1", b"one\n").unwrap();
        append_mbox(&p, "a@x.example", "D2", b"two\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "From a@x.example D1\none\n\nFrom a@x.example D2\ntwo\n\n"
        );
        let mode = std::fs::metadata(&p).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn keep_without_an_envelope_writes_only_the_message() {
        let dir = tempfile::tempdir().unwrap();
        let p = FileRelay::new(dir.path().join("failed"))
            .keep(b"To: b\n\nraw\n", None)
            .unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"To: b\n\nraw\n");
        assert_eq!(
            std::fs::read_dir(dir.path().join("failed"))
                .unwrap()
                .count(),
            1
        );
    }
}
