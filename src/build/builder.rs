//! [`DraftBuilder`]: a draft from fields, a body and attachments, written through mail-builder
//! with fixed MIME boundaries and without Date or Message-ID (compose adds both).

use super::addresses;
use super::mime::{File, boundary, guess_type, tree};
use super::{BuildError, custom_name, one_line};
use mail_builder::headers::address::Address;
use mail_builder::headers::message_id::MessageId;
use mail_builder::headers::text::Text;
use mail_builder::headers::{Header, HeaderType};
use mail_builder::{IoWriter, Writer};
use std::borrow::Cow;
use std::io::Write;
use std::path::PathBuf;

/// Where a body or an attachment comes from. A [`Content::Path`] is read only when the draft
/// is written, after every field has been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// Bytes in memory.
    Bytes(Vec<u8>),
    /// A file, read when the draft is written.
    Path(PathBuf),
}

impl From<&str> for Content {
    fn from(s: &str) -> Content {
        Content::Bytes(s.as_bytes().to_vec())
    }
}

impl From<String> for Content {
    fn from(s: String) -> Content {
        Content::Bytes(s.into_bytes())
    }
}

/// One attachment: its content, and optionally its file name and content type. The name
/// defaults to the file's name; the type is guessed from the name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The bytes, or the file holding them.
    pub content: Content,
    /// The file name recipients see (RFC 2231-encoded where needed).
    pub filename: Option<String>,
    /// `type/subtype`; guessed from the file name when absent.
    pub content_type: Option<String>,
}

impl Attachment {
    /// An attachment read from `path`, named after it.
    pub fn file(path: impl Into<PathBuf>) -> Attachment {
        Attachment {
            content: Content::Path(path.into()),
            filename: None,
            content_type: None,
        }
    }

    /// The name recipients see: the given one, else the file's name.
    fn name(&self) -> Option<String> {
        self.filename.clone().or_else(|| match &self.content {
            Content::Path(p) => p.file_name().map(|n| n.to_string_lossy().into_owned()),
            Content::Bytes(_) => None,
        })
    }
}

/// Builds a draft from fields.
///
/// Every value is checked by [`DraftBuilder::validate`] (which [`DraftBuilder::write_to`]
/// calls first) before any file is read: no CR, LF or NUL in a header value, addresses valid
/// as compose requires, custom field names RFC 5322 ftext and not owned by the pipeline.
///
/// ```
/// use envoi::build::{Attachment, Content, DraftBuilder};
/// let draft = DraftBuilder::new()
///     .from("Jürgen <j@example.org>")
///     .to(["bob@example.net"])
///     .bcc(["audit@example.org"])
///     .subject("Grüße")
///     .text("Hallo\n")
///     .attach(Attachment { content: Content::Bytes(vec![0, 1, 2]), filename: Some("ä.bin".into()), content_type: None })
///     .to_vec()?;
/// let text = String::from_utf8(draft.clone()).unwrap();
/// assert!(text.starts_with("From: =?utf-8?"));
/// assert!(text.contains("\r\nBcc: <audit@example.org>\r\n"));
/// assert!(!text.contains("Message-ID") && !text.contains("Date:"));
/// // Built twice, byte-identical: the MIME boundaries are derived from the content.
/// let again = DraftBuilder::new().from("Jürgen <j@example.org>").to(["bob@example.net"])
///     .bcc(["audit@example.org"]).subject("Grüße").text("Hallo\n")
///     .attach(Attachment { content: Content::Bytes(vec![0, 1, 2]), filename: Some("ä.bin".into()), content_type: None })
///     .to_vec()?;
/// assert_eq!(draft, again);
/// # Ok::<(), envoi::build::BuildError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DraftBuilder {
    from: Option<String>,
    sender: Option<String>,
    to: Vec<String>,
    cc: Vec<String>,
    bcc: Vec<String>,
    reply_to: Vec<String>,
    subject: Option<String>,
    in_reply_to: Option<String>,
    references: Vec<String>,
    headers: Vec<(String, String)>,
    text: Option<Content>,
    html: Option<Content>,
    attachments: Vec<Attachment>,
}

