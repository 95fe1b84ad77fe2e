//! One message: MAIL and RCPT (pipelined when offered), DATA, the dot-stuffed content. All or
//! nothing: a refused recipient stops the message before DATA.

use super::classify::with_context;
use super::content::Stuffer;
use super::handshake::Session;
use super::{Cause, Machine, Reply, Stage, Step, classify_cause};
use crate::envelope::Envelope;
use crate::relay::message::Message;
use crate::relay::smtp::settings::SmtpSettings;
use crate::relay::{Delivery, ErrorKind, RelayError};
use lettre::transport::smtp::extension::Extension;

#[derive(Debug)]
enum Tx {
    /// MAIL (with every RCPT when pipelining) not written yet.
    Start,
    MailReply,
    /// Recipient `i`: its RCPT is written (unless pipelined already), then its reply read.
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
    Done(Result<Delivery, RelayError>),
    Taken,
}

/// One MAIL/RCPT/DATA transaction on an open session. All or nothing: a refused recipient
/// stops the message before DATA, and every RCPT is still tried so the error names them all.
pub(crate) struct Transaction<'a> {
    cfg: &'a SmtpSettings,
    server: String,
    envelope: &'a Envelope,
    content: Stuffer<'a>,
    /// RFC 2920: MAIL and every RCPT in one write, their replies read afterwards.
    pipelining: bool,
    eight_bit: bool,
    /// The DSN parameters, when requested and offered.
    dsn: Option<(String, String)>,
    warnings: Vec<String>,
    state: Tx,
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
            pipelining: caps.pipelining,
            // Servers without 8BITMIME still take 8-bit data in practice: no refusal for that.
            eight_bit: !message.is_ascii() && caps.has(Extension::EightBitMime),
            dsn: None,
            warnings: Vec::new(),
            state: Tx::Start,
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

    fn rcpt_line(&self, i: usize) -> String {
        let params = self.dsn.as_ref().map_or("", |d| d.1.as_str());
        format!("RCPT TO:<{}>{params}\r\n", self.envelope.to[i])
    }

    fn sender(&self) -> String {
        format!("the sender <{}>", self.envelope.from)
    }

    fn classify(&self, cause: &Cause, stage: Stage) -> RelayError {
        classify_cause(cause, stage, &self.server, self.cfg)
    }

    /// After the last recipient's reply: RSET and the refusal, or DATA.
    fn after_rcpts(&mut self) {
        if let Some(err) = self.mail_error.take() {
            self.state = Tx::Rset { sent: false, err };
            return;
        }
        if self.refused.is_empty() {
            self.state = Tx::Data { sent: false };
            return;
        }
        // Permanent wins: trying the same envelope later would fail again.
        let kind = if self.refused.iter().any(|r| r.1 == ErrorKind::Permanent) {
            ErrorKind::Permanent
        } else {
            ErrorKind::Transient
        };
        let list: Vec<&str> = self.refused.iter().map(|r| r.0.as_str()).collect();
        let err = RelayError::new(
            kind,
            format!(
                "{} refused recipient{} {}; the message went to nobody",
                self.server,
                if list.len() == 1 { "" } else { "s" },
                list.join(", ")
            ),
        );
        self.state = Tx::Rset { sent: false, err };
    }

    fn next_rcpt(&mut self, i: usize) {
        if i + 1 < self.envelope.to.len() {
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
            err.stale = *cause != Cause::Timeout;
            self.state = Tx::Done(Err(with_context(err, &sender)));
        } else if self.pipelining && !self.envelope.to.is_empty() {
            // The RCPT replies are on their way: read them, then RSET.
            self.mail_error = Some(with_context(err, &sender));
            self.state = Tx::Rcpt { i: 0, sent: true };
        } else {
            let err = with_context(err, &sender);
            self.state = Tx::Rset { sent: false, err };
        }
    }
}

impl Machine for Transaction<'_> {
    type Output = Result<Delivery, RelayError>;

    fn step(&mut self) -> Step<Self::Output> {
        match &mut self.state {
            Tx::Start => {
                let mut batch = self.mail_line();
                if self.pipelining {
                    (0..self.envelope.to.len()).for_each(|i| batch.push_str(&self.rcpt_line(i)));
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
            Tx::MailReply | Tx::Rcpt { .. } | Tx::Data { .. } => Step::Read,
            Tx::Rset { .. } => Step::Read,
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
                None if self.envelope.to.is_empty() => self.after_rcpts(),
                None => {
                    self.state = Tx::Rcpt {
                        i: 0,
                        sent: self.pipelining,
                    }
                }
            },
            Tx::Rcpt { i, .. } => {
                if let Some(c) = cause {
                    let err = self.classify(&c, Stage::Mail);
                    if err.is_session_over() {
                        self.state = Tx::Done(Err(err));
                        return;
                    }
                    let rcpt = &self.envelope.to[i];
                    self.refused
                        .push((format!("{rcpt} ({})", reply.text()), err.kind()));
                }
                self.next_rcpt(i);
            }
            Tx::Data { .. } => match cause {
                Some(c) => {
                    let err = with_context(self.classify(&c, Stage::Data), "DATA");
                    self.state = if err.is_session_over() {
                        Tx::Done(Err(err))
                    } else {
                        Tx::Rset { sent: false, err }
                    };
                }
                None => self.state = Tx::Content,
            },
            Tx::Content => {
                self.state = Tx::Done(match cause {
                    Some(c) => Err(with_context(self.classify(&c, Stage::Data), "the message")),
                    None => Ok(Delivery {
                        warnings: std::mem::take(&mut self.warnings),
                        ..Delivery::all(self.envelope)
                    }),
                })
            }
            // Whatever RSET gets, the refusal stands.
            Tx::Rset { err, .. } => self.state = Tx::Done(Err(err)),
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
            // The link broke during RSET: the refusal is still the answer (the driver drops
            // the broken connection).
            Tx::Rset { err, .. } => self.state = Tx::Done(Err(err)),
            other => self.state = other,
        }
    }
}
