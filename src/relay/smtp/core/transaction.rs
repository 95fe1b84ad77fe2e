//! One message: MAIL and RCPT, DATA, the dot-stuffed content. With PIPELINING (RFC 2920) MAIL,
//! every RCPT and DATA go in one write. All or nothing: a refused recipient stops the message
//! before its content; when DATA was already accepted (354), the transaction is ended with a
//! lone dot if no recipient was accepted, else abandoned without its final dot (the driver
//! closes the connection, so nobody gets the message).

use super::classify::with_context;
use super::content::Stuffer;
use super::handshake::Session;
use super::{Cause, Machine, Reply, Stage, Step, classify_cause};
use crate::address::Addr;
use crate::envelope::Envelope;
use crate::relay::message::Message;
use crate::relay::smtp::settings::SmtpSettings;
use crate::relay::{Delivery, ErrorKind, RelayError};
use lettre::transport::smtp::extension::Extension;

#[derive(Debug)]
enum Tx {
    /// MAIL (with every RCPT and DATA when pipelining) not written yet.
    Start,
    MailReply,
    /// Recipient `i` of this round: its RCPT is written (unless pipelined already), then its
    /// reply read.
    Rcpt {
        i: usize,
        sent: bool,
    },
    Data {
        sent: bool,
    },
    /// Writing the content chunk by chunk (the last with the end of data), then its reply.
    Content,
    /// RSET after a refusal, then the refusal is the result.
    Rset {
        sent: bool,
        err: RelayError,
    },
    /// DATA got 354 though no recipient was accepted: a lone dot ends it (RFC 2920 §3.1).
    LoneDot {
        sent: bool,
        err: RelayError,
    },
    Done(Result<Delivery, RelayError>),
    Taken,
}

/// One MAIL/RCPT/DATA transaction on an open session (more than one when the server defers
/// recipients with `452 too many recipients`: the rest go in a further one, RFC 5321 §3.3).
pub(crate) struct Transaction<'a> {
    cfg: &'a SmtpSettings,
    server: String,
    envelope: &'a Envelope,
    content: Stuffer<'a>,
    message: Message<'a>,
    /// RFC 2920: MAIL, every RCPT and DATA in one write, their replies read afterwards.
    pipelining: bool,
    eight_bit: bool,
    /// The DSN parameters, when requested and offered.
    dsn: Option<(String, String)>,
    warnings: Vec<String>,
    state: Tx,
    /// This round's recipients (indexes into the envelope's).
    round: Vec<usize>,
    /// Recipients the server deferred with 452 too many recipients: the next round's.
    deferred: Vec<usize>,
    /// Accepted in this round, and in earlier rounds (whose messages went).
    accepted: usize,
    delivered: Vec<Addr>,
    mail_error: Option<RelayError>,
    refused: Vec<(String, ErrorKind)>,
}