impl DraftBuilder {
    /// An empty draft.
    pub fn new() -> DraftBuilder {
        DraftBuilder::default()
    }

    /// The From field: one mailbox or a list (`Name <addr>`, `addr`, a group).
    pub fn from(mut self, value: impl Into<String>) -> Self {
        self.from = Some(value.into());
        self
    }
    /// The Sender field: one mailbox.
    pub fn sender(mut self, value: impl Into<String>) -> Self {
        self.sender = Some(value.into());
        self
    }
    /// The To field, replacing any earlier value; each item is an address or an address list.
    pub fn to<S: Into<String>>(mut self, list: impl IntoIterator<Item = S>) -> Self {
        self.to = list.into_iter().map(Into::into).collect();
        self
    }
    /// The Cc field, replacing any earlier value.
    pub fn cc<S: Into<String>>(mut self, list: impl IntoIterator<Item = S>) -> Self {
        self.cc = list.into_iter().map(Into::into).collect();
        self
    }
    /// The Bcc field, replacing any earlier value. It stays in the draft; compose removes it.
    pub fn bcc<S: Into<String>>(mut self, list: impl IntoIterator<Item = S>) -> Self {
        self.bcc = list.into_iter().map(Into::into).collect();
        self
    }
    /// The Reply-To field, replacing any earlier value.
    pub fn reply_to<S: Into<String>>(mut self, list: impl IntoIterator<Item = S>) -> Self {
        self.reply_to = list.into_iter().map(Into::into).collect();
        self
    }
    /// The Subject (RFC 2047-encoded where it is not ASCII).
    pub fn subject(mut self, value: impl Into<String>) -> Self {
        self.subject = Some(value.into());
        self
    }
    /// In-Reply-To: one message identifier, `<id@host>`.
    pub fn in_reply_to(mut self, id: impl Into<String>) -> Self {
        self.in_reply_to = Some(id.into());
        self
    }
    /// References: message identifiers, oldest first.
    pub fn references<S: Into<String>>(mut self, ids: impl IntoIterator<Item = S>) -> Self {
        self.references = ids.into_iter().map(Into::into).collect();
        self
    }
    /// Adds a custom field `name: value` (after the standard fields, in the order added).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
    /// The plain-text body (UTF-8).
    pub fn text(mut self, body: impl Into<Content>) -> Self {
        self.text = Some(body.into());
        self
    }
    /// The HTML body (UTF-8); with a text body the two become multipart/alternative.
    pub fn html(mut self, body: impl Into<Content>) -> Self {
        self.html = Some(body.into());
        self
    }
    /// Adds an attachment; with attachments the message is multipart/mixed.
    pub fn attach(mut self, attachment: Attachment) -> Self {
        self.attachments.push(attachment);
        self
    }

    /// The plain-text body set so far, if it is in memory.
    pub fn text_bytes(&self) -> Option<&[u8]> {
        match &self.text {
            Some(Content::Bytes(b)) => Some(b),
            _ => None,
        }
    }

    /// Checks every field without reading any file: what [`DraftBuilder::write_to`] would
    /// refuse, it refuses here.
    pub fn validate(&self) -> Result<(), BuildError> {
        self.headers().map(|_| ())
    }

    /// Writes the draft (CRLF line endings) to `w`: validates, reads the files, then streams the
    /// encoded parts, so a large attachment is held once, in its raw form.
    pub fn write_to(&self, w: impl Write) -> Result<(), BuildError> {
        let headers = self.headers()?;
        let text = self.read_text("text", self.text.as_ref())?;
        let html = self.read_text("html", self.html.as_ref())?;
        let files = self.read_attachments()?;
        let boundary = boundary(&headers, [&text, &html], &files);
        let root = tree(text, html, files, &boundary);
        let mut out = IoWriter::with_capacity(64 * 1024, w);
        for (name, value) in &headers {
            out.write(name.as_bytes());
            out.write(b": ");
            value.write_header(&mut out, name.len() + 2);
        }
        out.write(b"MIME-Version: 1.0\r\n");
        root.write_part(&mut out);
        out.into_result().map_err(BuildError::Write)
    }

