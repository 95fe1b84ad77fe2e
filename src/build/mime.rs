//! The MIME tree of a built draft: text and html as multipart/alternative, attachments around
//! them as multipart/mixed, boundaries derived from the content, content types guessed from
//! file names. mail-builder encodes and writes it.

use mail_builder::headers::HeaderType;
use mail_builder::headers::content_type::ContentType;
use mail_builder::mime::{BodyPart, MimePart};
use std::borrow::Cow;
use std::path::Path;

use super::render_field;

/// An attachment read and ready: its bytes, the name recipients see, its content type.
pub(super) struct File<'a> {
    pub bytes: Cow<'a, [u8]>,
    pub name: Option<String>,
    pub ctype: String,
}

/// A MIME boundary derived from everything the draft holds: the same draft always gets the
/// same boundaries (byte-identical output), and a body cannot contain a boundary unless it
/// contains the hash of itself.
pub(super) fn boundary(
    headers: &[(Cow<'static, str>, HeaderType<'static>)],
    bodies: [&Option<String>; 2],
    files: &[File<'_>],
) -> String {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for (name, value) in headers {
        h.update(&render_field(name, value));
    }
    for b in bodies {
        h.update(b.as_deref().unwrap_or("\0").as_bytes());
        h.update(b"\0");
    }
    for f in files {
        h.update(f.name.as_deref().unwrap_or("").as_bytes());
        h.update(f.ctype.as_bytes());
        h.update(&(f.bytes.len() as u64).to_le_bytes());
        h.update(&f.bytes);
    }
    format!("envoi_{:016x}", h.digest())
}

/// The MIME tree: text and html as multipart/alternative, attachments around it as
/// multipart/mixed.
pub(super) fn tree<'a>(
    text: Option<String>,
    html: Option<String>,
    files: Vec<File<'a>>,
    boundary: &str,
) -> MimePart<'a> {
    let multipart = |kind: &'static str, n: u8, parts: Vec<MimePart<'a>>| {
        MimePart::new(
            ContentType::new(kind).attribute("boundary", format!("{boundary}_{n}")),
            parts,
        )
    };
    let text = text.map(|t| MimePart::new("text/plain", t));
    let html = html.map(|t| MimePart::new("text/html", t));
    let body = match (text, html) {
        (Some(t), Some(h)) => Some(multipart("multipart/alternative", 2, vec![t, h])),
        (t, h) => t.or(h),
    };
    if files.is_empty() {
        return body.unwrap_or_else(|| MimePart::new("text/plain", ""));
    }
    let mut parts: Vec<MimePart<'a>> = body.into_iter().collect();
    parts.extend(files.into_iter().map(attachment_part));
    multipart("multipart/mixed", 1, parts)
}

fn attachment_part(f: File<'_>) -> MimePart<'_> {
    let name = f.name.unwrap_or_default();
    if f.ctype.eq_ignore_ascii_case("message/rfc822") {
        // RFC 2046 §5.2.1: a message/rfc822 part is 7bit or 8bit, never base64; its bytes are
        // kept, line endings made CRLF.
        let mut crlf = Vec::with_capacity(f.bytes.len() + f.bytes.len() / 32);
        crate::draft::push_crlf(&mut crlf, &f.bytes);
        let cte = if crlf.is_ascii() { "7bit" } else { "8bit" };
        let part = MimePart::new(ContentType::new("message/rfc822"), crlf);
        let part = match name.is_empty() {
            true => part.header("Content-Disposition", ContentType::new("attachment")),
            false => part.attachment(name),
        };
        return part.transfer_encoding(cte);
    }
    // No charset is declared: an attached file's encoding is not known.
    let part = MimePart::new(ContentType::new(f.ctype), BodyPart::Binary(f.bytes));
    match name.is_empty() {
        true => part.header("Content-Disposition", ContentType::new("attachment")),
        false => part.attachment(name),
    }
}

/// The content type for a file name, from its extension; application/octet-stream otherwise.
pub(crate) fn guess_type(name: &str) -> &'static str {
    let ext = Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "txt" | "text" | "log" => "text/plain",
        "html" | "htm" => "text/html",
        "csv" => "text/csv",
        "md" => "text/markdown",
        "ics" => "text/calendar",
        "eml" => "message/rfc822",
        "pdf" => "application/pdf",
        "json" => "application/json",
        "xml" => "application/xml",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        "tar" => "application/x-tar",
        "odt" => "application/vnd.oasis.opendocument.text",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "webp" => "image/webp",
        "mp3" => "audio/mpeg",
        "ogg" => "audio/ogg",
        "mp4" => "video/mp4",
        _ => "application/octet-stream",
    }
}
