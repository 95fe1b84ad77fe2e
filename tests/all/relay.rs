//! Relay tests against real servers: aiosmtpd (STARTTLS + AUTH, implicit TLS, SMTPUTF8, injected
//! faults), Postfix (its sendmail and its smtpd, relaying to aiosmtpd), git send-email driving
//! `envoi sendmail`. Each test checks what the server actually received, or, for a failure, the
//! exit code and that the message was not lost.
//!
//! Servers come from tests/servers/ (smtpd.py, postfix.sh); scripts/test installs what they need.

// The envoi-side tests, which use the rest of the harness, land with the relay implementation.
#[allow(dead_code)]
mod harness;

mod servers;
