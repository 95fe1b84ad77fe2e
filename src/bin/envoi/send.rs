//! `envoi send`: compose each draft and submit every submission through one relay session,
//! printing one line per accepted submission. A draft that was not accepted is left untouched.

use crate::args::ComposeArgs;
use crate::exit::{Failure, Result};
use crate::input::Source;
use envoi::config::Config;
use envoi::relay::{ErrorKind, Relay, join_addrs};
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Below this many drafts a progress bar would only flicker.
const PROGRESS_FROM: usize = 10;

pub fn run(opts: &ComposeArgs, account: Option<&str>, dry_run: bool, drafts: &[PathBuf]) -> Result {
    let config = Config::load().map_err(Failure::config)?;
    let relay_config = match config.relay_for(account) {
        Ok(r) => Some(r),
        // A dry run shows what would be sent even before a relay is configured.
        Err(_) if dry_run && account.is_none() => None,
        Err(e) => return Err(Failure::config(e)),
    };
    let sources = Source::list(drafts.to_vec());
    let composer = opts.composer(config.compose.options(), sources.len())?;
    let mut relay: Option<Box<dyn Relay>> = None;
    let bar = (!dry_run && sources.len() >= PROGRESS_FROM && std::io::stderr().is_terminal())
        .then(|| progress_bar(sources.len()));
    let mut out = Output::new(bar.as_ref());
    // stdout first, so that 2>&1 shows the lines in the order they happened.
    let say = |out: &mut Output, line: String| {
        let _ = out.flush();
        match &bar {
            Some(b) => b.suspend(|| eprintln!("envoi: {line}")),
            None => eprintln!("envoi: {line}"),
        }
    };
    let mut first: Option<u8> = None;
    let mut not_sent: Vec<String> = Vec::new();
    let mut stopped = false;

    let mut buf = Vec::new();
    for s in &sources {
        if stopped {
            not_sent.push(s.display());
            continue;
        }
        if let Some(b) = &bar {
            b.inc(1);
        }
        let bytes = match s.read_into(&mut buf) {
            Ok(n) => &buf[..n],
            Err(f) => {
                say(&mut out, f.message);
                first.get_or_insert(f.code);
                continue;
            }
        };
        let composed = match composer.compose(bytes) {
            Ok(c) => c,
            Err(e) => {
                let f = Failure::compose(&s.display(), e);
                say(&mut out, f.message);
                first.get_or_insert(f.code);
                continue;
            }
        };
        let id = composed.message_id();
        for sub in &composed {
            let env = sub.envelope();
            if dry_run {
                out.line(&format!(
                    "{id} would send from {} to {}",
                    env.from,
                    join_addrs(&env.to)
                ))?;
                continue;
            }
            let r =
                relay.get_or_insert_with(|| relay_config.expect("a relay outside dry runs").open());
            match r.submit(env, &sub.to_bytes()) {
                Ok(d) => {
                    out.line(&format!("{id} accepted: {}", join_addrs(&d.accepted)))?;
                }
                Err(e) => {
                    say(&mut out, format!("{}: {id} not sent: {e}", s.display()));
                    first.get_or_insert(e.exit_code());
                    // Only a refusal of this one message leaves the session worth going on
                    // with; after a network, TLS, auth or config failure every later draft
                    // would fail the same way (or wait out the same timeout).
                    if e.kind() != ErrorKind::Permanent || e.is_session_over() {
                        stopped = true;
                        break;
                    }
                }
            }
        }
    }
    if let Some(r) = &mut relay {
        r.close();
    }
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    if !not_sent.is_empty() {
        say(
            &mut out,
            format!(
                "not tried after that failure ({} draft{}, left untouched): {}",
                not_sent.len(),
                if not_sent.len() == 1 { "" } else { "s" },
                not_sent.join(", ")
            ),
        );
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
