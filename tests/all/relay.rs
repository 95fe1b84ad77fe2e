//! Relay tests against real servers: aiosmtpd (STARTTLS + AUTH, implicit TLS, SMTPUTF8, a
//! self-signed certificate, XOAUTH2/OAUTHBEARER, injected faults, no DSN), Postfix (its sendmail and its
//! smtpd, relaying to aiosmtpd; a check_recipient_access map refusing `refused-*`, at most 5
//! recipients per transaction), Postfix's smtp-sink (DSN parameters, round trips per message), git send-email driving `envoi sendmail`. Each test checks what the server actually received, or, for a failure, the
//! exit code and that the message was not lost.
//!
//! Servers come from tests/servers/ (smtpd.py, postfix.sh); scripts/test installs what they need.

mod harness;

#[cfg(feature = "tokio")]
mod async_smtp;
mod config;
mod dsn;
mod faults;
mod files;
mod library;
mod modes;
mod oauth;
mod outbox;
mod pipelining;
mod postfix;
mod sendmail;
mod servers;
mod sink;
mod smtp;
mod streaming;
mod trust;

/// A draft with To, Cc and Bcc, LF line endings and a body line that starts with a dot.
pub fn draft(subject: &str) -> String {
    format!(
        "From: Alice Example <alice@x.example>\n\
         To: Bob <bob@y.example>\n\
         Cc: carol@y.example\n\
         Bcc: Dave Hidden <dave.hidden@z.example>\n\
         Subject: {subject}\n\
         \n\
         Hello Bob,\n\
         .a line that starts with a dot\n\
         ..and one with two\n\
         \n\
         Last line.\n"
    )
}

/// The body of `draft()` as it must arrive: CRLF, dots intact.
pub const DRAFT_BODY: &str =
    "Hello Bob,\r\n.a line that starts with a dot\r\n..and one with two\r\n\r\nLast line.\r\n";

pub const DRAFT_RCPTS: [&str; 3] = ["bob@y.example", "carol@y.example", "dave.hidden@z.example"];
