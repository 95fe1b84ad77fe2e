//! The quoted body of a reply: the parent's plain text (a text/plain message, or the first
//! text/plain part of a multipart one), transfer encoding undone, `> ` before each line.

use super::BuildError;
use super::reply::unfolded;
use crate::Addr;
use crate::draft::Draft;
use base64::Engine;

/// The attribution line and the parent's plain-text body with `> ` before each line.
pub(super) fn quote(d: &Draft<'_>, from: &[(String, Addr)]) -> Result<String, BuildError> {
    let text = plain_text(d)?;
    let who = from.first().map_or("someone", |(t, _)| t.as_str());
    let mut out = match unfolded(d, "Date") {
        Some(date) => format!("On {date}, {who} wrote:\n"),
        None => format!("{who} wrote:\n"),
    };
    for line in text.lines() {
        out.push('>');
        if !line.is_empty() {
            out.push(' ');
            out.push_str(line);
        }
        out.push('\n');
    }
    // The answer, if any, follows after an empty line.
    out.push('\n');
    Ok(out)
}

/// How deep multipart parts are searched for the text: alternative inside mixed inside signed.
const MAX_DEPTH: usize = 4;

/// The parent's plain text: its body if it is text/plain, else the first text/plain part of
/// its multipart body; transfer encoding undone, UTF-8 assumed (invalid bytes replaced).
fn plain_text(d: &Draft<'_>) -> Result<String, BuildError> {
    let bytes = find_text(d, 0).ok_or_else(|| {
        BuildError::invalid(
            "quote",
            "the parent has no text/plain body or part to quote",
        )
    })??;
    Ok(String::from_utf8_lossy(&bytes).replace("\r\n", "\n"))
}

/// The decoded text/plain content of `d` or of its first text/plain part; None if none.
fn find_text(d: &Draft<'_>, depth: usize) -> Option<Result<Vec<u8>, BuildError>> {
    let ctype = unfolded(d, "Content-Type").unwrap_or_default();
    let lower = ctype.to_ascii_lowercase();
    if lower.is_empty() || lower.starts_with("text/plain") {
        return Some(decode(d));
    }
    if !lower.starts_with("multipart/") || depth >= MAX_DEPTH {
        return None;
    }
    let boundary = parameter(&ctype, "boundary")?;
    parts(d.body, &boundary)
        .filter_map(|p| Draft::parse(p).ok())
        .find_map(|p| find_text(&p, depth + 1))
}

/// The value of `name=value` or `name="value"` in a Content-Type.
fn parameter(ctype: &str, name: &str) -> Option<String> {
    ctype.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_matches('"').to_owned())
    })
}

/// The parts of a multipart body: what lies between `--boundary` lines (RFC 2046 §5.1.1).
fn parts<'a>(body: &'a [u8], boundary: &str) -> impl Iterator<Item = &'a [u8]> {
    let delimiter = format!("--{boundary}");
    let mut starts = Vec::new();
    let mut pos = 0;
    for line in body.split_inclusive(|&b| b == b'\n') {
        let text = line.strip_suffix(b"\n").unwrap_or(line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        if text.starts_with(delimiter.as_bytes()) {
            starts.push((pos, pos + line.len()));
        }
        pos += line.len();
    }
    (0..starts.len().saturating_sub(1)).map(move |i| &body[starts[i].1..starts[i + 1].0])
}

/// A text part's content with its Content-Transfer-Encoding undone.
fn decode(d: &Draft<'_>) -> Result<Vec<u8>, BuildError> {
    let cte = unfolded(d, "Content-Transfer-Encoding")
        .unwrap_or_default()
        .to_ascii_lowercase();
    Ok(match cte.as_str() {
        "base64" => {
            let compact: Vec<u8> = d
                .body
                .iter()
                .filter(|b| !b.is_ascii_whitespace())
                .copied()
                .collect();
            base64::engine::general_purpose::STANDARD
                .decode(compact)
                .map_err(|e| {
                    BuildError::invalid("quote", format!("the parent's base64 text: {e}"))
                })?
        }
        "quoted-printable" => unquote_printable(d.body),
        _ => d.body.to_vec(),
    })
}

/// RFC 2045 §6.7 decoding; a malformed `=` sequence is kept as written.
fn unquote_printable(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        if body[i] != b'=' {
            out.push(body[i]);
            i += 1;
            continue;
        }
        let next = &body[i + 1..];
        if next.starts_with(b"\r\n") {
            i += 3;
        } else if next.starts_with(b"\n") {
            i += 2;
        } else if let Some(v) = next
            .get(..2)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
        } else {
            out.push(b'=');
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_printable_is_decoded() {
        assert_eq!(
            unquote_printable(b"Gr=C3=BC=\nsse=3D"),
            "Grüsse=".as_bytes()
        );
    }

    #[test]
    fn the_first_text_part_of_a_multipart_parent_is_quoted() {
        let parent = b"From: a@x.example\nContent-Type: multipart/mixed; boundary=\"o\"\n\n\
preamble\n--o\nContent-Type: multipart/alternative; boundary=i\n\n--i\n\
Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n\
R3LDvMOfZQpsaW5lIDI=\n--i\nContent-Type: text/html\n\n<p>x</p>\n--i--\n--o\n\
Content-Type: application/pdf\n\nxx\n--o--\n";
        let d = Draft::parse(parent).unwrap();
        assert_eq!(plain_text(&d).unwrap(), "Grüße\nline 2");
        let html_only = b"From: a@x.example\nContent-Type: text/html\n\n<p>x</p>\n";
        let e = plain_text(&Draft::parse(html_only).unwrap()).unwrap_err();
        assert!(e.to_string().starts_with("quote: "), "{e}");
    }
}
