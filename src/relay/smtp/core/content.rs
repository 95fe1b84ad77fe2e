//! The DATA content, written as it is read: line endings made CRLF and lines dot-stuffed
//! (RFC 5321 §4.5.2) chunk by chunk, so no stuffed copy of the whole message is ever built.

use crate::relay::message::{Message, Piece};

/// Bytes per write. Large enough that a big message costs few system calls, small next to any
/// message worth streaming.
const CHUNK: usize = 256 * 1024;

/// Yields the content in chunks; the last one carries the end of data (`.` CRLF), so a small
/// message and its dot go out in ONE write: a separate small write of the dot would wait for the
/// server's delayed ACK under Nagle's algorithm (about 40 ms per message on Linux).
pub(crate) struct Stuffer<'a> {
    pieces: [Piece<'a>; 2],
    piece: usize,
    pos: usize,
    at_line_start: bool,
    /// The last input byte (a CR before a LF that starts the next piece or chunk).
    prev: u8,
    /// What was written ends with CRLF (or nothing was written).
    ends_crlf: bool,
    done: bool,
}

impl<'a> Stuffer<'a> {
    pub(crate) fn new(message: Message<'a>) -> Stuffer<'a> {
        let p = message.pieces();
        Stuffer {
            pieces: [p[0], p[1]],
            piece: 0,
            pos: 0,
            at_line_start: true,
            prev: b'\n',
            ends_crlf: true,
            done: false,
        }
    }

    /// The end of data has been given.
    pub(crate) fn is_done(&self) -> bool {
        self.done
    }

    /// The next chunk to write, or None once the end of data was given.
    pub(crate) fn next_chunk(&mut self) -> Option<Vec<u8>> {
        if self.done {
            return None;
        }
        let left = self.pieces.iter().map(|p| p.bytes.len()).sum::<usize>() - self.offset();
        let mut out = Vec::with_capacity(left.min(CHUNK) + left.min(CHUNK) / 32 + 8);
        while out.len() < CHUNK && self.piece < self.pieces.len() {
            let Piece { bytes, bare_lf } = self.pieces[self.piece];
            let rest = &bytes[self.pos..];
            if rest.is_empty() {
                self.piece += 1;
                self.pos = 0;
                continue;
            }
            let end = memchr::memchr(b'\n', rest).map_or(rest.len(), |i| i + 1);
            self.line(&rest[..end], bare_lf, &mut out);
            self.pos += end;
        }
        if self.piece == self.pieces.len() {
            if !self.ends_crlf {
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b".\r\n");
            self.done = true;
        }
        Some(out)
    }

    fn offset(&self) -> usize {
        self.pieces[..self.piece]
            .iter()
            .map(|p| p.bytes.len())
            .sum::<usize>()
            + self.pos
    }

    /// One line (or the unterminated rest of a piece), stuffed and, for a bare-LF piece, with a
    /// CR before a bare LF.
    fn line(&mut self, line: &[u8], bare_lf: bool, out: &mut Vec<u8>) {
        if self.at_line_start && line[0] == b'.' {
            out.push(b'.');
        }
        let n = line.len();
        let before_lf = if n >= 2 { line[n - 2] } else { self.prev };
        let ends_lf = line[n - 1] == b'\n';
        if ends_lf && bare_lf && before_lf != b'\r' {
            out.extend_from_slice(&line[..n - 1]);
            out.extend_from_slice(b"\r\n");
            self.ends_crlf = true;
        } else {
            out.extend_from_slice(line);
            self.ends_crlf = ends_lf && before_lf == b'\r';
        }
        self.at_line_start = ends_lf;
        self.prev = line[n - 1];
    }
}

/// The whole stuffed content with its end of data (for tests).
#[cfg(test)]
pub(crate) fn dot_stuff(message: Message<'_>) -> Vec<u8> {
    let mut s = Stuffer::new(message);
    std::iter::from_fn(|| s.next_chunk()).flatten().collect()
}
