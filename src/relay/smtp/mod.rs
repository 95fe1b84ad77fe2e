//! The SMTP submission relay: one connection (STARTTLS, implicit TLS, or plain toward loopback),
//! AUTH (PLAIN, LOGIN, XOAUTH2, OAUTHBEARER), then one MAIL/RCPT/DATA transaction per message,
//! so a batch of drafts shares the connection. With PIPELINING (RFC 2920) MAIL and every RCPT go out in one write.
//!
//! The session logic exists once, without I/O (`core`), and is driven by a blocking driver
//! ([`SmtpRelay`]) and, with the `tokio` feature, by an async one (`AsyncSmtpRelay`). Both take
//! the same [`SmtpSettings`]. lettre is kept for reply parsing and server extensions; the
//! connection and the AUTH exchange are envoi's own (see docs/architecture.md for why).

mod blocking;
mod core;
mod fingerprint;
mod settings;
mod tls;
#[cfg(feature = "tokio")]
mod tokio;

#[cfg(fuzzing)]
pub(crate) use self::core::fuzz_replies;
#[cfg(feature = "tokio")]
pub use self::tokio::AsyncSmtpRelay;
pub use fingerprint::Fingerprint;
pub(crate) use settings::is_loopback_host;
pub use settings::{
    AuthMechanism, Credentials, DEFAULT_TIMEOUT, Password, PasswordSource, SmtpSettings,
    SmtpSettingsBuilder, TlsMode,
};

use super::{Delivery, Message, Relay, RelayError};
use crate::envelope::Envelope;

/// Submits over SMTP, blocking the calling thread; connects on the first submission and keeps
/// the connection until [`close`](Relay::close) or drop.
///
/// ```no_run
/// use envoi::relay::Relay;
/// use envoi::relay::smtp::{Credentials, SmtpRelay, SmtpSettings};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let settings = SmtpSettings::builder("smtp.example.org")
///     .credentials(Credentials::with_password("alice", "app-password"))
///     .build()?;
/// let mut relay = SmtpRelay::new(settings);
/// let composer = envoi::Composer::new(envoi::Options::default())?;
/// let composed = composer.compose(b"From: alice@example.org\nTo: bob@example.net\n\nHi\n")?;
/// for s in &composed {
///     let delivery = relay.submit(s.envelope(), &s.to_bytes())?;
///     println!("accepted for {}", envoi::relay::join_addrs(&delivery.accepted));
/// }
/// relay.close();
/// # Ok(())
/// # }
/// ```
pub struct SmtpRelay {
    driver: blocking::Driver,
}

impl SmtpRelay {
    /// A relay for these settings. Nothing is connected until the first submission.
    pub fn new(settings: SmtpSettings) -> SmtpRelay {
        SmtpRelay {
            driver: blocking::Driver::new(settings),
        }
    }

    /// The settings this relay uses.
    pub fn settings(&self) -> &SmtpSettings {
        self.driver.settings()
    }
}

impl Relay for SmtpRelay {
    fn submit(&mut self, envelope: &Envelope, message: &[u8]) -> Result<Delivery, RelayError> {
        self.driver.submit(envelope, Message::new(message))
    }

    fn submit_message(
        &mut self,
        envelope: &Envelope,
        message: Message<'_>,
    ) -> Result<Delivery, RelayError> {
        self.driver.submit(envelope, message)
    }

    fn submit_batch(&mut self, batch: &[(&Envelope, &[u8])]) -> Vec<Result<Delivery, RelayError>> {
        let batch: Vec<_> = batch.iter().map(|(e, m)| (*e, Message::new(m))).collect();
        self.driver.submit_batch(&batch)
    }

    fn submit_messages(
        &mut self,
        batch: &[(&Envelope, Message<'_>)],
    ) -> Vec<Result<Delivery, RelayError>> {
        self.driver.submit_batch(batch)
    }

    fn close(&mut self) {
        self.driver.close();
    }
}

impl Drop for SmtpRelay {
    fn drop(&mut self) {
        self.driver.close();
    }
}
