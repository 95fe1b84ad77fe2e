//! One function per subcommand: read drafts, call the library, print, choose the exit code.

use crate::args::{Cli, Command};
use crate::exit::{DATAERR, Failure, IOERR, Result};
use crate::input::Source;
use crate::outdir::OutDir;
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
        Command::Check { drafts } => check(&Source::list(drafts)),
        Command::Send {
            opts,
            account,
            dry_run,
            drafts,
        } => crate::send::run(&opts, account.as_deref(), dry_run, &drafts),
        Command::Config => {
            let c = envoi::config::Config::load().map_err(Failure::config)?;
            std::io::stdout()
                .lock()
                .write_all(c.to_masked_toml().as_bytes())
                .map_err(|e| Failure::write(Path::new("stdout"), e))
        }
    }
}

/// The `[compose]` defaults of the configuration files, so that `compose` and `envelope` show
/// exactly what `send` would submit.
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
        if c.submissions.len() > 1 {
            return Err(Failure::usage(format!(
                "{}: the Bcc policy makes {} submissions; use --out-dir DIR to get each one",
                s.display(),
                c.submissions.len()
            )));
        }
        let mut stdout = std::io::stdout().lock();
        c.write_message(0, &mut stdout)
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
    std::fs::create_dir_all(dir).map_err(|e| Failure::write(dir, e))?;
    let mut out = OutDir::open(dir)?;
    // The message, the envelope and the name are built in buffers reused for every draft: with
    // thousands of small drafts, allocating and formatting them anew cost a tenth of the run.
    let (mut msg, mut json, mut name) = (Vec::new(), Vec::new(), String::new());
    each_draft(composer, sources, |k, _, c| {
        for (i, sub) in c.submissions.iter().enumerate() {
            name.clear();
            name.push_str(&stems[k]);
            if c.submissions.len() > 1 {
                name.push('.');
                name.push_str(&(i + 1).to_string());
            }
            let stem_len = name.len();
            msg.clear();
            c.push_message(i, &mut msg);
            name.push_str(".eml");
            out.write(&name, &msg)?;
            json.clear();
            sub.envelope.push_json(&mut json);
            json.push(b'\n');
            name.truncate(stem_len);
            name.push_str(".envelope.json");
            out.write(&name, &json)?;
        }
        Ok(())
    })
}

fn print_envelopes(c: &Composed, json: bool) -> Result {
    let mut out = String::new();
    for (i, s) in c.submissions.iter().enumerate() {
        if json {
            out.push_str(&s.envelope.to_json());
            out.push('\n');
            continue;
        }
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&format!(
            "MAIL FROM:<{}>{}\n",
            s.envelope.from,
            if s.envelope.smtputf8 { " SMTPUTF8" } else { "" }
        ));
        for r in &s.envelope.to {
            out.push_str(&format!("RCPT TO:<{r}>\n"));
        }
    }
    std::io::stdout()
        .lock()
        .write_all(out.as_bytes())
        .map_err(|e| Failure::write(Path::new("stdout"), e))
}

fn check(sources: &[Source]) -> Result {
    let mut failed: Option<u8> = None;
    let mut out = String::new();
    let mut buf = Vec::new();
    for s in sources {
        match s.read_into(&mut buf) {
            Ok(n) => {
                for f in envoi::check::check(&buf[..n], None) {
                    let line = if f.line > 0 {
                        format!("{}:", f.line)
                    } else {
                        String::new()
                    };
                    out.push_str(&format!("{}:{line} {}\n", s.display(), f.problem));
                    failed.get_or_insert(DATAERR);
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
