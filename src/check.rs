//! `check`: every problem in a draft, each with its line, against RFC 5322 (syntax, field counts)
//! and RFC 5321 (addresses). Uses the same parsers as compose, so it finds what compose would
//! refuse, plus what compose tolerates but the RFCs do not.

use crate::draft::{Body, Draft};
use crate::envelope::analyse;
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

/// All findings, in line order. An empty list means the draft is clean.
///
/// ```
/// let f = envoi::check::check(b"From: a@x.example\nTo: b@y.example\nTo: c@y.example\n\nhi\n", None);
/// assert_eq!(f.len(), 1);
/// assert_eq!(f[0].line, 3);
/// ```
pub fn check(source: &[u8], local_domain: Option<&str>) -> Vec<Finding> {
    let draft = match Draft::parse(source) {
        Ok(d) => d,
        Err(f) => return vec![f],
    };
    let mut out = Vec::new();
    if let Err(f) = Body::check(draft.body, draft.body_line) {
        out.push(f);
    }
    for name in ONCE {
        let mut seen = draft.fields_named(name);
        if let Some(first) = seen.next() {
            for again in seen {
                out.push(Finding {
                    line: again.line,
                    problem: Problem::Repeated {
                        field: again.name().into(),
                        first_line: first.line,
                    },
                });
            }
        }
    }
    let an = analyse(&draft, local_domain);
    let unreadable = an
        .findings
        .iter()
        .any(|f| matches!(f.problem, Problem::BadAddress { .. }));
    if an.recipients.is_empty() && !unreadable {
        out.push(Finding {
            line: 0,
            problem: Problem::NoRecipients,
        });
    }
    out.extend(an.findings);
    out.sort_by_key(|f| if f.line == 0 { usize::MAX } else { f.line });
    out
}
