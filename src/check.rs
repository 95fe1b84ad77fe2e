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
    /// no From when the options give the envelope sender).
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
        repeated(&draft, &mut out);
        out.extend(self.vet(&draft, |_, _, _| ()).0);
        out.sort_by_key(|f| if f.line == 0 { usize::MAX } else { f.line });
        out
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
