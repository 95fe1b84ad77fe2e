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

/// Sends the drafts by the library's batch policy, printing a line per accepted submission and
/// one per failure; after a failure that stops the batch, lists the drafts not tried.
fn send(composer: &Composer, relay: &mut dyn Relay, sources: &[Source]) -> Result {
    let bar = (sources.len() >= PROGRESS_FROM && std::io::stderr().is_terminal())
        .then(|| progress_bar(sources.len()));
    let mut out = Output::new(bar.as_ref());
    let mut batch = Batch::new(composer, relay);
    let mut first: Option<u8> = None;
    let mut not_sent: Vec<String> = Vec::new();
    let mut buf = Vec::new();
    for s in sources {
        if batch.is_stopped() {
            not_sent.push(s.display());
            continue;
        }
        if let Some(b) = &bar {
            b.inc(1);
        }
        let outcome = match s.read_into(&mut buf) {
            Ok(n) => batch.send(&buf[..n]),
            Err(f) => {
                out.say(f.message);
                first.get_or_insert(f.code);
                continue;
            }
        };
        let (id, submissions) = match outcome {
            DraftOutcome::Composed {
                message_id,
                submissions,
            } => (message_id, submissions),
            DraftOutcome::NotComposed(e) => {
                let f = Failure::compose(&s.display(), e);
                out.say(f.message);
                first.get_or_insert(f.code);
                continue;
            }
            DraftOutcome::NotTried => {
                not_sent.push(s.display());
                continue;
            }
        };
        for sub in submissions {
            match sub {
                SubmissionOutcome::Accepted(d) => {
                    d.warnings
                        .iter()
                        .for_each(|w| out.say(format!("{id}: {w}")));
                    out.line(&format!("{id} accepted: {}", join_addrs(&d.accepted)))?
                }
                SubmissionOutcome::Failed(e) => {
                    out.say(format!("{}: {id} not sent: {e}", s.display()));
                    first.get_or_insert(e.exit_code());
                }
                SubmissionOutcome::NotTried => {}
            }
        }
    }
    relay.close();
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
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
