//! Typed errors: a [`Finding`] is one problem in a draft, tied to its line; [`ComposeError`] is
//! what composing can fail with. The binary maps these to sysexits codes; the library never exits.

use crate::address::AddressError;
use std::fmt;

/// What is wrong with a draft. Every variant says what to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A header-block line that is neither `Name: value` nor a continuation.
    NotAHeader { text: String },
    /// A continuation (indented) line before the first field.
    LeadingContinuation { text: String },
    /// A line longer than RFC 5322 §2.1.1 allows.
    LineTooLong { len: usize },
    /// An address field that could not be read.
    BadAddress { field: String, error: AddressError },
    /// From names several mailboxes and there is no Sender (RFC 5322 §3.6.2).
    SenderRequired { field: String, count: usize },
    /// Sender must name exactly one mailbox.
    SenderNotSingle { field: String, count: usize },
    /// No From field, and no envelope sender from options or configuration.
    NoFrom,
    /// From is present but names no mailbox.
    EmptyFrom { field: String },
    /// Nobody to deliver to.
    NoRecipients,
    /// A field that RFC 5322 §3.6 allows at most once appears again (lint only).
    Repeated { field: String, first_line: usize },
    /// A destination field with no address at all (lint only).
    EmptyDestination { field: String },
    /// No From field (lint only: compose may fill the envelope from options).
    MissingFrom,
}

impl Problem {
    /// Lint-only problems are reported by `check` but do not stop composing.
    pub fn is_fatal(&self) -> bool {
        !matches!(
            self,
            Problem::Repeated { .. } | Problem::EmptyDestination { .. } | Problem::MissingFrom
        )
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::NotAHeader { text } => write!(
                f,
                "`{text}` is neither a header field nor a continuation; a blank line must separate the header from the body"
            ),
            Problem::LeadingContinuation { text } => {
                write!(
                    f,
                    "`{text}` is indented like a continuation, but no header field comes before it"
                )
            }
            Problem::LineTooLong { len } => {
                write!(
                    f,
                    "the line is {len} octets long; RFC 5322 §2.1.1 allows at most 998 (wrap it, or send it as an attachment)"
                )
            }
            Problem::BadAddress { field, error } => write!(f, "{field}: {error}"),
            Problem::SenderRequired { field, count } => write!(
                f,
                "{field} names {count} mailboxes, so a Sender field naming the one who sends is required (RFC 5322 §3.6.2)"
            ),
            Problem::SenderNotSingle { field, count } => {
                write!(
                    f,
                    "{field} must name exactly one mailbox, not {count} (RFC 5322 §3.6.2)"
                )
            }
            Problem::NoFrom => {
                write!(
                    f,
                    "From is missing: add a From field to the draft, or give the envelope sender with --from"
                )
            }
            Problem::EmptyFrom { field } => write!(f, "{field} names no mailbox"),
            Problem::NoRecipients => {
                write!(
                    f,
                    "there are no recipients: the draft has no To, Cc or Bcc address and no --rcpt was given"
                )
            }
            Problem::Repeated { field, first_line } => write!(
                f,
                "{field} appears again (first at line {first_line}); RFC 5322 §3.6 allows it once (envoi uses every address in the envelope)"
            ),
            Problem::EmptyDestination { field } => {
                write!(
                    f,
                    "{field} is empty; RFC 5322 §3.6.3 wants an address (or `undisclosed-recipients:;`)"
                )
            }
            Problem::MissingFrom => {
                write!(f, "there is no From field (RFC 5322 §3.6.2 requires one)")
            }
        }
    }
}

/// One problem and where it is: `line` counts from 1; 0 means it belongs to no single line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub line: usize,
    pub problem: Problem,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "line {}: ", self.line)?;
        }
        self.problem.fmt(f)
    }
}

impl std::error::Error for Finding {}

/// Why a draft could not be composed.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    /// The draft itself is wrong (exit 65 in the CLI).
    #[error("{0}")]
    Draft(#[from] Finding),
    /// An option value is wrong (exit 64 in the CLI).
    #[error("{0}")]
    Option(String),
}

/// Shows a piece of user input safely in a message: control characters escaped, long text cut.
pub(crate) fn quote_input(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    let mut out = String::new();
    for c in s.chars().take(80) {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if s.chars().count() > 80 {
        out.push('…');
    }
    out
}
