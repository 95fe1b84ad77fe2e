//! `envoi send` streams the message: a draft over the group size (sent alone, in 256 KiB
//! chunks converted to CRLF and dot-stuffed as they are written) and small drafts (sent in a
//! pipelined group) arrive intact at aiosmtpd, dots and line ends as composed.

use super::harness::*;

#[test]
fn a_large_lf_draft_and_small_ones_arrive_intact() {
    let server = Smtpd::builder().start();
    let sb = Sandbox::for_smtpd(&server);
    // Over 4 MiB, every line starting with a dot, so dots meet every chunk boundary.
    let body: String = (0..90_000)
        .map(|i| format!(".{i:08} the quick brown fox jumps over the lazy dog\n"))
        .collect();
    assert!(body.len() > 4 << 20);
    let big = sb.draft(
        "big.eml",
        &format!("From: a@x.example\nTo: b@y.example\nSubject: big\n\n{body}"),
    );
    let small: Vec<_> = (0..2)
        .map(|i| {
            sb.draft(
                &format!("s{i}.eml"),
                &format!("From: a@x.example\nTo: b@y.example\nSubject: small {i}\n\n.{i}\nend"),
            )
        })
        .collect();
    let run = sb.envoi(
        &[
            "send",
            small[0].to_str().unwrap(),
            big.to_str().unwrap(),
            small[1].to_str().unwrap(),
        ],
        None,
    );
    run.assert_ok();
    let got = server.messages();
    let subjects: Vec<_> = got.iter().map(|m| m.header("Subject").unwrap()).collect();
    assert_eq!(subjects, ["small 0", "big", "small 1"]);
    assert_eq!(got[1].body(), body.replace('\n', "\r\n"));
    // A last line without its line end gets one (the end of data needs it).
    assert_eq!(got[0].body(), ".0\r\nend\r\n");
    assert_eq!(got[2].body(), ".1\r\nend\r\n");
}
