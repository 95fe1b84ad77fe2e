//! `envoi send`: compose each draft and submit every submission through one relay session,
//! printing one line per accepted submission. A draft that was not accepted is left untouched.

use crate::args::ComposeArgs;
use crate::dsn::DsnArgs;
use crate::exit::{Failure, Result};
use crate::input::Source;
use envoi::Composer;
use envoi::config::Config;
use envoi::relay::{Relay, join_addrs};
use envoi::send::{Batch, DraftOutcome, SubmissionOutcome};
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Below this many drafts a progress bar would only flicker.
const PROGRESS_FROM: usize = 10;

pub fn run(
    opts: &ComposeArgs,
    account: Option<&str>,
    dry_run: bool,
    dsn: &DsnArgs,
    drafts: &[PathBuf],
) -> Result {
    let dsn = dsn.dsn().map_err(Failure::usage)?;
    if dsn.envid().is_some() && drafts.len() > 1 {
        return Err(Failure::usage(
            "--dsn-envid names one message, but several drafts were given",
        ));
    }
    let config = Config::load().map_err(Failure::config)?;
    let relay_config = match config.relay_for(account) {
        Ok(r) => Some(r),
        // A dry run shows what would be sent even before a relay is configured.
        Err(_) if dry_run && account.is_none() => None,
        Err(e) => return Err(Failure::config(e)),
    };
    let sources = Source::list(drafts.to_vec());
    let composer = opts.composer(config.compose.options(), sources.len())?;
    match relay_config.filter(|_| !dry_run) {
        Some(r) => send(&composer, &mut *r.clone().with_dsn(&dsn).open(), &sources),
        None => show(&composer, &sources),
    }
}

/// Drafts up to this size are sent in groups, pipelined (about one round trip per message);
/// a larger one goes alone, streamed from the one copy read.
const GROUP_BYTES: usize = 4 << 20;
/// At most this many drafts per group (each result is printed once its group is done).
const GROUP_DRAFTS: usize = 100;

/// Sends the drafts by the library's batch policy, printing a line per accepted submission and
/// one per failure; after a failure that stops the batch, lists the drafts not tried.
fn send(composer: &Composer, relay: &mut dyn Relay, sources: &[Source]) -> Result {
    let bar = (sources.len() >= PROGRESS_FROM && std::io::stderr().is_terminal())
        .then(|| progress_bar(sources.len()));
    let mut r = Report {
        out: Output::new(bar.as_ref()),
        first: None,
        not_sent: Vec::new(),
    };
    let mut batch = Batch::new(composer, relay);
    let mut group: Vec<(&Source, Vec<u8>)> = Vec::new();
    let mut buf = Vec::new();
    for s in sources {
        if batch.is_stopped() {
            r.not_sent.push(s.display());
            continue;
        }
        if let Some(b) = &bar {
            b.inc(1);
        }
        let n = match s.read_into(&mut buf) {
            Ok(n) => n,
            Err(f) => {
                r.fail(f.message, f.code);
                continue;
            }
        };
        if n > GROUP_BYTES {
            r.flush(&mut batch, &mut group)?;
            let outcome = batch.send(&buf[..n]);
            r.outcome(s, outcome)?;
            continue;
        }
        group.push((s, buf[..n].to_vec()));
        let size: usize = group.iter().map(|g| g.1.len()).sum();
        if size >= GROUP_BYTES || group.len() >= GROUP_DRAFTS {
            r.flush(&mut batch, &mut group)?;
        }
    }
    r.flush(&mut batch, &mut group)?;
    relay.close();
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let Report {
        mut out,
        first,
        not_sent,
    } = r;
    if !not_sent.is_empty() {
        out.say(format!(
            "not tried after that failure ({} draft{}, left untouched): {}",
            not_sent.len(),
            if not_sent.len() == 1 { "" } else { "s" },
            not_sent.join(", ")
        ));
    }
    out.flush()?;
    first.map_or(Ok(()), |code| Err(Failure::new(code, "")))
}

/// What `send` prints as it goes, and the first failure's exit code.
struct Report<'b> {
    out: Output<'b>,
    first: Option<u8>,
    not_sent: Vec<String>,
}

