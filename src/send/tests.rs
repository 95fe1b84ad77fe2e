//! The policy against a relay that fails on cue (fault injection: no real server refuses a
//! well-formed message on a chosen submission).

use super::*;
use crate::compose::{BccPolicy, Options};
use crate::envelope::Envelope;
use crate::relay::RelayError;

/// Answers each submission with the next scripted result (accepting once the script is out),
/// and records the subjects it was given.
struct Scripted {
    script: Vec<Option<RelayError>>,
    seen: Vec<String>,
}

impl Relay for Scripted {
    fn submit(&mut self, envelope: &Envelope, message: &[u8]) -> Result<Delivery, RelayError> {
        let text = String::from_utf8_lossy(message);
        let subject = text.lines().find_map(|l| l.strip_prefix("Subject: "));
        self.seen.push(subject.unwrap_or("").to_owned());
        match self.script.is_empty() {
            true => Ok(Delivery::all(envelope)),
            false => match self.script.remove(0) {
                None => Ok(Delivery::all(envelope)),
                Some(e) => Err(e),
            },
        }
    }
}

fn draft(subject: &str) -> Vec<u8> {
    format!("From: a@x.example\nTo: b@y.example\nBcc: c@z.example, d@z.example\nSubject: {subject}\n\nHi\n").into_bytes()
}

fn kinds(outcome: &DraftOutcome) -> Vec<&'static str> {
    match outcome {
        DraftOutcome::NotComposed(_) => vec!["not composed"],
        DraftOutcome::NotTried => vec!["not tried"],
        DraftOutcome::Composed { submissions, .. } => submissions
            .iter()
            .map(|s| match s {
                SubmissionOutcome::Accepted(_) => "accepted",
                SubmissionOutcome::Failed(_) => "failed",
                SubmissionOutcome::NotTried => "not tried",
            })
            .collect(),
    }
}

fn run(
    script: Vec<Option<RelayError>>,
    policy: BccPolicy,
) -> (Vec<Vec<&'static str>>, Vec<String>) {
    let opts = Options {
        bcc_policy: policy,
        ..Options::default()
    };
    let composer = Composer::new(opts).unwrap();
    let mut relay = Scripted {
        script,
        seen: Vec::new(),
    };
    let drafts = [
        draft("1"),
        b"not a header\n".to_vec(),
        draft("3"),
        draft("4"),
    ];
    let outcomes = send_all(&composer, &mut relay, &drafts);
    (outcomes.iter().map(kinds).collect(), relay.seen)
}

#[test]
fn everything_accepted_but_the_draft_that_cannot_be_composed() {
    let (got, seen) = run(vec![], BccPolicy::Remove);
    assert_eq!(
        got,
        [
            vec!["accepted"],
            vec!["not composed"],
            vec!["accepted"],
            vec!["accepted"]
        ]
    );
    assert_eq!(seen, ["1", "3", "4"]);
}

#[test]
fn a_permanent_refusal_goes_on_with_the_next_draft() {
    let refused = RelayError::new(ErrorKind::Permanent, "550 no");
    let (got, seen) = run(vec![Some(refused)], BccPolicy::Remove);
    assert_eq!(
        got,
        [
            vec!["failed"],
            vec!["not composed"],
            vec!["accepted"],
            vec!["accepted"]
        ]
    );
    assert_eq!(seen, ["1", "3", "4"]);
}

#[test]
fn any_other_failure_stops_the_batch() {
    for e in [
        RelayError::new(ErrorKind::Transient, "421 later"),
        RelayError::new(ErrorKind::Auth, "535 no"),
        RelayError::new(ErrorKind::Io, "disk full"),
        RelayError::new(ErrorKind::Permanent, "550 and hung up").session_over(),
    ] {
        let (got, seen) = run(vec![None, Some(e.clone())], BccPolicy::Split);
        // The second submission of draft 1 (its Bcc copy) fails: the rest is not tried.
        assert_eq!(
            got,
            [
                vec!["accepted", "failed"],
                vec!["not tried"],
                vec!["not tried"],
                vec!["not tried"]
            ],
            "{e}"
        );
        assert_eq!(seen, ["1", "1"], "{e}");
    }
}

#[test]
fn split_each_stops_inside_a_draft() {
    let e = RelayError::new(ErrorKind::Transient, "421 later");
    let (got, _) = run(vec![Some(e)], BccPolicy::SplitEach);
    assert_eq!(got[0], ["failed", "not tried", "not tried"]);
    assert_eq!(
        got[1..],
        [vec!["not tried"], vec!["not tried"], vec!["not tried"]]
    );
}
