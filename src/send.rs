//! The batch-send policy: compose each draft, submit every submission through one relay
//! session, and stop at the first failure that would fail every later draft the same way.
//! Drafts that were not accepted are only reported: what to do with them is the caller's choice.

use crate::compose::{Composed, Composer};
use crate::error::ComposeError;
use crate::relay::{Delivery, ErrorKind, Relay, RelayError};

/// What became of one draft.
#[derive(Debug)]
pub enum DraftOutcome {
    /// The draft could not be composed; nothing of it was submitted. The batch goes on.
    NotComposed(ComposeError),
    /// The draft was composed and its submissions handed to the relay.
    Composed {
        /// The message's Message-ID (`<...>`).
        message_id: String,
        /// One outcome per submission (more than one under a splitting Bcc policy), in order.
        submissions: Vec<SubmissionOutcome>,
    },
    /// Not tried: an earlier failure stopped the batch.
    NotTried,
}

/// What became of one submission.
#[derive(Debug)]
pub enum SubmissionOutcome {
    /// The relay took it for these recipients.
    Accepted(Delivery),
    /// The relay did not take it (for any recipient: a submission is all or nothing).
    Failed(RelayError),
    /// Not tried: an earlier submission's failure stopped the batch.
    NotTried,
}

/// Sends drafts one after the other through one relay session.
///
/// A relay's refusal of one message (a 5xx reply on a session that is still up) leaves the
/// session worth going on with. After any other failure (network, TLS, authentication,
/// configuration, a temporary refusal, a dropped connection) every later draft would fail the
/// same way or wait out the same timeout, so the batch stops there and reports the rest as
/// not tried.
///
/// ```
/// use envoi::relay::{FileRelay, Relay};
/// use envoi::send::{Batch, DraftOutcome, SubmissionOutcome};
/// use envoi::{Composer, Options};
/// # let tmp = tempfile::tempdir()?;
/// let composer = Composer::new(Options::default())?;
/// let mut relay = FileRelay::new(tmp.path().join("spool"));
/// let mut batch = Batch::new(&composer, &mut relay);
/// let outcome = batch.send(b"From: a@x.example\nTo: b@y.example\n\nHi\n");
/// let DraftOutcome::Composed { submissions, .. } = outcome else { panic!("{outcome:?}") };
/// for s in &submissions {
///     let SubmissionOutcome::Accepted(d) = s else { panic!("{s:?}") };
///     assert_eq!(d.accepted[0].as_str(), "b@y.example");
/// }
/// assert!(matches!(batch.send(b"no header\n"), DraftOutcome::NotComposed(_)));
/// assert!(!batch.is_stopped());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Batch<'a, R: Relay + ?Sized> {
    composer: &'a Composer,
    relay: &'a mut R,
    /// The failure that stopped the batch.
    stopped_by: Option<RelayError>,
}

impl<'a, R: Relay + ?Sized> Batch<'a, R> {
    /// A batch that composes with `composer` and submits through `relay`. The caller closes
    /// the relay after the last draft.
    pub fn new(composer: &'a Composer, relay: &'a mut R) -> Self {
        Batch {
            composer,
            relay,
            stopped_by: None,
        }
    }

    /// True once a failure has stopped the batch: every later draft is [`DraftOutcome::NotTried`].
    pub fn is_stopped(&self) -> bool {
        self.stopped_by.is_some()
    }

    /// The failure that stopped the batch, if one did: it tells whether what was not tried is
    /// worth queueing (a temporary failure) or not (authentication, configuration...).
    pub fn stopped_by(&self) -> Option<&RelayError> {
        self.stopped_by.as_ref()
    }

    /// Composes `draft` and submits each of its submissions, one after the other, unless the
    /// batch has stopped (also between the submissions of one draft).
    pub fn send(&mut self, draft: &[u8]) -> DraftOutcome {
        if self.is_stopped() {
            return DraftOutcome::NotTried;
        }
        match self.composer.compose(draft) {
            Err(e) => DraftOutcome::NotComposed(e),
            Ok(c) => DraftOutcome::Composed {
                message_id: c.message_id().to_owned(),
                submissions: self.submit(&c),
            },
        }
    }

