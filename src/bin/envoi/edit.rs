//! `envoi edit`: header edits of one draft, printed or written back atomically (--in-place).

use crate::draft::failure;
use crate::exit::{Failure, IOERR, NOINPUT, Result};
use clap::Args;
use envoi::build::{Editor, RecipientField};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

#[derive(Args, Debug, Clone, Default)]
pub struct EditArgs {
    /// Remove every field of this name (applied first)
    #[arg(long, value_name = "NAME")]
    pub remove: Vec<String>,
    /// 'Name: value': replace every instance (the first in place), or add it
    #[arg(long, value_name = "'Name: value'")]
    pub set: Vec<String>,
    /// 'Name: value': add a field at the end of the header
    #[arg(long, value_name = "'Name: value'")]
    pub add: Vec<String>,
    /// Append an address to To (or add To)
    #[arg(long, value_name = "ADDR")]
    pub add_to: Vec<String>,
    /// Append an address to Cc (or add Cc)
    #[arg(long, value_name = "ADDR")]
    pub add_cc: Vec<String>,
    /// Append an address to Bcc (or add Bcc)
    #[arg(long, value_name = "ADDR")]
    pub add_bcc: Vec<String>,
    /// Remove an address from every recipient field, groups included (applied last)
    #[arg(long, value_name = "ADDR")]
    pub remove_rcpt: Vec<String>,
    /// Replace DRAFT atomically instead of printing
    #[arg(long)]
    pub in_place: bool,
    /// The draft (RFC 5322, LF or CRLF); `-` or none reads stdin
    #[arg(value_name = "DRAFT")]
    pub draft: Option<PathBuf>,
}

impl EditArgs {
    /// The edits, in a fixed order: removals, sets, adds, added recipients, removed recipients.
    fn editor(&self) -> Result<Editor> {
        let mut e = Editor::new();
        for n in &self.remove {
            e = e.remove(n);
        }
        for h in &self.set {
            let (n, v) = split(h, "set")?;
            e = e.set(n, v);
        }
        for h in &self.add {
            let (n, v) = split(h, "add")?;
            e = e.add(n, v);
        }
        for (field, list) in [
            (RecipientField::To, &self.add_to),
            (RecipientField::Cc, &self.add_cc),
            (RecipientField::Bcc, &self.add_bcc),
        ] {
            for a in list {
                e = e.add_recipient(field, a);
            }
        }
        for a in &self.remove_rcpt {
            e = e.remove_recipient(a);
        }
        Ok(e)
    }
}

fn split<'a>(h: &'a str, what: &str) -> Result<(&'a str, &'a str)> {
    envoi::build::split_header(h).ok_or_else(|| {
        Failure::new(
            crate::exit::DATAERR,
            format!("{what}: `{}` is not `Name: value`", h.escape_debug()),
        )
    })
}

pub fn run(args: &EditArgs) -> Result {
    let editor = args.editor()?;
    // Every value is checked before the draft is read.
    editor.validate().map_err(failure)?;
    let path = args.draft.clone().unwrap_or_else(|| PathBuf::from("-"));
    let stdin = path.as_os_str() == "-";
    if args.in_place && stdin {
        return Err(Failure::usage("--in-place needs a file, not stdin"));
    }
    let source = if stdin {
        let mut b = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut b)
            .map_err(|e| Failure::new(IOERR, format!("cannot read stdin: {e}")))?;
        b
    } else {
        std::fs::read(&path).map_err(|e| read_failure(&path, e))?
    };
    let name = match stdin {
        true => "<stdin>".to_owned(),
        false => path.display().to_string(),
    };
    let out = editor.apply(&source).map_err(|e| prefixed(&name, e))?;
    if args.in_place {
        return replace(&path, &out);
    }
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(&out)
        .and_then(|_| stdout.flush())
        .map_err(|e| Failure::write(Path::new("stdout"), e))
}

fn prefixed(name: &str, e: envoi::build::BuildError) -> Failure {
    let f = failure(e);
    Failure::new(f.code, format!("{name}: {}", f.message))
}

fn read_failure(p: &Path, e: std::io::Error) -> Failure {
    use std::io::ErrorKind::*;
    let code = match e.kind() {
        NotFound | PermissionDenied | IsADirectory => NOINPUT,
        _ => IOERR,
    };
    Failure::new(code, format!("cannot read draft {}: {e}", p.display()))
}

/// Replaces `path` atomically: a temporary file in the same directory (same file system),
/// written, given the file's mode, synced, renamed over the file; then the directory synced,
/// so that after a crash the file is either the old draft or the new one.
fn replace(path: &Path, bytes: &[u8]) -> Result {
    use std::os::unix::fs::OpenOptionsExt;
    let target = std::fs::canonicalize(path).map_err(|e| read_failure(path, e))?;
    let mode = std::fs::metadata(&target)
        .map_err(|e| read_failure(path, e))?
        .permissions();
    let dir = target.parent().unwrap_or(Path::new("/"));
    let file_name = target
        .file_name()
        .map_or_else(|| "draft".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{file_name}.envoi-{}.tmp", std::process::id()));
    let written = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.set_permissions(mode)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &target)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    written.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Failure::write(&target, e)
    })
}
