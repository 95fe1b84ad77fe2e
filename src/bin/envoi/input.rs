//! Reading drafts from files or stdin, and naming their outputs.

use crate::exit::{Failure, IOERR, NOINPUT};
use std::borrow::Cow;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Where a draft comes from: a path, or stdin for `-`.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: Option<PathBuf>,
}

impl Source {
    /// The drafts named on the command line; none means stdin.
    pub fn list(paths: Vec<PathBuf>) -> Vec<Source> {
        if paths.is_empty() {
            return vec![Source { path: None }];
        }
        paths
            .into_iter()
            .map(|p| Source {
                path: (p.as_os_str() != "-").then_some(p),
            })
            .collect()
    }

    /// How messages name this draft: its path, or `<stdin>`.
    pub fn display(&self) -> String {
        self.path
            .as_ref()
            .map_or_else(|| "<stdin>".into(), |p| p.display().to_string())
    }

    /// The NAME in NAME.eml: the file name without its extension, or `stdin`. Borrowed from the
    /// path when it is UTF-8 (a batch names thousands of files).
    pub fn stem(&self) -> Cow<'_, str> {
        let Some(p) = &self.path else {
            return Cow::Borrowed("stdin");
        };
        // `file_stem` parses every component of the path; for the usual UTF-8 path without
        // `.`/`..` at its end, cutting at the last `/` and the last `.` gives the same answer
        // at a fraction of the cost (thousands of drafts per run). The cuts are found by bytes:
        // `rsplit('/')` and `rfind('.')` set up a char searcher per call, which cost more.
        if let Some(s) = p.to_str() {
            let name = &s[s.bytes().rposition(|c| c == b'/').map_or(0, |i| i + 1)..];
            if !name.is_empty() && name != "." && name != ".." {
                return Cow::Borrowed(match name.bytes().rposition(|c| c == b'.') {
                    Some(dot) if dot > 0 => &name[..dot],
                    _ => name,
                });
            }
        }
        p.file_stem()
            .map_or(Cow::Borrowed("stdin"), |s| s.to_string_lossy())
    }

    /// Reads the draft into `buf`, which may be longer than the draft; returns the draft's
    /// length. For many drafts in one run: the buffer is reused and stays initialised, and a
    /// small draft costs no `stat` for a size hint (`fs::read` makes one per file).
    pub fn read_into(&self, buf: &mut Vec<u8>) -> Result<usize, Failure> {
        match &self.path {
            None => fill(std::io::stdin().lock(), buf)
                .map_err(|e| Failure::new(IOERR, format!("cannot read stdin: {e}"))),
            Some(p) => std::fs::File::open(p)
                .and_then(|f| fill(f, buf))
                .map_err(|e| read_failure(p, e)),
        }
    }
}

/// Reads all of `r` into the start of `buf`; returns the length read.
fn fill(mut r: impl Read, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    const SMALL: usize = 64 * 1024;
    if buf.len() < SMALL {
        buf.resize(SMALL, 0);
    }
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => return Ok(n),
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    // A large draft: the reader sizes the rest (a file from its length), so memory stays
    // close to the draft's size.
    buf.truncate(n);
    r.read_to_end(buf)?;
    Ok(buf.len())
}

fn read_failure(p: &Path, e: std::io::Error) -> Failure {
    use std::io::ErrorKind::*;
    let code = if matches!(e.kind(), NotFound | PermissionDenied | IsADirectory) {
        NOINPUT
    } else {
        IOERR
    };
    Failure::new(code, format!("cannot read draft {}: {e}", p.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One buffer through drafts of every size class, in an order where a short one follows
    /// long ones: each read gives exactly its own bytes.
    #[test]
    fn fill_reuses_the_buffer_and_reads_exactly() {
        let mut buf = Vec::new();
        for len in [10, 70_000, 65_536, 65_537, 3, 200_000, 0, 65_535] {
            let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            // A reader that returns short reads, as pipes do.
            let reader = std::io::Cursor::new(data.clone()).take(u64::MAX);
            let n = fill(std::io::BufReader::with_capacity(1000, reader), &mut buf).unwrap();
            assert_eq!(&buf[..n], &data[..], "{len}");
        }
    }

    #[test]
    fn stem_agrees_with_file_stem() {
        for p in [
            "d1.eml",
            "dir/d1.eml",
            "/a/b/c.tar.gz",
            ".hidden",
            "dir/.hidden",
            "noext",
            "a.b.",
            "dir/",
            "dir/..",
            "dir/.",
            "/",
            "..",
            "a//b.eml",
            "./x.eml",
        ] {
            let s = Source {
                path: Some(PathBuf::from(p)),
            };
            let want = Path::new(p)
                .file_stem()
                .map_or_else(|| "stdin".into(), |s| s.to_string_lossy().into_owned());
            assert_eq!(s.stem(), want, "{p}");
        }
    }
}
