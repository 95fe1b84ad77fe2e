//! Line-end scanning, the innermost loop of compose: every byte of every draft passes through it.
//!
//! The searching is memchr's (vectorised, with the CPU's features detected at run time); this
//! module only says what a line end and a bare LF are.

/// Positions of every LF in `bytes`, in order.
pub(crate) fn lfs(bytes: &[u8]) -> memchr::Memchr<'_> {
    memchr::memchr_iter(b'\n', bytes)
}

/// Whether some LF in `bytes` is bare (not preceded by CR). Stops at the first one, which for an
/// LF draft is its first line end.
pub(crate) fn has_bare_lf(bytes: &[u8]) -> bool {
    lfs(bytes).any(|i| i == 0 || bytes[i - 1] != b'\r')
}

/// How many LFs in `bytes` are bare: every LF, less those in a CRLF pair (pairs never overlap).
/// Two counting passes, with no branch per line.
pub(crate) fn bare_lfs(bytes: &[u8]) -> usize {
    lfs(bytes).count() - memchr::memmem::find_iter(bytes, b"\r\n").count()
}

/// Appends `raw` with every line ending made CRLF (a bare LF gains a CR; CRLF is kept). A last
/// line without a line ending stays without one.
pub(crate) fn lf_to_crlf(raw: &[u8], out: &mut Vec<u8>) {
    // Mail lines are rarely shorter than 32 bytes: one reserve, in nearly every case.
    out.reserve(raw.len() + raw.len() / 32);
    let mut start = 0;
    for nl in lfs(raw) {
        let end = if nl > start && raw[nl - 1] == b'\r' {
            nl - 1
        } else {
            nl
        };
        out.extend_from_slice(&raw[start..end]);
        out.extend_from_slice(b"\r\n");
        start = nl + 1;
    }
    out.extend_from_slice(&raw[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference: byte by byte, a CR in front of each LF that has none.
    fn bytewise(raw: &[u8], out: &mut Vec<u8>) {
        for (i, &b) in raw.iter().enumerate() {
            if b == b'\n' && (i == 0 || raw[i - 1] != b'\r') {
                out.push(b'\r');
            }
            out.push(b);
        }
    }

    fn naive_bare(raw: &[u8]) -> Vec<usize> {
        (0..raw.len())
            .filter(|&i| raw[i] == b'\n' && (i == 0 || raw[i - 1] != b'\r'))
            .collect()
    }

    #[test]
    fn crlf_conversion() {
        let mut v = Vec::new();
        lf_to_crlf(b"a\nb\r\n\nc", &mut v);
        assert_eq!(v, b"a\r\nb\r\n\r\nc");
    }

    /// The conversion and the bare-LF questions against the byte-by-byte reference: every
    /// length up to a few hundred bytes, short and long lines, LFs, CRs and CRLFs at every
    /// offset, and a non-empty output buffer.
    #[test]
    fn conversion_and_counts_equal_the_bytewise_reference() {
        let mut x: u32 = 0x1234_5678;
        for len in 0..400 {
            for round in 0..40 {
                // One line end per 5 bytes, per 75 or per 300.
                let per = [10, 150, 600][round % 3];
                let raw: Vec<u8> = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 17;
                        x ^= x << 5;
                        match x % per {
                            0 | 1 => b'\n',
                            2 => b'\r',
                            _ => b'a' + (x % 26) as u8,
                        }
                    })
                    .collect();
                agree(&raw);
            }
        }
        // Every byte a line end, or CRLFs, or CRs: dense line ends, and CR/LF pairs at every
        // offset.
        for len in 0..300 {
            for unit in [&b"\n"[..], b"\r\n", b"\r", b"a\r", b"\n\r"] {
                agree(&unit.repeat(len)[..len]);
                agree(&[&b"x"[..], &unit.repeat(len)[..len]].concat());
            }
        }
    }

    fn agree(raw: &[u8]) {
        let shown = raw.escape_ascii().to_string();
        let mut want = b"prefix".to_vec();
        bytewise(raw, &mut want);
        let mut got = b"prefix".to_vec();
        lf_to_crlf(raw, &mut got);
        assert_eq!(got, want, "{shown:?}");
        let bare = naive_bare(raw);
        assert_eq!(bare_lfs(raw), bare.len(), "{shown:?}");
        assert_eq!(has_bare_lf(raw), !bare.is_empty(), "{shown:?}");
    }
}