    /// The draft as bytes.
    pub fn to_vec(&self) -> Result<Vec<u8>, BuildError> {
        let mut out = Vec::new();
        self.write_to(&mut out)?;
        Ok(out)
    }

    /// The checked header fields, in the order they are written.
    fn headers(&self) -> Result<Vec<(Cow<'static, str>, HeaderType<'static>)>, BuildError> {
        let mut h: Vec<(Cow<'static, str>, HeaderType<'static>)> = Vec::new();
        let mut address = |name: &'static str, field: &str, values: &[String]| {
            if let Some(list) = address_field(field, values)? {
                h.push((name.into(), list.into()));
            }
            Ok::<(), BuildError>(())
        };
        address("From", "from", self.from.as_slice())?;
        address("Sender", "sender", self.sender.as_slice())?;
        address("To", "to", &self.to)?;
        address("Cc", "cc", &self.cc)?;
        address("Bcc", "bcc", &self.bcc)?;
        address("Reply-To", "reply_to", &self.reply_to)?;
        if let Some(s) = &self.subject {
            one_line("subject", s)?;
            h.push(("Subject".into(), Text::new(s.clone()).into()));
        }
        if let Some(id) = &self.in_reply_to {
            h.push(("In-Reply-To".into(), msg_ids("in_reply_to", [id])?));
        }
        if !self.references.is_empty() {
            h.push((
                "References".into(),
                msg_ids("references", &self.references)?,
            ));
        }
        for (name, value) in &self.headers {
            let field = format!("header {}", name.escape_debug());
            custom_name(&field, name)?;
            if let Some(own) = BUILT.iter().find(|n| n.eq_ignore_ascii_case(name)) {
                return Err(BuildError::Owned {
                    field,
                    name: (*own).to_owned(),
                    owner: "the builder has a field of its own for it",
                });
            }
            one_line(&field, value)?;
            h.push((name.clone().into(), Text::new(value.clone()).into()));
        }
        for (i, a) in self.attachments.iter().enumerate() {
            check_attachment(i + 1, a)?;
        }
        Ok(h)
    }

    fn read_text(&self, field: &str, c: Option<&Content>) -> Result<Option<String>, BuildError> {
        let Some(c) = c else { return Ok(None) };
        let bytes = read(field, c)?;
        String::from_utf8(bytes.into_owned())
            .map(Some)
            .map_err(|_| BuildError::invalid(field, "the body is not UTF-8 text"))
    }

    fn read_attachments(&self) -> Result<Vec<File<'_>>, BuildError> {
        let mut files = Vec::with_capacity(self.attachments.len());
        for (i, a) in self.attachments.iter().enumerate() {
            let field = format!("attachment {}", i + 1);
            let name = a.name();
            let ctype = a
                .content_type
                .clone()
                .unwrap_or_else(|| guess_type(name.as_deref().unwrap_or("")).to_owned());
            files.push(File {
                bytes: read(&field, &a.content)?,
                name,
                ctype,
            });
        }
        Ok(files)
    }
}

/// Fields with a setter of their own; a custom header may not add a second one.
const BUILT: &[&str] = &[
    "From",
    "Sender",
    "To",
    "Cc",
    "Bcc",
    "Reply-To",
    "Subject",
    "In-Reply-To",
    "References",
];

fn address_field(field: &str, values: &[String]) -> Result<Option<Address<'static>>, BuildError> {
    let mut lists = Vec::with_capacity(values.len());
    for v in values {
        lists.push(addresses::parse(field, v)?);
    }
    Ok(match lists.len() {
        0 => None,
        1 => lists.pop(),
        _ => Some(Address::new_list(lists)),
    })
}

/// `<id>` values: one line each, angle brackets around a non-empty id without white space.
fn msg_ids<S: AsRef<str>>(
    field: &str,
    ids: impl IntoIterator<Item = S>,
) -> Result<HeaderType<'static>, BuildError> {
    let mut out = Vec::new();
    for id in ids {
        let id = id.as_ref();
        one_line(field, id)?;
        let inner = id
            .strip_prefix('<')
            .and_then(|i| i.strip_suffix('>'))
            .unwrap_or(id);
        if inner.is_empty() || inner.contains(|c: char| c.is_whitespace() || "<>".contains(c)) {
            return Err(BuildError::invalid(
                field,
                format!("`{id}` is not a message identifier like <id@host.example>"),
            ));
        }
        out.push(inner.to_owned());
    }
    Ok(MessageId {
        id: out.into_iter().map(Into::into).collect(),
    }
    .into())
}

