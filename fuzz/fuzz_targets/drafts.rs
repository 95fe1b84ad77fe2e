//! Arbitrary bytes as the parent of a reply or a forward, and as a draft to edit (the header
//! editor of `envoi edit`). Nothing may panic; an edit that names no field of the draft changes
//! no byte of it (once the preamble that parsing drops, a BOM or an mbox `From ` line, is set
//! aside); and a reply or forward that builds yields a draft that parses.
#![no_main]

use envoi::Draft;
use envoi::build::{Editor, ReplyOptions, forward, reply};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for opts in [
        ReplyOptions { all: false, me: Vec::new(), quote: false },
        ReplyOptions { all: true, me: Vec::new(), quote: true },
    ] {
        if let Ok(b) = reply(data, &opts) {
            if let Ok(out) = b.from("me@example.org").to_vec() {
                assert!(Draft::parse(&out).is_ok(), "a reply that does not parse");
            }
        }
    }
    if let Ok(b) = forward(data) {
        if let Ok(out) = b.from("me@example.org").to(["you@example.net"]).to_vec() {
            assert!(Draft::parse(&out).is_ok(), "a forward that does not parse");
        }
    }
    // X-Fuzz-Absent is in no draft unless the fuzzer writes it; removing it changes nothing.
    let Ok(draft) = Draft::parse(data) else { return };
    if draft.fields_named("X-Fuzz-Absent").next().is_some() {
        return;
    }
    let skip = draft.preamble.len;
    if let Ok(out) = Editor::new().remove("X-Fuzz-Absent").apply(data) {
        assert_eq!(out, &data[skip..], "an edit that names no field changed the draft");
    }
});
