//! [`Editor`]: header edits of an existing draft. Fields the edits do not touch, their order,
//! folding and letter case, the line endings and the body stay byte for byte as they were.

use super::addresses;
use super::{BuildError, custom_name, one_line, render_field};
use crate::Addr;
use crate::address::parse_list_bytes;
use crate::draft::{Draft, Field};
use mail_builder::headers::HeaderType;
use mail_builder::headers::text::Text;

/// Which recipient field [`Edit::AddRecipient`] extends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecipientField {
    /// To.
    To,
    /// Cc.
    Cc,
    /// Bcc.
    Bcc,
}

impl RecipientField {
    fn name(self) -> &'static str {
        match self {
            RecipientField::To => "To",
            RecipientField::Cc => "Cc",
            RecipientField::Bcc => "Bcc",
        }
    }
}

/// One header edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// Replaces the first field of this name in place and removes the others; adds it at the
    /// end of the header when there is none.
    Set {
        /// Field name.
        name: String,
        /// New value (one line; encoded as needed).
        value: String,
    },
    /// Adds a field at the end of the header.
    Add {
        /// Field name.
        name: String,
        /// Value (one line; encoded as needed).
        value: String,
    },
    /// Removes every field of this name, whatever its letter case.
    Remove {
        /// Field name.
        name: String,
    },
    /// Appends addresses to the first To, Cc or Bcc field (or adds the field).
    AddRecipient {
        /// The field.
        field: RecipientField,
        /// An address or address list.
        addr: String,
    },
    /// Removes a mailbox from every recipient field (To, Cc, Bcc and their Resent- forms),
    /// inside groups too; a field left empty is removed.
    RemoveRecipient {
        /// The address to remove (compared in canonical form).
        addr: String,
    },
}

/// Edits the header of a draft, in the order the edits were added.
///
/// ```
/// use envoi::build::{Editor, RecipientField};
/// let draft = b"From: a@example.org\nTo: b@example.net,\n  c@example.net\nSubject: old\n\nbody\n";
/// let out = Editor::new()
///     .set("Subject", "Grüße")
///     .add_recipient(RecipientField::Bcc, "audit@example.org")
///     .remove_recipient("b@example.net")
///     .apply(draft)?;
/// let text = String::from_utf8(out).unwrap();
/// assert!(text.starts_with("From: a@example.org\nTo: c@example.net\nSubject: =?utf-8?"));
/// assert!(text.ends_with("\nBcc: <audit@example.org>\n\nbody\n"));
/// # Ok::<(), envoi::build::BuildError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Editor {
    edits: Vec<Edit>,
}

/// Address fields: a value set on them is validated and written as an address list.
const ADDRESS_FIELDS: &[&str] = &[
    "From",
    "Sender",
    "To",
    "Cc",
    "Bcc",
    "Reply-To",
    "Resent-From",
    "Resent-Sender",
    "Resent-To",
    "Resent-Cc",
    "Resent-Bcc",
];

/// Where [`Edit::RemoveRecipient`] looks.
const RECIPIENT_FIELDS: &[&str] = &["To", "Cc", "Bcc", "Resent-To", "Resent-Cc", "Resent-Bcc"];

impl Editor {
    /// No edits yet.
    pub fn new() -> Editor {
        Editor::default()
    }
    /// Adds an edit.
    pub fn edit(mut self, edit: Edit) -> Self {
        self.edits.push(edit);
        self
    }
    /// See [`Edit::Set`].
    pub fn set(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.edit(Edit::Set {
            name: name.into(),
            value: value.into(),
        })
    }
    /// See [`Edit::Add`].
    pub fn add(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.edit(Edit::Add {
            name: name.into(),
            value: value.into(),
        })
    }
    /// See [`Edit::Remove`].
    pub fn remove(self, name: impl Into<String>) -> Self {
        self.edit(Edit::Remove { name: name.into() })
    }
    /// See [`Edit::AddRecipient`].
    pub fn add_recipient(self, field: RecipientField, addr: impl Into<String>) -> Self {
        self.edit(Edit::AddRecipient {
            field,
            addr: addr.into(),
        })
    }
    /// See [`Edit::RemoveRecipient`].
    pub fn remove_recipient(self, addr: impl Into<String>) -> Self {
        self.edit(Edit::RemoveRecipient { addr: addr.into() })
    }

    /// Checks every edit without looking at a draft.
    pub fn validate(&self) -> Result<(), BuildError> {
        for e in &self.edits {
            checked(e)?;
        }
        Ok(())
    }

