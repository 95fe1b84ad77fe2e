//! The SMTP envelope (RFC 5321 §3.3) and its derivation from a draft: who sends (Sender, else
//! From; Resent-* for a resent message, RFC 5322 §3.6.6) and who receives (To, Cc, Bcc).

use crate::address::{Addr, AddressError, ListParser};
use crate::draft::{Draft, Field};
use crate::error::{Finding, Problem};
use std::collections::HashSet;
use std::ops::Range;

/// MAIL FROM and RCPT TO of one submission.
///
/// ```
/// use envoi::{Addr, Envelope};
/// let a = |s| Addr::parse(s).unwrap();
/// let env = Envelope::new(a("ann@x.example"), [a("bob@Y.example"), a("bob@y.example")]);
/// assert_eq!(env.to, [a("bob@y.example")]); // repeats dropped, domains compared without case
/// assert_eq!(env.to_json(), r#"{"from":"ann@x.example","to":["bob@y.example"],"smtputf8":false}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Envelope {
    /// The reverse-path (MAIL FROM).
    pub from: Addr,
    /// The forward-paths (RCPT TO), each once, in order of first appearance.
    pub to: Vec<Addr>,
    /// True when some address has a non-ASCII local part (RFC 6531).
    pub smtputf8: bool,
}

impl Envelope {
    /// Builds an envelope, dropping repeated recipients (first appearance wins).
    pub fn new(from: Addr, to: impl IntoIterator<Item = Addr>) -> Envelope {
        let to = dedupe(to);
        let smtputf8 = from.needs_smtputf8() || to.iter().any(Addr::needs_smtputf8);
        Envelope { from, to, smtputf8 }
    }

    /// `{"from": ..., "to": [...], "smtputf8": ...}` on one line (serde_json's text).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an envelope is strings and a bool, which serialise")
    }

    /// Appends [`Envelope::to_json`]'s text to `out`: a batch reuses one buffer for all its
    /// envelopes instead of allocating a string for each.
    pub fn push_json(&self, out: &mut Vec<u8>) {
        serde_json::to_writer(out, self).expect("a Vec takes every write")
    }
}

/// Drops repeated addresses, keeping the order of first appearance. Canonical addresses compare
/// exactly: the domain is already lower-cased, the local part is case-sensitive (RFC 5321 §2.4).
pub(crate) fn dedupe(addrs: impl IntoIterator<Item = Addr>) -> Vec<Addr> {
    let addrs = addrs.into_iter();
    let mut out: Vec<Addr> = Vec::with_capacity(addrs.size_hint().0);
    // A linear scan beats hashing for the handful of recipients most messages have.
    let mut seen: Option<HashSet<Addr>> = None;
    for a in addrs {
        let dup = match &mut seen {
            Some(s) => !s.insert(a.clone()),
            None => out.contains(&a),
        };
        if !dup {
            out.push(a);
            if seen.is_none() && out.len() == 16 {
                seen = Some(out.iter().cloned().collect());
            }
        }
    }
    out
}

/// One recipient as found in the header.
#[derive(Debug, Clone)]
pub(crate) struct Recipient {
    pub addr: Addr,
    /// Found in Bcc (or Resent-Bcc): must never be shown to the others.
    pub bcc: bool,
    /// For a Bcc recipient, the mailbox as written (display name included).
    pub written: String,
}

/// Which header fields play which role: the original ones, or those of the newest resent block.
#[derive(Debug, Clone)]
pub(crate) struct Roles {
    /// Field indices of the newest resent block, if the draft was resent.
    pub resent: Option<Range<usize>>,
    pub from: &'static str,
    pub sender: &'static str,
    pub bcc: &'static str,
    to_cc: [&'static str; 2],
}

impl Roles {
    pub fn of(draft: &Draft) -> Roles {
        match newest_resent_block(&draft.fields) {
            Some(r) => Roles {
                resent: Some(r),
                from: "Resent-From",
                sender: "Resent-Sender",
                bcc: "Resent-Bcc",
                to_cc: ["Resent-To", "Resent-Cc"],
            },
            None => Roles {
                resent: None,
                from: "From",
                sender: "Sender",
                bcc: "Bcc",
                to_cc: ["To", "Cc"],
            },
        }
    }

    fn scope<'d, 'a>(&self, draft: &'d Draft<'a>) -> &'d [Field<'a>] {
        match &self.resent {
            Some(r) => &draft.fields[r.clone()],
            None => &draft.fields,
        }
    }
}

