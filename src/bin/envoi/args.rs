//! What the user typed (clap), and its conversion into library objects (the second stage).

use crate::exit::{Failure, Result};
use clap::{Args, Parser, Subcommand};
use envoi::{Addr, BccPolicy, Composer, FixedClock, HashIds, Options};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(name = "envoi", version, about = "Compose e-mail exactly: SMTP envelope from To/Cc/Bcc, Bcc removed, Message-ID/Date/X-Mailer added",
    long_about = None,
    after_help = "Exit codes (sysexits.h): 0 ok, 64 usage, 65 bad draft, 66 no input, 69 refused (5xx),\n74 I/O error, 75 try later (4xx, network, timeout, TLS), 77 authentication failed, 78 configuration.\nWith SOURCE_DATE_EPOCH set, Date and Message-ID are reproducible.\n`envoi sendmail` (or envoi installed as `sendmail`) is the sendmail-compatible front end.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the composed message (or write NAME.eml + NAME.envelope.json per submission with --out-dir)
    Compose {
        #[command(flatten)]
        opts: ComposeArgs,
        /// Write each submission as NAME.eml and NAME.envelope.json in this directory
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
        /// Draft files (RFC 5322, LF or CRLF); `-` or none reads stdin
        #[arg(value_name = "DRAFT")]
        drafts: Vec<PathBuf>,
    },
    /// Print the SMTP envelope of each submission
    Envelope {
        #[command(flatten)]
        opts: ComposeArgs,
        /// One JSON object per submission per line: {"from":…,"to":[…],"smtputf8":…}
        #[arg(long)]
        json: bool,
        #[arg(value_name = "DRAFT")]
        drafts: Vec<PathBuf>,
    },
    /// Compose each draft and submit it through the configured relay; prints
    /// `<MESSAGE-ID> accepted: RCPT, ...` per accepted submission
    Send {
        #[command(flatten)]
        opts: ComposeArgs,
        /// Use the relay of [accounts.NAME] instead of [relay]
        #[arg(long, value_name = "NAME")]
        account: Option<String>,
        /// Print `<MESSAGE-ID> would send from ADDR to RCPT, ...` per submission; send nothing
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        dsn: crate::dsn::DsnArgs,
        /// Draft files (RFC 5322, LF or CRLF); `-` or none reads stdin
        #[arg(value_name = "DRAFT")]
        drafts: Vec<PathBuf>,
    },
    /// Print a draft built from fields, JSON, a reply or a forward (to pipe into compose,
    /// envelope or send)
    #[command(args_override_self = true)]
    Draft(crate::draft::DraftArgs),
    /// Edit the header fields of a draft; prints it, or replaces the file with --in-place
    #[command(args_override_self = true)]
    Edit(crate::edit::EditArgs),
    /// Print the effective configuration (admin file + user file), passwords masked
    Config,
    /// The outbox: messages waiting for the relay (list, show, flush, remove, retry)
    #[command(subcommand)]
    Queue(QueueCommand),
    /// Report every problem of each draft under the same options as compose: prints
    /// PATH:LINE: finding, exits 65 if any would make compose refuse the draft (warnings,
    /// marked `warning:`, do not)
    Check {
        #[command(flatten)]
        opts: ComposeArgs,
        #[arg(value_name = "DRAFT")]
        drafts: Vec<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum QueueCommand {
    /// List the queued messages: id, age, sender, recipients, attempts, last error
    List {
        /// List the messages refused for good (OUTBOX/failed/) instead
        #[arg(long)]
        failed: bool,
        /// One JSON object a line: id, queued_at, from, to, attempts, next_attempt, last_error
        #[arg(long)]
        json: bool,
    },
    /// Print a queued (or failed) message as it will be sent
    Show {
        #[arg(value_name = "ID")]
        id: String,
    },
    /// Send the messages that are due over one connection; exit 0 when the queue is empty
    /// afterwards, 75 when some still wait
    Flush {
        /// Send every queued message, ignoring the retry schedule
        #[arg(long)]
        all: bool,
    },
    /// Delete one message (queued or failed)
    Remove {
        #[arg(value_name = "ID")]
        id: String,
    },
    /// Put a failed message back in the queue, due at once
    Retry {
        #[arg(value_name = "ID")]
        id: String,
    },
}

#[derive(Args, Debug, Clone, Default)]
pub struct ComposeArgs {
    /// What Bcc recipients get: remove (default), split, split-each, blank
    #[arg(long, value_name = "POLICY")]
    pub bcc_policy: Option<BccPolicy>,
    /// Envelope sender (MAIL FROM), overriding Sender/From
    #[arg(long, short = 'f', value_name = "ADDR")]
    pub from: Option<String>,
    /// Extra envelope-only recipient (repeatable)
    #[arg(long, value_name = "ADDR")]
    pub rcpt: Vec<String>,
    /// Date to add where the draft has none (RFC 5322 form)
    #[arg(long, value_name = "RFC5322-DATE")]
    pub date: Option<String>,
    /// Message-ID to add where the draft has none, e.g. <id@example.org>
    #[arg(long, value_name = "ID")]
    pub message_id: Option<String>,
    /// Domain for generated Message-IDs (default: the From domain)
    #[arg(long, value_name = "DOMAIN")]
    pub id_domain: Option<String>,
    /// Domain that qualifies bare names such as `root` (default: bare names are an error)
    #[arg(long, value_name = "DOMAIN")]
    pub local_domain: Option<String>,
    /// X-Mailer value to add (default: envoi/VERSION)
    #[arg(long, value_name = "TEXT", conflicts_with = "no_x_mailer")]
    pub x_mailer: Option<String>,
    /// Add no X-Mailer field
    #[arg(long)]
    pub no_x_mailer: bool,
}

fn addr(flag: &str, s: &str) -> Result<Addr> {
    Addr::parse(s).map_err(|e| Failure::usage(format!("{flag} `{s}`: {e}")))
}

impl ComposeArgs {
    /// The library options these flags ask for, on top of `base` (configuration defaults).
    pub fn options(&self, mut base: Options) -> Result<Options> {
        if let Some(p) = self.bcc_policy {
            base.bcc_policy = p;
        }
        if let Some(f) = &self.from {
            base.envelope_from = Some(addr("--from", f)?);
        }
        for r in &self.rcpt {
            base.extra_rcpts.push(addr("--rcpt", r)?);
        }
        base.date = self.date.clone().or(base.date);
        base.message_id = self.message_id.clone().or(base.message_id);
        base.id_domain = self.id_domain.clone().or(base.id_domain);
        base.local_domain = self.local_domain.clone().or(base.local_domain);
        if let Some(x) = &self.x_mailer {
            base.x_mailer = Some(x.clone());
        }
        if self.no_x_mailer {
            base.x_mailer = None;
        }
        Ok(base)
    }

    /// A composer for `drafts` drafts; reproducible when SOURCE_DATE_EPOCH is set.
    pub fn composer(&self, base: Options, drafts: usize) -> Result<Composer> {
        if self.message_id.is_some() && drafts > 1 {
            return Err(Failure::usage(
                "--message-id names one message, but several drafts were given",
            ));
        }
        let c = Composer::new(self.options(base)?).map_err(|e| Failure::compose("options", e))?;
        match envoi::clock::source_date_epoch().map_err(Failure::usage)? {
            Some(epoch) => Ok(c.with_clock(FixedClock::utc(epoch)).with_ids(HashIds)),
            None => Ok(c),
        }
    }
}