    /// Applies the edits to `draft` (LF or CRLF; new lines follow the draft's first line).
    pub fn apply(&self, draft: &[u8]) -> Result<Vec<u8>, BuildError> {
        let ready = self
            .edits
            .iter()
            .map(checked)
            .collect::<Result<Vec<_>, _>>()?;
        let d = Draft::parse(draft).map_err(|f| BuildError::invalid("draft", f.to_string()))?;
        let eol: &[u8] = match d.fields.first().map(|f| f.raw) {
            Some(r) if r.ends_with(b"\r\n") => b"\r\n",
            None if draft[d.preamble.len..].starts_with(b"\r\n") => b"\r\n",
            _ => b"\n",
        };
        let mut fields: Vec<Piece> = d.fields.iter().map(|f| Piece::Kept(*f)).collect();
        for r in ready {
            r.apply(&mut fields, eol)?;
        }
        // A BOM or an mbox `From ` line before the header is not part of the draft: it goes,
        // whether or not the draft has fields (docs/rules.md §1).
        let header_end = d
            .fields
            .last()
            .map_or(d.preamble.len, |f| offset(draft, f.raw) + f.raw.len());
        let mut out = Vec::with_capacity(draft.len() + 256);
        for f in &fields {
            if !out.is_empty() && !out.ends_with(b"\n") {
                out.extend_from_slice(eol);
            }
            out.extend_from_slice(f.raw());
        }
        let rest = &draft[header_end..];
        if !rest.is_empty() && !out.is_empty() && !out.ends_with(b"\n") {
            out.extend_from_slice(eol);
        }
        out.extend_from_slice(rest);
        Ok(out)
    }
}

/// A header field of the result: as it was, or rewritten.
enum Piece<'a> {
    Kept(Field<'a>),
    New { name: String, raw: Vec<u8> },
}

impl Piece<'_> {
    fn is(&self, name: &str) -> bool {
        match self {
            Piece::Kept(f) => f.is(name),
            Piece::New { name: n, .. } => n.eq_ignore_ascii_case(name),
        }
    }
    fn name(&self) -> &str {
        match self {
            Piece::Kept(f) => f.name(),
            Piece::New { name, .. } => name,
        }
    }
    fn raw(&self) -> &[u8] {
        match self {
            Piece::Kept(f) => f.raw,
            Piece::New { raw, .. } => raw,
        }
    }
}

