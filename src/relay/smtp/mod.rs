//! The SMTP submission relay: one connection (STARTTLS, implicit TLS, or plain toward loopback),
//! AUTH PLAIN/LOGIN, then one MAIL/RCPT/DATA transaction per message, so a batch of drafts shares
//! the connection. With PIPELINING (RFC 2920) MAIL and every RCPT go out in one write.
//!
//! The session logic exists once, without I/O (`core`), and is driven by a blocking driver
//! ([`SmtpRelay`]) and, with the `tokio` feature, by an async one ([`AsyncSmtpRelay`]). Both take
//! the same [`SmtpSettings`]. lettre is kept for reply parsing, server extensions and AUTH
//! responses; the connection is envoi's own (see docs/architecture.md for why).

mod blocking;
mod core;
mod settings;
mod tls;
#[cfg(feature = "tokio")]
mod tokio;

#[cfg(feature = "tokio")]
pub use self::tokio::AsyncSmtpRelay;
pub(crate) use settings::is_loopback_host;
pub use settings::{
    Credentials, DEFAULT_TIMEOUT, Password, PasswordSource, SmtpSettings, SmtpSettingsBuilder,
    TlsMode,
};

use super::{Delivery, Relay, RelayError};
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
/// for (i, s) in composed.submissions.iter().enumerate() {
///     let delivery = relay.submit(&s.envelope, &composed.message(i))?;
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
        self.driver.submit(envelope, message)
    }

    fn submit_batch(&mut self, batch: &[(&Envelope, &[u8])]) -> Vec<Result<Delivery, RelayError>> {
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

#[cfg(test)]
mod tests {
    use super::core::{Cause, Stage, classify_cause, dot_stuff};
    use super::*;
    use crate::relay::ErrorKind;

    fn cfg() -> SmtpSettings {
        SmtpSettings::builder("mail.example.org")
            .timeout(std::time::Duration::from_secs(7))
            .build()
            .unwrap()
    }

    #[test]
    fn classification() {
        let c = |cause: Cause, stage| classify_cause(&cause, stage, "mail.example.org:587", &cfg());
        let reply = |code: u16| Cause::Reply {
            code,
            reply: format!("{code} 5.7.8 nope"),
        };
        let e = c(reply(535), Stage::Auth);
        assert_eq!((e.kind(), e.exit_code()), (ErrorKind::Auth, 77));
        assert!(e.message().contains("535 5.7.8 nope"));
        assert_eq!(c(reply(535), Stage::Mail).kind(), ErrorKind::Permanent);
        assert_eq!(c(reply(550), Stage::Mail).exit_code(), 69);
        assert_eq!(c(reply(454), Stage::Auth).exit_code(), 75);
        assert!(!c(reply(451), Stage::Data).is_session_over());
        assert!(c(reply(421), Stage::Data).is_session_over());
        let e = c(Cause::Timeout, Stage::Data);
        assert_eq!(e.exit_code(), 75);
        assert!(
            e.message().contains("timed out after 7 s"),
            "{}",
            e.message()
        );
        let e = c(
            Cause::Tls("invalid peer certificate: UnknownIssuer".into()),
            Stage::Tls,
        );
        assert_eq!(e.exit_code(), 75);
        assert!(e.message().starts_with("TLS failure"));
        let e = c(
            Cause::Io("Connection refused (os error 111)".into()),
            Stage::Connect,
        );
        assert!(
            e.message()
                .contains("cannot connect to mail.example.org:587")
        );
        assert_eq!(
            c(Cause::Closed("incomplete response".into()), Stage::Data).exit_code(),
            75
        );
    }

    #[test]
    fn dot_stuffing() {
        assert_eq!(dot_stuff(b".a\r\nb\r\n.\r\n"), b"..a\r\nb\r\n..\r\n.\r\n");
        assert_eq!(dot_stuff(b"a\r\nb"), b"a\r\nb\r\n.\r\n");
        assert_eq!(dot_stuff(b"x\n.y\r\n"), b"x\n..y\r\n.\r\n");
    }
}