/// The newest resent block: the first run of `Resent-*` fields, ended by a field that is not
/// Resent-* or by a Resent-* name seen again in the run (the next, older block). Trace fields
/// between blocks end the run too. RFC 5322 §3.6.6: each new block is prepended.
pub(crate) fn newest_resent_block(fields: &[Field]) -> Option<Range<usize>> {
    let is_resent = |f: &Field| {
        let name = f.name_bytes();
        name.len() > 7 && name[..7].eq_ignore_ascii_case(b"Resent-")
    };
    let start = fields.iter().position(is_resent)?;
    let mut end = start;
    while end < fields.len()
        && is_resent(&fields[end])
        && !fields[start..end].iter().any(|g| {
            g.name_bytes()
                .eq_ignore_ascii_case(fields[end].name_bytes())
        })
    {
        end += 1;
    }
    Some(start..end)
}

/// The value of `f` as text: a slice of the whole header when that is UTF-8.
fn value_str<'a>(draft: &Draft<'a>, header: Option<&'a str>, f: &Field<'a>) -> Option<&'a str> {
    let v = f.value();
    let start = v.as_ptr() as usize - draft.source.as_ptr() as usize;
    match header {
        Some(h) => h.get(start..start + v.len()),
        None => std::str::from_utf8(v).ok(),
    }
}

/// A mailbox as written, unfolded (RFC 5322 §2.2.3) so that it can be written back on one line.
fn unfolded(w: &str) -> String {
    if memchr::memchr2(b'\r', b'\n', w.as_bytes()).is_some() {
        w.replace(['\r', '\n'], "")
    } else {
        w.to_owned()
    }
}

/// What the header says about the envelope, plus every problem found on the way.
#[derive(Debug, Clone)]
pub(crate) struct Analysis {
    pub roles: Roles,
    /// The first author (From or Resent-From mailbox): its domain names Message-IDs.
    pub author: Option<Addr>,
    /// The envelope sender the header implies (Sender, else the single From).
    pub sender: Option<Addr>,
    /// Every recipient in header order, repeats included.
    pub recipients: Vec<Recipient>,
    pub findings: Vec<Finding>,
}

