//! Several messages on one connection, pipelined across messages (RFC 2920 §3.1): the last
//! chunk of one message's content, its end of data, and the next message's MAIL, RCPT... and
//! DATA go in one write, so a batch costs about one round trip per message.

use super::handshake::Session;
use super::{Cause, Machine, Reply, Step, Transaction};
use crate::envelope::Envelope;
use crate::relay::message::Message;
use crate::relay::smtp::settings::SmtpSettings;
use crate::relay::{Delivery, RelayError};

/// The messages of a batch from the first one on, on one open session. Ends with the results
/// of a prefix of the batch (at least one): it stops early when the connection cannot go on
/// (an I/O failure, a session-ending reply, an abandoned transaction), and the driver takes up
/// the rest on a new connection.
pub(crate) struct Chain<'a> {
    cfg: &'a SmtpSettings,
    session: &'a Session,
    batch: &'a [(&'a Envelope, Message<'a>)],
    current: Transaction<'a>,
    /// The next message's transaction, its first commands already written with the end of the
    /// current one.
    next: Option<Transaction<'a>>,
    results: Vec<Result<Delivery, RelayError>>,
    broken: bool,
}

impl<'a> Chain<'a> {
    pub(crate) fn new(
        cfg: &'a SmtpSettings,
        session: &'a Session,
        batch: &'a [(&'a Envelope, Message<'a>)],
    ) -> Chain<'a> {
        let (e, m) = batch[0];
        Chain {
            cfg,
            session,
            batch,
            current: Transaction::new(cfg, session, e, m),
            next: None,
            results: Vec::new(),
            broken: false,
        }
    }

    /// The transaction of message `i`, if the batch has one.
    fn transaction(&self, i: usize) -> Option<Transaction<'a>> {
        let (e, m) = *self.batch.get(i)?;
        Some(Transaction::new(self.cfg, self.session, e, m))
    }

    fn can_go_on(&self, r: &Result<Delivery, RelayError>) -> bool {
        !self.broken
            && r.as_ref()
                .err()
                .is_none_or(|e| !e.is_session_over() && !e.abandoned)
    }
}

impl Machine for Chain<'_> {
    type Output = Vec<Result<Delivery, RelayError>>;

    fn step(&mut self) -> Step<Self::Output> {
        loop {
            match self.current.step() {
                Step::Write(mut bytes) => {
                    if self.session.caps.pipelining
                        && self.current.awaiting_final()
                        && let Some(mut next) = self.transaction(self.results.len() + 1)
                        && let Step::Write(group) = next.step()
                    {
                        bytes.extend_from_slice(&group);
                        self.next = Some(next);
                    }
                    return Step::Write(bytes);
                }
                Step::Done(r) => {
                    let go_on = self.can_go_on(&r);
                    self.results.push(r);
                    let next = match self.next.take() {
                        Some(n) if go_on => Some(n),
                        None if go_on => self.transaction(self.results.len()),
                        _ => None,
                    };
                    match next {
                        Some(n) => self.current = n,
                        None => return Step::Done(std::mem::take(&mut self.results)),
                    }
                }
                Step::Read => return Step::Read,
                Step::StartTls => return Step::StartTls,
                Step::Password => return Step::Password,
            }
        }
    }

    fn reply(&mut self, reply: Reply) {
        self.current.reply(reply);
    }

    fn failed(&mut self, cause: Cause) {
        self.broken = true;
        self.current.failed(cause);
    }
}