impl<'a> Transaction<'a> {
    pub(crate) fn new(
        cfg: &'a SmtpSettings,
        session: &Session,
        envelope: &'a Envelope,
        message: Message<'a>,
    ) -> Transaction<'a> {
        let caps = &session.caps;
        let mut tx = Transaction {
            cfg,
            server: cfg.server(),
            envelope,
            content: Stuffer::new(message),
            message,
            pipelining: caps.pipelining,
            // Servers without 8BITMIME still take 8-bit data in practice: no refusal for that.
            eight_bit: !message.is_ascii() && caps.has(Extension::EightBitMime),
            dsn: None,
            warnings: Vec::new(),
            state: Tx::Start,
            round: (0..envelope.to.len()).collect(),
            deferred: Vec::new(),
            accepted: 0,
            delivered: Vec::new(),
            mail_error: None,
            refused: Vec::new(),
        };
        let dsn = cfg.dsn();
        if caps.dsn && !dsn.is_empty() {
            tx.dsn = Some((dsn.mail_params(), dsn.rcpt_params()));
        } else if !dsn.is_empty() {
            tx.warnings.push(format!(
                "{} does not offer DSN: sent without the delivery notification request ({})",
                tx.server,
                [dsn.mail_params(), dsn.rcpt_params()].concat().trim()
            ));
        }
        if envelope.smtputf8 && !caps.has(Extension::SmtpUtfEight) {
            let who = std::iter::once(&envelope.from)
                .chain(&envelope.to)
                .find(|a| a.needs_smtputf8())
                .map_or_else(String::new, |a| format!(" (for {a})"));
            tx.state = Tx::Done(Err(RelayError::new(
                ErrorKind::Permanent,
                format!(
                    "{} does not support SMTPUTF8, which this envelope needs{who}; it cannot take a non-ASCII local part",
                    tx.server
                ),
            )));
        }
        tx
    }

    /// The content has been written whole: only its reply is left. The moment a driver may
    /// start the next message's commands in the same write (RFC 2920 §3.1).
    pub(crate) fn awaiting_final(&self) -> bool {
        matches!(self.state, Tx::Content) && self.content.is_done() && self.deferred.is_empty()
    }

    fn mail_line(&self) -> String {
        let mut mail = format!("MAIL FROM:<{}>", self.envelope.from);
        if self.envelope.smtputf8 {
            mail.push_str(" SMTPUTF8");
        }
        if self.eight_bit {
            mail.push_str(" BODY=8BITMIME");
        }
        if let Some((params, _)) = &self.dsn {
            mail.push_str(params);
        }
        mail.push_str("\r\n");
        mail
    }

    fn rcpt(&self, i: usize) -> &Addr {
        &self.envelope.to[self.round[i]]
    }

    fn rcpt_line(&self, i: usize) -> String {
        let params = self.dsn.as_ref().map_or("", |d| d.1.as_str());
        format!("RCPT TO:<{}>{params}\r\n", self.rcpt(i))
    }

    fn sender(&self) -> String {
        format!("the sender <{}>", self.envelope.from)
    }

    fn classify(&self, cause: &Cause, stage: Stage) -> RelayError {
        classify_cause(cause, stage, &self.server, self.cfg)
    }

    /// The refusal that stops this message, if any (MAIL's, else the refused recipients').
    fn refusal(&mut self) -> Option<RelayError> {
        if let Some(err) = self.mail_error.take() {
            return Some(err);
        }
        if self.refused.is_empty() {
            if self.accepted == 0 && !self.deferred.is_empty() {
                return Some(RelayError::new(
                    ErrorKind::Transient,
                    format!(
                        "{} took none of the recipients (452 too many recipients); the message went to nobody",
                        self.server
                    ),
                ));
            }
            return None;
        }
        // Permanent wins: trying the same envelope later would fail again.
        let kind = if self.refused.iter().any(|r| r.1 == ErrorKind::Permanent) {
            ErrorKind::Permanent
        } else {
            ErrorKind::Transient
        };
        let list: Vec<&str> = self.refused.iter().map(|r| r.0.as_str()).collect();
        let nobody = if self.delivered.is_empty() {
            "the message went to nobody".to_owned()
        } else {
            // Only after a 452: the earlier transactions' recipients have it.
            format!(
                "the message went only to {} (accepted before the server asked for a further transaction)",
                crate::relay::join_addrs(&self.delivered)
            )
        };
        Some(RelayError::new(
            kind,
            format!(
                "{} refused recipient{} {}; {nobody}",
                self.server,
                if list.len() == 1 { "" } else { "s" },
                list.join(", ")
            ),
        ))
    }

    /// After the last recipient's reply: DATA's reply when it was pipelined, else RSET and the
    /// refusal, or DATA.
    fn after_rcpts(&mut self) {
        if self.pipelining {
            self.state = Tx::Data { sent: true };
            return;
        }
        self.state = match self.refusal() {
            Some(err) => Tx::Rset { sent: false, err },
            None => Tx::Data { sent: false },
        };
    }

    fn next_rcpt(&mut self, i: usize) {
        if i + 1 < self.round.len() {
            self.state = Tx::Rcpt {
                i: i + 1,
                sent: self.pipelining,
            };
        } else {
            self.after_rcpts();
        }
    }

    /// A failure at the first command: on a kept connection the server may have closed it while
    /// idle, so it is marked stale (worth one fresh try) unless it was a timeout, which would
    /// only repeat on a fresh connection.
    fn mail_failed(&mut self, cause: &Cause) {
        let mut err = self.classify(cause, Stage::Mail);
        let sender = self.sender();
        if err.is_session_over() {
            err.stale = *cause != Cause::Timeout && self.delivered.is_empty();
            self.state = Tx::Done(Err(with_context(err, &sender)));
        } else if self.pipelining {
            // The RCPT and DATA replies are on their way: read them first.
            self.mail_error = Some(with_context(err, &sender));
            self.state = match self.round.is_empty() {
                true => Tx::Data { sent: true },
                false => Tx::Rcpt { i: 0, sent: true },
            };
        } else {
            let err = with_context(err, &sender);
            self.state = Tx::Rset { sent: false, err };
        }
    }

    /// DATA's reply. With DATA pipelined, a refusal may meet a 354: a lone dot when nobody was
    /// accepted, else the transaction is abandoned before its end of data.
    fn data_reply(&mut self, cause: Option<Cause>) {
        let refusal = self.refusal();
        self.state = match (cause, refusal) {
            (None, None) => Tx::Content,
            (None, Some(err)) if self.accepted == 0 => Tx::LoneDot { sent: false, err },
            (None, Some(err)) => Tx::Done(Err(err.abandoned())),
            (Some(c), refusal) => {
                let err =
                    refusal.unwrap_or_else(|| with_context(self.classify(&c, Stage::Data), "DATA"));
                if err.is_session_over() {
                    Tx::Done(Err(err))
                } else {
                    Tx::Rset { sent: false, err }
                }
            }
        };
    }

    /// The content was accepted: done, or a further round for the deferred recipients.
    fn content_accepted(&mut self) {
        self.delivered
            .extend(self.round.iter().map(|&i| self.envelope.to[i].clone()));
        if self.deferred.is_empty() {
            let delivery = Delivery {
                accepted: std::mem::take(&mut self.delivered),
                warnings: std::mem::take(&mut self.warnings),
            };
            self.state = Tx::Done(Ok(delivery));
            return;
        }
        self.round = std::mem::take(&mut self.deferred);
        self.accepted = 0;
        self.content = Stuffer::new(self.message);
        self.state = Tx::Start;
    }

    fn rcpt_reply(&mut self, i: usize, reply: &Reply, cause: Option<Cause>) {
        let Some(c) = cause else {
            self.accepted += 1;
            return self.next_rcpt(i);
        };
        if too_many_recipients(reply) {
            // Not a refusal: this one goes in a further transaction.
            let idx = self.round.remove(i);
            self.deferred.push(idx);
            if i < self.round.len() {
                self.state = Tx::Rcpt {
                    i,
                    sent: self.pipelining,
                };
            } else {
                self.after_rcpts();
            }
            return;
        }
        let err = self.classify(&c, Stage::Mail);
        if err.is_session_over() {
            self.state = Tx::Done(Err(err));
            return;
        }
        let rcpt = self.rcpt(i).to_string();
        self.refused
            .push((format!("{rcpt} ({})", reply.text()), err.kind()));
        self.next_rcpt(i);
    }
}

