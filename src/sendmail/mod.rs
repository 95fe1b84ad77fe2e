//! The sendmail front end's semantics, for `envoi sendmail` and for any program that takes a
//! message the way sendmail(8) does: recipients given beside the message or read from its
//! To/Cc/Bcc, an envelope sender and a full name for a From the message lacks, bare local names
//! (`root`) qualified with a domain or mapped through an aliases file, and, when the message
//! is not accepted, where it is kept so that it is never lost ([`keep`]).
//!
//! The command line itself (sendmail's flags, reading stdin, exit codes) stays in the binary.

mod aliases;
mod from;
mod keep;

use aliases::host_domain;
pub use aliases::{AliasError, Aliases};
pub use keep::{Kept, NotKept, Unsent, default_dead_letter, keep};

use crate::address::{Addr, AddressError, parse_list};
use crate::clock::FixedClock;
use crate::compose::{BccPolicy, Composer, HashIds, Options};
use crate::config::Config;
use crate::envelope::Envelope;
use crate::error::ComposeError;
use std::path::PathBuf;

/// What the caller asked for, in sendmail's terms. Addresses are as given: lists
/// (`a@x.example, b@y.example`) and bare local names are allowed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// Recipients given beside the message (sendmail's arguments).
    pub recipients: Vec<String>,
    /// Read the recipients from the message's To/Cc/Bcc too (sendmail's `-t`).
    pub from_headers: bool,
    /// The envelope sender (sendmail's `-f`); also the From of a message without one.
    pub sender: Option<String>,
    /// The full name for a From field that the message lacks (sendmail's `-F`).
    pub full_name: Option<String>,
}

/// A message ready for a relay: the envelope after alias expansion and the composed bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// Who sends and who receives.
    pub envelope: Envelope,
    /// The composed message (CRLF line endings, Bcc removed).
    pub message: Vec<u8>,
    /// Alias targets that were left out: pipes, files and includes, which only a mail server
    /// can deliver to.
    pub skipped: Vec<Skipped>,
}

/// An alias target that was left out of the envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The recipient whose alias named it.
    pub recipient: Addr,
    /// The target as written in the aliases file (`|/usr/bin/prog`, `/var/log/mail`).
    pub target: String,
}

/// Why a message could not be prepared. Each variant says what is wrong; none names a command
/// line flag.
#[derive(Debug, thiserror::Error)]
pub enum SendmailError {
    /// A recipient that is not an address.
    #[error("recipient `{text}`: {error}")]
    Recipient {
        /// The recipient as given.
        text: String,
        /// Why it is not an address.
        error: AddressError,
    },
    /// The envelope sender is not an address.
    #[error("envelope sender `{text}`: {error}")]
    Sender {
        /// The sender as given.
        text: String,
        /// Why it is not an address.
        error: AddressError,
    },
    /// The envelope sender names several addresses, or none.
    #[error("the envelope sender `{text}` must be one address")]
    SenderNotSingle {
        /// The sender as given.
        text: String,
    },
    /// No recipients were given and they are not to be read from the message.
    #[error("no recipients: none were given, and they are not to be read from the message")]
    NoRecipients,
    /// The message has no From, no sender was given, and the login user is unknown.
    #[error("the message has no From, no envelope sender was given, and the login user is unknown")]
    NoLoginUser,
    /// The message has no From, no sender was given, and there is no domain for the login user.
    #[error(
        "the message has no From, no envelope sender was given, and there is no local domain (the host has no name)"
    )]
    NoDomain,
    /// The login user and the local domain do not make an address.
    #[error("cannot make a From address for {user}: {error}")]
    FromAddress {
        /// The login user.
        user: String,
        /// Why the address is not valid.
        error: AddressError,
    },
    /// The message (or an option) could not be composed.
    #[error(transparent)]
    Compose(#[from] ComposeError),
    /// Every recipient was an alias for targets that only a mail server can deliver to.
    #[error("no recipients are left once aliases are expanded")]
    NoRecipientsAfterAliases,
    /// The aliases file could not be read.
    #[error("aliases file {}: {error}", path.display())]
    Aliases {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        error: AliasesFileError,
    },
}

