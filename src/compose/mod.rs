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

/// One message to hand to a relay: its envelope and its header (the body is shared, see
/// [`Composed`]).
#[derive(Debug, Clone)]
pub struct Submission {
    pub envelope: Envelope,
    /// The full header block, CRLF line endings, the empty separator line included.
    pub header: Vec<u8>,
}

/// The result of composing one draft. Submissions share one body so that `split-each` does not
/// copy a large body once per Bcc recipient.
#[derive(Debug, Clone)]
pub struct Composed<'a> {
    /// The message's Message-ID (`<...>`), as found in the draft or as added.
    pub message_id: String,
    pub submissions: Vec<Submission>,
    body: Body<'a>,
}

impl Composed<'_> {
    /// The body with CRLF line endings.
    pub fn body(&self) -> Cow<'_, [u8]> {
        self.body.to_crlf()
    }
    /// The complete bytes of submission `i`.
    pub fn message(&self, i: usize) -> Vec<u8> {
        let mut v = Vec::new();
        self.push_message(i, &mut v);
        v
    }
    /// Appends the complete bytes of submission `i` to `out`: the fastest way to get many
    /// messages, with one buffer reused for all of them.
    pub fn push_message(&self, i: usize, out: &mut Vec<u8>) {
        let h = &self.submissions[i].header;
        out.reserve(h.len() + self.body.raw.len());
        out.extend_from_slice(h);
        self.body.push_crlf(out);
    }
    /// Writes submission `i` without building it in memory first (the body is converted in
    /// 64 KiB chunks): for large messages.
    pub fn write_message(&self, i: usize, w: &mut dyn Write) -> io::Result<()> {
        w.write_all(&self.submissions[i].header)?;
        self.body.write_crlf(w)
    }
}

/// Turns drafts into submissions. Holds the options, the clock and the Message-ID source, so a
/// batch of drafts is composed with one set of validated settings.
///
/// ```
/// use envoi::{Composer, Options, FixedClock, HashIds};
/// let c = Composer::new(Options::default())?.with_clock(FixedClock::utc(0)).with_ids(HashIds);
/// let out = c.compose(b"From: a@x.example\nTo: b@y.example\nBcc: c@z.example\n\nHi\n")?;
/// let s = &out.submissions[0];
/// assert_eq!(s.envelope.to_json(), r#"{"from":"a@x.example","to":["b@y.example","c@z.example"],"smtputf8":false}"#);
/// assert!(!String::from_utf8(out.message(0)).unwrap().contains("c@z.example"));
/// # Ok::<(), envoi::ComposeError>(())
/// ```
pub struct Composer {
    opts: Options,
    clock: Box<dyn Clock>,
    ids: Box<dyn IdSource>,
}

impl Composer {
    /// Validates the options; the clock is the system's and Message-IDs are UUIDs.
    pub fn new(opts: Options) -> Result<Composer, ComposeError> {
        Ok(Composer {
            opts: opts.validate()?,
            clock: Box::new(SystemClock),
            ids: Box::new(UuidIds),
        })
    }
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Composer {
        self.clock = Box::new(clock);
        self
    }
    pub fn with_ids(mut self, ids: impl IdSource + 'static) -> Composer {
        self.ids = Box::new(ids);
        self
    }
    pub fn options(&self) -> &Options {
        &self.opts
    }

    /// Composes one draft (LF or CRLF line endings).
    pub fn compose<'a>(&self, source: &'a [u8]) -> Result<Composed<'a>, ComposeError> {
        let draft = Draft::parse(source)?;
        let body = Body::check(draft.body, draft.body_line)?;
        let mut an = analyse(&draft, self.opts.local_domain.as_deref());
        if let Some(f) = an.findings.iter().find(|f| f.problem.is_fatal()) {
            return Err(f.clone().into());
        }
        // A Sender alone does not make a message: without From (RFC 5322 §3.6.2 requires one)
        // only an explicit envelope sender lets the draft go out.
        let has_from = !an
            .findings
            .iter()
            .any(|f| f.problem == Problem::MissingFrom);
        let from = self
            .opts
            .envelope_from
            .clone()
            .or_else(|| an.sender.take().filter(|_| has_from))
            .or_else(|| self.opts.default_from.clone())
            .ok_or(Finding {
                line: 0,
                problem: Problem::NoFrom,
            })?;
        let (added, resent_added, message_id) = self.additions(&draft, &an, &from);
        // Moved, not cloned: the envelopes take the addresses.
        let recipients = std::mem::take(&mut an.recipients);
        let plan = Plan {
            draft: &draft,
            an: &an,
            added,
            resent_added,
        };
        let submissions = self.split(&plan, from, recipients)?;
        Ok(Composed {
            message_id,
            submissions,
            body,
        })
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
    fn split(
        &self,
        plan: &Plan,
        from: Addr,
        recipients: Vec<Recipient>,
    ) -> Result<Vec<Submission>, ComposeError> {
        let extras = self.opts.extra_rcpts.iter().cloned();
        if recipients.is_empty() && self.opts.extra_rcpts.is_empty() {
            return Err(Finding {
                line: 0,
                problem: Problem::NoRecipients,
            }
            .into());
        }
        let one = |env: Envelope, show: ShowBcc| Submission {
            envelope: env,
            header: plan.header(show),
        };
        let show = match self.opts.bcc_policy {
            BccPolicy::Remove => ShowBcc::None,
            BccPolicy::Blank => ShowBcc::Blank,
            BccPolicy::Split | BccPolicy::SplitEach => {
                return Ok(self.split_copies(from, recipients, one));
            }
        };
        // Header order, not visible-then-blind: recipients keep their order of first appearance.
        let to = recipients.into_iter().map(|r| r.addr).chain(extras);
        Ok(vec![one(Envelope::new(from, to), show)])
    }

    /// `split` and `split-each`: To/Cc (and extras) get one copy without Bcc; Bcc recipients
    /// get their own copies. Someone who is also a visible recipient already has the To/Cc copy.
    fn split_copies(
        &self,
        from: Addr,
        recipients: Vec<Recipient>,
        one: impl Fn(Envelope, ShowBcc) -> Submission,
    ) -> Vec<Submission> {
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
