//! The `--out-dir` directory: its files created relative to one open descriptor of it.
//!
//! `std::fs::write(DIR/NAME)` copies the whole path into a C string, and the kernel walks every
//! component of DIR again, for each of the two files a draft makes. `openat(2)` on the
//! directory's descriptor is given only NAME. It also keeps writing into the directory that
//! was opened, even if DIR is renamed during the batch.

use crate::exit::{Failure, Result};
use std::ffi::CStr;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

pub struct OutDir {
    path: PathBuf,
    fd: OwnedFd,
    /// NAME and a NUL, reused for every file.
    cname: Vec<u8>,
}

impl OutDir {
    /// Opens DIR, which must exist and be a directory.
    pub fn open(path: &Path) -> Result<OutDir> {
        let dir = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY)
            .open(path)
            .map_err(|e| Failure::write(path, e))?;
        Ok(OutDir {
            path: path.to_owned(),
            fd: dir.into(),
            cname: Vec::with_capacity(64),
        })
    }

    /// Writes the file NAME (a file name: no `/`) whole, replacing any file of that name; on
    /// failure removes what was written, so no partial output remains.
    pub fn write(&mut self, name: &str, bytes: &[u8]) -> Result {
        debug_assert!(!name.contains('/'), "{name}");
        self.cname.clear();
        self.cname.extend_from_slice(name.as_bytes());
        self.cname.push(0);
        let fail = |e| Failure::write(&self.path.join(name), e);
        // A name with a NUL inside cannot come from a file name, but is refused, not cut.
        let cname = CStr::from_bytes_with_nul(&self.cname)
            .map_err(|_| fail(io::ErrorKind::InvalidInput.into()))?;
        let mut file = self.create(cname).map_err(fail)?;
        file.write_all(bytes).map_err(|e| {
            // SAFETY: `cname` is a NUL-terminated string and the descriptor is open (owned).
            unsafe { libc::unlinkat(self.fd.as_raw_fd(), cname.as_ptr(), 0) };
            fail(e)
        })
    }

    /// `File::create` relative to the directory: the same flags and mode.
    fn create(&self, name: &CStr) -> io::Result<File> {
        let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC;
        loop {
            // SAFETY: `name` is a NUL-terminated string and the descriptor is open (owned).
            let fd = unsafe { libc::openat(self.fd.as_raw_fd(), name.as_ptr(), flags, 0o666) };
            if fd >= 0 {
                // SAFETY: `fd` was just opened and nothing else owns it.
                return Ok(unsafe { File::from_raw_fd(fd) });
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_replaces_whole_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut out = OutDir::open(dir.path()).unwrap();
        out.write("a.eml", b"a longer first version").unwrap();
        out.write("a.eml", b"second").unwrap();
        out.write("b.envelope.json", b"{}\n").unwrap();
        assert_eq!(std::fs::read(dir.path().join("a.eml")).unwrap(), b"second");
        assert_eq!(
            std::fs::read(dir.path().join("b.envelope.json")).unwrap(),
            b"{}\n"
        );
    }

    /// Errors name the whole path, with the I/O exit code; nothing is left behind.
    #[test]
    fn errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("taken.eml")).unwrap();
        let mut out = OutDir::open(dir.path()).unwrap();
        let e = out.write("taken.eml", b"x").unwrap_err();
        assert_eq!(e.code, crate::exit::IOERR);
        let want = format!("cannot write {}: ", dir.path().join("taken.eml").display());
        assert!(e.message.starts_with(&want), "{}", e.message);
        let e = out.write("nul\0inside", b"x").unwrap_err();
        assert_eq!(e.code, crate::exit::IOERR);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

        let file = dir.path().join("a-file");
        std::fs::write(&file, b"").unwrap();
        let e = OutDir::open(&file).err().expect("not a directory");
        assert!(e.message.contains("a-file"), "{}", e.message);
    }
}