/// Why an aliases file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum AliasesFileError {
    /// It could not be read.
    #[error("cannot read it: {0}")]
    Read(#[from] std::io::Error),
    /// A line is not in the aliases(5) format.
    #[error(transparent)]
    Parse(#[from] AliasError),
}

/// The front end's settings: how a [`Request`] and the bytes of a message become a
/// [`Prepared`] submission.
///
/// ```
/// use envoi::Options;
/// use envoi::sendmail::{Frontend, Request};
/// let mut front = Frontend::new(Options::default());
/// front.domain = Some("host.example".into());
/// let request = Request { recipients: vec!["root".into()], sender: Some("cron".into()), ..Request::default() };
/// let prepared = front.prepare(&request, b"Subject: nightly\n\nAll well.\n")?;
/// assert_eq!(prepared.envelope.from.as_str(), "cron@host.example");
/// assert_eq!(prepared.envelope.to[0].as_str(), "root@host.example");
/// let text = String::from_utf8(prepared.message).unwrap();
/// assert!(text.starts_with("From: cron@host.example\r\nSubject: nightly\r\n"));
/// # Ok::<(), envoi::sendmail::SendmailError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Frontend {
    /// The compose options to start from. The Bcc policy is always `remove`: a sendmail caller
    /// expects Bcc gone from every copy.
    pub options: Options,
    /// Qualifies bare local names (`root`), and is the domain of the aliases.
    pub domain: Option<String>,
    /// Local names mapped to their targets, for recipients at `domain`.
    pub aliases: Option<Aliases>,
    /// Compose at this time (Unix seconds, shown in UTC) with Message-IDs hashed from the
    /// message, so that the same input gives the same bytes (`SOURCE_DATE_EPOCH`).
    pub fixed_time: Option<i64>,
}

impl Frontend {
    /// A front end with these compose options, local names qualified with their
    /// `local_domain` or else the host's name, and no aliases.
    pub fn new(options: Options) -> Frontend {
        Frontend {
            domain: options.local_domain.clone().or_else(host_domain),
            options,
            aliases: None,
            fixed_time: None,
        }
    }

    /// The front end the configuration describes: its `[compose]` options, domain (default:
    /// the host's name) and aliases file, read now.
    pub fn from_config(config: &Config) -> Result<Frontend, SendmailError> {
        let aliases = match &config.compose.aliases {
            None => None,
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .map_err(AliasesFileError::from)
                    .and_then(|text| Ok(Aliases::parse(&text)?))
                    .map_err(|error| SendmailError::Aliases {
                        path: path.clone(),
                        error,
                    })?,
            ),
        };
        Ok(Frontend {
            options: config.compose.options(),
            domain: config.compose.domain.clone().or_else(host_domain),
            aliases,
            fixed_time: None,
        })
    }

    /// Turns the message as read into a submission: recipients and sender resolved, a From
    /// added where the message has none, the message composed, aliases expanded.
    pub fn prepare(&self, request: &Request, input: &[u8]) -> Result<Prepared, SendmailError> {
        let domain = self.domain.as_deref();
        let mut rcpts = Vec::new();
        for text in &request.recipients {
            rcpts.extend(
                resolve(text, domain).map_err(|error| SendmailError::Recipient {
                    text: text.clone(),
                    error,
                })?,
            );
        }
        if rcpts.is_empty() && !request.from_headers {
            return Err(SendmailError::NoRecipients);
        }
        let sender = request
            .sender
            .as_deref()
            .map(|s| sender(s, domain))
            .transpose()?;
        let input = from::add_from_if_missing(
            input,
            request.full_name.as_deref(),
            sender.as_ref(),
            domain,
        )?;

        let mut options = self.options.clone();
        options.bcc_policy = BccPolicy::Remove;
        options.local_domain = self.domain.clone();
        options.envelope_from = sender;
        options.extra_rcpts = rcpts.clone();
        let mut composer = Composer::new(options)?;
        if let Some(t) = self.fixed_time {
            composer = composer.with_clock(FixedClock::utc(t)).with_ids(HashIds);
        }
        let composed = composer.compose(&input)?;
        // Under the `remove` policy there is exactly one submission.
        let Some(sub) = composed.iter().next() else {
            return Err(SendmailError::NoRecipients);
        };
        let to = if request.from_headers {
            sub.envelope().to.clone()
        } else {
            rcpts
        };
        let (to, skipped) = self.expand(to);
        if to.is_empty() {
            return Err(SendmailError::NoRecipientsAfterAliases);
        }
        Ok(Prepared {
            envelope: Envelope::new(sub.envelope().from.clone(), to),
            message: sub.to_bytes(),
            skipped,
        })
    }

    fn expand(&self, to: Vec<Addr>) -> (Vec<Addr>, Vec<Skipped>) {
        let (Some(aliases), Some(domain)) = (&self.aliases, &self.domain) else {
            return (to, Vec::new());
        };
        let mut out = Vec::new();
        let mut skipped = Vec::new();
        for recipient in to {
            let (got, left_out) = aliases.expand(&recipient, domain);
            out.extend(got);
            skipped.extend(left_out.into_iter().map(|target| Skipped {
                recipient: recipient.clone(),
                target,
            }));
        }
        (out, skipped)
    }
}

fn resolve(text: &str, domain: Option<&str>) -> Result<Vec<Addr>, AddressError> {
    parse_list(text)?
        .iter()
        .map(|m| m.resolve(domain))
        .collect()
}

fn sender(text: &str, domain: Option<&str>) -> Result<Addr, SendmailError> {
    let list = resolve(text, domain).map_err(|error| SendmailError::Sender {
        text: text.to_owned(),
        error,
    })?;
    match <[Addr; 1]>::try_from(list) {
        Ok([one]) => Ok(one),
        Err(_) => Err(SendmailError::SenderNotSingle {
            text: text.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests;
