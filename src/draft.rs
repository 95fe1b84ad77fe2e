//! Drafts: an RFC 5322 message split into its header fields (raw bytes, folding and order kept)
//! and its body, without copying. Also owns the CRLF rules: output lines end in CRLF, and no line
//! may exceed 998 octets (RFC 5322 §2.1.1).

use crate::error::{Finding, Problem};
use crate::quote::quote_input;
use crate::scan::lf_to_crlf;
use std::borrow::Cow;
use std::io::{self, Write};

/// RFC 5322 §2.1.1: "Each line of characters MUST be no more than 998 characters".
pub const MAX_LINE: usize = 998;

/// One header field exactly as written: name, colon, value and every continuation line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field<'a> {
    /// From the first byte of the name to the end of the last line, its line ending included.
    pub raw: &'a [u8],
    /// The name is `raw[..name_len]`, printable ASCII (checked by `field_name`).
    name_len: usize,
    /// Has continuation lines (RFC 5322 §2.2.3 folding).
    folded: bool,
    colon: usize,
    /// Line number (from 1) of the field's first line.
    pub line: usize,
}

impl<'a> Field<'a> {
    /// The field name as written (ASCII, case kept).
    pub fn name(&self) -> &'a str {
        std::str::from_utf8(self.name_bytes()).expect("field_name admits printable ASCII only")
    }
    /// The field name's bytes: compared without a UTF-8 check, which costs more than the
    /// comparison for these short names.
    pub(crate) fn name_bytes(&self) -> &'a [u8] {
        &self.raw[..self.name_len]
    }
    /// Case-insensitive name comparison, as RFC 5322 §1.2.2 requires.
    pub fn is(&self, name: &str) -> bool {
        self.name_bytes().eq_ignore_ascii_case(name.as_bytes())
    }
    /// Appends the field with CRLF line endings (a last line without one gets one).
    pub(crate) fn push_crlf(&self, out: &mut Vec<u8>) {
        if self.folded {
            push_crlf(out, self.raw);
        } else {
            // One line: no need to look for line ends inside it.
            out.extend_from_slice(trim_eol(self.raw));
            out.extend_from_slice(b"\r\n");
        }
    }

    /// Everything after the colon, folding included, without the final line ending.
    pub fn value(&self) -> &'a [u8] {
        let v = &self.raw[self.colon + 1..];
        let v = v.strip_suffix(b"\n").unwrap_or(v);
        v.strip_suffix(b"\r").unwrap_or(v)
    }
}

/// A parsed draft. Borrows the source; nothing is copied.
#[derive(Debug, Clone)]
pub struct Draft<'a> {
    /// The whole draft as given to [`Draft::parse`].
    pub source: &'a [u8],
    /// The header fields, in order.
    pub fields: Vec<Field<'a>>,
    /// The empty line between header and body, if the draft had one.
    pub separator: bool,
    /// The body, exactly as written (line endings not yet normalised).
    pub body: &'a [u8],
    /// Line number of the first body line.
    pub body_line: usize,
    /// What was dropped before the first field: a byte-order mark, an mbox `From ` line.
    pub preamble: Preamble,
}

/// What [`Draft::parse`] drops before the first header field (docs/rules.md §1): neither is
/// part of an RFC 5322 message, and both come from tools that save or export drafts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Preamble {
    /// A UTF-8 byte-order mark (EF BB BF) opened the draft.
    pub bom: bool,
    /// The first line was an mbox `From sender date` line (line 1 of the draft).
    pub mbox_from: bool,
    /// How many bytes of the source were dropped: the header starts at `source[len..]`.
    pub len: usize,
}

impl Preamble {
    /// Reads what opens `source`: a BOM, then an mbox `From ` line (one that is no `From :`
    /// field, the obsolete spelling of §4.5).
    fn of(source: &[u8]) -> Preamble {
        let bom = source.starts_with(b"\xEF\xBB\xBF");
        let mut len = if bom { 3 } else { 0 };
        let rest = &source[len..];
        // The first line is looked for only when it may be one: every draft is parsed.
        let mut mbox_from = false;
        if rest.starts_with(b"From ") {
            let end = memchr::memchr(b'\n', rest).map_or(rest.len(), |i| i + 1);
            mbox_from = field_name(trim_eol(&rest[..end])).is_none();
            if mbox_from {
                len += end;
            }
        }
        Preamble {
            bom,
            mbox_from,
            len,
        }
    }
}

