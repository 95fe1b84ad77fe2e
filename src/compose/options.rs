//! What the caller may decide about composing: Bcc policy, envelope overrides and the values of
//! added fields. Values are validated here, once, so no option can inject a header line.

use crate::address::{Addr, AddressError};
use crate::error::{ComposeError, OptionError, OptionName};
use std::fmt;
use std::str::FromStr;

/// What happens to Bcc recipients (RFC 5322 §3.6.3 describes all three ways; `remove` is the default).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BccPolicy {
    /// The Bcc field is removed; everyone gets the same message.
    #[default]
    Remove,
    /// To/Cc get the message without Bcc; Bcc recipients share one copy that keeps the Bcc field.
    Split,
    /// Each Bcc recipient gets a copy whose Bcc field names only them.
    SplitEach,
    /// An empty `Bcc:` field stays, telling recipients that blind copies were sent.
    Blank,
}

impl BccPolicy {
    /// The policies' names, as [`FromStr`] reads them and [`Display`](fmt::Display) writes
    /// them, in declaration order.
    pub const NAMES: [&'static str; 4] = ["remove", "split", "split-each", "blank"];
}

impl FromStr for BccPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "remove" => Ok(BccPolicy::Remove),
            "split" => Ok(BccPolicy::Split),
            "split-each" => Ok(BccPolicy::SplitEach),
            "blank" => Ok(BccPolicy::Blank),
            _ => Err(format!(
                "unknown Bcc policy `{s}`; use one of {}",
                BccPolicy::NAMES.join(", ")
            )),
        }
    }
}

impl fmt::Display for BccPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(BccPolicy::NAMES[*self as usize])
    }
}

/// Everything that shapes a composed message besides the draft itself. Checked and put in
/// canonical form by [`Composer::new`](crate::Composer::new).
#[derive(Debug, Clone)]
pub struct Options {
    /// What Bcc recipients get.
    pub bcc_policy: BccPolicy,
    /// Envelope sender that overrides Sender/From.
    pub envelope_from: Option<Addr>,
    /// Envelope sender when the draft has no From (configuration's default).
    pub default_from: Option<Addr>,
    /// Envelope-only recipients: they get the To/Cc copy.
    pub extra_rcpts: Vec<Addr>,
    /// Qualifies bare names such as `root`; without it they are an error.
    pub local_domain: Option<String>,
    /// Date value to add where missing (validated RFC 5322 date); None means the clock's.
    pub date: Option<String>,
    /// Message-ID value to add where missing, `<left@right>`; None means a fresh one.
    pub message_id: Option<String>,
    /// Right-hand side of generated Message-IDs; None means the From domain, then the host name.
    pub id_domain: Option<String>,
    /// X-Mailer value to add where missing; None adds no X-Mailer.
    pub x_mailer: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            bcc_policy: BccPolicy::Remove,
            envelope_from: None,
            default_from: None,
            extra_rcpts: Vec::new(),
            local_domain: None,
            date: None,
            message_id: None,
            id_domain: None,
            x_mailer: Some(default_x_mailer()),
        }
    }
}

/// The X-Mailer that [`Options::default`] adds: `envoi/VERSION`.
pub fn default_x_mailer() -> String {
    concat!("envoi/", env!("CARGO_PKG_VERSION")).to_owned()
}

fn bad(option: OptionName, value: &str, why: impl fmt::Display) -> ComposeError {
    ComposeError::Option(OptionError {
        option,
        value: value.to_owned(),
        reason: why.to_string(),
    })
}

impl Options {
    /// Checks every value that will be written into a header, and puts them in canonical form.
    pub(crate) fn validate(mut self) -> Result<Options, ComposeError> {
        if let Some(d) = &self.date {
            let d = d.trim().to_owned();
            chrono::DateTime::parse_from_rfc2822(&d).map_err(|e| {
                bad(
                    OptionName::Date,
                    &d,
                    format!("{e}; write it like `Sun, 29 Nov 2026 09:30:00 +0100`"),
                )
            })?;
            if d.contains(['\r', '\n']) {
                return Err(bad(OptionName::Date, &d, "must be one line"));
            }
            self.date = Some(d);
        }
        if let Some(id) = &self.message_id {
            self.message_id = Some(valid_msg_id(id)?);
        }
        if let Some(dom) = &self.id_domain {
            let a = Addr::from_parts("x", dom)
                .map_err(|e| bad(OptionName::IdDomain, dom, domain_reason(e)))?;
            self.id_domain = Some(a.ascii_domain().into_owned());
        }
        if let Some(dom) = &self.local_domain {
            let a = Addr::from_parts("x", dom)
                .map_err(|e| bad(OptionName::LocalDomain, dom, domain_reason(e)))?;
            self.local_domain = Some(a.domain().to_owned());
        }
        if let Some(x) = &self.x_mailer
            && (x.chars().any(char::is_control) || x.trim().is_empty())
        {
            return Err(bad(
                OptionName::XMailer,
                x,
                "must be one line of text, not empty",
            ));
        }
        Ok(self)
    }
}

fn domain_reason(e: AddressError) -> String {
    match e {
        AddressError::Invalid { why, .. } => why.to_owned(),
        other => other.to_string(),
    }
}

/// `<id-left@id-right>` (RFC 5322 §3.6.4); the angle brackets are added when missing.
fn valid_msg_id(id: &str) -> Result<String, ComposeError> {
    let t = id.trim();
    let inner = t
        .strip_prefix('<')
        .and_then(|s| s.strip_suffix('>'))
        .unwrap_or(t);
    let ok_char = |c: char| c.is_ascii_graphic() && !"<>\"()\\,;:".contains(c);
    match inner.split_once('@') {
        Some((l, r))
            if !l.is_empty() && !r.is_empty() && !r.contains('@') && inner.chars().all(ok_char) =>
        {
            Ok(format!("<{inner}>"))
        }
        _ => Err(bad(
            OptionName::MessageId,
            id,
            "write it as `<unique-part@domain>` with no spaces",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_round_trip() {
        for n in BccPolicy::NAMES {
            assert_eq!(n.parse::<BccPolicy>().unwrap().to_string(), n);
        }
        assert!("hide".parse::<BccPolicy>().is_err());
    }

    #[test]
    fn injection_is_refused() {
        let o = |f: fn(&mut Options)| {
            let mut o = Options::default();
            f(&mut o);
            o.validate()
        };
        assert!(o(|o| o.x_mailer = Some("a\r\nBcc: x@y".into())).is_err());
        assert!(o(|o| o.message_id = Some("<a@b>\r\nX: y".into())).is_err());
        assert!(o(|o| o.date = Some("yesterday".into())).is_err());
        assert!(o(|o| o.id_domain = Some("a b".into())).is_err());
        assert_eq!(
            o(|o| o.message_id = Some("abc@d.example".into()))
                .unwrap()
                .message_id
                .unwrap(),
            "<abc@d.example>"
        );
        assert!(o(|o| o.date = Some("Sun, 29 Nov 2026 09:30:00 +0100".into())).is_ok());
    }
}
