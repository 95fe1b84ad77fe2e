//! Address values for built and edited drafts: validated as compose validates them (every
//! mailbox resolves to an [`Addr`]), then rewritten through mail-builder so that display names
//! with non-ASCII or specials come out quoted or RFC 2047-encoded. Groups are kept.

use super::{BuildError, one_line};
use crate::address::parse_list;
use mail_builder::headers::address::Address;

/// Parses and validates an address list (`Name <a@x>`, `a@x`, `Team: a@x, b@y;`) into the
/// value mail-builder writes.
pub(crate) fn parse(field: &str, value: &str) -> Result<Address<'static>, BuildError> {
    one_line(field, value)?;
    let err = |source| BuildError::Address {
        field: field.to_owned(),
        source,
    };
    let boxes = parse_list(value).map_err(err)?;
    let mut top: Vec<Address<'static>> = Vec::new();
    let mut group: Option<(String, Vec<Address<'static>>)> = None;
    let mut pos = 0;
    for b in &boxes {
        gap(&value[pos..b.range.start], &mut top, &mut group);
        let addr = b.resolve(None).map_err(err)?;
        let name = display_name(&value[b.range.clone()]);
        let mailbox = Address::new_address(name, addr.as_str().to_owned());
        match &mut group {
            Some((_, members)) => members.push(mailbox),
            None => top.push(mailbox),
        }
        pos = b.range.end;
    }
    gap(&value[pos..], &mut top, &mut group);
    close(&mut top, &mut group);
    Ok(match top.len() {
        0 => return Err(BuildError::invalid(field, "no address given")),
        1 => top.pop().unwrap_or_else(|| Address::new_list(Vec::new())),
        _ => Address::new_list(top),
    })
}

/// Reads the text between two mailboxes for group starts (`Name:`) and ends (`;`).
fn gap(
    text: &str,
    top: &mut Vec<Address<'static>>,
    group: &mut Option<(String, Vec<Address<'static>>)>,
) {
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => start = i + 1,
            ':' if !quoted => {
                close(top, group);
                *group = Some((unquote(text[start..i].trim()), Vec::new()));
                start = i + 1;
            }
            ';' if !quoted => {
                close(top, group);
                start = i + 1;
            }
            _ => {}
        }
    }
}

fn close(top: &mut Vec<Address<'static>>, group: &mut Option<(String, Vec<Address<'static>>)>) {
    if let Some((name, members)) = group.take() {
        top.push(Address::new_group(Some(name), members));
    }
}

/// The display name of one mailbox as written (`"Doe, J" <j@x>` gives `Doe, J`), or None.
fn display_name(mailbox: &str) -> Option<String> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in mailbox.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '<' if !quoted => {
                let phrase = mailbox[..i].trim();
                let name = match phrase.starts_with('"') {
                    true => unquote(phrase),
                    false => decode_words(&unquote(phrase)),
                };
                return (!name.is_empty()).then_some(name);
            }
            _ => {}
        }
    }
    None
}

/// A phrase without its quotes and quoted-pairs; runs of white space become one space.
fn unquote(phrase: &str) -> String {
    let mut out = String::with_capacity(phrase.len());
    let mut escaped = false;
    for c in phrase.chars() {
        match c {
            _ if escaped => {
                out.push(c);
                escaped = false;
            }
            '\\' => escaped = true,
            '"' => {}
            c if c.is_whitespace() => {
                if !out.ends_with(' ') {
                    out.push(' ');
                }
            }
            c => out.push(c),
        }
    }
    out.trim().to_owned()
}

/// Decodes the RFC 2047 encoded words of an unstructured text or an unquoted phrase (charsets
/// UTF-8, US-ASCII and ISO-8859-1; any other word is kept as written), so that mail-builder can
/// encode the text afresh. White space between two encoded words goes, as §6.2 requires.
pub(crate) fn decode_words(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last_was_word = false;
    let mut pending_space = String::new();
    for (i, token) in text.split(' ').enumerate() {
        let decoded = decode_word(token);
        if i > 0 {
            pending_space.push(' ');
        }
        match decoded {
            Some(d) => {
                if !last_was_word {
                    out.push_str(&pending_space);
                }
                out.push_str(&d);
                last_was_word = true;
            }
            None => {
                out.push_str(&pending_space);
                out.push_str(token);
                last_was_word = false;
            }
        }
        pending_space.clear();
    }
    out
}

/// One `=?charset?B|Q?text?=` word, decoded; None if it is not one we can read.
fn decode_word(word: &str) -> Option<String> {
    use base64::Engine;
    let inner = word.strip_prefix("=?")?.strip_suffix("?=")?;
    let mut parts = inner.splitn(3, '?');
    let (charset, enc, text) = (parts.next()?, parts.next()?, parts.next()?);
    let charset = charset.split('*').next()?.to_ascii_lowercase();
    let bytes = match enc {
        "B" | "b" => base64::engine::general_purpose::STANDARD
            .decode(text)
            .ok()?,
        "Q" | "q" => q_decode(text)?,
        _ => return None,
    };
    let text: String = match charset.as_str() {
        "utf-8" | "us-ascii" => String::from_utf8(bytes).ok()?,
        "iso-8859-1" | "latin1" => bytes.iter().map(|&b| char::from(b)).collect(),
        _ => return None,
    };
    // An encoded CR or LF is text to a reader, but would be a line break here: a space instead.
    Some(text.replace(|c: char| c.is_control(), " "))
}

fn q_decode(text: &str) -> Option<Vec<u8>> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'_' => out.push(b' '),
            b'=' => {
                let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(v: &str) -> String {
        let l = parse("to", v).unwrap();
        String::from_utf8(super::super::render_field("To", &l.into())).unwrap()
    }

    #[test]
    fn names_are_quoted_or_encoded() {
        // mail-builder quotes every ASCII display name: always valid, whatever the name holds.
        assert_eq!(
            render("Ann <ann@x.example>"),
            "To: \"Ann\" <ann@x.example>\r\n"
        );
        assert_eq!(
            render("\"Doe, J\" <j@x.example>"),
            "To: \"Doe, J\" <j@x.example>\r\n"
        );
        assert!(render("Jürgen <j@x.example>").starts_with("To: =?utf-8?"));
    }

    #[test]
    fn encoded_words_are_decoded() {
        assert_eq!(
            decode_words("=?utf-8?q?Gr=C3=BC=C3=9Fe?= =?UTF-8?B?IGF1cw==?= x"),
            "Grüße aus x"
        );
        assert_eq!(decode_words("=?ISO-8859-1?Q?J=FCrgen?="), "Jürgen");
        assert_eq!(decode_words("plain =?x?q?kept?="), "plain =?x?q?kept?=");
        assert_eq!(decode_words("=?utf-8?q?a=0D=0ABcc:_x?="), "a  Bcc: x");
    }

    #[test]
    fn groups_are_kept() {
        let out = render("Team: a@x.example, B <b@y.example>;, c@z.example");
        assert_eq!(
            out,
            "To: \"Team\": <a@x.example>, \"B\" <b@y.example>;, <c@z.example>\r\n"
        );
        assert_eq!(render("Team: ;"), "To: \"Team\":;\r\n");
    }

    #[test]
    fn invalid_addresses_name_the_field() {
        let e = parse("cc", "not an address").unwrap_err();
        assert!(e.to_string().starts_with("cc: "), "{e}");
        let e = parse("cc", "a@x.example\r\nBcc: e@y.example").unwrap_err();
        assert!(matches!(e, BuildError::LineBreak { .. }));
    }
}
