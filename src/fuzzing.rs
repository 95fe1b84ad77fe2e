//! Hooks for the fuzz target, compiled only under `--cfg fuzzing` (which cargo-fuzz sets): the
//! internals whose fast paths the fuzzer compares with plain reference code. Not part of the API.

use crate::address::{AddressError, ListParser, Mailbox};
use crate::error::Finding;

pub use crate::draft::MAX_LINE;

/// An address list read the usual way (fast path first) and by the full parser alone.
pub type BothParses<'v> = (
    Result<Vec<Mailbox<'v>>, AddressError>,
    Result<Vec<Mailbox<'v>>, AddressError>,
);

/// `value` through the usual parser and through the full RFC 5322 parser alone.
pub fn parse_list_both(value: &str) -> BothParses<'_> {
    let mut p = ListParser::new();
    (p.parse(value), p.parse_full(value))
}

/// The body check: the body's length once every line ending is CRLF, or its first line over
/// [`MAX_LINE`] octets.
pub fn body_crlf_len(body: &[u8], first_line: usize) -> Result<usize, Finding> {
    crate::draft::Body::check(body, first_line).map(|b| b.crlf_len())
}

/// Appends `bytes` with every line ending made CRLF (and one after an unterminated last line).
pub fn push_crlf(out: &mut Vec<u8>, bytes: &[u8]) {
    crate::draft::push_crlf(out, bytes)
}

/// SMTP replies read from `pieces` fed one after the other (see the `smtp_reply` target): each
/// reply's code and text, and the error that ended the reading, if one did.
pub fn smtp_replies(pieces: &[&[u8]]) -> Vec<Result<(u16, String), String>> {
    crate::relay::smtp::fuzz_replies(pieces)
}
