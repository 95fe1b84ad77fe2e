//! Composing: a draft becomes one or more submissions (envelope + exact bytes). Owns the header
//! edits (remove Bcc, add Date / Message-ID / X-Mailer where missing) and the Bcc policies.

mod ids;
mod options;

pub use ids::{HashIds, IdSource, UuidIds};
pub use options::{BccPolicy, Options, default_x_mailer};

use crate::address::Addr;
use crate::clock::{Clock, SystemClock};
use crate::draft::{Body, Draft};
use crate::envelope::{Analysis, Envelope, Recipient, analyse};
use crate::error::{ComposeError, Finding, Problem};
use std::borrow::Cow;
use std::io::{self, Write};

/// One submission as composing stored it: the envelope and its own header block (the body is
/// shared by all submissions of a draft).
#[derive(Debug, Clone)]
struct Part {
    envelope: Envelope,
    /// The full header block, CRLF line endings, the empty separator line included.
    header: Vec<u8>,
}

/// One message to hand to a relay: its envelope (MAIL FROM, RCPT TO) and its exact bytes
/// (CRLF line endings), as [`Composed::iter`] yields them.
#[derive(Debug, Clone, Copy)]
pub struct Submission<'c> {
    envelope: &'c Envelope,
    header: &'c [u8],
    body: &'c Body<'c>,
}

impl<'c> Submission<'c> {
    /// Who sends and who receives this copy.
    pub fn envelope(&self) -> &'c Envelope {
        self.envelope
    }

    /// The header block alone, CRLF line endings, the empty line before the body included.
    pub fn header(&self) -> &'c [u8] {
        self.header
    }

    /// The complete message: header and CRLF body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.push_to(&mut v);
        v
    }

    /// The complete message as borrowed pieces, for [`Relay::submit_message`](crate::relay::Relay::submit_message):
    /// a body with bare LF line endings is converted as it is written, not copied here.
    pub fn message(&self) -> crate::relay::Message<'c> {
        let bare_lf = self.body.crlf_len() != self.body.raw.len();
        crate::relay::Message::parts(self.header, self.body.raw, bare_lf)
    }

    /// Appends the complete message to `out`: with one buffer reused for a batch, the fastest
    /// way to get many messages.
    pub fn push_to(&self, out: &mut Vec<u8>) {
        out.reserve(self.header.len() + self.body.raw.len());
        out.extend_from_slice(self.header);
        self.body.push_crlf(out);
    }

    /// Writes the complete message without building it in memory first (the body is converted
    /// in 64 KiB chunks): for large messages.
    pub fn write_to(&self, w: &mut dyn Write) -> io::Result<()> {
        w.write_all(self.header)?;
        self.body.write_crlf(w)
    }
}

/// The result of composing one draft: one or more [`Submission`]s, in order (the To/Cc copy
/// first, then the Bcc copies under `split` and `split-each`). Submissions share one body, so
/// that `split-each` does not copy a large body once per Bcc recipient.
#[derive(Debug, Clone)]
pub struct Composed<'a> {
    message_id: String,
    parts: Vec<Part>,
    body: Body<'a>,
}

impl<'a> Composed<'a> {
    /// The message's Message-ID (`<...>`), as found in the draft or as added.
    pub fn message_id(&self) -> &str {
        &self.message_id
    }

    /// The body with CRLF line endings, borrowed from the draft when it already had them.
    pub fn body(&self) -> Cow<'_, [u8]> {
        self.body.to_crlf()
    }

    /// Every submission, in order. Never empty: a draft that would make none is refused.
    pub fn iter(&self) -> Submissions<'_> {
        Submissions {
            parts: self.parts.iter(),
            body: &self.body,
        }
    }
}

impl<'c> IntoIterator for &'c Composed<'_> {
    type Item = Submission<'c>;
    type IntoIter = Submissions<'c>;
    fn into_iter(self) -> Submissions<'c> {
        self.iter()
    }
}

/// The submissions of a [`Composed`] draft, in order; see [`Composed::iter`].
#[derive(Debug, Clone)]
pub struct Submissions<'c> {
    parts: std::slice::Iter<'c, Part>,
    body: &'c Body<'c>,
}

impl<'c> Submissions<'c> {
    fn view(&self, p: &'c Part) -> Submission<'c> {
        Submission {
            envelope: &p.envelope,
            header: &p.header,
            body: self.body,
        }
    }
}

impl<'c> Iterator for Submissions<'c> {
    type Item = Submission<'c>;
    fn next(&mut self) -> Option<Submission<'c>> {
        let p = self.parts.next()?;
        Some(self.view(p))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.parts.size_hint()
    }
}

