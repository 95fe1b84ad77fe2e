//! Golden fixtures: every draft under fixtures/compose is composed under a fixed clock and hash
//! ids (what `SOURCE_DATE_EPOCH=1800000000` gives on the CLI) and compared byte for byte with its
//! expected envelopes (NAME.envelope.jsonl) and messages (NAME.out.eml, or NAME.out.1.eml,
//! NAME.out.2.eml ... when the Bcc policy makes several submissions). Every draft under
//! fixtures/errors must fail with exactly the message in NAME.error. NAME.args holds compose
//! options, one per line, as the CLI spells them.
//!
//! Every draft under fixtures/check goes through the real binary, `envoi check [ARGS] NAME.eml`,
//! with NAME.toml (when there is one) as the user's configuration file: its output must be
//! exactly NAME.out, its exit code 65 when NAME.out reports an error (a line that is not a
//! warning) and 0 otherwise; and `envoi envelope` under the same arguments and configuration
//! must refuse the draft exactly when check reports an error.
//!
//! Every mismatch is collected, so one run shows all broken cases, not just the first.

use envoi::{Addr, BccPolicy, Composer, FixedClock, HashIds, Options};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The moment `SOURCE_DATE_EPOCH=1800000000` names: Fri, 15 Jan 2027 08:00:00 +0000.
pub const EPOCH: i64 = 1_800_000_000;

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// The `.eml` drafts of one fixture folder (expected outputs, NAME.out*.eml, excluded), sorted.
pub fn drafts(folder: &str) -> Vec<PathBuf> {
    let dir = fixtures().join(folder);
    let mut v: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.ends_with(".eml") && !name.contains(".out.")
        })
        .collect();
    v.sort();
    v
}

/// `fixtures/compose/x.eml` + `args` → `fixtures/compose/x.args`.
pub fn sibling(draft: &Path, ext: &str) -> PathBuf {
    draft.with_extension(ext)
}

