//! A From field for a message that lacks one: sendmail's `-f`/`-F`, or the login user at the
//! local domain. The display name is written as an atom, a quoted string, or RFC 2047 encoded
//! words, whichever keeps it intact.

use super::SendmailError;
use super::aliases::login_user;
use crate::address::Addr;
use crate::draft::Draft;
use email_encoding::headers::{rfc2047, writer::EmailWriter};
use std::borrow::Cow;

/// `input` with a From field added in front when it has none. The added line ends like the
/// message's own first line (LF or CRLF).
pub(crate) fn add_from_if_missing<'a>(
    input: &'a [u8],
    full_name: Option<&str>,
    sender: Option<&Addr>,
    domain: Option<&str>,
) -> Result<Cow<'a, [u8]>, SendmailError> {
    let (has_from, skip) = match Draft::parse(input) {
        Ok(d) => (d.fields_named("From").next().is_some(), d.preamble.len),
        // Composing will report the problem with its line number.
        Err(_) => return Ok(Cow::Borrowed(input)),
    };
    if has_from {
        return Ok(Cow::Borrowed(input));
    }
    let addr = match sender {
        Some(s) => s.clone(),
        None => {
            let user = login_user().ok_or(SendmailError::NoLoginUser)?;
            let d = domain.ok_or(SendmailError::NoDomain)?;
            Addr::from_parts(&user, d)
                .map_err(|error| SendmailError::FromAddress { user, error })?
        }
    };
    let crlf = memchr::memchr(b'\n', input).is_some_and(|p| p > 0 && input[p - 1] == b'\r');
    let mut field = from_field(full_name, &addr);
    if !crlf {
        field = field.replace("\r\n", "\n");
    }
    // After a byte-order mark or mbox `From ` line, which composing drops: before them, the
    // field would make them header lines.
    let mut out = input[..skip].to_vec();
    out.extend_from_slice(field.as_bytes());
    out.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
    out.extend_from_slice(&input[skip..]);
    Ok(Cow::Owned(out))
}

/// `From: Name <addr>` (folded with CRLF when the name needs several encoded words), or
/// `From: addr` without a name. Control characters in the name are dropped: a line break there
/// would start a new header field.
pub(crate) fn from_field(name: Option<&str>, addr: &Addr) -> String {
    let name: String = name
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    let name = name.trim();
    if name.is_empty() {
        return format!("From: {addr}");
    }
    let mut out = String::from("From: ");
    if !name.is_ascii() {
        let line_len = out.len();
        let mut w = EmailWriter::new(&mut out, line_len, 0, false);
        // Encoded words of at most 75 characters (RFC 2047 §2), each holding whole characters,
        // folded onto continuation lines. Writing to a String cannot fail.
        let _ = rfc2047::encode(name, &mut w);
    } else if name.split(' ').all(is_atom) && !name.contains("=?") {
        out.push_str(name);
    } else {
        out.push('"');
        for c in name.chars() {
            if matches!(c, '"' | '\\') {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
    }
    // RFC 5322 §2.1.1: lines of at most 78 characters where they can be.
    let last_line = out.len() - out.rfind('\n').map_or(0, |p| p + 1);
    if last_line + addr.as_str().len() + 3 > 78 {
        out.push_str("\r\n");
    }
    out.push_str(" <");
    out.push_str(addr.as_str());
    out.push('>');
    out
}

/// An RFC 5322 atom: printable ASCII other than the specials, at least one character. (A name
/// that looks like an encoded word is quoted, so that no reader decodes it.)
fn is_atom(word: &str) -> bool {
    !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c))
}

#[cfg(test)]
mod tests;
