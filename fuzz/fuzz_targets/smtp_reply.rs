//! Bytes from a server through the SMTP reply reader (the one input envoi reads from the
//! network). Nothing may panic, and how the bytes are cut into reads must not matter: the
//! replies, and the error that ends them, are the same whether they arrive in one read or in
//! two (below the 64 KiB a reply may take, past which a partial read is refused on purpose).
#![no_main]

use envoi::fuzzing::smtp_replies;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, bytes)) = data.split_first() else {
        return;
    };
    let whole = smtp_replies(&[bytes]);
    if bytes.len() > 64 * 1024 {
        return;
    }
    let at = usize::from(cut) * bytes.len() / 255;
    let split = smtp_replies(&[&bytes[..at], &bytes[at..]]);
    assert_eq!(whole, split, "cut at {at}");
});