/// RFC 5321 §4.5.3.1.10: `452 too many recipients` (enhanced code 4.5.3) asks for a further
/// transaction; any other 452 (insufficient storage) is a temporary refusal.
fn too_many_recipients(reply: &Reply) -> bool {
    let text = reply.text().to_ascii_lowercase();
    reply.code == 452 && (text.contains("4.5.3") || text.contains("too many recipients"))
}

impl Machine for Transaction<'_> {
    type Output = Result<Delivery, RelayError>;

    fn step(&mut self) -> Step<Self::Output> {
        match &mut self.state {
            Tx::Start => {
                let mut batch = self.mail_line();
                if self.pipelining {
                    (0..self.round.len()).for_each(|i| batch.push_str(&self.rcpt_line(i)));
                    batch.push_str("DATA\r\n");
                }
                self.state = Tx::MailReply;
                Step::Write(batch.into_bytes())
            }
            Tx::Rcpt { i, sent: false } => {
                let i = *i;
                self.state = Tx::Rcpt { i, sent: true };
                Step::Write(self.rcpt_line(i).into_bytes())
            }
            Tx::Data { sent: false } => {
                self.state = Tx::Data { sent: true };
                Step::Write(b"DATA\r\n".to_vec())
            }
            Tx::Content => match self.content.next_chunk() {
                Some(chunk) => Step::Write(chunk),
                None => Step::Read,
            },
            Tx::Rset { sent, .. } if !*sent => {
                *sent = true;
                Step::Write(b"RSET\r\n".to_vec())
            }
            Tx::LoneDot { sent, .. } if !*sent => {
                *sent = true;
                Step::Write(b".\r\n".to_vec())
            }
            Tx::MailReply | Tx::Rcpt { .. } | Tx::Data { .. } => Step::Read,
            Tx::Rset { .. } | Tx::LoneDot { .. } => Step::Read,
            Tx::Done(_) | Tx::Taken => match std::mem::replace(&mut self.state, Tx::Taken) {
                Tx::Done(r) => Step::Done(r),
                _ => panic!("the transaction is over"),
            },
        }
    }

    fn reply(&mut self, reply: Reply) {
        let cause = reply.negative().then(|| Cause::of_reply(&reply));
        match std::mem::replace(&mut self.state, Tx::Taken) {
            Tx::MailReply => match cause {
                Some(c) => self.mail_failed(&c),
                None if self.round.is_empty() => self.after_rcpts(),
                None => {
                    self.state = Tx::Rcpt {
                        i: 0,
                        sent: self.pipelining,
                    }
                }
            },
            Tx::Rcpt { i, .. } => self.rcpt_reply(i, &reply, cause),
            Tx::Data { .. } => self.data_reply(cause),
            Tx::Content => match cause {
                Some(c) => {
                    let err = with_context(self.classify(&c, Stage::Data), "the message");
                    self.state = Tx::Done(Err(err));
                }
                None => self.content_accepted(),
            },
            // Whatever RSET or the lone dot gets, the refusal stands.
            Tx::Rset { err, .. } | Tx::LoneDot { err, .. } => self.state = Tx::Done(Err(err)),
            other => self.state = other,
        }
    }

    fn failed(&mut self, cause: Cause) {
        match std::mem::replace(&mut self.state, Tx::Taken) {
            Tx::MailReply | Tx::Start => self.mail_failed(&cause),
            Tx::Rcpt { .. } => self.state = Tx::Done(Err(self.classify(&cause, Stage::Mail))),
            Tx::Data { .. } => {
                let err = with_context(self.classify(&cause, Stage::Data), "DATA");
                self.state = Tx::Done(Err(err));
            }
            Tx::Content => {
                let err = with_context(self.classify(&cause, Stage::Data), "the message");
                self.state = Tx::Done(Err(err));
            }
            // The link broke during RSET or the lone dot: the refusal is still the answer (the
            // driver drops the broken connection).
            Tx::Rset { err, .. } | Tx::LoneDot { err, .. } => self.state = Tx::Done(Err(err)),
            other => self.state = other,
        }
    }
}
