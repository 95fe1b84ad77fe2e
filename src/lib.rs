//! envoi turns a user's draft into the exact message and SMTP envelope that should leave the
//! machine.
//!
//! SMTP routes mail by the envelope (MAIL FROM, RCPT TO), not by the To/Cc/Bcc headers people
//! see. So before a message is submitted, the client must collect every To, Cc and Bcc address
//! into the envelope, remove the Bcc field so no recipient learns who got a blind copy, add a
//! Message-ID, a Date and an X-Mailer, and leave every other byte alone. envoi does exactly that.
//!
//! # Pipeline
//!
//! ```text
//! bytes ──► Draft ──► envelope roles ──► Composed (one or more Submissions)
//!           parse      derive, validate   header edits + Bcc policy, CRLF
//! ```
//!
//! - [`Draft::parse`] splits the header fields (raw bytes kept) from the body.
//! - [`Composer::compose`] reads Sender/From and To/Cc/Bcc (or the newest Resent-* block),
//!   applies the header edits and the [`BccPolicy`], and yields [`Submission`]s: an
//!   [`Envelope`] plus the exact CRLF bytes to hand to a relay.
//! - [`Composer::check`] reports every problem of a draft under the same options: its errors
//!   are exactly the reasons compose refuses a draft.
//!
//! # Example
//!
//! ```
//! use envoi::{Composer, Options, BccPolicy};
//! let opts = Options { bcc_policy: BccPolicy::Remove, ..Options::default() };
//! let composer = Composer::new(opts)?;
//! let draft = b"From: Ann <ann@example.org>\nTo: bob@example.net\nBcc: eve@example.com\nSubject: hi\n\nHello\n";
//! let composed = composer.compose(draft)?;
//! for sub in &composed {
//!     assert_eq!(sub.envelope().from.as_str(), "ann@example.org");
//!     assert_eq!(sub.envelope().to.len(), 2);
//!     let text = String::from_utf8(sub.to_bytes()).unwrap();
//!     assert!(text.contains("\r\nMessage-ID: <") && text.contains("\r\nX-Mailer: envoi/"));
//!     assert!(!text.contains("eve@"));
//! }
//! # Ok::<(), envoi::ComposeError>(())
//! ```
//!
//! Determinism: inject a [`FixedClock`] and [`HashIds`] and the same draft always composes to
//! the same bytes (the CLI does this when `SOURCE_DATE_EPOCH` is set).

pub mod address;
pub mod build;
mod check;
pub mod clock;
pub mod compose;
pub mod config;
pub mod draft;
pub mod envelope;
pub mod error;
#[cfg(fuzzing)]
pub mod fuzzing;
pub mod outbox;
mod quote;
pub mod relay;
mod scan;
pub mod send;
pub mod sendmail;
pub mod store;

pub use address::{Addr, AddressError};
pub use clock::{Clock, FixedClock, Now, SystemClock};
pub use compose::{
    BccPolicy, Composed, Composer, HashIds, IdSource, Options, Submission, Submissions, UuidIds,
};
pub use config::{Config, ConfigError};
pub use draft::Draft;
pub use envelope::Envelope;
pub use error::{ComposeError, Finding, OptionError, OptionName, Problem};
pub use relay::{Delivery, Relay, RelayError};
