//! Unit tests for composing: header edits, Bcc policies and option precedence, each on the
//! smallest draft that shows the rule. The golden fixtures cover the whole pipeline.

use super::*;
use crate::clock::FixedClock;
use crate::error::Problem;

const DATE: &str = "Fri, 15 Jan 2027 08:00:00 +0000";

fn composer(f: impl FnOnce(&mut Options)) -> Composer {
    let mut o = Options::default();
    f(&mut o);
    Composer::new(o)
        .unwrap()
        .with_clock(FixedClock::utc(1_800_000_000))
        .with_ids(HashIds)
}

fn plain() -> Composer {
    composer(|_| {})
}

fn policy(p: BccPolicy) -> Composer {
    composer(|o| o.bcc_policy = p)
}

fn addr(s: &str) -> Addr {
    Addr::parse(s).unwrap()
}

fn text(c: &Composed, i: usize) -> String {
    String::from_utf8(c.iter().nth(i).unwrap().to_bytes()).unwrap()
}

fn rcpts(s: &Part) -> Vec<&str> {
    s.envelope.to.iter().map(Addr::as_str).collect()
}

fn problem(r: Result<Composed, ComposeError>) -> Problem {
    match r {
        Err(ComposeError::Draft(f)) => f.problem,
        Err(e) => panic!("expected a draft error, got {e}"),
        Ok(c) => panic!("expected an error, composed {:?}", c.parts),
    }
}

