//! Line-end scanning, the innermost loop of compose: every byte of every draft passes through it.
//!
//! Mail lines are short (70–80 octets), so calling `memchr` once per line spends more on the
//! call and its set-up than on the search. These loops look at 64 bytes at a time and turn
//! them into a bit mask (which the compiler turns into vector compares), then walk the set bits.

#[cfg(all(target_arch = "x86_64", not(miri)))]
mod expand;

/// 64 bytes at a time: bit `i` is set when `chunk[i] == byte`. SSE2 is part of the x86-64
/// baseline, so no run-time detection is needed; the compiler does not vectorise the portable
/// loop by itself (measured: 3× more instructions than memchr per line).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn mask64(chunk: &[u8; 64], byte: u8) -> u64 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
    };
    // SAFETY: SSE2 is enabled on every x86_64 target, so these intrinsics are available;
    // `chunk` is 64 readable bytes, each load reads 16 of them, and loadu needs no alignment.
    unsafe {
        let needle = _mm_set1_epi8(byte as i8);
        let mut m = 0u64;
        for k in 0..4 {
            let v = _mm_loadu_si128(chunk.as_ptr().add(k * 16).cast::<__m128i>());
            let bits = _mm_movemask_epi8(_mm_cmpeq_epi8(v, needle)) as u32 as u64;
            m |= (bits & 0xffff) << (k * 16);
        }
        m
    }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn mask64(chunk: &[u8; 64], byte: u8) -> u64 {
    let mut m = 0u64;
    for (i, &b) in chunk.iter().enumerate() {
        m |= u64::from(b == byte) << i;
    }
    m
}

/// The positions of every `byte` in `bytes`, in order.
#[derive(Debug, Clone)]
pub struct Positions<'a> {
    bytes: &'a [u8],
    byte: u8,
    /// Where the chunk that `mask` describes starts.
    base: usize,
    mask: u64,
}

/// Positions of every LF.
pub fn lfs(bytes: &[u8]) -> Positions<'_> {
    positions(bytes, b'\n')
}

/// Positions of every `byte`.
pub fn positions(bytes: &[u8], byte: u8) -> Positions<'_> {
    let mut p = Positions {
        bytes,
        byte,
        base: 0,
        mask: 0,
    };
    p.mask = p.chunk_mask(0);
    p
}

impl Positions<'_> {
    fn chunk_mask(&self, start: usize) -> u64 {
        match self.bytes.get(start..start + 64) {
            Some(c) => mask64(c.try_into().expect("64 bytes"), self.byte),
            None => {
                // The tail: padded with a byte that differs from the one sought.
                let tail = self.bytes.get(start..).unwrap_or_default();
                let mut c = [!self.byte; 64];
                c[..tail.len()].copy_from_slice(tail);
                mask64(&c, self.byte)
            }
        }
    }
}

impl Iterator for Positions<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        while self.mask == 0 {
            self.base += 64;
            if self.base >= self.bytes.len() {
                return None;
            }
            self.mask = self.chunk_mask(self.base);
        }
        let i = self.mask.trailing_zeros() as usize;
        self.mask &= self.mask - 1;
        Some(self.base + i)
    }
}

/// For each 64-byte chunk of `bytes`, in order, a mask of its bare LFs (those not preceded by
/// CR, including a CR at the end of the previous chunk).
pub fn bare_lf_masks(bytes: &[u8]) -> impl Iterator<Item = u64> + '_ {
    let mut carry = 0;
    bytes.chunks(64).map(move |c| {
        let (lf, cr) = match <&[u8; 64]>::try_from(c) {
            Ok(c) => (mask64(c, b'\n'), mask64(c, b'\r')),
            Err(_) => {
                // The tail, padded with bytes that are neither CR nor LF.
                let mut p = [0; 64];
                p[..c.len()].copy_from_slice(c);
                (mask64(&p, b'\n'), mask64(&p, b'\r'))
            }
        };
        let bare = lf & !((cr << 1) | carry);
        carry = cr >> 63;
        bare
    })
}

