//! Typed errors of composing: a [`Finding`] is one problem in a draft, tied to its line;
//! [`ComposeError`] is what composing can fail with. Address errors belong to the address module
//! and are wrapped here (the dependency points one way: error → address). The binary maps these
//! to sysexits codes; the library never exits.

use crate::address::AddressError;
use std::fmt;

/// What is wrong with a draft. Every variant's text says what to fix. Most are errors (compose
/// refuses the draft); [`Problem::is_error`] names the few that are only warnings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A header-block line that is neither `Name: value` nor a continuation.
    NotAHeader {
        /// The line, quoted safely (control characters escaped, long text cut).
        text: String,
    },
    /// A continuation (indented) line before the first field.
    LeadingContinuation {
        /// The line, quoted safely.
        text: String,
    },
    /// A line longer than RFC 5322 §2.1.1 allows.
    LineTooLong {
        /// Its length in octets, line ending excluded.
        len: usize,
    },
    /// An address field that could not be read.
    BadAddress {
        /// The field's name as written.
        field: String,
        /// What is wrong with the address.
        error: AddressError,
    },
    /// From names several mailboxes and there is no Sender (RFC 5322 §3.6.2).
    SenderRequired {
        /// The field's name as written (From or Resent-From).
        field: String,
        /// How many mailboxes it names.
        count: usize,
    },
    /// Sender must name exactly one mailbox.
    SenderNotSingle {
        /// The field's name as written (Sender or Resent-Sender).
        field: String,
        /// How many mailboxes it names.
        count: usize,
    },
    /// No From field, and no envelope sender from the options.
    NoFrom,
    /// From is present but names no mailbox.
    EmptyFrom {
        /// The field's name as written.
        field: String,
    },
    /// Nobody to deliver to.
    NoRecipients,
    /// A field that RFC 5322 §3.6 allows at most once appears again (a warning).
    Repeated {
        /// The field's name as written, where it appears again.
        field: String,
        /// Where it appeared first.
        first_line: usize,
    },
    /// A destination field with no address at all (a warning).
    EmptyDestination {
        /// The field's name as written.
        field: String,
    },
    /// No From field, while the options give the envelope sender (a warning; without an
    /// envelope sender it is [`Problem::NoFrom`]).
    MissingFrom,
    /// A NUL byte in a header line: RFC 5322 §2.2 allows none, and relays reject or cut at it.
    Nul,
    /// The draft opened with a UTF-8 byte-order mark, which was dropped (a warning).
    ByteOrderMark,
    /// The draft opened with an mbox `From ` line, which was dropped (a warning).
    MboxFrom,
    /// An address follows a group's `;` with no comma between them (a warning: the `;` ends the
    /// group unambiguously, so both are read).
    GroupWithoutComma {
        /// The field's name as written.
        field: String,
        /// The start of what follows the group, quoted safely.
        next: String,
    },
}

impl Problem {
    /// True for an error, which makes compose refuse the draft; false for a warning, which
    /// `check` reports but compose tolerates.
    pub fn is_error(&self) -> bool {
        !matches!(
            self,
            Problem::Repeated { .. }
                | Problem::EmptyDestination { .. }
                | Problem::MissingFrom
                | Problem::ByteOrderMark
                | Problem::MboxFrom
                | Problem::GroupWithoutComma { .. }
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
                    "From is missing: add a From field to the draft, or give an envelope sender"
                )
            }
            Problem::EmptyFrom { field } => write!(f, "{field} names no mailbox"),
            Problem::NoRecipients => {
                write!(
                    f,
                    "there are no recipients: the draft has no To, Cc or Bcc address and no extra envelope recipient was given"
                )
            }
            Problem::Repeated { field, first_line } => {
                write!(
                    f,
                    "{field} appears again (first at line {first_line}); RFC 5322 §3.6 allows it once"
                )?;
                // Only the destination fields feed the envelope, all of them.
                if ["To", "Cc", "Bcc"]
                    .iter()
                    .any(|d| field.eq_ignore_ascii_case(d))
                {
                    f.write_str(" (envoi uses every address in the envelope)")?;
                }
                Ok(())
            }
            Problem::EmptyDestination { field } => {
                write!(
                    f,
                    "{field} is empty; RFC 5322 §3.6.3 wants an address (or `undisclosed-recipients:;`)"
                )
            }
            Problem::MissingFrom => {
                write!(f, "there is no From field (RFC 5322 §3.6.2 requires one)")
            }
            Problem::Nul => write!(
                f,
                "the line holds a NUL byte, which no header field may carry (RFC 5322 §2.2): remove it"
            ),
            Problem::ByteOrderMark => write!(
                f,
                "the draft starts with a byte-order mark, which is no part of a message; envoi drops it"
            ),
            Problem::MboxFrom => write!(
                f,
                "the mbox `From ` line is no header field; envoi drops it (the envelope sender comes from the header)"
            ),
            Problem::GroupWithoutComma { field, next } => write!(
                f,
                "{field}: no comma after the group before `{next}`; RFC 5322 §3.4 wants one (envoi reads both)"
            ),
        }
    }
}

/// One problem and where it is. Displayed as `line N: what to fix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The line of the draft, counted from 1; 0 when it belongs to no single line.
    pub line: usize,
    /// What is wrong.
    pub problem: Problem,
}

impl Finding {
    /// True for an error (compose refuses the draft), false for a warning: see
    /// [`Problem::is_error`].
    pub fn is_error(&self) -> bool {
        self.problem.is_error()
    }
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

/// Which compose option an [`OptionError`] is about (a field of
/// [`Options`](crate::Options)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionName {
    /// `Options::date`.
    Date,
    /// `Options::message_id`.
    MessageId,
    /// `Options::id_domain`.
    IdDomain,
    /// `Options::local_domain`.
    LocalDomain,
    /// `Options::x_mailer`.
    XMailer,
}

impl fmt::Display for OptionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OptionName::Date => "date",
            OptionName::MessageId => "Message-ID",
            OptionName::IdDomain => "id domain",
            OptionName::LocalDomain => "local domain",
            OptionName::XMailer => "X-Mailer",
        })
    }
}

/// An option value that composing cannot use: displayed as ``date `yesterday`: …, write it
/// like `Sun, 29 Nov 2026 09:30:00 +0100` ``.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{option} `{}`: {reason}", .value.escape_debug())]
pub struct OptionError {
    /// Which option.
    pub option: OptionName,
    /// The value given.
    pub value: String,
    /// What is wrong with it, and what to write instead.
    pub reason: String,
}

/// Why a draft could not be composed.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    /// The draft itself is wrong (exit 65 in the CLI).
    #[error("{0}")]
    Draft(#[from] Finding),
    /// An option value is wrong (exit 64 in the CLI).
    #[error("{0}")]
    Option(OptionError),
}
