//! `envoi send`: compose each draft and submit every submission through one relay session,
//! printing one line per accepted submission. A draft that was not accepted is left untouched.

use crate::args::ComposeArgs;
use crate::dsn::DsnArgs;
use crate::exit::{Failure, IOERR, Result, TEMPFAIL};
use crate::input::Source;
use envoi::config::Config;
use envoi::outbox::{Disposition, NotAccepted, Outbox, OutboxError};
use envoi::relay::{Relay, RelayError, join_addrs};
use envoi::send::{Batch, SubmissionOutcome};
use envoi::{Composed, Composer};
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Below this many drafts a progress bar would only flicker.
const PROGRESS_FROM: usize = 10;

/// Drafts up to this size are sent in groups, pipelined (about one round trip per message);
/// a larger one goes alone, streamed from the one copy read.
const GROUP_BYTES: usize = 4 << 20;
/// At most this many drafts per group (each result is printed once its group is done).
const GROUP_DRAFTS: usize = 100;

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
        Ok(r) => {
            let mut relay = r.clone().with_dsn(&dsn).open();
            send(&composer, Some(&mut *relay), &outbox, &sources)
        }
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

/// Sends the drafts by the library's batch policy, small ones in pipelined groups, printing a
/// line per accepted submission and one per failure. A submission that failed for a temporary
/// reason, or was not tried after such a failure (or for want of a relay), is queued in the
/// outbox; one refused for good is kept in its `failed/`. The draft files are never modified.
fn send(
    composer: &Composer,
    relay: Option<&mut dyn Relay>,
    outbox: &Outbox,
    sources: &[Source],
) -> Result {
    let bar = (sources.len() >= PROGRESS_FROM && std::io::stderr().is_terminal())
        .then(|| progress_bar(sources.len()));
    let mut st = State {
        out: Output::new(bar.as_ref()),
        outbox,
        composer,
        first: None,
        not_sent: Vec::new(),
        queued: 0,
    };
    let mut relay = relay;
    let mut batch = relay.as_deref_mut().map(|r| Batch::new(composer, r));
    let mut group: Vec<(&Source, Vec<u8>)> = Vec::new();
    let mut buf = Vec::new();
    for s in sources {
        if let Some(b) = &bar {
            b.inc(1);
        }
        let n = match s.read_into(&mut buf) {
            Ok(n) => n,
            Err(f) => {
                st.fail(f);
                continue;
            }
        };
        if n > GROUP_BYTES {
            st.group(batch.as_mut(), &group)?;
            group.clear();
            st.group(batch.as_mut(), &[(s, &buf[..n])])?;
            continue;
        }
        group.push((s, buf[..n].to_vec()));
        let size: usize = group.iter().map(|g| g.1.len()).sum();
        if size >= GROUP_BYTES || group.len() >= GROUP_DRAFTS {
            st.group(batch.as_mut(), &group)?;
            group.clear();
        }
    }
    st.group(batch.as_mut(), &group)?;
    drop(batch);
    if let Some(r) = relay {
        r.close();
    }
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    st.finish()
}

/// What a send has done so far, and where it prints.
struct State<'a, 'b> {
    out: Output<'b>,
    outbox: &'a Outbox,
    composer: &'a Composer,
    /// The first failure's exit code (74 wins: a message not kept).
    first: Option<u8>,
    /// Drafts left untouched and not queued.
    not_sent: Vec<String>,
    queued: usize,
}

impl State<'_, '_> {
    fn fail(&mut self, f: Failure) {
        self.out.say(f.message);
        self.first.get_or_insert(f.code);
    }