/// Reads sender and recipients from the fields that hold them. Bare names (`root`) are qualified
/// with `local_domain` when one is given.
pub(crate) fn analyse<'a>(draft: &Draft<'a>, local_domain: Option<&str>) -> Analysis {
    let roles = Roles::of(draft);
    let mut findings = Vec::new();
    let fields = roles.scope(draft);
    let mut parser = ListParser::new();
    // Sized for the usual handful of mailboxes per field: grown from empty, it was reallocated
    // in most drafts (callgrind).
    let mut boxes = Vec::with_capacity(8);
    // Checked as UTF-8 once for all fields (each check has a set-up cost); a header that is not
    // UTF-8 is checked field by field, so that the error names the field.
    let header = std::str::from_utf8(&draft.source[..draft.source.len() - draft.body.len()]).ok();
    // Appends the field's addresses to `out`; returns how many. `written` (the mailbox as the
    // user wrote it) is kept only for Bcc, where split-each needs it.
    let mut read =
        |f: &Field<'a>, findings: &mut Vec<Finding>, bcc: bool, out: &mut Vec<Recipient>| {
            let bad = |error| Finding {
                line: f.line,
                problem: Problem::BadAddress {
                    field: f.name().to_owned(),
                    error,
                },
            };
            let parsed = value_str(draft, header, f)
                .ok_or(AddressError::NotUtf8)
                .and_then(|value| Ok((value, parser.parse_read(value, &mut boxes)?)));
            let (value, fast) = match parsed {
                Ok(v) => v,
                Err(e) => {
                    findings.push(bad(e));
                    return 0;
                }
            };
            out.reserve(boxes.len());
            let before = out.len();
            for m in &boxes {
                match m.resolve_read(local_domain, fast) {
                    Ok(addr) => {
                        // Only Bcc needs it: the slice is not even cut for the others.
                        let written = if bcc {
                            unfolded(&value[m.range.clone()])
                        } else {
                            String::new()
                        };
                        out.push(Recipient { addr, bcc, written });
                    }
                    Err(e) => findings.push(bad(e)),
                }
            }
            out.len() - before
        };

    let mut author = None;
    let mut sender = None;
    let mut list = Vec::with_capacity(2);
    let from_field = fields.iter().find(|f| f.is(roles.from));
    let sender_field = fields.iter().find(|f| f.is(roles.sender));
    if let Some(f) = sender_field {
        match read(f, &mut findings, false, &mut list) {
            1 => sender = list.pop().map(|r| r.addr),
            0 if findings.iter().any(|x| x.line == f.line) => {}
            n => findings.push(Finding {
                line: f.line,
                problem: Problem::SenderNotSingle {
                    field: f.name().into(),
                    count: n,
                },
            }),
        }
    }
    match from_field {
        Some(f) => {
            let before = findings.len();
            list.clear();
            let n = read(f, &mut findings, false, &mut list);
            author = list.first().map(|r| r.addr.clone());
            if n == 0 && findings.len() == before {
                findings.push(Finding {
                    line: f.line,
                    problem: Problem::EmptyFrom {
                        field: f.name().into(),
                    },
                });
            } else if n > 1 && sender_field.is_none() {
                let problem = Problem::SenderRequired {
                    field: f.name().into(),
                    count: n,
                };
                findings.push(Finding {
                    line: f.line,
                    problem,
                });
            } else if sender.is_none() && n == 1 {
                sender = list.pop().map(|r| r.addr);
            }
        }
        None => findings.push(Finding {
            line: 0,
            problem: Problem::MissingFrom,
        }),
    }

    // Likewise for the recipients of all fields together.
    let mut recipients = Vec::with_capacity(8);
    for f in fields {
        let bcc = f.is(roles.bcc);
        if !bcc && !roles.to_cc.iter().any(|n| f.is(n)) {
            continue;
        }
        let before = findings.len();
        if read(f, &mut findings, bcc, &mut recipients) == 0
            && !bcc
            && findings.len() == before
            && f.value().iter().all(u8::is_ascii_whitespace)
        {
            findings.push(Finding {
                line: f.line,
                problem: Problem::EmptyDestination {
                    field: f.name().into(),
                },
            });
        }
    }
    Analysis {
        roles,
        author,
        sender,
        recipients,
        findings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Addr {
        Addr::parse(s).unwrap()
    }

    #[test]
    fn dedupe_keeps_first_and_compares_domains_without_case() {
        let many: Vec<Addr> = (0..40)
            .map(|i| a(&format!("u{}@X.example", i % 20)))
            .collect();
        let d = dedupe(many);
        assert_eq!(d.len(), 20);
        assert_eq!(d[0], a("u0@x.example"));
        assert_eq!(dedupe([a("A@x.example"), a("a@x.example")]).len(), 2);
    }

    /// One line, with the recipients in order and a quoted local part escaped.
    #[test]
    fn json_has_the_documented_shape() {
        let quoted = Addr::from_parts("a \"b\\c", "x.example").unwrap();
        let utf8 = a("jösé@bücher.example");
        let env = Envelope::new(
            a("s@x.example"),
            [quoted.clone(), utf8.clone(), a("t@y.example")],
        );
        let text = env.to_json();
        assert!(!text.contains('\n'), "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["from"], "s@x.example");
        assert_eq!(
            v["to"],
            serde_json::json!([quoted.as_str(), utf8.as_str(), "t@y.example"])
        );
        assert_eq!(v["smtputf8"], true);
        let mut appended = b"[".to_vec();
        env.push_json(&mut appended);
        assert_eq!(appended, [b"[", text.as_bytes()].concat());
        let none = Envelope::new(a("s@x.example"), []);
        assert_eq!(
            none.to_json(),
            r#"{"from":"s@x.example","to":[],"smtputf8":false}"#
        );
    }

    #[test]
    fn resent_block_is_the_first_run() {
        let d = Draft::parse(
            b"Resent-From: a@x.example\nResent-To: b@x.example\nResent-From: old@x.example\nFrom: o@x.example\n\n",
        )
        .unwrap();
        assert_eq!(newest_resent_block(&d.fields), Some(0..2));
        let an = analyse(&d, None);
        assert_eq!(an.sender, Some(a("a@x.example")));
        assert_eq!(an.recipients.len(), 1);
    }

    #[test]
    fn sender_rules() {
        let d = Draft::parse(b"From: a@x.example, b@x.example\nTo: c@x.example\n\n").unwrap();
        let an = analyse(&d, None);
        assert!(matches!(
            an.findings[0].problem,
            Problem::SenderRequired { count: 2, .. }
        ));
        let d = Draft::parse(
            b"From: a@x.example, b@x.example\nSender: s@x.example\nTo: c@x.example\n\n",
        )
        .unwrap();
        let an = analyse(&d, None);
        assert!(an.findings.is_empty(), "{:?}", an.findings);
        assert_eq!(an.sender, Some(a("s@x.example")));
        assert_eq!(an.author, Some(a("a@x.example")));
    }
}
