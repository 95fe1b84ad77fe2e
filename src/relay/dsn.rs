//! Delivery status notifications (RFC 3461): what the sender asks the servers to report, and
//! how the request is written on MAIL (RET, ENVID) and on each RCPT (NOTIFY).

use super::{ErrorKind, RelayError};
use std::fmt;
use std::str::FromStr;

/// When a recipient's delivery should be reported (RCPT's NOTIFY): never, or on any of
/// success, failure and delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Notify {
    /// Report a successful delivery.
    pub success: bool,
    /// Report a failed delivery.
    pub failure: bool,
    /// Report a delayed delivery.
    pub delay: bool,
}

impl Notify {
    /// No report at all (`NOTIFY=NEVER`).
    pub const NEVER: Notify = Notify {
        success: false,
        failure: false,
        delay: false,
    };
}

impl fmt::Display for Notify {
    /// `NEVER`, or the conditions joined with commas (`SUCCESS,FAILURE`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let on = [
            (self.success, "SUCCESS"),
            (self.failure, "FAILURE"),
            (self.delay, "DELAY"),
        ];
        let words: Vec<&str> = on.iter().filter(|w| w.0).map(|w| w.1).collect();
        if words.is_empty() {
            f.write_str("NEVER")
        } else {
            f.write_str(&words.join(","))
        }
    }
}

impl FromStr for Notify {
    type Err = RelayError;

    /// `never`, or a comma-separated list of `success`, `failure`, `delay` (any case).
    fn from_str(s: &str) -> Result<Notify, RelayError> {
        let bad = || {
            dsn_error(format!(
                "`{s}` is not a DSN notification: use never, or a list of success, failure and delay (success,failure)"
            ))
        };
        if s.trim().eq_ignore_ascii_case("never") {
            return Ok(Notify::NEVER);
        }
        let mut n = Notify::NEVER;
        for w in s.split(',').map(str::trim) {
            match w.to_ascii_lowercase().as_str() {
                "success" => n.success = true,
                "failure" => n.failure = true,
                "delay" => n.delay = true,
                _ => return Err(bad()),
            }
        }
        Ok(n)
    }
}

/// How much of the message a failure report returns (MAIL's RET).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ret {
    /// The whole message (`RET=FULL`).
    Full,
    /// Its header only (`RET=HDRS`).
    Headers,
}

impl FromStr for Ret {
    type Err = RelayError;

    /// `full` or `hdrs` (any case).
    fn from_str(s: &str) -> Result<Ret, RelayError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "full" => Ok(Ret::Full),
            "hdrs" => Ok(Ret::Headers),
            _ => Err(dsn_error(format!(
                "`{s}` is not a DSN return: use full (the whole message) or hdrs (its header)"
            ))),
        }
    }
}

/// A request for delivery status notifications: sent when the server offers DSN; when it does
/// not, the message goes without it and [`Delivery::warnings`](super::Delivery::warnings) says
/// so. The default requests nothing (the server's own defaults apply).
///
/// ```
/// use envoi::relay::{Dsn, Ret};
/// let dsn = Dsn::default()
///     .with_notify("success,failure".parse()?)
///     .with_ret(Ret::Headers)
///     .with_envid("batch-42")?;
/// assert_eq!(dsn.mail_params(), " RET=HDRS ENVID=batch-42");
/// assert_eq!(dsn.rcpt_params(), " NOTIFY=SUCCESS,FAILURE");
/// # Ok::<(), envoi::relay::RelayError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dsn {
    notify: Option<Notify>,
    ret: Option<Ret>,
    envid: Option<String>,
}

/// RFC 3461 §4.4: ENVID is at most 100 characters.
const MAX_ENVID: usize = 100;

impl Dsn {
    /// When to report each recipient's delivery.
    pub fn with_notify(mut self, notify: Notify) -> Dsn {
        self.notify = Some(notify);
        self
    }

    /// How much of the message a failure report returns.
    pub fn with_ret(mut self, ret: Ret) -> Dsn {
        self.ret = Some(ret);
        self
    }