impl<'a> Draft<'a> {
    /// Splits `source` (LF or CRLF line endings) into header fields and body.
    ///
    /// ```
    /// let d = envoi::Draft::parse(b"To: a@x.example\nSubject: hi\n\nbody\n").unwrap();
    /// assert_eq!(d.fields.len(), 2);
    /// assert_eq!(d.fields[1].value(), b" hi");
    /// assert_eq!(d.body, b"body\n");
    /// ```
    pub fn parse(source: &'a [u8]) -> Result<Draft<'a>, Finding> {
        let mut fields: Vec<Field<'a>> = Vec::with_capacity(16);
        let preamble = Preamble::of(source);
        let mut pos = preamble.len;
        // The dropped mbox line keeps its number: findings name lines as the user sees them.
        let mut line = usize::from(preamble.mbox_from);
        let skip = preamble.len;
        let mut lfs = crate::scan::lfs(&source[skip..]).map(move |i| i + skip);
        while pos < source.len() {
            line += 1;
            let end = lfs.next().map_or(source.len(), |i| i + 1);
            let text = trim_eol(&source[pos..end]);
            if text.len() > MAX_LINE {
                return Err(Finding {
                    line,
                    problem: Problem::LineTooLong { len: text.len() },
                });
            }
            // RFC 5322 §2.2 allows no NUL in a header, and relays reject it or cut at it.
            if memchr::memchr(0, text).is_some() {
                return Err(Finding {
                    line,
                    problem: Problem::Nul,
                });
            }
            if text.is_empty() {
                return Ok(Draft {
                    source,
                    fields,
                    separator: true,
                    body: &source[end..],
                    body_line: line + 1,
                    preamble,
                });
            }
            if text[0] == b' ' || text[0] == b'\t' {
                let Some(last) = fields.last_mut() else {
                    return Err(Finding {
                        line,
                        problem: Problem::LeadingContinuation {
                            text: quote_input(text),
                        },
                    });
                };
                let start = last.raw.as_ptr() as usize - source.as_ptr() as usize;
                last.raw = &source[start..end];
                last.folded = true;
            } else {
                let Some((name_len, colon)) = field_name(text) else {
                    return Err(Finding {
                        line,
                        problem: Problem::NotAHeader {
                            text: quote_input(text),
                        },
                    });
                };
                fields.push(Field {
                    raw: &source[pos..end],
                    name_len,
                    folded: false,
                    colon,
                    line,
                });
            }
            pos = end;
        }
        Ok(Draft {
            source,
            fields,
            separator: false,
            body: &[],
            body_line: line + 1,
            preamble,
        })
    }

    /// Fields with this name, in order, whatever their letter case.
    pub fn fields_named<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s Field<'a>> + 's {
        self.fields.iter().filter(move |f| f.is(name))
    }
}

/// `name [WSP] ":"` where name is printable ASCII without colon (RFC 5322 §3.6.8, §4.5).
/// Returns the name's length and the colon's position. Names are short: a table lookup per
/// byte is faster than a search call.
fn field_name(line: &[u8]) -> Option<(usize, usize)> {
    let name_len = line
        .iter()
        .position(|&b| !FTEXT[b as usize])
        .unwrap_or(line.len());
    // White space before the colon is obsolete syntax (§4.5); inside the name it is invalid.
    let mut colon = name_len;
    while matches!(line.get(colon), Some(b' ' | b'\t')) {
        colon += 1;
    }
    (name_len > 0 && line.get(colon) == Some(&b':')).then_some((name_len, colon))
}

/// ftext (RFC 5322 §3.6.8): printable US-ASCII except the colon.
const FTEXT: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 33;
    while i <= 126 {
        t[i] = i != b':' as usize;
        i += 1;
    }
    t
};

fn trim_eol(line: &[u8]) -> &[u8] {
    let l = line.strip_suffix(b"\n").unwrap_or(line);
    l.strip_suffix(b"\r").unwrap_or(l)
}

/// Appends `bytes` with every line ending made CRLF; a final unterminated line gets one too.
pub(crate) fn push_crlf(out: &mut Vec<u8>, bytes: &[u8]) {
    lf_to_crlf(bytes, out);
    if !bytes.is_empty() && !bytes.ends_with(b"\n") {
        out.extend_from_slice(b"\r\n");
    }
}

