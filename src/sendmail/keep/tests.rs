use super::*;
use crate::address::Addr;
use crate::envelope::Envelope;

const INPUT: &[u8] = b"To: bob@y.example\nBcc: eve@z.example\n\nas read\n";

fn prepared() -> Prepared {
    Prepared {
        envelope: Envelope::new(
            Addr::parse("a@x.example").unwrap(),
            [Addr::parse("bob@y.example").unwrap()],
        ),
        message: b"To: bob@y.example\r\n\r\ncomposed\r\n".to_vec(),
        skipped: Vec::new(),
    }
}

fn unsent(prepared: Option<&Prepared>, temporary: bool) -> Unsent<'_> {
    Unsent {
        input: INPUT,
        prepared,
        temporary,
        sender: Some("s@x.example"),
        error: Some("421 busy"),
    }
}

#[test]
fn a_temporary_failure_queues_the_composed_message() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("outbox");
    let p = prepared();
    let kept = keep(&unsent(Some(&p), true), Some(&outbox), None).unwrap();
    let Kept::Queued(eml) = &kept else {
        panic!("{kept:?}")
    };
    assert_eq!(eml.parent(), Some(outbox.as_path()));
    assert_eq!(std::fs::read(eml).unwrap(), p.message);
    let json = std::fs::read_to_string(eml.with_extension("envelope.json")).unwrap();
    assert_eq!(json, format!("{}\n", p.envelope.to_json()));
    let listed = crate::outbox::Outbox::new(&outbox).list().unwrap();
    assert_eq!(listed[0].state.last_error.as_deref(), Some("421 busy"));
}

#[test]
fn any_other_failure_keeps_the_bytes_as_read_in_failed() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("outbox");
    let p = prepared();
    for (prepared, temporary) in [(Some(&p), false), (None, true), (None, false)] {
        let kept = keep(&unsent(prepared, temporary), Some(&outbox), None).unwrap();
        let Kept::Failed(eml) = &kept else {
            panic!("{kept:?}")
        };
        assert_eq!(eml.parent(), Some(outbox.join("failed").as_path()));
        assert_eq!(std::fs::read(eml).unwrap(), INPUT);
        let json = eml.with_extension("envelope.json");
        assert_eq!(json.exists(), prepared.is_some(), "{json:?}");
    }
    let failed = crate::outbox::Outbox::new(&outbox).list_failed().unwrap();
    assert_eq!(failed.len(), 3);
    assert!(
        failed
            .iter()
            .all(|e| e.state.last_error.as_deref() == Some("421 busy"))
    );
}

#[test]
fn without_a_usable_outbox_the_message_goes_to_dead_letter() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_dir = dir.path().join("file");
    std::fs::write(&not_a_dir, "").unwrap();
    let dead = dir.path().join("dead.letter");
    let kept = keep(&unsent(None, true), Some(&not_a_dir), Some(&dead)).unwrap();
    assert_eq!(kept, Kept::DeadLetter(dead.clone()));
    let mbox = std::fs::read_to_string(&dead).unwrap();
    let (from_line, rest) = mbox.split_once('\n').unwrap();
    assert!(from_line.starts_with("From s@x.example "), "{mbox}");
    assert_eq!(rest.as_bytes(), [INPUT, b"\n"].concat());
    // With an envelope, its sender names the record.
    let p = prepared();
    keep(&unsent(Some(&p), false), None, Some(&dead)).unwrap();
    assert!(
        std::fs::read_to_string(&dead)
            .unwrap()
            .contains("\nFrom a@x.example ")
    );
}

#[test]
fn nowhere_to_keep_it_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_dir = dir.path().join("file");
    std::fs::write(&not_a_dir, "").unwrap();
    let e = keep(&unsent(None, false), Some(&not_a_dir), None).unwrap_err();
    assert!(e.outbox.is_some() && e.dead_letter.is_none());
    let text = e.to_string();
    assert!(
        text.contains("file") && text.contains("dead.letter"),
        "{text}"
    );
    let dead = not_a_dir.join("dead.letter");
    let e = keep(&unsent(None, false), None, Some(&dead)).unwrap_err();
    assert!(e.outbox.is_none());
    assert_eq!(e.dead_letter.unwrap().path, dead);
}

#[test]
fn asctime_is_the_mbox_date_form() {
    let t = asctime(Now {
        unix: 1_795_927_588,
        nanos: 0,
        offset: 0,
    });
    assert_eq!(t.len(), 24, "{t}");
    assert_eq!(
        asctime(Now {
            unix: 0,
            nanos: 0,
            offset: 0
        }),
        "Thu Jan  1 00:00:00 1970"
    );
}