impl Report<'_> {
    fn fail(&mut self, message: String, code: u8) {
        self.out.say(message);
        self.first.get_or_insert(code);
    }

    /// Sends the drafts gathered so far in one pipelined group.
    fn flush<R: Relay + ?Sized>(
        &mut self,
        batch: &mut Batch<'_, R>,
        group: &mut Vec<(&Source, Vec<u8>)>,
    ) -> Result {
        if group.is_empty() {
            return Ok(());
        }
        let drafts: Vec<&[u8]> = group.iter().map(|g| g.1.as_slice()).collect();
        let outcomes = batch.send_many(&drafts);
        for ((s, _), outcome) in group.iter().zip(outcomes) {
            self.outcome(s, outcome)?;
        }
        group.clear();
        Ok(())
    }

    fn outcome(&mut self, s: &Source, outcome: DraftOutcome) -> Result {
        let (id, submissions) = match outcome {
            DraftOutcome::Composed {
                message_id,
                submissions,
            } => (message_id, submissions),
            DraftOutcome::NotComposed(e) => {
                let f = Failure::compose(&s.display(), e);
                self.fail(f.message, f.code);
                return Ok(());
            }
            DraftOutcome::NotTried => {
                self.not_sent.push(s.display());
                return Ok(());
            }
        };
        for sub in submissions {
            match sub {
                SubmissionOutcome::Accepted(d) => {
                    for w in &d.warnings {
                        self.out.say(format!("{id}: {w}"));
                    }
                    let line = format!("{id} accepted: {}", join_addrs(&d.accepted));
                    self.out.line(&line)?
                }
                SubmissionOutcome::Failed(e) => self.fail(
                    format!("{}: {id} not sent: {e}", s.display()),
                    e.exit_code(),
                ),
                SubmissionOutcome::NotTried => {}
            }
        }
        Ok(())
    }
}

/// `--dry-run`: what would be sent, one line per submission; nothing is sent.
fn show(composer: &Composer, sources: &[Source]) -> Result {
    let mut out = Output::new(None);
    let mut first: Option<u8> = None;
    let mut buf = Vec::new();
    for s in sources {
        let composed = s.read_into(&mut buf).and_then(|n| {
            composer
                .compose(&buf[..n])
                .map_err(|e| Failure::compose(&s.display(), e))
        });
        match composed {
            Ok(c) => {
                for sub in &c {
                    let env = sub.envelope();
                    out.line(&format!(
                        "{} would send from {} to {}",
                        c.message_id(),
                        env.from,
                        join_addrs(&env.to)
                    ))?;
                }
            }
            Err(f) => {
                out.say(f.message);
                first.get_or_insert(f.code);
            }
        }
    }
    out.flush()?;
    first.map_or(Ok(()), |code| Err(Failure::new(code, "")))
}

/// Stdout lines, buffered (one write per batch of lines, not per message), and kept clear of the
/// progress bar: with a bar each line is written at once, while the bar is hidden.
struct Output<'b> {
    bar: Option<&'b indicatif::ProgressBar>,
    out: BufWriter<std::io::Stdout>,
}

impl<'b> Output<'b> {
    fn new(bar: Option<&'b indicatif::ProgressBar>) -> Self {
        Output {
            bar,
            out: BufWriter::new(std::io::stdout()),
        }
    }

    fn line(&mut self, text: &str) -> Result {
        let out = &mut self.out;
        match self.bar {
            Some(b) => b.suspend(|| writeln!(out, "{text}").and_then(|_| out.flush())),
            None => writeln!(out, "{text}"),
        }
        .map_err(stdout_failure)
    }

    fn flush(&mut self) -> Result {
        self.out.flush().map_err(stdout_failure)
    }

    /// A line on stderr; stdout first, so that 2>&1 shows the lines in the order they happened.
    fn say(&mut self, line: String) {
        let _ = self.out.flush();
        match self.bar {
            Some(b) => b.suspend(|| eprintln!("envoi: {line}")),
            None => eprintln!("envoi: {line}"),
        }
    }
}

fn stdout_failure(e: std::io::Error) -> Failure {
    Failure::write(Path::new("stdout"), e)
}

fn progress_bar(n: usize) -> indicatif::ProgressBar {
    let b = indicatif::ProgressBar::new(n as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} sending {pos}/{len} [{bar:30}] {per_sec} eta {eta}",
    ) {
        b.set_style(style.progress_chars("=> "));
    }
    b
}