/// The CLI arguments a case asks for: one option (with its value) per line.
pub fn case_args(draft: &Path) -> Vec<String> {
    match fs::read_to_string(sibling(draft, "args")) {
        Ok(text) => text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .flat_map(|l| match l.split_once(' ') {
                Some((flag, value)) => vec![flag.to_owned(), value.trim().to_owned()],
                None => vec![l.to_owned()],
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Turns the CLI spelling of compose options into library options, as the binary does.
fn options(args: &[String]) -> Result<Options, String> {
    let mut o = Options::default();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        let addr = |s: String| Addr::parse(&s).map_err(|e| format!("{s}: {e}"));
        match flag.as_str() {
            "--bcc-policy" => o.bcc_policy = value()?.parse::<BccPolicy>()?,
            "--from" => o.envelope_from = Some(addr(value()?)?),
            "--rcpt" => o.extra_rcpts.push(addr(value()?)?),
            "--date" => o.date = Some(value()?),
            "--message-id" => o.message_id = Some(value()?),
            "--id-domain" => o.id_domain = Some(value()?),
            "--local-domain" => o.local_domain = Some(value()?),
            "--x-mailer" => o.x_mailer = Some(value()?),
            "--no-x-mailer" => o.x_mailer = None,
            other => return Err(format!("unknown option `{other}` in .args")),
        }
    }
    Ok(o)
}

fn composer(draft: &Path) -> Result<Composer, String> {
    let opts = options(&case_args(draft))?;
    Ok(Composer::new(opts)
        .map_err(|e| format!("options refused: {e}"))?
        .with_clock(FixedClock::utc(EPOCH))
        .with_ids(HashIds))
}

/// The expected message files of a case, in submission order.
fn expected_outputs(draft: &Path) -> Vec<PathBuf> {
    let one = sibling(draft, "out.eml");
    if one.exists() {
        return vec![one];
    }
    (1..)
        .map(|i| sibling(draft, &format!("out.{i}.eml")))
        .take_while(|p| p.exists())
        .collect()
}

/// Shows where two byte strings first differ, with a little context, escaped.
fn first_difference(want: &[u8], got: &[u8]) -> String {
    let at = want
        .iter()
        .zip(got)
        .position(|(a, b)| a != b)
        .unwrap_or(want.len().min(got.len()));
    let line = want[..at].iter().filter(|&&b| b == b'\n').count() + 1;
    let show = |b: &[u8]| {
        let from = at.saturating_sub(40);
        let to = (at + 40).min(b.len());
        b[from.min(to)..to].escape_ascii().to_string()
    };
    format!(
        "first difference at byte {at} (line {line}), {} vs {} bytes\n      want: …{}…\n      got:  …{}…",
        want.len(),
        got.len(),
        show(want),
        show(got)
    )
}

fn run_compose_case(draft: &Path) -> Result<(), String> {
    let source = fs::read(draft).map_err(|e| e.to_string())?;
    let composed = composer(draft)?
        .compose(&source)
        .map_err(|e| format!("compose failed: {e}"))?;
    let mut problems = Vec::new();

    let env_path = sibling(draft, "envelope.jsonl");
    let want_env =
        fs::read_to_string(&env_path).map_err(|e| format!("{}: {e}", env_path.display()))?;
    let want_env: Vec<&str> = want_env.lines().collect();
    let got_env: Vec<String> = composed.iter().map(|s| s.envelope().to_json()).collect();
    if want_env != got_env {
        problems.push(format!(
            "envelopes differ\n      want: {want_env:?}\n      got:  {got_env:?}"
        ));
    }

    let outs = expected_outputs(draft);
    if outs.len() != composed.iter().len() {
        problems.push(format!(
            "{} expected message file(s), but {} submission(s)",
            outs.len(),
            composed.iter().len()
        ));
    }
    for (path, sub) in outs.iter().zip(&composed) {
        let want = fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let got = sub.to_bytes();
        if want != got {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            problems.push(format!("{name}: {}", first_difference(&want, &got)));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n    "))
    }
}

fn run_error_case(draft: &Path) -> Result<(), String> {
    let source = fs::read(draft).map_err(|e| e.to_string())?;
    let err_path = sibling(draft, "error");
    let want = fs::read_to_string(&err_path).map_err(|e| format!("{}: {e}", err_path.display()))?;
    let want = want.strip_suffix('\n').unwrap_or(&want);
    match composer(draft)?.compose(&source) {
        Ok(c) => Err(format!(
            "composed without error ({} submission(s)); expected: {want}",
            c.iter().len()
        )),
        Err(e) if e.to_string() == want => Ok(()),
        Err(e) => Err(format!("wrong error\n      want: {want}\n      got:  {e}")),
    }
}

/// Runs the binary in the case's folder, so that it names the draft as `NAME.eml`, with the
/// case's configuration (or none: both files point where nothing exists).
fn envoi_on_case(draft: &Path, command: &str) -> Result<Output, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let user = dir.path().join("config.toml");
    let toml = sibling(draft, "toml");
    if toml.exists() {
        fs::copy(&toml, &user).map_err(|e| format!("{}: {e}", toml.display()))?;
    }
    let name = draft.file_name().ok_or("a draft has a name")?;
    Command::new(env!("CARGO_BIN_EXE_envoi"))
        .arg(command)
        .args(case_args(draft))
        .arg(name)
        .current_dir(draft.parent().ok_or("a draft has a folder")?)
        .env_remove("SOURCE_DATE_EPOCH")
        .env("ENVOI_CONFIG", &user)
        .env("ENVOI_ADMIN_CONFIG", dir.path().join("admin.toml"))
        .output()
        .map_err(|e| format!("envoi does not run: {e}"))
}

fn run_check_case(draft: &Path) -> Result<(), String> {
    let out_path = sibling(draft, "out");
    let want = fs::read_to_string(&out_path).map_err(|e| format!("{}: {e}", out_path.display()))?;
    let o = envoi_on_case(draft, "check")?;
    let mut problems = Vec::new();
    let got = String::from_utf8_lossy(&o.stdout);
    if got != want {
        problems.push(format!(
            "output differs\n      want: {want:?}\n      got:  {got:?}"
        ));
    }
    let has_error = want.lines().any(|l| !l.contains(": warning: "));
    let want_code = if has_error { 65 } else { 0 };
    if o.status.code() != Some(want_code) {
        problems.push(format!(
            "exit {:?}, want {want_code}; stderr: {}",
            o.status.code(),
            String::from_utf8_lossy(&o.stderr)
        ));
    }
    let composed = envoi_on_case(draft, "envelope")?;
    if composed.status.success() == has_error {
        problems.push(format!(
            "check and envelope disagree: envelope exits {:?} ({})",
            composed.status.code(),
            String::from_utf8_lossy(&composed.stderr).trim()
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n    "))
    }
}

#[test]
fn golden_fixtures() {
    let mut failures = Vec::new();
    let mut ran = 0;
    for (folder, run) in [
        (
            "compose",
            run_compose_case as fn(&Path) -> Result<(), String>,
        ),
        ("errors", run_error_case),
        ("check", run_check_case),
    ] {
        let cases = drafts(folder);
        assert!(!cases.is_empty(), "no case ran in fixtures/{folder}");
        for draft in cases {
            ran += 1;
            if let Err(why) = run(&draft) {
                let name = draft.strip_prefix(fixtures()).unwrap_or(&draft);
                failures.push(format!("{}:\n    {why}", name.display()));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {ran} golden cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("golden: {ran} cases passed");
}

/// Each fixture folder holds what the walker expects, so no case is silently skipped.
#[test]
fn every_fixture_file_belongs_to_a_case() {
    let mut stray = Vec::new();
    for folder in ["compose", "errors", "check"] {
        let dir = fixtures().join(folder);
        let cases: Vec<String> = drafts(folder)
            .iter()
            .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
        assert!(!cases.is_empty(), "fixtures/{folder} holds no draft");
        for e in fs::read_dir(&dir).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            let stem = name.split('.').next().unwrap_or("");
            if !cases.iter().any(|c| c == stem) {
                stray.push(format!("{folder}/{name}"));
            }
        }
        for c in &cases {
            let need = match folder {
                "compose" => "envelope.jsonl",
                "errors" => "error",
                _ => "out",
            };
            if !dir.join(format!("{c}.{need}")).exists() {
                stray.push(format!("{folder}/{c}.eml has no {c}.{need}"));
            }
        }
    }
    assert!(stray.is_empty(), "files that no case uses: {stray:?}");
}