    /// The envelope identifier the reports will quote: printable ASCII, at most 100 characters.
    pub fn with_envid(mut self, id: impl Into<String>) -> Result<Dsn, RelayError> {
        let id = id.into();
        if id.is_empty() || id.len() > MAX_ENVID || !id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(dsn_error(format!(
                "`{id}` is not a DSN envelope identifier: use 1 to {MAX_ENVID} printable ASCII characters without spaces"
            )));
        }
        self.envid = Some(id);
        Ok(self)
    }

    /// These values, with `other`'s where it sets one (flags over configuration).
    pub fn or(self, other: &Dsn) -> Dsn {
        Dsn {
            notify: other.notify.or(self.notify),
            ret: other.ret.or(self.ret),
            envid: other.envid.clone().or(self.envid),
        }
    }

    /// The notification condition, if one is requested.
    pub fn notify(&self) -> Option<Notify> {
        self.notify
    }

    /// The return option, if one is requested.
    pub fn ret(&self) -> Option<Ret> {
        self.ret
    }

    /// The envelope identifier, if one is set.
    pub fn envid(&self) -> Option<&str> {
        self.envid.as_deref()
    }

    /// True when nothing is requested.
    pub fn is_empty(&self) -> bool {
        *self == Dsn::default()
    }

    /// The request as sendmail(8) options: `-N`, `-R`, `-V` with their values.
    pub fn sendmail_args(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(n) = self.notify {
            out.extend(["-N".to_owned(), n.to_string().to_ascii_lowercase()]);
        }
        if let Some(r) = self.ret {
            let r = if r == Ret::Full { "full" } else { "hdrs" };
            out.extend(["-R".to_owned(), r.to_owned()]);
        }
        if let Some(id) = &self.envid {
            out.extend(["-V".to_owned(), id.clone()]);
        }
        out
    }

    /// The MAIL parameters (` RET=... ENVID=...`, xtext-encoded), or "".
    pub fn mail_params(&self) -> String {
        let mut out = String::new();
        match self.ret {
            Some(Ret::Full) => out.push_str(" RET=FULL"),
            Some(Ret::Headers) => out.push_str(" RET=HDRS"),
            None => {}
        }
        if let Some(id) = &self.envid {
            out.push_str(" ENVID=");
            out.push_str(&xtext(id));
        }
        out
    }

    /// The RCPT parameters (` NOTIFY=...`), or "".
    pub fn rcpt_params(&self) -> String {
        self.notify
            .map_or_else(String::new, |n| format!(" NOTIFY={n}"))
    }
}

/// RFC 3461 §4: `+`, `=` and anything outside `!`..`~` as `+XX`.
fn xtext(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_graphic() && b != b'+' && b != b'=' {
            out.push(b as char);
        } else {
            out.push_str(&format!("+{b:02X}"));
        }
    }
    out
}

fn dsn_error(message: String) -> RelayError {
    RelayError::new(ErrorKind::Config, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_writes_the_parameters() {
        assert_eq!("never".parse::<Notify>().unwrap(), Notify::NEVER);
        let n: Notify = "Failure, delay".parse().unwrap();
        assert_eq!(n.to_string(), "FAILURE,DELAY");
        assert!("sometimes".parse::<Notify>().is_err());
        assert!("success,never".parse::<Notify>().is_err());
        assert_eq!("HDRS".parse::<Ret>().unwrap(), Ret::Headers);
        assert!("headers".parse::<Ret>().is_err());
        let d = Dsn::default()
            .with_envid("a+b=c")
            .unwrap()
            .with_ret(Ret::Full);
        assert_eq!(d.mail_params(), " RET=FULL ENVID=a+2Bb+3Dc");
        assert_eq!(d.rcpt_params(), "");
        assert!(Dsn::default().with_envid("two words").is_err());
        assert!(Dsn::default().with_envid("x".repeat(101)).is_err());
        let flags = Dsn::default().with_notify(Notify::NEVER);
        let merged = d.clone().or(&flags);
        assert_eq!(merged.rcpt_params(), " NOTIFY=NEVER");
        assert_eq!(merged.envid(), Some("a+b=c"));
    }
}
