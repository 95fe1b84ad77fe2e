//! One function per subcommand: read drafts, call the library, print, choose the exit code.

use crate::args::{Cli, Command};
use crate::exit::{DATAERR, Failure, IOERR, Result};
use crate::input::Source;
use envoi::store::{MessageDir, WriteError};
use envoi::{Composed, Composer, Options};
use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

pub fn run(cli: Cli) -> Result {
    match cli.command {
        Command::Compose {
            opts,
            out_dir,
            drafts,
        } => {
            let sources = Source::list(drafts);
            let composer = opts.composer(configured_options()?, sources.len())?;
            match out_dir {
                Some(dir) => compose_to_dir(&composer, &sources, &dir),
                None => compose_to_stdout(&composer, &sources),
            }
        }
        Command::Envelope { opts, json, drafts } => {
            let sources = Source::list(drafts);
            let composer = opts.composer(configured_options()?, sources.len())?;
            each_draft(&composer, &sources, |_, _, c| print_envelopes(c, json))
        }
        Command::Check { opts, drafts } => {
            let sources = Source::list(drafts);
            let composer = opts.composer(configured_options()?, sources.len())?;
            check(&composer, &sources)
        }
        Command::Draft(args) => crate::draft::run(&args),
        Command::Edit(args) => crate::edit::run(&args),
        Command::Send {
            opts,
            account,
            dry_run,
            dsn,
            drafts,
        } => crate::send::run(&opts, account.as_deref(), dry_run, &dsn, &drafts),
        Command::Queue(q) => crate::queue::run(q),
        Command::Config => {
            let c = envoi::config::Config::load().map_err(Failure::config)?;
            std::io::stdout()
                .lock()
                .write_all(c.to_masked_toml().as_bytes())
                .map_err(|e| Failure::write(Path::new("stdout"), e))
        }
    }
}

/// The `[compose]` defaults of the configuration files, so that `compose`, `envelope` and
/// `check` judge exactly what `send` would submit.
fn configured_options() -> Result<Options> {
    Ok(envoi::Config::load()
        .map_err(Failure::config)?
        .compose
        .options())
}

/// Composes every draft, calling `out` for each success. A failing draft is reported and the
/// others still run; the first failure decides the exit code.
fn each_draft(
    composer: &Composer,
    sources: &[Source],
    mut out: impl FnMut(usize, &Source, &Composed) -> Result,
) -> Result {
    let mut first: Option<Failure> = None;
    let mut buf = Vec::new();
    for (k, s) in sources.iter().enumerate() {
        let r = s.read_into(&mut buf).and_then(|n| {
            let c = composer
                .compose(&buf[..n])
                .map_err(|e| Failure::compose(&s.display(), e))?;
            out(k, s, &c)
        });
        if let Err(f) = r {
            // An I/O error (a full disk, a closed stdout) would fail every later draft too.
            if f.code == IOERR {
                return Err(f);
            }
            eprintln!("envoi: {}", f.message);
            first.get_or_insert(Failure::new(f.code, ""));
        }
    }
    first.map_or(Ok(()), Err)
}

fn compose_to_stdout(composer: &Composer, sources: &[Source]) -> Result {
    if sources.len() > 1 {
        return Err(Failure::usage(
            "several drafts make several messages: use --out-dir DIR",
        ));
    }
    each_draft(composer, sources, |_, s, c| {
        let mut subs = c.iter();
        let (Some(sub), 0) = (subs.next(), subs.len()) else {
            return Err(Failure::usage(format!(
                "{}: the Bcc policy makes {} submissions; use --out-dir DIR to get each one",
                s.display(),
                c.iter().len()
            )));
        };
        let mut stdout = std::io::stdout().lock();
        sub.write_to(&mut stdout)
            .and_then(|_| stdout.flush())
            .map_err(|e| Failure::write(Path::new("stdout"), e))
    })
}

fn compose_to_dir(composer: &Composer, sources: &[Source], dir: &Path) -> Result {
    let stems: Vec<Cow<str>> = sources.iter().map(Source::stem).collect();
    let mut seen: HashMap<&str, &Source> = HashMap::with_capacity(sources.len());
    for (s, stem) in sources.iter().zip(&stems) {
        if let Some(other) = seen.insert(stem, s) {
            return Err(Failure::usage(format!(
                "{} and {} would both write {stem}.eml; rename one",
                other.display(),
                s.display(),
            )));
        }
    }
    let mut out = MessageDir::open(dir).map_err(write_failure)?;
    // The message and the name are built in buffers reused for every draft: with thousands of
    // small drafts, allocating and formatting them anew cost a tenth of the run.
    let (mut msg, mut name) = (Vec::new(), String::new());
    let written = each_draft(composer, sources, |k, _, c| {
        let several = c.iter().len() > 1;
        for (i, sub) in c.iter().enumerate() {
            name.clear();
            name.push_str(&stems[k]);
            if several {
                name.push('.');
                name.push_str(&(i + 1).to_string());
            }
            msg.clear();
            sub.push_to(&mut msg);
            out.write(&name, &msg, sub.envelope())
                .map_err(write_failure)?;
        }
        Ok(())
    });
    // Durable before success is reported, once for the whole batch; what was written before a
    // failure is kept, so it is made durable too.
    let synced = out.sync().map_err(write_failure);
    written.and(synced)
}

fn write_failure(e: WriteError) -> Failure {
    Failure::write(&e.path, e.source)
}

fn print_envelopes(c: &Composed, json: bool) -> Result {
    let mut out = String::new();
    for (i, s) in c.iter().enumerate() {
        let envelope = s.envelope();
        if json {
            out.push_str(&envelope.to_json());
            out.push('\n');
            continue;
        }
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&format!(
            "MAIL FROM:<{}>{}\n",
            envelope.from,
            if envelope.smtputf8 { " SMTPUTF8" } else { "" }
        ));
        for r in &envelope.to {
            out.push_str(&format!("RCPT TO:<{r}>\n"));
        }
    }
    std::io::stdout()
        .lock()
        .write_all(out.as_bytes())
        .map_err(|e| Failure::write(Path::new("stdout"), e))
}

/// Prints every finding as `PATH:LINE: text` (`PATH: text` when it has no line), warnings as
/// `PATH:LINE: warning: text`; exit 65 when some finding is an error, that is when compose would
/// refuse the draft.
fn check(composer: &Composer, sources: &[Source]) -> Result {
    let mut failed: Option<u8> = None;
    let mut out = String::new();
    let mut buf = Vec::new();
    for s in sources {
        match s.read_into(&mut buf) {
            Ok(n) => {
                for f in composer.check(&buf[..n]) {
                    let line = if f.line > 0 {
                        format!("{}:", f.line)
                    } else {
                        String::new()
                    };
                    let kind = if f.is_error() { "" } else { "warning: " };
                    out.push_str(&format!("{}:{line} {kind}{}\n", s.display(), f.problem));
                    if f.is_error() {
                        failed.get_or_insert(DATAERR);
                    }
                }
            }
            Err(f) => {
                eprintln!("envoi: {}", f.message);
                failed.get_or_insert(f.code);
            }
        }
    }
    std::io::stdout()
        .lock()
        .write_all(out.as_bytes())
        .map_err(|e| Failure::write(Path::new("stdout"), e))?;
    failed.map_or(Ok(()), |code| Err(Failure::new(code, "")))
}