#[test]
fn missing_fields_are_added_at_the_end_of_the_header_in_order() {
    let c = plain()
        .compose(b"From: a@x.example\nTo: b@y.example\nSubject: s\n\nbody\n")
        .unwrap();
    let t = text(&c, 0);
    let want_start = format!(
        "From: a@x.example\r\nTo: b@y.example\r\nSubject: s\r\nDate: {DATE}\r\nMessage-ID: {}\r\nX-Mailer: envoi/{}\r\n\r\nbody\r\n",
        c.message_id,
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(t, want_start);
    assert!(c.message_id.starts_with('<') && c.message_id.ends_with("@x.example>"));
}

#[test]
fn present_fields_are_never_added_again_whatever_their_case() {
    let src = b"DATE: Thu, 1 Jan 2026 00:00:00 +0000\nmessage-id:  <m@x.example> \nX-MAILER: mutt\nFrom: a@x.example\nTo: b@y.example\n\n";
    let c = plain().compose(src).unwrap();
    let t = text(&c, 0);
    for name in ["date:", "message-id:", "x-mailer:"] {
        assert_eq!(t.to_ascii_lowercase().matches(name).count(), 1, "{name}");
    }
    // The id of an existing field is reported without its surrounding spaces.
    assert_eq!(c.message_id, "<m@x.example>");
}

#[test]
fn no_x_mailer_and_option_values() {
    let c = composer(|o| {
        o.x_mailer = None;
        o.date = Some("Sun, 29 Nov 2026 09:30:00 +0100".into());
        o.message_id = Some("id-1@x.example".into());
    })
    .compose(b"From: a@x.example\nTo: b@y.example\n\n")
    .unwrap();
    let t = text(&c, 0);
    assert!(!t.contains("X-Mailer"));
    assert!(t.contains("\r\nDate: Sun, 29 Nov 2026 09:30:00 +0100\r\n"));
    assert!(t.contains("\r\nMessage-ID: <id-1@x.example>\r\n"));
    assert_eq!(c.message_id, "<id-1@x.example>");
}

#[test]
fn message_id_domain_prefers_option_then_author_then_envelope_sender() {
    let src = b"From: a@Author.example\nSender: s@sender.example\nTo: b@y.example\n\n";
    let id = |c: Composer| c.compose(src).unwrap().message_id;
    assert!(id(composer(|o| o.id_domain = Some("ids.example".into()))).ends_with("@ids.example>"));
    assert!(id(plain()).ends_with("@author.example>"));
    let no_from = b"To: b@y.example\n\n";
    let c = composer(|o| o.envelope_from = Some(addr("robot@Bücher.example")));
    assert!(
        c.compose(no_from)
            .unwrap()
            .message_id
            .ends_with("@xn--bcher-kva.example>")
    );
}

#[test]
fn bad_options_are_option_errors() {
    let r = Composer::new(Options {
        x_mailer: Some("x\r\nBcc: leak@x.example".into()),
        ..Options::default()
    });
    let Err(ComposeError::Option(e)) = r else {
        panic!("expected an option error")
    };
    assert_eq!(e.option, crate::error::OptionName::XMailer);
    assert_eq!(e.value, "x\r\nBcc: leak@x.example");
    // Shown escaped: the error text itself never carries the line break.
    assert_eq!(
        e.to_string(),
        "X-Mailer `x\\r\\nBcc: leak@x.example`: must be one line of text, not empty"
    );
}

#[test]
fn envelope_sender_precedence() {
    let src = b"From: a@x.example\nTo: b@y.example\n\n";
    let from = |c: Composer, src: &[u8]| c.compose(src).map(|c| c.parts[0].envelope.from.clone());
    assert_eq!(from(plain(), src).unwrap(), addr("a@x.example"));
    // --from beats the header; a configured default does not.
    let c = composer(|o| o.envelope_from = Some(addr("bounce@x.example")));
    assert_eq!(from(c, src).unwrap(), addr("bounce@x.example"));
    let c = composer(|o| o.default_from = Some(addr("default@x.example")));
    assert_eq!(from(c, src).unwrap(), addr("a@x.example"));
    // Without From, the default fills in, and a lone Sender does not.
    let sender_only = b"Sender: s@x.example\nTo: b@y.example\n\n";
    let c = composer(|o| o.default_from = Some(addr("default@x.example")));
    assert_eq!(from(c, sender_only).unwrap(), addr("default@x.example"));
    assert_eq!(problem(plain().compose(sender_only)), Problem::NoFrom);
}

#[test]
fn a_resent_block_without_resent_from_needs_an_envelope_sender() {
    let src = b"Resent-To: new@y.example\nFrom: a@x.example\nTo: b@y.example\n\n";
    assert_eq!(problem(plain().compose(src)), Problem::NoFrom);
    let c = composer(|o| o.envelope_from = Some(addr("fwd@x.example")))
        .compose(src)
        .unwrap();
    assert_eq!(rcpts(&c.parts[0]), ["new@y.example"]);
}

#[test]
fn extra_recipients_alone_are_enough_and_come_after_the_header_ones() {
    let c = composer(|o| o.extra_rcpts = vec![addr("x@z.example"), addr("b@Y.example")]);
    let out = c
        .compose(b"From: a@x.example\nBcc: b@y.example\n\n")
        .unwrap();
    assert_eq!(rcpts(&out.parts[0]), ["b@y.example", "x@z.example"]);
    let out = c.compose(b"From: a@x.example\n\n").unwrap();
    assert_eq!(rcpts(&out.parts[0]), ["x@z.example", "b@y.example"]);
    assert_eq!(
        problem(plain().compose(b"From: a@x.example\nTo: g:;\n\n")),
        Problem::NoRecipients
    );
}

#[test]
fn recipients_keep_header_order_across_to_cc_and_bcc() {
    let src =
        b"From: a@x.example\nBcc: z@x.example\nTo: y@x.example\nCc: x@x.example, z@X.example\n\n";
    let c = plain().compose(src).unwrap();
    assert_eq!(
        rcpts(&c.parts[0]),
        ["z@x.example", "y@x.example", "x@x.example"]
    );
}

#[test]
fn similar_names_are_not_bcc() {
    let src = b"From: a@x.example\nTo: b@y.example\nX-Bcc: kept\nBcc-Note: kept too\nBcc: c@y.example\n\n";
    let t = text(&plain().compose(src).unwrap(), 0);
    assert!(t.contains("\r\nX-Bcc: kept\r\nBcc-Note: kept too\r\n"));
    assert!(!t.contains("c@y.example"));
}

const TWO_BCC: &[u8] = b"From: a@x.example\nTo: v@y.example\nBcc: One <one@y.example>\nSubject: s\nbcc: two@y.example,\n  One Again <one@Y.example>\n\nbody\n";

#[test]
fn blank_leaves_one_empty_bcc_where_the_first_was() {
    let c = policy(BccPolicy::Blank).compose(TWO_BCC).unwrap();
    assert_eq!(c.parts.len(), 1);
    let t = text(&c, 0);
    assert!(t.starts_with("From: a@x.example\r\nTo: v@y.example\r\nBcc:\r\nSubject: s\r\nDate:"));
    assert_eq!(t.matches("cc:").count(), 1, "{t}");
    assert_eq!(
        rcpts(&c.parts[0]),
        ["v@y.example", "one@y.example", "two@y.example"]
    );
}

#[test]
fn split_keeps_every_bcc_line_in_the_blind_copy_only() {
    let c = policy(BccPolicy::Split).compose(TWO_BCC).unwrap();
    assert_eq!(c.parts.len(), 2);
    assert_eq!(rcpts(&c.parts[0]), ["v@y.example"]);
    assert_eq!(rcpts(&c.parts[1]), ["one@y.example", "two@y.example"]);
    assert!(!text(&c, 0).contains("one@"));
    let blind = text(&c, 1);
    assert!(blind.contains("\r\nBcc: One <one@y.example>\r\n"));
    assert!(blind.contains("\r\nbcc: two@y.example,\r\n  One Again <one@Y.example>\r\n"));
}

#[test]
fn split_each_names_each_recipient_once_as_first_written() {
    let c = policy(BccPolicy::SplitEach).compose(TWO_BCC).unwrap();
    assert_eq!(c.parts.len(), 3);
    assert_eq!(rcpts(&c.parts[1]), ["one@y.example"]);
    assert_eq!(rcpts(&c.parts[2]), ["two@y.example"]);
    let one = text(&c, 1);
    assert!(one.contains("\r\nBcc: One <one@y.example>\r\nSubject: s\r\n"));
    assert!(!one.contains("two@") && !one.contains("Again"));
    let two = text(&c, 2);
    assert!(two.contains("\r\nBcc: two@y.example\r\nSubject: s\r\n"));
    assert!(!two.contains("one@"));
    // Every copy is the same message.
    assert!((0..3).all(|i| text(&c, i).contains(&format!("Message-ID: {}\r\n", c.message_id))));
}

#[test]
fn submissions_iterate_in_order_from_either_end_and_know_their_count() {
    let c = policy(BccPolicy::SplitEach).compose(TWO_BCC).unwrap();
    let mut it = c.iter();
    assert_eq!(it.len(), 3);
    let last = it.next_back().unwrap();
    assert_eq!(it.len(), 2);
    assert_eq!(
        rcpts(&c.parts[2]),
        last.envelope()
            .to
            .iter()
            .map(Addr::as_str)
            .collect::<Vec<_>>()
    );
    assert_eq!(last.header(), &c.parts[2].header[..]);
    let first = it.next().unwrap();
    assert_eq!(first.envelope(), &c.parts[0].envelope);
    assert_eq!(it.len(), 1);
    assert!(it.next().is_some() && it.next().is_none() && it.next_back().is_none());
    let by_ref: Vec<Vec<u8>> = (&c).into_iter().map(|s| s.to_bytes()).collect();
    assert_eq!(by_ref.len(), 3);
    assert_eq!(by_ref[2], last.to_bytes());
}

#[test]
fn split_each_unfolds_a_mailbox_written_over_two_lines() {
    for eol in ["\n", "\r\n"] {
        let draft = format!(
            "From: a@x.example{eol}To: v@y.example{eol}Bcc: Carl{eol} Example <carl@y.example>{eol}{eol}hi{eol}"
        );
        let c = policy(BccPolicy::SplitEach)
            .compose(draft.as_bytes())
            .unwrap();
        assert_eq!(rcpts(&c.parts[1]), ["carl@y.example"]);
        assert!(
            text(&c, 1).contains("\r\nBcc: Carl Example <carl@y.example>\r\n"),
            "{}",
            text(&c, 1)
        );
    }
}

#[test]
fn split_with_only_blind_recipients_makes_no_empty_submission() {
    for p in [BccPolicy::Split, BccPolicy::SplitEach] {
        let c = policy(p)
            .compose(b"From: a@x.example\nBcc: b@y.example\n\n")
            .unwrap();
        assert_eq!(c.parts.len(), 1, "{p}");
        assert_eq!(rcpts(&c.parts[0]), ["b@y.example"]);
        assert!(text(&c, 0).contains("\r\nBcc: b@y.example\r\n"));
    }
}

#[test]
fn older_resent_bcc_and_original_bcc_are_never_shown() {
    let src = b"Resent-From: f@x.example\nResent-To: n@y.example\nResent-Bcc: h@y.example\nReceived: by relay.example\nResent-From: o@x.example\nResent-Bcc: oldh@y.example\nFrom: a@x.example\nTo: b@y.example\nBcc: ob@y.example\n\n";
    for p in [
        BccPolicy::Remove,
        BccPolicy::Split,
        BccPolicy::SplitEach,
        BccPolicy::Blank,
    ] {
        let c = policy(p).compose(src).unwrap();
        for i in 0..c.parts.len() {
            let t = text(&c, i);
            assert!(!t.contains("oldh@") && !t.contains("ob@"), "{p}: {t}");
            if c.parts[i]
                .envelope
                .to
                .iter()
                .any(|a| a.as_str() == "n@y.example")
            {
                assert!(!t.contains("h@y.example"), "{p}: {t}");
            }
        }
        let all: Vec<&str> = c.parts.iter().flat_map(rcpts).collect();
        assert_eq!(all, ["n@y.example", "h@y.example"], "{p}");
    }
}

#[test]
fn resent_fields_go_to_the_end_of_the_newest_block() {
    let src = b"Resent-From: f@x.example\nResent-To: n@y.example\nFrom: a@x.example\nTo: b@y.example\nDate: Mon, 11 Jan 2027 12:00:00 +0000\nMessage-ID: <o@x.example>\n\n";
    let c = plain().compose(src).unwrap();
    let t = text(&c, 0);
    assert!(t.starts_with(&format!(
        "Resent-From: f@x.example\r\nResent-To: n@y.example\r\nResent-Date: {DATE}\r\nResent-Message-ID: <"
    )));
    assert_eq!(t.matches("Message-ID:").count(), 2);
    assert_eq!(c.message_id, "<o@x.example>");
    // The two generated ids differ even though they come from the same draft.
    let resent_id = t.split("Resent-Message-ID: ").nth(1).unwrap();
    assert!(!resent_id.starts_with("<o@x.example>"));
}

#[test]
fn write_to_push_to_and_to_bytes_agree_and_the_crlf_body_is_not_copied() {
    let src = b"From: a@x.example\r\nTo: b@y.example\r\n\r\nline\r\nline 2\r\n";
    let c = plain().compose(src).unwrap();
    let sub = c.iter().next().unwrap();
    let mut w = Vec::new();
    sub.write_to(&mut w).unwrap();
    assert_eq!(w, sub.to_bytes());
    let mut pushed = b"kept".to_vec();
    sub.push_to(&mut pushed);
    assert_eq!(pushed[4..], w[..]);
    assert_eq!([sub.header(), b"line\r\nline 2\r\n"].concat(), w);
    assert_eq!(&*c.body(), b"line\r\nline 2\r\n");
    let body_start = src.len() - c.body().len();
    assert_eq!(c.body().as_ptr(), src[body_start..].as_ptr());
}

#[test]
fn unique_ids_without_a_fixed_source() {
    let c = Composer::new(Options::default()).unwrap();
    let src = b"From: a@x.example\nTo: b@y.example\n\n";
    let a = c.compose(src).unwrap().message_id;
    let b = c.compose(src).unwrap().message_id;
    assert_ne!(a, b);
    // The hash source is stable for one draft and differs between drafts.
    let h = plain();
    assert_eq!(
        h.compose(src).unwrap().message_id,
        h.compose(src).unwrap().message_id
    );
    assert_ne!(
        h.compose(src).unwrap().message_id,
        h.compose(b"From: a@x.example\nTo: c@y.example\n\n")
            .unwrap()
            .message_id
    );
}

#[test]
fn smtputf8_follows_any_address_of_the_envelope() {
    let c = composer(|o| o.envelope_from = Some(addr("jösé@x.example")))
        .compose(b"From: a@x.example\nTo: b@y.example\n\n")
        .unwrap();
    assert!(c.parts[0].envelope.smtputf8);
    let c = policy(BccPolicy::Split)
        .compose("From: a@x.example\nTo: b@y.example\nBcc: jösé@y.example\n\n".as_bytes())
        .unwrap();
    assert!(!c.parts[0].envelope.smtputf8);
    assert!(c.parts[1].envelope.smtputf8);
}

#[test]
fn push_field_writes_no_trailing_space_for_an_empty_value() {
    let mut v = Vec::new();
    push_field(&mut v, "Bcc", "");
    push_field(&mut v, "X-A", "b c");
    assert_eq!(v, b"Bcc:\r\nX-A: b c\r\n");
}

#[test]
fn fatal_findings_stop_compose_but_lint_findings_do_not() {
    // Two To fields and an empty Cc are RFC violations that `check` reports; compose goes on.
    let c = plain()
        .compose(b"From: a@x.example\nTo: b@y.example\nTo: c@y.example\nCc:\n\n")
        .unwrap();
    assert_eq!(rcpts(&c.parts[0]), ["b@y.example", "c@y.example"]);
    let p = problem(plain().compose(b"From: a@x.example\nTo: b@\n\n"));
    assert!(
        matches!(p, Problem::BadAddress { ref field, .. } if field == "To"),
        "{p:?}"
    );
}