/// A validated body: no line over 998 octets. Line endings are converted to CRLF only when the
/// body is written, in small chunks, so a large LF body is never held twice in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Body<'a> {
    /// The body exactly as written.
    pub raw: &'a [u8],
    /// Some line ends in a bare LF, so the output is a converted copy.
    bare_lf: bool,
}

impl<'a> Body<'a> {
    /// Checks line lengths (RFC 5322 §2.1.1) and whether any line ends in a bare LF.
    /// `first_line` numbers errors.
    ///
    /// A body of up to 64 KiB (nearly every message, and in cache once read) needs neither
    /// question answered line by line: `lines_fit` settles the lengths in a few probes, and
    /// the LF question ends at the first bare LF, which for an LF draft is its first line end.
    /// A larger body is walked once, in order: the probes jump a kilobyte at a time, and out of
    /// cache each one waits for memory (measured: 10 ms for 50 MB, three times the walk).
    pub fn check(raw: &'a [u8], first_line: usize) -> Result<Body<'a>, Finding> {
        const PROBED: usize = 64 * 1024;
        let bare_lf = if raw.len() <= PROBED && lines_fit(raw) {
            crate::scan::has_bare_lf(raw)
        } else {
            walk(raw, first_line)?
        };
        Ok(Body { raw, bare_lf })
    }

    /// Length once every line ending is CRLF. Counts the bare LFs, so it reads the whole body.
    pub fn crlf_len(&self) -> usize {
        if !self.bare_lf {
            return self.raw.len();
        }
        self.raw.len() + crate::scan::bare_lfs(self.raw)
    }

    /// The body with CRLF line endings, borrowed when it already has them. A last line without a
    /// line ending stays without one: the bytes are the user's.
    pub fn to_crlf(self) -> Cow<'a, [u8]> {
        if !self.bare_lf {
            return Cow::Borrowed(self.raw);
        }
        let mut out = Vec::with_capacity(self.crlf_len());
        self.push_crlf(&mut out);
        Cow::Owned(out)
    }

    /// Appends the CRLF body to `out`.
    pub fn push_crlf(&self, out: &mut Vec<u8>) {
        if !self.bare_lf {
            out.extend_from_slice(self.raw);
            return;
        }
        lf_to_crlf(self.raw, out);
    }

    /// Writes the CRLF body, converting through a 64 KiB buffer so memory stays flat.
    pub fn write_crlf(&self, w: &mut dyn Write) -> io::Result<()> {
        if !self.bare_lf {
            return w.write_all(self.raw);
        }
        const CHUNK: usize = 64 * 1024;
        // Sized to the body when it is small: a 64 KiB allocation per message would cost more
        // than the conversion (freeing it makes malloc consolidate its free lists).
        let cap = self.raw.len().min(CHUNK);
        let mut buf = Vec::with_capacity(cap + cap / 8);
        let mut rest = self.raw;
        while !rest.is_empty() {
            // Cut after a LF so a CRLF pair is never split between chunks.
            let cut = match memchr::memrchr(b'\n', &rest[..rest.len().min(CHUNK)]) {
                Some(i) => i + 1,
                None => rest.len().min(CHUNK),
            };
            buf.clear();
            lf_to_crlf(&rest[..cut], &mut buf);
            w.write_all(&buf)?;
            rest = &rest[cut..];
        }
        Ok(())
    }
}

/// Whether every line of `raw` is at most [`MAX_LINE`] octets, or maybe not (false). A line
/// starting at `s` fits when an LF lies within the next `MAX_LINE + 1` bytes, so the search
/// jumps to the last LF of that window (`memrchr`, which finds one near the window's end) and
/// looks at a few dozen bytes per 999 instead of at every line. Unsure only when a window has
/// no LF: a long line, or a line of exactly 998 octets and CRLF.
fn lines_fit(raw: &[u8]) -> bool {
    let mut s = 0;
    while raw.len() - s > MAX_LINE {
        match memchr::memrchr(b'\n', &raw[s..s + MAX_LINE + 1]) {
            Some(i) => s += i + 1,
            None => return false,
        }
    }
    true
}

