//! The file relay: each submission becomes NAME.eml (the exact bytes) and NAME.envelope.json
//! (`{"from","to","smtputf8"}`) in a directory, for tests and for admins who hand mail to
//! another system. The same format serves as the outbox for messages that could not be sent.

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
        create_private_dir(&self.dir).map_err(|e| io_error(&self.dir, e))?;
        // UUID v7: unique across processes and machines, and sorts by time.
        let name = uuid::Uuid::now_v7().simple().to_string();
        let eml = self.dir.join(format!("{name}.eml"));
        let json = self.dir.join(format!("{name}.envelope.json"));
        write_whole(&eml, message)?;
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

fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), RelayError> {
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{}.tmp", file_name.unwrap_or_default()));
    let result = (|| {
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io_error(path, e)
    })
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
}