    /// Composes every draft and submits all their submissions in one call to the relay, so
    /// that an SMTP relay pipelines them (about one round trip per message); one outcome per
    /// draft, in order. Every submission was tried: a failure that stops the batch is reported
    /// with the outcomes of those after it in the same call, and later calls are not tried.
    /// Meant for groups of small drafts: all of them are in memory at once.
    pub fn send_many<D: AsRef<[u8]>>(&mut self, drafts: &[D]) -> Vec<DraftOutcome> {
        if self.is_stopped() {
            return drafts.iter().map(|_| DraftOutcome::NotTried).collect();
        }
        let composed: Vec<_> = drafts
            .iter()
            .map(|d| self.composer.compose(d.as_ref()))
            .collect();
        let ok: Vec<&Composed<'_>> = composed.iter().flatten().collect();
        let mut outcomes = self.submit_many(&ok).into_iter();
        composed
            .into_iter()
            .map(|c| match c {
                Err(e) => DraftOutcome::NotComposed(e),
                Ok(c) => DraftOutcome::Composed {
                    message_id: c.message_id().to_owned(),
                    submissions: outcomes.next().expect("one list per composed draft"),
                },
            })
            .collect()
    }

    /// Submits the submissions of messages the caller composed (and so can still keep what was
    /// not accepted), all in one call to the relay, so that an SMTP relay pipelines them: one
    /// list of outcomes per message, one outcome per submission, in order; all not tried once
    /// the batch has stopped. The relay streams each message from its pieces: nothing is
    /// copied.
    pub fn submit_many(&mut self, composed: &[&Composed<'_>]) -> Vec<Vec<SubmissionOutcome>> {
        if self.is_stopped() {
            return composed
                .iter()
                .map(|c| c.iter().map(|_| SubmissionOutcome::NotTried).collect())
                .collect();
        }
        let messages: Vec<_> = composed
            .iter()
            .flat_map(|c| c.iter().map(|s| (s.envelope(), s.message())))
            .collect();
        let mut results = self.relay.submit_messages(&messages).into_iter();
        composed
            .iter()
            .map(|c| {
                c.iter()
                    .map(|_| self.outcome(results.next().expect("one result per submission")))
                    .collect()
            })
            .collect()
    }

    /// Submits each submission of a message the caller composed, one after the other, streamed
    /// from its pieces; those after a failure that stops the batch are not tried.
    pub fn submit(&mut self, composed: &Composed<'_>) -> Vec<SubmissionOutcome> {
        composed
            .iter()
            .map(|sub| {
                if self.is_stopped() {
                    return SubmissionOutcome::NotTried;
                }
                let result = self.relay.submit_message(sub.envelope(), sub.message());
                self.outcome(result)
            })
            .collect()
    }

    /// One relay result as an outcome; a failure that would repeat for every later message
    /// stops the batch.
    fn outcome(&mut self, result: Result<Delivery, RelayError>) -> SubmissionOutcome {
        match result {
            Ok(d) => SubmissionOutcome::Accepted(d),
            Err(e) => {
                if self.stopped_by.is_none()
                    && (e.kind() != ErrorKind::Permanent || e.is_session_over())
                {
                    self.stopped_by = Some(e.clone());
                }
                SubmissionOutcome::Failed(e)
            }
        }
    }
}

/// Sends every draft through `relay` by the policy of [`Batch`]; one outcome per draft, in
/// order. The caller closes the relay.
pub fn send_all<R: Relay + ?Sized, D: AsRef<[u8]>>(
    composer: &Composer,
    relay: &mut R,
    drafts: impl IntoIterator<Item = D>,
) -> Vec<DraftOutcome> {
    let mut batch = Batch::new(composer, relay);
    drafts.into_iter().map(|d| batch.send(d.as_ref())).collect()
}

#[cfg(test)]
mod tests;
