//! `envoi send`: compose each draft and submit every submission through one relay session,
//! printing one line per accepted submission. A draft that was not accepted is left untouched.

use crate::args::ComposeArgs;
use crate::exit::{Failure, IOERR, Result, TEMPFAIL};
use crate::input::Source;
use envoi::config::Config;
use envoi::outbox::{Disposition, NotAccepted, Outbox, OutboxError};
use envoi::relay::{ErrorKind, RelayError};
use envoi::relay::{Relay, join_addrs};
use envoi::send::{Batch, SubmissionOutcome};
use envoi::{Composed, Composer};
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Below this many drafts a progress bar would only flicker.
const PROGRESS_FROM: usize = 10;

pub fn run(opts: &ComposeArgs, account: Option<&str>, dry_run: bool, drafts: &[PathBuf]) -> Result {
    let config = Config::load().map_err(Failure::config)?;
    let relay_config = match config.relay_for(account) {
        Ok(r) => Ok(r),
        // A dry run shows what would be sent even before a relay is configured; a real send
        // queues the messages for the day one is.
        Err(e) if account.is_none() => Err(e),
        Err(e) => return Err(Failure::config(e)),
    };
    let sources = Source::list(drafts.to_vec());
    let composer = opts.composer(config.compose.options(), sources.len())?;
    let outbox = config.outbox();
    match relay_config {
        _ if dry_run => show(&composer, &sources),
        Ok(r) => send(&composer, Some(&mut *r.open()), &outbox, &sources),
        Err(e) => {
            let how = e.to_string();
            send(&composer, None, &outbox, &sources).map_err(|f| no_relay(f, &how))
        }
    }
}

/// Adds how to configure a relay to the report of messages queued for want of one.
fn no_relay(f: Failure, how: &str) -> Failure {
    if f.code == TEMPFAIL {
        Failure::new(f.code, format!("{}; {how}", f.message))
    } else {
        f
    }
}

/// Sends the drafts by the library's batch policy, printing a line per accepted submission and
/// one per failure. A submission that failed for a temporary reason, or was not tried after
/// such a failure (or for want of a relay), is queued in the outbox; one refused for good is
/// kept in its `failed/`. The draft files are never modified.
fn send(
    composer: &Composer,
    relay: Option<&mut dyn Relay>,
    outbox: &Outbox,
    sources: &[Source],
) -> Result {
    let bar = (sources.len() >= PROGRESS_FROM && std::io::stderr().is_terminal())
        .then(|| progress_bar(sources.len()));
    let mut out = Output::new(bar.as_ref());
    let mut st = State::default();
    let mut buf = Vec::new();
    let mut relay = relay;
    for s in sources {
        if let Some(b) = &bar {
            b.inc(1);
        }
        let composed = match s.read_into(&mut buf) {
            Ok(n) => composer
                .compose(&buf[..n])
                .map_err(|e| Failure::compose(&s.display(), e)),
            Err(f) => Err(f),
        };
        let composed = match composed {
            Ok(c) => c,
            Err(f) => {
                out.say(f.message);
                st.first.get_or_insert(f.code);
                continue;
            }
        };
        let outcomes = match relay.as_deref_mut() {
            Some(r) if st.stopped_by.is_none() => {
                let mut batch = Batch::new(composer, r);
                batch.submit(&composed)
            }
            _ => composed
                .iter()
                .map(|_| SubmissionOutcome::NotTried)
                .collect(),
        };
        st.draft(&mut out, outbox, &s.display(), &composed, outcomes)?;
    }
    if let Some(r) = relay {
        r.close();
    }
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    if !st.not_sent.is_empty() {
        out.say(format!(
            "not tried after that failure ({} draft{}, left untouched): {}",
            st.not_sent.len(),
            if st.not_sent.len() == 1 { "" } else { "s" },
            st.not_sent.join(", ")
        ));
    }
    out.flush()?;
    if st.queued > 0 {
        let note = format!(
            "{} message{} queued in {}; `envoi queue flush` sends {}",
            st.queued,
            if st.queued == 1 { "" } else { "s" },
            outbox.dir().display(),
            if st.queued == 1 { "it" } else { "them" },
        );
        if st.first.is_none() || st.first == Some(TEMPFAIL) {
            return Err(Failure::new(TEMPFAIL, note));
        }
        out.say(note);
    }
    st.first.map_or(Ok(()), |code| Err(Failure::new(code, "")))
}

/// What a send has done so far.
#[derive(Default)]
struct State {
    /// The first failure's exit code (74 wins: a message not kept).
    first: Option<u8>,
    /// The failure that stopped the batch: later submissions are queued (a temporary one) or
    /// left in their drafts.
    stopped_by: Option<RelayError>,
    /// Drafts left untouched and not queued.
    not_sent: Vec<String>,
    queued: usize,
}

impl State {
    /// Reports (and keeps) each submission of one composed draft.
    fn draft(
        &mut self,
        out: &mut Output,
        outbox: &Outbox,
        name: &str,
        composed: &Composed,
        outcomes: Vec<SubmissionOutcome>,
    ) -> Result {
        let id = composed.message_id();
        let mut message = Vec::new();
        let mut untouched = false;
        for (sub, outcome) in composed.iter().zip(outcomes) {
            message.clear();
            sub.push_to(&mut message);
            let env = sub.envelope();
            let rcpts = join_addrs(&env.to);
            match outcome {
                SubmissionOutcome::Accepted(d) => {
                    out.line(&format!("{id} accepted: {}", join_addrs(&d.accepted)))?
                }
                SubmissionOutcome::Failed(e) => {
                    let kept = outbox.keep_unsent(&message, env, NotAccepted::Failed(&e));
                    self.report(out, name, id, &rcpts, &e.to_string(), kept, e.exit_code());
                    if e.kind() != ErrorKind::Permanent || e.is_session_over() {
                        self.stopped_by = Some(e);
                    }
                }
                SubmissionOutcome::NotTried => {
                    let stopped_by = self.stopped_by.as_ref();
                    let kept = outbox.keep_unsent(&message, env, NotAccepted::NotTried(stopped_by));
                    if let Ok(Disposition::Left) = kept {
                        untouched = true;
                        continue;
                    }
                    let why = stopped_by.map_or("no relay is configured", |e| e.message());
                    let why = why.to_owned();
                    self.report(out, name, id, &rcpts, &why, kept, TEMPFAIL);
                }
            }
        }
        if untouched {
            self.not_sent.push(name.to_owned());
        }
        Ok(())
    }

    /// One failed submission: what happened, and where it is kept.
    #[allow(clippy::too_many_arguments)]
    fn report(
        &mut self,
        out: &mut Output,
        name: &str,
        id: &str,
        rcpts: &str,
        why: &str,
        kept: std::result::Result<Disposition, OutboxError>,
        code: u8,
    ) {
        let head = format!("{name}: {id} to {rcpts} not sent: {why}");
        match kept {
            Ok(Disposition::Left) => {
                out.say(head);
                self.first.get_or_insert(code);
            }
            Ok(Disposition::Queued(q)) => {
                out.say(format!("{head}; queued in {}", q.path.display()));
                self.queued += 1;
                self.first.get_or_insert(code);
            }
            Ok(Disposition::Failed(q)) => {
                out.say(format!("{head}; kept in {}", q.path.display()));
                self.first.get_or_insert(code);
            }
            Err(e) => {
                out.say(format!(
                    "{head}; and it could NOT be queued ({e}): the draft file is unchanged, send it again"
                ));
                self.first = Some(IOERR);
            }
        }
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
