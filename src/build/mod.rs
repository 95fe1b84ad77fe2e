//! Drafts from fields, header edits of an existing draft, and the headers of replies and
//! forwards. Encoding (RFC 2047 words, RFC 2231 file names, transfer encodings, multipart trees)
//! is mail-builder's; what a draft may contain (one-line values, field names, which fields the
//! pipeline owns) is decided here, before anything is read or written.
//!
//! A built or edited draft is an ordinary draft: it keeps its Bcc field and has no Date or
//! Message-ID, so it goes through [`Composer::compose`](crate::Composer::compose) like any other.

mod addresses;
mod builder;
mod edit;
mod forward;
mod mime;
mod quote;
mod reply;

pub use builder::{Attachment, Content, DraftBuilder};
pub use edit::{Edit, Editor, RecipientField};
pub use forward::forward;
pub use reply::{ReplyOptions, reply};

use crate::address::AddressError;
use std::path::PathBuf;

/// Why a draft could not be built or edited. Each variant names the field to fix; the texts
/// never name a command-line flag.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A value holds a CR, LF or NUL, which would end the header line and start another.
    #[error("{field}: contains a line break (CR or LF) or NUL; a header value must be one line")]
    LineBreak {
        /// The field, e.g. `subject` or `header X-Tag`.
        field: String,
    },
    /// A custom field name that is not RFC 5322 ftext.
    #[error(
        "{field}: `{name}` is not a field name (printable ASCII without space or colon, RFC 5322 §3.6.8)"
    )]
    BadName {
        /// Where the name was given.
        field: String,
        /// The name, with control characters escaped.
        name: String,
    },
    /// A field that the builder or the compose pipeline writes itself.
    #[error("{field}: `{name}` is not set this way: {owner}")]
    Owned {
        /// Where the name was given.
        field: String,
        /// The field name.
        name: String,
        /// Who sets it, and how.
        owner: &'static str,
    },
    /// An address that does not parse or validate, as compose would reject it.
    #[error("{field}: {source}")]
    Address {
        /// The address field (`from`, `to`, ...).
        field: String,
        /// What is wrong with it.
        source: AddressError,
    },
    /// Some other value that cannot be used as given.
    #[error("{field}: {why}")]
    Invalid {
        /// The field.
        field: String,
        /// What is wrong, and what would do.
        why: String,
    },
    /// A file named by a field could not be read.
    #[error("{field}: cannot read {}: {source}", path.display())]
    Read {
        /// The field that named the file.
        field: String,
        /// The file.
        path: PathBuf,
        /// The operating system's answer.
        source: std::io::Error,
    },
    /// Writing the draft failed.
    #[error("cannot write the draft: {0}")]
    Write(#[source] std::io::Error),
}

/// What kind of failure a [`BuildError`] is, for callers that map failures to exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input is unusable: fix the value the error names.
    Data,
    /// A named file could not be read.
    Input,
    /// The output could not be written.
    Output,
}

impl BuildError {
    /// The kind of this failure.
    ///
    /// ```
    /// use envoi::build::{DraftBuilder, ErrorKind};
    /// let e = DraftBuilder::new().subject("a\r\nBcc: x@y.example").validate().unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::Data);
    /// assert!(e.to_string().starts_with("subject: "));
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match self {
            BuildError::Read { .. } => ErrorKind::Input,
            BuildError::Write(_) => ErrorKind::Output,
            _ => ErrorKind::Data,
        }
    }

    pub(crate) fn invalid(field: impl Into<String>, why: impl Into<String>) -> BuildError {
        BuildError::Invalid {
            field: field.into(),
            why: why.into(),
        }
    }
}

/// Refuses a value that would break out of its header line.
pub(crate) fn one_line(field: &str, value: &str) -> Result<(), BuildError> {
    if value.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
        return Err(BuildError::LineBreak {
            field: field.to_owned(),
        });
    }
    Ok(())
}

/// Fields the compose pipeline writes, and fields that describe the MIME structure the builder
/// writes: a custom header may not set them.
const OWNED: &[(&str, &str)] = &[
    ("Date", "compose adds it (or takes it from its options)"),
    (
        "Message-ID",
        "compose adds it (or takes it from its options)",
    ),
    ("Resent-Date", "compose adds it to a resent message"),
    ("Resent-Message-ID", "compose adds it to a resent message"),
    ("MIME-Version", "the builder writes the MIME structure"),
    ("Content-Type", "the builder writes the MIME structure"),
    (
        "Content-Transfer-Encoding",
        "the builder writes the MIME structure",
    ),
    (
        "Content-Disposition",
        "the builder writes the MIME structure",
    ),
];

/// Checks a custom field name: RFC 5322 ftext, and not one the pipeline owns.
pub(crate) fn custom_name(field: &str, name: &str) -> Result<(), BuildError> {
    let ftext = |b: u8| (33..=126).contains(&b) && b != b':';
    if name.is_empty() || !name.bytes().all(ftext) {
        return Err(BuildError::BadName {
            field: field.to_owned(),
            name: name.escape_debug().to_string(),
        });
    }
    if let Some((n, owner)) = OWNED.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
        return Err(BuildError::Owned {
            field: field.to_owned(),
            name: (*n).to_owned(),
            owner,
        });
    }
    Ok(())
}

/// Splits `Name: value` (a custom header as one string) at its first colon; the value loses the
/// white space after the colon.
///
/// ```
/// assert_eq!(envoi::build::split_header("X-Tag: a b"), Some(("X-Tag", "a b")));
/// assert_eq!(envoi::build::split_header("no colon"), None);
/// ```
pub fn split_header(line: &str) -> Option<(&str, &str)> {
    let (name, value) = line.split_once(':')?;
    Some((name, value.trim_start_matches([' ', '\t'])))
}

/// A header value as mail-builder writes it: RFC 2047 words where it is not ASCII, folded.
/// Returns `Name: value` with CRLF after every line.
pub(crate) fn render_field(name: &str, value: &mail_builder::headers::HeaderType<'_>) -> Vec<u8> {
    use mail_builder::headers::Header;
    let mut out = Vec::with_capacity(name.len() + 80);
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    value.write_header(&mut out, name.len() + 2);
    out
}