impl DoubleEndedIterator for Submissions<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let p = self.parts.next_back()?;
        Some(self.view(p))
    }
}

impl ExactSizeIterator for Submissions<'_> {}
impl std::iter::FusedIterator for Submissions<'_> {}

/// Turns drafts into submissions. Holds the options, the clock and the Message-ID source, so a
/// batch of drafts is composed with one set of validated settings.
///
/// ```
/// use envoi::{Composer, Options, FixedClock, HashIds};
/// let c = Composer::new(Options::default())?.with_clock(FixedClock::utc(0)).with_ids(HashIds);
/// let out = c.compose(b"From: a@x.example\nTo: b@y.example\nBcc: c@z.example\n\nHi\n")?;
/// for s in &out {
///     assert_eq!(s.envelope().to_json(), r#"{"from":"a@x.example","to":["b@y.example","c@z.example"],"smtputf8":false}"#);
///     assert!(!String::from_utf8(s.to_bytes()).unwrap().contains("c@z.example"));
/// }
/// # Ok::<(), envoi::ComposeError>(())
/// ```
pub struct Composer {
    opts: Options,
    clock: Box<dyn Clock>,
    ids: Box<dyn IdSource>,
}

impl Composer {
    /// Validates the options (an invalid value is a [`ComposeError::Option`]); the clock is the
    /// system's and Message-IDs are UUIDs.
    ///
    /// ```
    /// use envoi::{Composer, Options};
    /// let bad = Options { date: Some("yesterday".into()), ..Options::default() };
    /// assert!(Composer::new(bad).is_err());
    /// let composer = Composer::new(Options { local_domain: Some("corp.example".into()), ..Options::default() })?;
    /// let composed = composer.compose(b"From: root\nTo: ann\n\n")?;
    /// assert_eq!(composed.iter().next().unwrap().envelope().from.as_str(), "root@corp.example");
    /// # Ok::<(), envoi::ComposeError>(())
    /// ```
    pub fn new(opts: Options) -> Result<Composer, ComposeError> {
        Ok(Composer {
            opts: opts.validate()?,
            clock: Box::new(SystemClock),
            ids: Box::new(UuidIds),
        })
    }

    /// Takes the time for Date fields (and UUID Message-IDs) from `clock`, e.g. a
    /// [`FixedClock`](crate::FixedClock) for reproducible output.
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Composer {
        self.clock = Box::new(clock);
        self
    }

    /// Makes new Message-IDs with `ids`, e.g. [`HashIds`] for reproducible output.
    pub fn with_ids(mut self, ids: impl IdSource + 'static) -> Composer {
        self.ids = Box::new(ids);
        self
    }

    /// The options, validated and in canonical form.
    pub fn options(&self) -> &Options {
        &self.opts
    }