/// Appends `raw` with every line ending made CRLF (a bare LF gains a CR; CRLF is kept). A last
/// line without a line ending stays without one.
///
/// On x86-64 CPUs with AVX-512 VBMI2 the conversion is branch-free ([`expand`]); elsewhere it
/// goes line by line ([`lf_to_crlf_blocks`]). Both give the same bytes (tests and the fuzz
/// target compare them with a plain conversion).
pub fn lf_to_crlf(raw: &[u8], out: &mut Vec<u8>) {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    if expand::available() {
        // SAFETY: the CPU has every feature the function is compiled for (checked just above).
        unsafe { expand::lf_to_crlf(raw, out) };
        return;
    }
    lf_to_crlf_blocks(raw, out);
}

/// [`lf_to_crlf`] on any CPU.
///
/// Line by line, but without a `memcpy` call per line: mail lines are short, so the call's
/// set-up cost more than the copy. Each line is copied in whole 64-byte blocks (a block may
/// run past the line's end into spare capacity, which the next line overwrites), and line ends
/// are found 64 bytes at a time by [`lfs`]. An earlier loop copied 16 bytes at a time and
/// patched each line end: fewer instructions, but its "does this block hold a LF?" branch was
/// a coin toss for mail's short lines. Here the branches follow the lines, not the bytes
/// (cachegrind: 40% fewer mispredicted branches in this function for a batch of varied
/// drafts), and composing varied drafts ran 3–4% faster.
fn lf_to_crlf_blocks(raw: &[u8], out: &mut Vec<u8>) {
    const BLOCK: usize = 64;
    let n = raw.len();
    out.reserve(n + n / 32 + BLOCK);
    let mut o = out.len();
    let mut start = 0;
    for nl in lfs(raw) {
        let end = if nl > start && raw[nl - 1] == b'\r' {
            nl - 1
        } else {
            nl
        };
        let len = end - start;
        // The blocks write at most `len + BLOCK - 1` bytes; the CRLF lands inside that too.
        if out.capacity() - o < len + BLOCK {
            // SAFETY: every byte below `o` has been written (by this loop or before it).
            unsafe { out.set_len(o) };
            let rest = n - start;
            out.reserve(rest + rest / 32 + BLOCK);
        }
        // SAFETY: reads stay within `raw`: a whole block only when `start + k + BLOCK <= n`, else
        // exactly the line's remaining bytes. Writes stay below `o + len + BLOCK`, within the
        // capacity ensured above. `raw` and `out`'s buffer are distinct allocations (one is
        // borrowed shared, the other mutably). Bytes past `o` are never exposed: the length is
        // set to `o` only after they are written.
        unsafe {
            let src = raw.as_ptr().add(start);
            let dst = out.as_mut_ptr().add(o);
            let mut k = 0;
            while k < len {
                if start + k + BLOCK <= n {
                    std::ptr::copy_nonoverlapping(src.add(k), dst.add(k), BLOCK);
                    k += BLOCK;
                } else {
                    std::ptr::copy_nonoverlapping(src.add(k), dst.add(k), len - k);
                    k = len;
                }
            }
            std::ptr::copy_nonoverlapping(b"\r\n".as_ptr(), dst.add(len), 2);
        }
        o += len + 2;
        start = nl + 1;
    }
    // SAFETY: as above, every byte below `o` has been written.
    unsafe { out.set_len(o) };
    out.extend_from_slice(&raw[start..]);
}

