//! A message as a relay receives it: borrowed pieces (the header block and the body), so a large
//! message is never copied whole on its way to the server.

use std::borrow::Cow;

/// The bytes of one message for a relay, CRLF line endings. Held as borrowed pieces: a body
/// whose lines end in a bare LF is converted as it is written, in small chunks, so submitting a
/// large message costs no second copy of it. [`Submission::message`](crate::Submission::message)
/// gives one; [`Message::new`] wraps bytes already complete.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    pieces: [Piece<'a>; 2],
}

/// Bytes, and whether their bare LF line endings still need a CR.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Piece<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) bare_lf: bool,
}

impl<'a> Message<'a> {
    /// A message whose bytes are complete as they are (CRLF line endings).
    pub fn new(bytes: &'a [u8]) -> Message<'a> {
        Message::parts(bytes, b"", false)
    }

    /// A header block (CRLF) and a body whose line endings are made CRLF when `bare_lf`.
    pub(crate) fn parts(header: &'a [u8], body: &'a [u8], bare_lf: bool) -> Message<'a> {
        Message {
            pieces: [
                Piece {
                    bytes: header,
                    bare_lf: false,
                },
                Piece {
                    bytes: body,
                    bare_lf,
                },
            ],
        }
    }

    pub(crate) fn pieces(&self) -> &[Piece<'a>] {
        &self.pieces
    }

    /// True when every byte is ASCII (no 8BITMIME needed).
    pub fn is_ascii(&self) -> bool {
        self.pieces.iter().all(|p| p.bytes.is_ascii())
    }

    /// The complete message in one buffer, for relays that need it so.
    pub fn to_bytes(&self) -> Cow<'a, [u8]> {
        match self.pieces {
            [h, b] if h.bytes.is_empty() && !b.bare_lf => Cow::Borrowed(b.bytes),
            [h, b] if b.bytes.is_empty() => Cow::Borrowed(h.bytes),
            _ => {
                let [h, b] = self.pieces;
                let mut out =
                    Vec::with_capacity(h.bytes.len() + b.bytes.len() + b.bytes.len() / 32);
                out.extend_from_slice(h.bytes);
                if b.bare_lf {
                    crate::scan::lf_to_crlf(b.bytes, &mut out);
                } else {
                    out.extend_from_slice(b.bytes);
                }
                Cow::Owned(out)
            }
        }
    }
}

impl<'a> From<&'a [u8]> for Message<'a> {
    fn from(bytes: &'a [u8]) -> Message<'a> {
        Message::new(bytes)
    }
}