    /// Composes one draft (LF or CRLF line endings), or says why it cannot be sent: the first
    /// error that [`Composer::check`] would report.
    ///
    /// ```
    /// use envoi::{BccPolicy, Composer, Options};
    /// let composer = Composer::new(Options { bcc_policy: BccPolicy::Split, ..Options::default() })?;
    /// let draft = b"From: a@x.example\nTo: b@y.example\nBcc: c@z.example\n\nHi\n";
    /// let composed = composer.compose(draft)?;
    /// let to: Vec<String> = composed
    ///     .iter()
    ///     .map(|s| s.envelope().to[0].to_string())
    ///     .collect();
    /// assert_eq!(to, ["b@y.example", "c@z.example"]); // one copy each under `split`
    ///
    /// let err = composer.compose(b"From: a@x.example\nTo: b@\n\nHi\n").unwrap_err();
    /// assert_eq!(err.to_string(), "line 2: To: `b@` has no domain after `@`");
    /// # Ok::<(), envoi::ComposeError>(())
    /// ```
    pub fn compose<'a>(&self, source: &'a [u8]) -> Result<Composed<'a>, ComposeError> {
        let draft = Draft::parse(source)?;
        let (findings, composed) = self.vet(&draft, |an, body, from| {
            let (added, resent_added, message_id) = self.additions(&draft, an, &from);
            // Moved, not cloned: the envelopes take the addresses.
            let recipients = std::mem::take(&mut an.recipients);
            let plan = Plan {
                draft: &draft,
                an,
                added,
                resent_added,
            };
            let parts = self.split(&plan, from, recipients);
            Composed {
                message_id,
                parts,
                body,
            }
        });
        composed.ok_or_else(|| {
            let error = findings.into_iter().find(|f| f.is_error());
            error
                .expect("vet refuses a draft only with an error")
                .into()
        })
    }

    /// The one judgement on a parsed draft under these options, shared by `compose` (which
    /// stops at the first error) and `check` (which reports every finding), so that the two
    /// cannot disagree. Returns every finding in the order found, errors and warnings, and,
    /// when no finding is an error, what `then` makes of the draft's analysis, its body and the
    /// envelope sender. (A continuation rather than a returned analysis: moving the analysis
    /// out cost 1.5% of composing a small draft, measured with callgrind.)
    pub(crate) fn vet<'a, R>(
        &self,
        draft: &Draft<'a>,
        then: impl FnOnce(&mut Analysis, Body<'a>, Addr) -> R,
    ) -> (Vec<Finding>, Option<R>) {
        let mut an = analyse(draft, self.opts.local_domain.as_deref());
        let mut findings = std::mem::take(&mut an.findings);
        let body = Body::check(draft.body, draft.body_line)
            .map_err(|f| findings.insert(0, f))
            .ok();
        // A Sender alone does not make a message: without From (RFC 5322 §3.6.2 requires one)
        // only an envelope sender from the options lets the draft go out.
        let missing_from = findings
            .iter()
            .position(|f| f.problem == Problem::MissingFrom);
        let from = self
            .opts
            .envelope_from
            .clone()
            .or_else(|| an.sender.take().filter(|_| missing_from.is_none()))
            .or_else(|| self.opts.default_from.clone());
        let fatal = |fs: &[Finding]| fs.iter().any(|f| f.is_error());
        // Without a sender, the missing From becomes the error; a From that is present but
        // unreadable already has its own.
        if from.is_none() && (missing_from.is_some() || !fatal(&findings)) {
            if let Some(i) = missing_from {
                findings.remove(i);
            }
            findings.push(Finding {
                line: 0,
                problem: Problem::NoFrom,
            });
        }
        // An address that could not be read may well be the recipient the draft meant.
        let unreadable = findings
            .iter()
            .any(|f| matches!(f.problem, Problem::BadAddress { .. }));
        if an.recipients.is_empty() && self.opts.extra_rcpts.is_empty() && !unreadable {
            findings.push(Finding {
                line: 0,
                problem: Problem::NoRecipients,
            });
        }
        let done = match (body, from) {
            (Some(body), Some(from)) if !fatal(&findings) => Some(then(&mut an, body, from)),
            _ => None,
        };
        (findings, done)
    }

    /// The fields to add (at the end of the header, and at the end of the newest resent block),
    /// and the message's Message-ID.
    fn additions(&self, draft: &Draft, an: &Analysis, from: &Addr) -> (Vec<u8>, Vec<u8>, String) {
        let now = self.clock.now();
        let has = |name: &str| draft.fields_named(name).next().is_some();
        let domain = || match (&self.opts.id_domain, &an.author) {
            (Some(d), _) => Cow::Borrowed(d.as_str()),
            (None, Some(a)) => a.ascii_domain(),
            (None, None) => from.ascii_domain(),
        };
        let mut added = Vec::with_capacity(160);
        let mut resent_added = Vec::new();
        // Formatted only for a field that needs it.
        let date = || self.opts.date.clone().unwrap_or_else(|| now.rfc5322());
        if !has("Date") {
            push_field(&mut added, "Date", date());
        }
        let message_id = match draft.fields_named("Message-ID").next() {
            Some(f) => String::from_utf8_lossy(f.value()).trim().to_owned(),
            None => {
                let id = self.opts.message_id.clone().unwrap_or_else(|| {
                    self.ids
                        .message_id(&now, draft.source, &domain(), "Message-ID")
                });
                push_field(&mut added, "Message-ID", &id);
                id
            }
        };
        if let (Some(x), false) = (&self.opts.x_mailer, has("X-Mailer")) {
            push_field(&mut added, "X-Mailer", x);
        }
        if let Some(block) = &an.roles.resent {
            let in_block = |n: &str| draft.fields[block.clone()].iter().any(|f| f.is(n));
            if !in_block("Resent-Date") {
                push_field(&mut resent_added, "Resent-Date", date());
            }
            if !in_block("Resent-Message-ID") {
                let id = self
                    .ids
                    .message_id(&now, draft.source, &domain(), "Resent-Message-ID");
                push_field(&mut resent_added, "Resent-Message-ID", &id);
            }
        }
        (added, resent_added, message_id)
    }

    /// Applies the Bcc policy: which submissions, with which envelope and which Bcc field.
    fn split(&self, plan: &Plan, from: Addr, recipients: Vec<Recipient>) -> Vec<Part> {
        let extras = self.opts.extra_rcpts.iter().cloned();
        let one = |env: Envelope, show: ShowBcc| Part {
            envelope: env,
            header: plan.header(show),
        };
        let show = match self.opts.bcc_policy {
            BccPolicy::Remove => ShowBcc::None,
            BccPolicy::Blank => ShowBcc::Blank,
            BccPolicy::Split | BccPolicy::SplitEach => {
                return self.split_copies(from, recipients, one);
            }
        };
        // Header order, not visible-then-blind: recipients keep their order of first appearance.
        let to = recipients.into_iter().map(|r| r.addr).chain(extras);
        vec![one(Envelope::new(from, to), show)]
    }

    /// `split` and `split-each`: To/Cc (and extras) get one copy without Bcc; Bcc recipients
    /// get their own copies. Someone who is also a visible recipient already has the To/Cc copy.
    fn split_copies(
        &self,
        from: Addr,
        recipients: Vec<Recipient>,
        one: impl Fn(Envelope, ShowBcc) -> Part,
    ) -> Vec<Part> {
        let (bcc, visible): (Vec<Recipient>, Vec<Recipient>) =
            recipients.into_iter().partition(|r| r.bcc);
        let visible: Vec<Addr> = visible
            .into_iter()
            .map(|r| r.addr)
            .chain(self.opts.extra_rcpts.iter().cloned())
            .collect();
        let mut blind: Vec<Recipient> = Vec::new();
        for r in bcc {
            if !visible.contains(&r.addr) && !blind.iter().any(|b| b.addr == r.addr) {
                blind.push(r);
            }
        }
        let mut out = Vec::new();
        if !visible.is_empty() {
            out.push(one(Envelope::new(from.clone(), visible), ShowBcc::None));
        }
        if self.opts.bcc_policy == BccPolicy::Split {
            if !blind.is_empty() {
                let to = blind.iter().map(|r| r.addr.clone());
                out.push(one(Envelope::new(from, to), ShowBcc::All));
            }
        } else {
            for r in &blind {
                let env = Envelope::new(from.clone(), [r.addr.clone()]);
                out.push(one(env, ShowBcc::Only(&r.written)));
            }
        }
        out
    }
}