/// Every line of `raw`, in order: the first one over [`MAX_LINE`] octets (its CRLF or LF not
/// counted, numbered from `first_line`) as an error, else whether any line ends in a bare LF.
fn walk(raw: &[u8], first_line: usize) -> Result<bool, Finding> {
    let too_long = |len: usize, line: usize| Finding {
        line,
        problem: Problem::LineTooLong { len },
    };
    let mut bare_lf = false;
    let mut start = 0;
    let mut line = first_line;
    for nl in crate::scan::lfs(raw) {
        let cr = nl > start && raw[nl - 1] == b'\r';
        bare_lf |= !cr;
        let len = nl - start - usize::from(cr);
        if len > MAX_LINE {
            return Err(too_long(len, line));
        }
        start = nl + 1;
        line += 1;
    }
    if raw.len() - start > MAX_LINE {
        return Err(too_long(raw.len() - start, line));
    }
    Ok(bare_lf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_and_order_kept() {
        let src = b"Subject: a\r\n  folded\r\nX-A : b\nTo: c\n\nbody";
        let d = Draft::parse(src).unwrap();
        assert_eq!(d.fields.len(), 3);
        assert_eq!(d.fields[0].raw, b"Subject: a\r\n  folded\r\n");
        assert_eq!(d.fields[1].name(), "X-A");
        assert_eq!(d.fields[2].line, 4);
        assert!(d.separator);
        assert_eq!(d.body, b"body");
        assert_eq!(d.body_line, 6);
    }

    #[test]
    fn a_stray_line_is_an_error_with_its_number() {
        let e = Draft::parse(b"To: a@b.example\nThis line is not a header\n\nbody").unwrap_err();
        assert_eq!(e.line, 2);
        assert_eq!(
            e.problem,
            Problem::NotAHeader {
                text: "This line is not a header".into()
            }
        );
        assert_eq!(Draft::parse(b" x: y\n").unwrap_err().line, 1);
        assert!(Draft::parse(b": no name\n").is_err());
    }

    #[test]
    fn a_bom_and_an_mbox_line_are_dropped_and_noted() {
        let src =
            b"\xEF\xBB\xBFFrom a@x.example Fri Jan 15 08:00:00 2027\r\nFrom: a@x.example\r\n\r\nb";
        let d = Draft::parse(src).unwrap();
        assert_eq!(d.preamble.len, 46);
        assert!(d.preamble.bom && d.preamble.mbox_from);
        assert_eq!(d.fields.len(), 1);
        assert_eq!(d.fields[0].raw, b"From: a@x.example\r\n");
        assert_eq!((d.fields[0].line, d.body_line), (2, 4));
        let bom = Draft::parse(b"\xEF\xBB\xBFTo: b@x.example\n").unwrap();
        assert_eq!((bom.preamble.len, bom.fields[0].line), (3, 1));
        assert!(!bom.preamble.mbox_from);
        // `From :` is the obsolete spelling of the From field (§4.5), not an mbox line.
        let obs = Draft::parse(b"From : a@x.example\n").unwrap();
        assert_eq!(obs.preamble, Preamble::default());
        assert_eq!(obs.fields[0].name(), "From");
        // Only the first line may be an mbox line; a BOM later on is no BOM either.
        assert_eq!(
            Draft::parse(b"To: b@x.example\nFrom x\n").unwrap_err().line,
            2
        );
        assert!(Draft::parse(b"To: b@x.example\n\xEF\xBB\xBFX: y\n").is_err());
    }

    #[test]
    fn a_nul_in_the_header_is_refused_with_its_line() {
        let e = Draft::parse(b"From: a@x.example\nTo: b@\0x.example\n\nbody\0\n").unwrap_err();
        assert_eq!((e.line, e.problem), (2, Problem::Nul));
        let e = Draft::parse(b"From a@x.example date\n\0\n").unwrap_err();
        assert_eq!((e.line, e.problem), (2, Problem::Nul));
        // The body is the user's bytes: NUL there is not a header matter.
        assert!(Draft::parse(b"To: b@x.example\n\nbody\0\n").is_ok());
    }

    #[test]
    fn header_only_draft() {
        let d = Draft::parse(b"To: a@b.example").unwrap();
        assert!(!d.separator);
        assert_eq!(d.fields[0].value(), b" a@b.example");
    }

    #[test]
    fn body_crlf() {
        let crlf = Body::check(b"a\r\nb\r\n", 1).unwrap();
        assert!(matches!(crlf.to_crlf(), Cow::Borrowed(_)));
        let mixed = Body::check(b"a\nb\r\nc", 1).unwrap();
        assert_eq!(&*mixed.to_crlf(), b"a\r\nb\r\nc");
        assert_eq!(mixed.crlf_len(), 7);
        let long = vec![b'x'; 999];
        assert_eq!(Body::check(&long, 7).unwrap_err().line, 7);
        let mut ok = vec![b'x'; 998];
        ok.extend_from_slice(b"\r\n");
        assert!(Body::check(&ok, 1).is_ok());
    }

    #[test]
    fn chunked_write_equals_whole_conversion() {
        // Lines of varied length across several 64 KiB chunks, LF and CRLF mixed, no final LF.
        let mut raw = Vec::new();
        for i in 0..40_000usize {
            raw.extend(std::iter::repeat_n(b'a' + (i % 26) as u8, i % 97));
            raw.extend_from_slice(if i % 3 == 0 { b"\r\n" } else { b"\n" });
        }
        raw.extend_from_slice(b"tail");
        let body = Body::check(&raw, 1).unwrap();
        let mut written = Vec::new();
        body.write_crlf(&mut written).unwrap();
        assert_eq!(written, body.to_crlf().into_owned());
        assert_eq!(written.len(), body.crlf_len());
        assert!(!written.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r'));
    }

    #[test]
    fn push_crlf_terminates_every_line() {
        let mut v = Vec::new();
        push_crlf(&mut v, b"A: b\n c");
        assert_eq!(v, b"A: b\r\n c\r\n");
    }

    /// The quick length check and the bare-LF flag against a line-by-line walk: lines of every
    /// length around the limit, LF and CRLF, at every position.
    #[test]
    fn body_check_equals_a_line_by_line_walk() {
        let mut x: u32 = 0x2545_f491;
        let mut rnd = |n: u32| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x % n
        };
        for _ in 0..3000 {
            let mut raw = Vec::new();
            for _ in 0..rnd(6) {
                let len = match rnd(3) {
                    0 => rnd(80),
                    1 => 990 + rnd(12),
                    _ => rnd(1200),
                } as usize;
                raw.extend(std::iter::repeat_n(b'x', len));
                match rnd(4) {
                    0 => raw.extend_from_slice(b"\r\n"),
                    1 => {}
                    _ => raw.push(b'\n'),
                }
            }
            let walked = walk(&raw, 3);
            match Body::check(&raw, 3) {
                Ok(b) => {
                    let bare = (0..raw.len())
                        .filter(|&i| raw[i] == b'\n' && (i == 0 || raw[i - 1] != b'\r'))
                        .count();
                    assert_eq!(walked, Ok(bare > 0));
                    assert_eq!(b.bare_lf, bare > 0);
                    assert_eq!(b.crlf_len(), raw.len() + bare);
                }
                Err(e) => assert_eq!(Err(e), walked),
            }
        }
    }

    /// The table-driven field-name scan against the rule read byte by byte.
    #[test]
    fn field_name_follows_the_rule() {
        fn reference(line: &[u8]) -> Option<(usize, usize)> {
            let mut name_len = 0;
            for (i, &b) in line.iter().enumerate() {
                match b {
                    b':' => return (name_len > 0).then_some((name_len, i)),
                    b' ' | b'\t' => {}
                    33..=126 if name_len == i => name_len = i + 1,
                    _ => return None,
                }
            }
            None
        }
        const ALPHABET: &[u8] = b"aZ-: \t\x7f\x00\xc3~!";
        let mut x: u32 = 0x1357_9bdf;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let len = (x % 9) as usize;
            let line: Vec<u8> = (0..len)
                .map(|k| ALPHABET[((x >> (3 * k)) % ALPHABET.len() as u32) as usize])
                .collect();
            assert_eq!(
                field_name(&line),
                reference(&line),
                "{:?}",
                line.escape_ascii().to_string()
            );
        }
    }

    /// Bodies past the probing limit take the walk: the same answers, line numbers included.
    #[test]
    fn large_bodies_are_walked_with_the_same_answers() {
        let line = |eol: &str| "x".repeat(70) + eol;
        let crlf: String = (0..2000).map(|_| line("\r\n")).collect();
        assert!(crlf.len() > 64 * 1024);
        let b = Body::check(crlf.as_bytes(), 1).unwrap();
        assert!(!b.bare_lf);
        assert_eq!(b.crlf_len(), crlf.len());
        let mut lf: String = (0..2000).map(|_| line("\n")).collect();
        assert!(Body::check(lf.as_bytes(), 1).unwrap().bare_lf);
        lf.insert_str(71 * 1500, &"y".repeat(999));
        let e = Body::check(lf.as_bytes(), 10).unwrap_err();
        assert_eq!(e.line, 1510);
        assert_eq!(e.problem, Problem::LineTooLong { len: 999 + 70 });
    }
}