/// An edit whose values are checked and rendered.
enum Ready {
    Set(String, Vec<u8>),
    Add(String, Vec<u8>),
    Remove(String),
    AddRecipient(&'static str, Vec<u8>),
    RemoveRecipient(Addr),
}

fn checked(e: &Edit) -> Result<Ready, BuildError> {
    Ok(match e {
        Edit::Set { name, value } => Ready::Set(name.clone(), rendered("set", name, value)?),
        Edit::Add { name, value } => Ready::Add(name.clone(), rendered("add", name, value)?),
        Edit::Remove { name } => {
            let field = format!("remove {}", name.escape_debug());
            one_line(&field, name)?;
            if !name.bytes().all(|b| (33..=126).contains(&b) && b != b':') || name.is_empty() {
                return Err(BuildError::BadName {
                    field,
                    name: name.escape_debug().to_string(),
                });
            }
            Ready::Remove(name.clone())
        }
        Edit::AddRecipient { field, addr } => {
            let list = addresses::parse(&field.name().to_ascii_lowercase(), addr)?;
            let line = render_field(field.name(), &list.into());
            Ready::AddRecipient(field.name(), line[field.name().len() + 2..].to_vec())
        }
        Edit::RemoveRecipient { addr } => {
            one_line("remove recipient", addr)?;
            let a = Addr::parse(addr).map_err(|source| BuildError::Address {
                field: "remove recipient".into(),
                source,
            })?;
            Ready::RemoveRecipient(a)
        }
    })
}

/// `Name: value` with CRLF line ends, after the same checks as the builder's custom fields.
fn rendered(what: &str, name: &str, value: &str) -> Result<Vec<u8>, BuildError> {
    let field = format!("{what} {}", name.escape_debug());
    custom_name(&field, name)?;
    one_line(&field, value)?;
    let v: HeaderType = if ADDRESS_FIELDS.iter().any(|f| f.eq_ignore_ascii_case(name)) {
        addresses::parse(&field, value)?.into()
    } else {
        Text::new(value.to_owned()).into()
    };
    Ok(render_field(name, &v))
}

impl Ready {
    fn apply(self, fields: &mut Vec<Piece<'_>>, eol: &[u8]) -> Result<(), BuildError> {
        match self {
            Ready::Set(name, raw) => {
                let raw = with_eol(&raw, eol);
                match fields.iter().position(|f| f.is(&name)) {
                    Some(i) => {
                        fields[i] = Piece::New {
                            name: name.clone(),
                            raw,
                        };
                        let mut k = 0;
                        fields.retain(|f| {
                            k += 1;
                            k - 1 == i || !f.is(&name)
                        });
                    }
                    None => fields.push(Piece::New { name, raw }),
                }
            }
            Ready::Add(name, raw) => fields.push(Piece::New {
                raw: with_eol(&raw, eol),
                name,
            }),
            Ready::Remove(name) => fields.retain(|f| !f.is(&name)),
            Ready::AddRecipient(name, value) => add_recipient(fields, name, &value, eol),
            Ready::RemoveRecipient(addr) => {
                for f in fields.iter_mut() {
                    if RECIPIENT_FIELDS.iter().any(|n| f.is(n)) {
                        remove_from(f, &addr)?;
                    }
                }
                fields.retain(|f| !matches!(f, Piece::New { raw, .. } if raw.is_empty()));
            }
        }
        Ok(())
    }
}

/// `value` (CRLF line ends) with the draft's line ends.
fn with_eol(value: &[u8], eol: &[u8]) -> Vec<u8> {
    if eol == b"\r\n" {
        return value.to_vec();
    }
    let mut out = Vec::with_capacity(value.len());
    for line in value.split_inclusive(|&b| b == b'\n') {
        let l = line.strip_suffix(b"\r\n").unwrap_or(line);
        out.extend_from_slice(l);
        if l.len() < line.len() {
            out.extend_from_slice(eol);
        }
    }
    out
}

fn add_recipient(fields: &mut Vec<Piece<'_>>, name: &'static str, value: &[u8], eol: &[u8]) {
    let value = with_eol(value, eol);
    let Some(f) = fields.iter_mut().find(|f| f.is(name)) else {
        let mut raw = format!("{name}: ").into_bytes();
        raw.extend_from_slice(&value);
        fields.push(Piece::New {
            name: name.into(),
            raw,
        });
        return;
    };
    let old = f.raw();
    let body = trim_eol(old);
    let colon = body.iter().position(|&b| b == b':').unwrap_or(0);
    let empty = body[colon + 1..].iter().all(u8::is_ascii_whitespace);
    let last_line = body.len() - body.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let mut raw = body.to_vec();
    if !empty {
        raw.push(b',');
    }
    if last_line + 2 + value.len() > 78 && !empty {
        raw.extend_from_slice(eol);
    }
    raw.push(b' ');
    raw.extend_from_slice(&value);
    *f = Piece::New {
        name: f.name().to_owned(),
        raw,
    };
}

/// Removes every mailbox equal to `addr` from one field, with the comma that joined it.
fn remove_from(f: &mut Piece<'_>, addr: &Addr) -> Result<(), BuildError> {
    let mut raw = f.raw().to_vec();
    let mut changed = false;
    loop {
        let body = trim_eol(&raw);
        let colon = body.iter().position(|&b| b == b':').unwrap_or(0);
        let value = &body[colon + 1..];
        let boxes = parse_list_bytes(value).map_err(|source| BuildError::Address {
            field: f.name().to_owned(),
            source,
        })?;
        let Some(hit) = boxes
            .iter()
            .find(|b| b.resolve(None).is_ok_and(|a| &a == addr))
        else {
            break;
        };
        let (s, e) = widen(value, hit.range.start, hit.range.end);
        let at = colon + 1;
        raw.drain(at + s..at + e);
        changed = true;
    }
    if changed {
        let body = trim_eol(&raw);
        let colon = body.iter().position(|&b| b == b':').unwrap_or(0);
        let emptied = body[colon + 1..].iter().all(u8::is_ascii_whitespace);
        let name = f.name().to_owned();
        *f = Piece::New {
            name,
            raw: if emptied { Vec::new() } else { raw },
        };
    }
    Ok(())
}

/// The range to cut for a mailbox at `s..e`: with the comma after it and the white space that
/// follows, or else the comma before it.
fn widen(value: &[u8], s: usize, e: usize) -> (usize, usize) {
    let ws = |b: &u8| b" \t\r\n".contains(b);
    let after = e + value[e..].iter().take_while(|b| ws(b)).count();
    if value.get(after) == Some(&b',') {
        let next = after + 1 + value[after + 1..].iter().take_while(|b| ws(b)).count();
        // Keep one space after the colon or a group's colon.
        return (s, next);
    }
    let before = s - value[..s].iter().rev().take_while(|b| ws(b)).count();
    if before > 0 && value[before - 1] == b',' {
        return (before - 1, e);
    }
    (s, e)
}

fn trim_eol(raw: &[u8]) -> &[u8] {
    let r = raw.strip_suffix(b"\n").unwrap_or(raw);
    r.strip_suffix(b"\r").unwrap_or(r)
}

fn offset(source: &[u8], part: &[u8]) -> usize {
    part.as_ptr() as usize - source.as_ptr() as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(e: Editor, d: &str) -> String {
        String::from_utf8(e.apply(d.as_bytes()).unwrap()).unwrap()
    }

    /// The preamble parsing drops (found by the `drafts` fuzz target: a draft with no field
    /// kept its BOM, one with fields lost it) goes either way.
    #[test]
    fn a_bom_or_mbox_line_goes_with_or_without_fields() {
        let none = Editor::new().remove("X-Absent");
        assert_eq!(edit(none.clone(), "\u{feff}"), "");
        assert_eq!(edit(none.clone(), "\u{feff}\r\nbody\r\n"), "\r\nbody\r\n");
        assert_eq!(
            edit(none.clone(), "From a@x Thu Jan  1 00:00:00 2026\n\nhi\n"),
            "\nhi\n"
        );
        assert_eq!(
            edit(none, "\u{feff}To: a@x.example\n\nhi\n"),
            "To: a@x.example\n\nhi\n"
        );
    }

    #[test]
    fn removing_a_mailbox_takes_its_comma() {
        let d = "To: a@x.example, b@x.example, c@x.example\n\n";
        let r = |a: &str| edit(Editor::new().remove_recipient(a), d);
        assert_eq!(r("a@x.example"), "To: b@x.example, c@x.example\n\n");
        assert_eq!(r("b@x.example"), "To: a@x.example, c@x.example\n\n");
        assert_eq!(r("c@x.example"), "To: a@x.example, b@x.example\n\n");
        assert_eq!(r("C@X.example"), d, "local parts are compared exactly");
        assert_eq!(r("a@X.EXAMPLE"), "To: b@x.example, c@x.example\n\n");
    }

    #[test]
    fn a_group_keeps_its_syntax() {
        let d = "Cc: T: a@x.example;, b@x.example\n\n";
        let out = edit(Editor::new().remove_recipient("a@x.example"), d);
        assert_eq!(out, "Cc: T: ;, b@x.example\n\n");
        assert!(crate::address::parse_list("T: ;, b@x.example").is_ok());
    }

    #[test]
    fn new_lines_follow_the_draft_and_a_last_line_gets_an_end() {
        let out = edit(Editor::new().add("X-A", "1"), "To: a@x.example\r\n\r\nbody");
        assert_eq!(out, "To: a@x.example\r\nX-A: 1\r\n\r\nbody");
        let out = edit(Editor::new().add("X-A", "1"), "To: a@x.example");
        assert_eq!(out, "To: a@x.example\nX-A: 1\n");
    }

    #[test]
    fn set_on_an_address_field_validates_it() {
        let e = Editor::new().set("Reply-To", "not an address");
        assert!(matches!(e.validate(), Err(BuildError::Address { .. })));
        let out = edit(
            Editor::new().set("reply-to", "R <r@x.example>"),
            "Reply-To: o@x.example\n\n",
        );
        assert_eq!(out, "reply-to: \"R\" <r@x.example>\n\n");
    }

    #[test]
    fn owned_and_malformed_names_are_refused() {
        for (name, owned) in [
            ("Message-Id", true),
            ("date", true),
            ("Bad Name", false),
            ("", false),
        ] {
            let e = Editor::new().set(name, "x").validate().unwrap_err();
            assert_eq!(matches!(e, BuildError::Owned { .. }), owned, "{name}: {e}");
        }
        // Removing is allowed for any name: a draft may carry a stray Date.
        assert_eq!(
            edit(
                Editor::new().remove("DATE"),
                "Date: x\nTo: a@x.example\n\nb\n"
            ),
            "To: a@x.example\n\nb\n"
        );
    }
}