fn check_attachment(n: usize, a: &Attachment) -> Result<(), BuildError> {
    let field = format!("attachment {n}");
    if let Some(f) = &a.filename {
        one_line(&format!("{field} filename"), f)?;
    }
    if let Content::Path(p) = &a.content {
        one_line(&format!("{field} path"), &p.to_string_lossy())?;
    }
    if let Some(t) = &a.content_type {
        let tf = format!("{field} content type");
        one_line(&tf, t)?;
        if !is_mime_type(t) {
            return Err(BuildError::invalid(
                tf,
                format!("`{t}` is not a MIME type like text/plain"),
            ));
        }
    }
    Ok(())
}

/// `type/subtype`, both RFC 2045 tokens.
fn is_mime_type(t: &str) -> bool {
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b))
    };
    t.split_once('/').is_some_and(|(a, b)| token(a) && token(b))
}

fn read<'a>(field: &str, c: &'a Content) -> Result<Cow<'a, [u8]>, BuildError> {
    match c {
        Content::Bytes(b) => Ok(Cow::Borrowed(b)),
        Content::Path(p) => std::fs::read(p)
            .map(Cow::Owned)
            .map_err(|source| BuildError::Read {
                field: field.to_owned(),
                path: p.clone(),
                source,
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_reads_no_file() {
        let b = DraftBuilder::new()
            .from("a@x.example")
            .text(Content::Path("/nonexistent/body".into()))
            .attach(Attachment::file("/nonexistent/file.pdf"));
        assert!(b.validate().is_ok());
        let e = b.to_vec().unwrap_err();
        assert!(matches!(e, BuildError::Read { .. }), "{e}");
        assert_eq!(e.kind(), super::super::ErrorKind::Input);
    }

    #[test]
    fn every_value_is_one_line() {
        let bad = "x\r\nBcc: e@y.example";
        let cases = [
            DraftBuilder::new().from(bad),
            DraftBuilder::new().sender(bad),
            DraftBuilder::new().to([bad]),
            DraftBuilder::new().cc([bad]),
            DraftBuilder::new().bcc([bad]),
            DraftBuilder::new().reply_to([bad]),
            DraftBuilder::new().subject("a\0b"),
            DraftBuilder::new().in_reply_to(bad),
            DraftBuilder::new().references([bad]),
            DraftBuilder::new().header("X-A", bad),
            DraftBuilder::new().attach(Attachment {
                content: Content::Bytes(vec![]),
                filename: Some(bad.into()),
                content_type: None,
            }),
            DraftBuilder::new().attach(Attachment {
                content: Content::Bytes(vec![]),
                filename: None,
                content_type: Some("text/plain\nX: y".into()),
            }),
        ];
        for b in cases {
            assert!(
                matches!(b.validate(), Err(BuildError::LineBreak { .. })),
                "{b:?}"
            );
        }
    }

    #[test]
    fn content_types_are_checked_and_guessed() {
        assert!(is_mime_type("application/vnd.oasis.opendocument.text"));
        assert!(!is_mime_type("text"));
        assert!(!is_mime_type("text/plain; charset=x"));
        assert_eq!(guess_type("Bericht.PDF"), "application/pdf");
        assert_eq!(guess_type("noext"), "application/octet-stream");
    }

    #[test]
    fn boundaries_follow_the_content() {
        let b = |t: &str| {
            DraftBuilder::new()
                .text(t)
                .html("<p>x</p>")
                .to_vec()
                .unwrap()
        };
        assert_eq!(b("one"), b("one"));
        let (x, y) = (
            String::from_utf8(b("one")).unwrap(),
            String::from_utf8(b("two")).unwrap(),
        );
        let boundary = |s: &str| s.split("boundary=\"").nth(1).unwrap()[..22].to_owned();
        assert_ne!(boundary(&x), boundary(&y));
    }
}