    /// Composes a group of drafts, submits them in one pipelined call (none once the batch has
    /// stopped, or without a relay), then reports and keeps each submission.
    fn group<R: Relay + ?Sized, D: AsRef<[u8]>>(
        &mut self,
        batch: Option<&mut Batch<'_, R>>,
        drafts: &[(&Source, D)],
    ) -> Result {
        let mut composed: Vec<(&Source, Composed<'_>)> = Vec::with_capacity(drafts.len());
        for (s, bytes) in drafts {
            match self.composer.compose(bytes.as_ref()) {
                Ok(c) => composed.push((s, c)),
                Err(e) => self.fail(Failure::compose(&s.display(), e)),
            }
        }
        let messages: Vec<&Composed<'_>> = composed.iter().map(|c| &c.1).collect();
        let (outcomes, stopped_by) = match batch {
            Some(b) => (b.submit_many(&messages), b.stopped_by().cloned()),
            None => (
                messages
                    .iter()
                    .map(|c| c.iter().map(|_| SubmissionOutcome::NotTried).collect())
                    .collect(),
                None,
            ),
        };
        for ((s, c), o) in composed.iter().zip(outcomes) {
            self.draft(&s.display(), c, o, stopped_by.as_ref())?;
        }
        Ok(())
    }

    /// Reports (and keeps) each submission of one composed draft.
    fn draft(
        &mut self,
        name: &str,
        composed: &Composed,
        outcomes: Vec<SubmissionOutcome>,
        stopped_by: Option<&RelayError>,
    ) -> Result {
        let id = composed.message_id();
        let mut untouched = false;
        for (sub, outcome) in composed.iter().zip(outcomes) {
            let env = sub.envelope();
            let rcpts = join_addrs(&env.to);
            let keep = |why| self.outbox.keep_unsent(&sub.to_bytes(), env, why);
            match outcome {
                SubmissionOutcome::Accepted(d) => {
                    for w in &d.warnings {
                        self.out.say(format!("{id}: {w}"));
                    }
                    self.out
                        .line(&format!("{id} accepted: {}", join_addrs(&d.accepted)))?
                }
                SubmissionOutcome::Failed(e) => {
                    let kept = keep(NotAccepted::Failed(&e));
                    self.report(name, id, &rcpts, &e.to_string(), kept, e.exit_code());
                }
                SubmissionOutcome::NotTried => {
                    let kept = keep(NotAccepted::NotTried(stopped_by));
                    if let Ok(Disposition::Left) = kept {
                        untouched = true;
                        continue;
                    }
                    let why = stopped_by.map_or("no relay is configured", |e| e.message());
                    self.report(name, id, &rcpts, why, kept, TEMPFAIL);
                }
            }
        }
        if untouched {
            self.not_sent.push(name.to_owned());
        }
        Ok(())
    }

    /// One failed submission: what happened, and where it is kept.
    fn report(
        &mut self,
        name: &str,
        id: &str,
        rcpts: &str,
        why: &str,
        kept: std::result::Result<Disposition, OutboxError>,
        code: u8,
    ) {
        let head = format!("{name}: {id} to {rcpts} not sent: {why}");
        match kept {
            Ok(Disposition::Left) => self.out.say(head),
            Ok(Disposition::Queued(q)) => {
                self.out
                    .say(format!("{head}; queued in {}", q.path.display()));
                self.queued += 1;
            }
            Ok(Disposition::Failed(q)) => self
                .out
                .say(format!("{head}; kept in {}", q.path.display())),
            Err(e) => {
                self.out.say(format!(
                    "{head}; and it could NOT be queued ({e}): the draft file is unchanged, send it again"
                ));
                self.first = Some(IOERR);
                return;
            }
        }
        self.first.get_or_insert(code);
    }

    /// The closing lines (drafts left untouched, messages queued) and the exit code.
    fn finish(mut self) -> Result {
        if !self.not_sent.is_empty() {
            self.out.say(format!(
                "not tried after that failure ({} draft{}, left untouched): {}",
                self.not_sent.len(),
                if self.not_sent.len() == 1 { "" } else { "s" },
                self.not_sent.join(", ")
            ));
        }
        self.out.flush()?;
        if self.queued > 0 {
            let note = format!(
                "{} message{} queued in {}; `envoi queue flush` sends {}",
                self.queued,
                if self.queued == 1 { "" } else { "s" },
                self.outbox.dir().display(),
                if self.queued == 1 { "it" } else { "them" },
            );
            if self.first.is_none() || self.first == Some(TEMPFAIL) {
                return Err(Failure::new(TEMPFAIL, note));
            }
            self.out.say(note);
        }
        self.first
            .map_or(Ok(()), |code| Err(Failure::new(code, "")))
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
