//! Arbitrary bytes through the whole pipeline: parse, compose under every Bcc policy, and lint.
//! Nothing may panic, check must report an error exactly when compose refuses (the very error
//! compose gives among them), and a successful compose must keep its promises (CRLF output, no Bcc
//! address of a blind recipient in a copy that visible recipients get, envelope JSON that
//! reads back). Every header value also goes through both address parsers, whose answers must
//! be identical; the body check is compared with a plain split into lines, and the CRLF
//! conversion with a byte-by-byte one.
#![no_main]

use envoi::{BccPolicy, Composer, FixedClock, HashIds, Options, fuzzing};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the options, so one input explores every policy and override.
    let (knobs, draft) = match data.split_first() {
        Some((k, rest)) => (*k, rest),
        None => (0, data),
    };
    if let Ok(d) = envoi::Draft::parse(draft) {
        // The body check's shortcuts against a plain split: too long exactly when some line
        // (CR of a CRLF not counted) is over 998 octets; CRLF length = length + bare LFs.
        let mut lines = d.body.split(|&b| b == b'\n').peekable();
        let mut longest = 0;
        while let Some(l) = lines.next() {
            let terminated = lines.peek().is_some();
            let l = if terminated {
                l.strip_suffix(b"\r").unwrap_or(l)
            } else {
                l
            };
            longest = longest.max(l.len());
        }
        let bare = (0..d.body.len())
            .filter(|&i| d.body[i] == b'\n' && (i == 0 || d.body[i - 1] != b'\r'))
            .count();
        match fuzzing::body_crlf_len(d.body, d.body_line) {
            Ok(n) => {
                assert!(longest <= fuzzing::MAX_LINE);
                assert_eq!(n, d.body.len() + bare);
            }
            Err(_) => assert!(longest > fuzzing::MAX_LINE),
        }
        // The CRLF conversion against a byte-by-byte one: a CR before each LF without one, and
        // CRLF after an unterminated last line.
        let mut fast = Vec::new();
        fuzzing::push_crlf(&mut fast, d.body);
        let mut slow = Vec::new();
        for (i, &b) in d.body.iter().enumerate() {
            if b == b'\n' && (i == 0 || d.body[i - 1] != b'\r') {
                slow.push(b'\r');
            }
            slow.push(b);
        }
        if !d.body.is_empty() && !d.body.ends_with(b"\n") {
            slow.extend_from_slice(b"\r\n");
        }
        assert_eq!(fast, slow);
        for f in &d.fields {
            if let Ok(v) = std::str::from_utf8(f.value()) {
                let (usual, full) = fuzzing::parse_list_both(v);
                assert_eq!(usual, full, "{v:?}");
            }
        }
    }
    let opts = Options {
        bcc_policy: match knobs & 3 {
            0 => BccPolicy::Remove,
            1 => BccPolicy::Split,
            2 => BccPolicy::SplitEach,
            _ => BccPolicy::Blank,
        },
        envelope_from: (knobs & 4 != 0).then(|| envoi::Addr::parse("env@from.example").unwrap()),
        extra_rcpts: if knobs & 8 != 0 {
            vec![envoi::Addr::parse("extra@rcpt.example").unwrap()]
        } else {
            Vec::new()
        },
        local_domain: (knobs & 0x10 != 0).then(|| "local.example".to_owned()),
        x_mailer: (knobs & 0x20 == 0).then(envoi::compose::default_x_mailer),
        ..Options::default()
    };
    let composer = Composer::new(opts)
        .unwrap()
        .with_clock(FixedClock::utc(1_800_000_000))
        .with_ids(HashIds);
    // check's errors are exactly the reasons compose refuses, under the same options.
    let findings = composer.check(draft);
    let composed = composer.compose(draft);
    match &composed {
        Ok(_) => assert!(!findings.iter().any(|f| f.is_error()), "{findings:?}"),
        Err(envoi::ComposeError::Draft(e)) => assert!(findings.contains(e), "{e} not in {findings:?}"),
        Err(e) => panic!("valid options refused: {e}"),
    }
    let Ok(c) = composed else {
        return;
    };
    assert!(c.iter().len() > 0);
    for s in &c {
        assert!(!s.envelope().to.is_empty());
        // The envelope JSON reads back as the envelope.
        let json: serde_json::Value = serde_json::from_str(&s.envelope().to_json()).unwrap();
        assert_eq!(json["from"], s.envelope().from.as_str());
        assert_eq!(json["to"].as_array().unwrap().len(), s.envelope().to.len());
        let bytes = s.to_bytes();
        // Every LF in the output is part of a CRLF.
        for (k, &b) in bytes.iter().enumerate() {
            if b == b'\n' {
                assert!(k > 0 && bytes[k - 1] == b'\r', "bare LF at {k}");
            }
        }
    }
});
