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
//! fields ──► build ──┐
//! bytes ─────────────┴─► Draft ──► envelope roles ──► Composed (Submissions) ──► Relay
//!                        parse      derive, validate   header edits, Bcc policy    submit
//! ```
//!
//! - [`build`] makes drafts from fields ([`build::DraftBuilder`], through mail-builder), edits
//!   the headers of an existing draft ([`build::Editor`]) and derives replies and forwards.
//! - [`Draft::parse`] splits the header fields (raw bytes kept) from the body.
//! - [`Composer::compose`] reads Sender/From and To/Cc/Bcc (or the newest Resent-* block),
//!   applies the header edits and the [`BccPolicy`], and yields [`Submission`]s: an
//!   [`Envelope`] plus the exact CRLF bytes to hand to a relay.
//! - [`Composer::check`] reports every problem of a draft under the same options: its errors
//!   are exactly the reasons compose refuses a draft.
//! - [`relay`] hands submissions over: [`relay::smtp::SmtpRelay`] (and, with the `tokio`
//!   feature, `relay::smtp::AsyncSmtpRelay`), [`relay::SendmailRelay`], [`relay::FileRelay`].
//!   Each transport owns its settings; [`config`] builds them from the TOML files when the CLI
//!   runs, a mail client may build them directly.
//! - [`send`] is the batch policy of `envoi send`, [`sendmail`] the rules of the sendmail
//!   front end (From synthesis, aliases, where an unsent message is kept), [`store`] the one
//!   writer of `NAME.eml` + `NAME.envelope.json`.
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
//! # Sending
//!
//! The relay takes settings built in code (no configuration file), including a secret the
//! client already holds:
//!
//! ```no_run
//! use envoi::relay::Relay;
//! use envoi::relay::smtp::{Credentials, SmtpRelay, SmtpSettings};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let secret = String::new();
//! let settings = SmtpSettings::builder("smtp.example.org") // port 587, STARTTLS required
//!     .credentials(Credentials::with_password("ann", secret))
//!     .build()?;
//! let mut relay = SmtpRelay::new(settings);
//! let composer = envoi::Composer::new(envoi::Options::default())?;
//! let composed = composer.compose(b"From: ann@example.org\nTo: bob@example.net\n\nHi\n")?;
//! for sub in &composed {
//!     let delivery = relay.submit(sub.envelope(), &sub.to_bytes())?;
//!     println!("{} accepted for {:?}", composed.message_id(), delivery.accepted);
//! }
//! relay.close();
//! # Ok(())
//! # }
//! ```
//!
//! Determinism: inject a [`FixedClock`] and [`HashIds`] and the same draft always composes to
//! the same bytes (the CLI does this when `SOURCE_DATE_EPOCH` is set).
//!
//! # Features
//!
//! - `cli` (default): the `envoi` binary and its crates (clap, indicatif, mimalloc). A library
//!   user takes `default-features = false` and gets none of them.
//! - `tokio`: `relay::smtp::AsyncSmtpRelay`, the SMTP relay on tokio and tokio-rustls; the
//!   same session logic as the blocking relay, without blocking the runtime's threads.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

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
pub use draft::{Draft, Preamble};
pub use envelope::Envelope;
pub use error::{ComposeError, Finding, OptionError, OptionName, Problem};
pub use relay::{Delivery, Relay, RelayError};