/// What a submission's header shows of the Bcc field(s).
#[derive(Clone, Copy)]
enum ShowBcc<'r> {
    None,
    Blank,
    All,
    Only(&'r str),
}

struct Plan<'p, 'a> {
    draft: &'p Draft<'a>,
    an: &'p Analysis,
    added: Vec<u8>,
    resent_added: Vec<u8>,
}

impl Plan<'_, '_> {
    /// Writes the header block of one submission.
    fn header(&self, show: ShowBcc) -> Vec<u8> {
        let d = self.draft;
        let mut out = Vec::with_capacity(
            d.source.len().min(d.source.len() - d.body.len()) + self.added.len() + 64,
        );
        let policy_field = self.an.roles.bcc;
        let block_end = self.an.roles.resent.as_ref().map(|r| r.end);
        let mut shown = false;
        for (i, f) in d.fields.iter().enumerate() {
            if Some(i) == block_end {
                out.extend_from_slice(&self.resent_added);
            }
            if !(f.is("Bcc") || f.is("Resent-Bcc")) {
                f.push_crlf(&mut out);
                continue;
            }
            // Only the Bcc field that decided the envelope is ever shown; older ones never are.
            if !f.is(policy_field)
                || self
                    .an
                    .roles
                    .resent
                    .as_ref()
                    .is_some_and(|r| !r.contains(&i))
            {
                continue;
            }
            match show {
                ShowBcc::None => {}
                ShowBcc::All => f.push_crlf(&mut out),
                ShowBcc::Blank if !shown => push_field(&mut out, policy_field, ""),
                ShowBcc::Only(text) if !shown => push_field(&mut out, policy_field, text),
                ShowBcc::Blank | ShowBcc::Only(_) => {}
            }
            shown = true;
        }
        if block_end == Some(d.fields.len()) {
            out.extend_from_slice(&self.resent_added);
        }
        out.extend_from_slice(&self.added);
        if d.separator {
            out.extend_from_slice(b"\r\n");
        }
        out
    }
}

/// `Name: value` CRLF; an empty value gives `Name:` with no trailing space.
fn push_field(out: &mut Vec<u8>, name: &str, value: impl AsRef<[u8]>) {
    let value = value.as_ref();
    out.extend_from_slice(name.as_bytes());
    out.push(b':');
    if !value.is_empty() {
        out.push(b' ');
        out.extend_from_slice(value);
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests;
