//! `check`: every problem in a draft, each with its line. Its errors are exactly what compose
//! refuses under the same options, because both go through one judgement (`Composer::vet`);
//! its warnings are what compose tolerates but RFC 5322 does not.

use crate::compose::Composer;
use crate::draft::{Draft, Field};
use crate::error::{Finding, Problem};

/// Fields RFC 5322 §3.6 allows at most once.
const ONCE: [&str; 11] = [
    "Date",
    "From",
    "Sender",
    "Reply-To",
    "To",
    "Cc",
    "Bcc",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Subject",
];

impl Composer {
    /// Every finding on a draft under this composer's options, in line order (findings that
    /// belong to no single line come last). An empty list means the draft is clean.
    ///
    /// A finding is either an error ([`Finding::is_error`]): [`Composer::compose`] refuses the
    /// draft exactly when there is one, and fails with the first it finds; or a warning, which
    /// compose tolerates (a field that RFC 5322 allows once appearing again, an empty To or Cc,
    /// no From when the options give the envelope sender, a group without the comma after it,
    /// a byte-order mark or mbox `From ` line that compose drops).
    ///
    /// ```
    /// use envoi::{Composer, Options};
    /// let composer = Composer::new(Options::default())?;
    /// let f = composer.check(b"From: a@x.example\nTo: b@y.example\nTo: c@\n\nhi\n");
    /// assert_eq!(f.len(), 2);
    /// assert_eq!((f[0].line, f[0].is_error()), (3, false)); // To appears again: a warning
    /// assert_eq!((f[1].line, f[1].is_error()), (3, true)); // `c@` has no domain: an error
    /// assert!(composer.check(b"From: a@x.example\nTo: b@y.example\n\nhi\n").is_empty());
    /// # Ok::<(), envoi::ComposeError>(())
    /// ```
    pub fn check(&self, source: &[u8]) -> Vec<Finding> {
        let draft = match Draft::parse(source) {
            Ok(d) => d,
            Err(f) => return vec![f],
        };
        let mut out = Vec::new();
        preamble(&draft, &mut out);
        repeated(&draft, &mut out);
        groups_without_commas(&draft, &mut out);
        out.extend(self.vet(&draft, |_, _, _| ()).0);
        out.sort_by_key(|f| if f.line == 0 { usize::MAX } else { f.line });
        out
    }
}

/// Fields holding address lists, whose groups may lack their commas.
const ADDRESSES: [&str; 11] = [
    "From",
    "Sender",
    "Reply-To",
    "To",
    "Cc",
    "Bcc",
    "Resent-From",
    "Resent-Sender",
    "Resent-To",
    "Resent-Cc",
    "Resent-Bcc",
];

/// A warning for what the draft opened with and compose dropped: both sit on line 1.
fn preamble(draft: &Draft, out: &mut Vec<Finding>) {
    let p = draft.preamble;
    let dropped = [
        (p.bom, Problem::ByteOrderMark),
        (p.mbox_from, Problem::MboxFrom),
    ];
    for (_, problem) in dropped.into_iter().filter(|(was, _)| *was) {
        out.push(Finding { line: 1, problem });
    }
}

/// A warning for each address field that lists a group without the comma after it.
fn groups_without_commas(draft: &Draft, out: &mut Vec<Finding>) {
    for f in draft
        .fields
        .iter()
        .filter(|f| ADDRESSES.iter().any(|n| f.is(n)))
    {
        let Ok(value) = std::str::from_utf8(f.value()) else {
            continue;
        };
        if let Some(next) = crate::address::group_without_comma(value) {
            out.push(Finding {
                line: f.line,
                problem: Problem::GroupWithoutComma {
                    field: f.name().into(),
                    next: crate::quote::quote_input(next.as_bytes()),
                },
            });
        }
    }
}

/// A warning for each field of [`ONCE`] that appears again: compose uses every address anyway.
fn repeated(draft: &Draft, out: &mut Vec<Finding>) {
    for name in ONCE {
        let mut seen = draft.fields_named(name);
        if let Some(first) = seen.next() {
            out.extend(seen.map(|again: &Field| Finding {
                line: again.line,
                problem: Problem::Repeated {
                    field: again.name().into(),
                    first_line: first.line,
                },
            }));
        }
    }
}
