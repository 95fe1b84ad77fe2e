//! The file relay: each submission becomes NAME.eml (the exact bytes) and NAME.envelope.json
//! (`{"from","to","smtputf8"}`) in a directory, for tests and for admins who hand mail to
//! another system. The files are written by [`MessageDir`], the one writer of that format.

use super::{Delivery, ErrorKind, Relay, RelayError};
use crate::envelope::Envelope;
use crate::store::{MessageDir, WriteError};
use std::path::PathBuf;

/// Writes submissions into a directory (created 0700 when missing), each made durable before
/// [`submit`](Relay::submit) returns.
///
/// ```
/// use envoi::relay::{FileRelay, Relay};
/// use envoi::{Addr, Envelope};
/// # let tmp = tempfile::tempdir()?;
/// let env = Envelope::new(Addr::parse("a@x.example")?, [Addr::parse("b@y.example")?]);
/// let mut relay = FileRelay::new(tmp.path().join("spool"));
/// let delivery = relay.submit(&env, b"Subject: hi\r\n\r\nHi\r\n")?;
/// assert_eq!(delivery.accepted, env.to);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct FileRelay {
    dir: PathBuf,
    /// Opened at the first submission: nothing is created before there is mail.
    open: Option<MessageDir>,
}

impl FileRelay {
    /// A relay writing into `dir`; nothing is created until the first submission.
    pub fn new(dir: PathBuf) -> FileRelay {
        FileRelay { dir, open: None }
    }
}

impl Relay for FileRelay {
    fn submit(&mut self, envelope: &Envelope, message: &[u8]) -> Result<Delivery, RelayError> {
        let dir = match &mut self.open {
            Some(d) => d,
            None => self
                .open
                .insert(MessageDir::open(&self.dir).map_err(io_error)?),
        };
        // UUID v7: unique across processes and machines, and sorts by time.
        let name = uuid::Uuid::now_v7().simple().to_string();
        dir.store(&name, message, Some(envelope))
            .map_err(io_error)?;
        Ok(Delivery::all(envelope))
    }
}

fn io_error(e: WriteError) -> RelayError {
    RelayError::new(ErrorKind::Io, e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::Addr;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn writes_message_and_envelope_with_unique_names() {
        let dir = tempfile::tempdir().unwrap();
        let env = Envelope::new(
            Addr::parse("a@x.example").unwrap(),
            [Addr::parse("b@y.example").unwrap()],
        );
        let out = dir.path().join("out");
        let mut r = FileRelay::new(out.clone());
        r.submit(&env, b"Subject: 1\r\n\r\nHi\r\n").unwrap();
        r.submit(&env, b"Subject: 2\r\n\r\nHi\r\n").unwrap();
        let mut names: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names.len(), 4, "{names:?}");
        let json = names
            .iter()
            .find(|n| n.ends_with(".envelope.json"))
            .unwrap();
        let text = std::fs::read_to_string(out.join(json)).unwrap();
        assert_eq!(
            text,
            "{\"from\":\"a@x.example\",\"to\":[\"b@y.example\"],\"smtputf8\":false}\n"
        );
        let mode = |p: PathBuf| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(out.clone()), 0o700);
        for n in &names {
            assert_eq!(mode(out.join(n)), 0o600, "{n}");
        }
    }

    #[test]
    fn an_unusable_directory_is_an_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, "").unwrap();
        let env = Envelope::new(Addr::parse("a@x.example").unwrap(), []);
        let e = FileRelay::new(file.clone()).submit(&env, b"x").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Io);
        assert!(e.message().contains(&file.display().to_string()), "{e}");
    }
}
