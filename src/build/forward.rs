//! [`forward`]: a draft that carries another message as a message/rfc822 attachment.

use super::reply::{prefixed, subject};
use super::{Attachment, BuildError, Content, DraftBuilder};
use crate::draft::Draft;

/// Starts a forward of `parent`: `Subject: Fwd: ...` (not stacked) and the parent attached as
/// message/rfc822, its bytes kept (line endings made CRLF; 7bit or 8bit, never base64, per
/// RFC 2046 §5.2.1). Set From and the recipients on the result.
///
/// ```
/// let parent = b"From: ann@example.org\nTo: me@example.net\nSubject: plans\n\nSee you.\n";
/// let draft = envoi::build::forward(parent)?
///     .from("me@example.net")
///     .to(["carl@example.com"])
///     .to_vec()?;
/// let text = String::from_utf8(draft).unwrap();
/// assert!(text.contains("Subject: Fwd: plans\r\n"));
/// assert!(text.contains("Content-Type: message/rfc822\r\n"));
/// assert!(text.contains("Content-Transfer-Encoding: 7bit\r\n"));
/// assert!(text.contains("\r\nFrom: ann@example.org\r\nTo: me@example.net\r\n"));
/// # Ok::<(), envoi::build::BuildError>(())
/// ```
pub fn forward(parent: &[u8]) -> Result<DraftBuilder, BuildError> {
    let d = Draft::parse(parent).map_err(|f| BuildError::invalid("parent", f.to_string()))?;
    Ok(DraftBuilder::new()
        .subject(prefixed("Fwd:", &subject(&d)))
        .attach(Attachment {
            content: Content::Bytes(parent.to_vec()),
            filename: None,
            content_type: Some("message/rfc822".into()),
        }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_8bit_parent_is_declared_8bit_and_kept() {
        let parent = "From: a@x.example\nSubject: Fwd: Grüße\n\nÄpfel\n".as_bytes();
        let out = super::forward(parent).unwrap().to_vec().unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("Content-Transfer-Encoding: 8bit\r\n\r\nFrom: a@x.example\r\nSubject: Fwd: Grüße\r\n\r\nÄpfel\r\n"));
        assert!(text.contains("Subject: =?utf-8?"), "{text}");
        assert!(!text.contains("base64"));
    }
}