/// [`lf_to_crlf`] the plain way, one `extend_from_slice` per line: the tests' reference.
#[cfg(test)]
fn lf_to_crlf_lines(raw: &[u8], out: &mut Vec<u8>) {
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

    fn naive(bytes: &[u8], byte: u8) -> Vec<usize> {
        (0..bytes.len()).filter(|&i| bytes[i] == byte).collect()
    }

    #[test]
    fn finds_every_position_across_chunk_edges() {
        for len in [0, 1, 63, 64, 65, 127, 128, 129, 300] {
            let bytes: Vec<u8> = (0..len)
                .map(|i| {
                    if i % 7 == 0 || i % 64 == 63 {
                        b'\n'
                    } else {
                        b'a'
                    }
                })
                .collect();
            assert_eq!(
                lfs(&bytes).collect::<Vec<_>>(),
                naive(&bytes, b'\n'),
                "{len}"
            );
        }
        // A tail padded with !byte must not match, whatever the byte.
        let all: Vec<u8> = (0..=255).collect();
        for b in 0..=255u8 {
            assert_eq!(
                positions(&all[..70], b).collect::<Vec<_>>(),
                naive(&all[..70], b)
            );
        }
    }

    #[test]
    fn crlf_conversion() {
        for (name, convert) in conversions() {
            let mut v = Vec::new();
            convert(b"a\nb\r\n\nc", &mut v);
            assert_eq!(v, b"a\r\nb\r\n\r\nc", "{name}");
        }
    }

    /// The block version against the line-by-line one: every length up to a few blocks, short
    /// and long lines, LFs, CRs and CRLFs at every offset (block edges included), and a
    /// non-empty output buffer. Dense line ends also exercise the mid-loop `reserve`.
    #[test]
    fn block_conversion_equals_line_conversion() {
        let mut x: u32 = 0x1234_5678;
        // Under Miri (which checks the unsafe writes, slowly) a sample of the same cases.
        let rounds = if cfg!(miri) { 3 } else { 40 };
        for len in 0..400 {
            for round in 0..rounds {
                // One line end per 5 bytes, per 75 or per 300: lines shorter and longer than a block.
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
        // Every byte a line end, or CRLFs, or CRs: dense line ends (the most CRs to insert per
        // block), and CR/LF pairs split by a block edge at every offset.
        let lens = if cfg!(miri) { 0..70 } else { 0..300 };
        for len in lens {
            for unit in [&b"\n"[..], b"\r\n", b"\r", b"a\r", b"\n\r"] {
                agree(&unit.repeat(len)[..len]);
                agree(&[&b"x"[..], &unit.repeat(len)[..len]].concat());
            }
        }
    }

    /// Every conversion this CPU can run gives the line-by-line result, appended after what
    /// `out` already held.
    fn agree(raw: &[u8]) {
        let mut want = b"prefix".to_vec();
        lf_to_crlf_lines(raw, &mut want);
        for (name, convert) in conversions() {
            let mut got = b"prefix".to_vec();
            convert(raw, &mut got);
            assert_eq!(got, want, "{name}: {:?}", raw.escape_ascii().to_string());
        }
    }

    type Conversion = fn(&[u8], &mut Vec<u8>);

    /// The conversion that runs here, the portable one, and the AVX-512 one where the CPU has
    /// the features it needs (this project's machines do).
    fn conversions() -> Vec<(&'static str, Conversion)> {
        let mut v: Vec<(&str, Conversion)> =
            vec![("chosen", lf_to_crlf), ("blocks", lf_to_crlf_blocks)];
        #[cfg(all(target_arch = "x86_64", not(miri)))]
        if expand::available() {
            // SAFETY: the CPU has the features (checked just above).
            v.push(("expand", |raw, out| unsafe { expand::lf_to_crlf(raw, out) }));
        }
        v
    }

    #[test]
    fn bare_lf_masks_mark_each_lf_without_a_cr_before_it() {
        let mut x: u32 = 0x9e37_79b9;
        for len in 0..300 {
            let raw: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    [b'\n', b'\r', b'a'][(x % 3) as usize]
                })
                .collect();
            let naive: Vec<usize> = (0..len)
                .filter(|&i| raw[i] == b'\n' && (i == 0 || raw[i - 1] != b'\r'))
                .collect();
            let mut found = Vec::new();
            for (k, mut m) in bare_lf_masks(&raw).enumerate() {
                while m != 0 {
                    found.push(k * 64 + m.trailing_zeros() as usize);
                    m &= m - 1;
                }
            }
            assert_eq!(found, naive, "{:?}", raw.escape_ascii().to_string());
        }
    }
}
