//! The batch-send policy: compose each draft, submit every submission through one relay
//! session, and stop at the first failure that would fail every later draft the same way.
//! Drafts that were not accepted are only reported: what to do with them is the caller's choice.

use crate::compose::Composer;
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
    stopped: bool,
}

impl<'a, R: Relay + ?Sized> Batch<'a, R> {
    /// A batch that composes with `composer` and submits through `relay`. The caller closes
    /// the relay after the last draft.
    pub fn new(composer: &'a Composer, relay: &'a mut R) -> Self {
        Batch {
            composer,
            relay,
            stopped: false,
        }
    }

    /// True once a failure has stopped the batch: every later draft is [`DraftOutcome::NotTried`].
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// Composes `draft` and submits each of its submissions, unless the batch has stopped.
    pub fn send(&mut self, draft: &[u8]) -> DraftOutcome {
        if self.stopped {
            return DraftOutcome::NotTried;
        }
        let composed = match self.composer.compose(draft) {
            Ok(c) => c,
            Err(e) => return DraftOutcome::NotComposed(e),
        };
        let submissions = composed
            .iter()
            .map(|sub| {
                if self.stopped {
                    return SubmissionOutcome::NotTried;
                }
                match self.relay.submit_message(sub.envelope(), sub.message()) {
                    Ok(d) => SubmissionOutcome::Accepted(d),
                    Err(e) => {
                        self.stopped = e.kind() != ErrorKind::Permanent || e.is_session_over();
                        SubmissionOutcome::Failed(e)
                    }
                }
            })
            .collect();
        DraftOutcome::Composed {
            message_id: composed.message_id().to_owned(),
            submissions,
        }
    }
}

impl<R: Relay + ?Sized> Batch<'_, R> {
    /// Composes every draft and submits all their submissions in one call to the relay, so
    /// that an SMTP relay pipelines them (about one round trip per message); one outcome per
    /// draft, in order. Every submission was tried: a failure that stops the batch is reported
    /// with the outcomes of those after it in the same call, and later calls are not tried.
    /// Meant for groups of small drafts: all of them are in memory at once.
    pub fn send_many<D: AsRef<[u8]>>(&mut self, drafts: &[D]) -> Vec<DraftOutcome> {
        if self.stopped {
            return drafts.iter().map(|_| DraftOutcome::NotTried).collect();
        }
        let composed: Vec<_> = drafts
            .iter()
            .map(|d| self.composer.compose(d.as_ref()))
            .collect();
        let batch: Vec<_> = composed
            .iter()
            .flatten()
            .flat_map(|c| c.iter().map(|s| (s.envelope(), s.message())))
            .collect();
        let mut results = self.relay.submit_messages(&batch).into_iter();
        composed
            .into_iter()
            .map(|c| match c {
                Err(e) => DraftOutcome::NotComposed(e),
                Ok(c) => DraftOutcome::Composed {
                    message_id: c.message_id().to_owned(),
                    submissions: c
                        .iter()
                        .map(
                            |_| match results.next().expect("one result per submission") {
                                Ok(d) => SubmissionOutcome::Accepted(d),
                                Err(e) => {
                                    self.stopped |=
                                        e.kind() != ErrorKind::Permanent || e.is_session_over();
                                    SubmissionOutcome::Failed(e)
                                }
                            },
                        )
                        .collect(),
                },
            })
            .collect()
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
