//! The DRAFT operands of a command line, taken out before clap parses the options.
//!
//! clap passes every positional value through its generic machinery: a copy of the raw value,
//! the parsed `PathBuf` and a type-erased `Arc` around it, about 900 instructions and three
//! allocations per operand. `compose --out-dir` of 10,000 drafts spent 4.4% of its instructions
//! there. So [`parse`] finds the operands with clap's own rules for these subcommands, hands them
//! over as they are, and lets clap parse only the options. It takes out an operand only where
//! the reading is certain; anything else (`--`, an option clap does not know, a short-flag
//! cluster, a value that starts with `-`, an empty operand) leaves the whole command line to
//! clap, so that the result and every error stay exactly clap's.

use crate::args::{Cli, Command};
use clap::{CommandFactory, FromArgMatches};
use std::ffi::OsString;
use std::path::PathBuf;

/// Parses `argv` as `Cli::try_parse_from` does, with the DRAFT operands taken out first.
pub fn parse(argv: Vec<OsString>) -> Result<Cli, clap::Error> {
    let mut cmd = built_command();
    let (args, drafts) = match split(&cmd, &argv) {
        Some(drafts) => {
            let (keep, drafts) = take(argv, &drafts);
            (keep, Some(drafts))
        }
        None => (argv, None),
    };
    let mut matches = cmd.try_get_matches_from_mut(args)?;
    let mut cli = Cli::from_arg_matches_mut(&mut matches).map_err(|e| e.format(&mut cmd))?;
    if let Some(d) = drafts {
        *cli.command
            .drafts_mut()
            .expect("split only subcommands with drafts") = d;
    }
    Ok(cli)
}

/// The command line's grammar, built now rather than inside the parse, so that the arguments
/// clap adds (`--help`) are listed for [`split`].
fn built_command() -> clap::Command {
    let mut cmd = Cli::command();
    cmd.build();
    cmd
}

/// The indices in `argv` of the DRAFT operands, when `argv[1]` is a subcommand that takes them
/// and every argument reads one way only; `None` leaves the whole line to clap.
fn split(cmd: &clap::Command, argv: &[OsString]) -> Option<Vec<usize>> {
    let sub = cmd.find_subcommand(argv.get(1)?.to_str()?)?;
    if !sub.get_positionals().any(|a| a.get_id() == "drafts") {
        return None;
    }
    let mut drafts = Vec::with_capacity(argv.len() - 2);
    let mut pending = false; // the previous argument is an option that takes a value
    for (i, a) in argv.iter().enumerate().skip(2) {
        let b = a.as_encoded_bytes();
        match b {
            [] => return None,
            [b'-'] if !pending => drafts.push(i),
            [b'-', ..] if pending => return None,
            [b'-', b'-', ..] => pending = long(sub, &b[2..])?,
            [b'-', ..] => pending = short(sub, &b[1..])?,
            _ if pending => pending = false,
            _ => drafts.push(i),
        }
    }
    Some(drafts)
}

/// Whether the long option `--NAME` or `--NAME=VALUE` waits for a value in the next argument;
/// `None` for `--` and names clap does not know.
fn long(sub: &clap::Command, b: &[u8]) -> Option<bool> {
    let (name, inline) = match b.iter().position(|&c| c == b'=') {
        Some(eq) => (&b[..eq], true),
        None => (b, false),
    };
    let name = std::str::from_utf8(name).ok().filter(|n| !n.is_empty())?;
    let arg = sub.get_arguments().find(|a| a.get_long() == Some(name))?;
    Some(takes_value(arg) && !inline)
}

/// Whether the short option `-X` waits for a value; `-XVALUE` carries its own. `None` for
/// unknown letters and clusters of flags.
fn short(sub: &clap::Command, b: &[u8]) -> Option<bool> {
    let letter = char::from(*b.first()?);
    let arg = sub
        .get_arguments()
        .find(|a| a.get_short() == Some(letter))?;
    match (takes_value(arg), b.len()) {
        (true, 1) => Some(true),
        (true, _) => Some(false),
        (false, 1) => Some(false),
        (false, _) => None,
    }
}

fn takes_value(arg: &clap::Arg) -> bool {
    arg.get_action().takes_values()
}

/// `argv` without the arguments at `drafts` (ascending), and those arguments as paths.
fn take(argv: Vec<OsString>, drafts: &[usize]) -> (Vec<OsString>, Vec<PathBuf>) {
    let mut keep = Vec::with_capacity(argv.len() - drafts.len());
    let mut paths = Vec::with_capacity(drafts.len());
    let mut next = drafts.iter().peekable();
    for (i, a) in argv.into_iter().enumerate() {
        if next.next_if(|&&d| d == i).is_some() {
            paths.push(PathBuf::from(a));
        } else {
            keep.push(a);
        }
    }
    (keep, paths)
}

impl Command {
    /// The DRAFT operands of a subcommand that takes them.
    fn drafts_mut(&mut self) -> Option<&mut Vec<PathBuf>> {
        match self {
            Command::Compose { drafts, .. }
            | Command::Envelope { drafts, .. }
            | Command::Send { drafts, .. }
            | Command::Check { drafts, .. } => Some(drafts),
            Command::Config | Command::Draft(_) | Command::Edit(_) | Command::Queue(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use proptest::prelude::*;

    /// What clap alone makes of `argv`: the parsed command line, or the error it prints.
    fn clap_alone(argv: &[&str]) -> String {
        render(Cli::try_parse_from(argv))
    }

    fn ours(argv: &[&str]) -> String {
        render(parse(argv.iter().map(OsString::from).collect()))
    }

    fn render(r: Result<Cli, clap::Error>) -> String {
        match r {
            Ok(cli) => format!("{cli:?}"),
            Err(e) => format!("{:?}: {}", e.kind(), e.render()),
        }
    }

    /// Whether the split took the operands out of `argv` (rather than leaving it all to clap).
    fn splits(argv: &[&str]) -> bool {
        let cmd = built_command();
        let argv: Vec<OsString> = argv.iter().map(OsString::from).collect();
        split(&cmd, &argv).is_some()
    }

    #[test]
    fn agrees_with_clap_on_typical_lines() {
        for argv in [
            &["envoi", "compose", "--out-dir", "out", "a.eml", "b.eml"][..],
            &[
                "envoi",
                "compose",
                "a.eml",
                "--out-dir=out",
                "b.eml",
                "-f",
                "x@y.example",
            ],
            &["envoi", "compose", "-fx@y.example", "a.eml", "-"],
            &[
                "envoi",
                "compose",
                "--rcpt",
                "a@b.example",
                "--rcpt",
                "c@d.example",
                "d.eml",
            ],
            &[
                "envoi",
                "envelope",
                "--json",
                "a.eml",
                "--bcc-policy",
                "split",
                "b.eml",
            ],
            &["envoi", "send", "--dry-run", "--account", "work", "a.eml"],
            &["envoi", "check", "a.eml", "b.eml"],
            &["envoi", "compose", "--no-x-mailer", "a.eml"],
            &["envoi", "compose"],
            &["envoi", "compose", "-"],
        ] {
            assert!(splits(argv), "{argv:?}");
            assert_eq!(ours(argv), clap_alone(argv), "{argv:?}");
        }
    }

    /// Lines with a reading that is not certain are left whole to clap, so its answers (and
    /// errors) are unchanged.
    #[test]
    fn leaves_uncertain_lines_to_clap() {
        for argv in [
            &["envoi", "compose", "--", "-a.eml"][..],
            &["envoi", "compose", "--from", "-x", "a.eml"],
            &["envoi", "compose", "--from", "-", "a.eml"],
            &["envoi", "compose", "--bogus", "a.eml"],
            &["envoi", "compose", "-z", "a.eml"],
            &["envoi", "compose", "-hf", "a.eml"],
            &["envoi", "compose", "", "a.eml"],
            &["envoi", "config", "a.eml"],
            &["envoi", "--version"],
            &["envoi"],
        ] {
            assert!(!splits(argv), "{argv:?}");
            assert_eq!(ours(argv), clap_alone(argv), "{argv:?}");
        }
    }

    /// The split's rules hold only if every option of these subcommands takes no value or
    /// exactly one, never after a required `=`, and DRAFT is their only operand.
    #[test]
    fn subcommands_keep_the_shape_the_split_relies_on() {
        let cmd = built_command();
        let mut checked = 0;
        for sub in cmd.get_subcommands() {
            if !sub.get_positionals().any(|a| a.get_id() == "drafts") {
                continue;
            }
            checked += 1;
            assert_eq!(sub.get_positionals().count(), 1, "{}", sub.get_name());
            for a in sub.get_opts() {
                let n = a.get_num_args().expect("built");
                assert_eq!((n.min_values(), n.max_values()), (1, 1), "{}", a.get_id());
                assert!(!a.is_require_equals_set(), "{}", a.get_id());
                assert!(!a.is_allow_hyphen_values_set(), "{}", a.get_id());
            }
        }
        assert_eq!(checked, 4);
    }

    fn token() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("a.eml".to_string()),
            Just("dir/b.eml".to_string()),
            Just("-".to_string()),
            Just("--".to_string()),
            Just(String::new()),
            Just("--out-dir".to_string()),
            Just("--out-dir=o".to_string()),
            Just("--from".to_string()),
            Just("-f".to_string()),
            Just("-fx@y.example".to_string()),
            Just("x@y.example".to_string()),
            Just("--rcpt".to_string()),
            Just("--json".to_string()),
            Just("--dry-run".to_string()),
            Just("--no-x-mailer".to_string()),
            Just("--x-mailer".to_string()),
            Just("--bcc-policy".to_string()),
            Just("split".to_string()),
            Just("--account".to_string()),
            Just("--bogus".to_string()),
            Just("--from=".to_string()),
            Just("-h".to_string()),
            Just("-x".to_string()),
            "[a-z.=-]{1,6}",
        ]
    }

    proptest! {
        /// Any line over these subcommands and tokens: the same result, or the same error.
        #[test]
        fn agrees_with_clap(
            sub in prop_oneof![Just("compose"), Just("envelope"), Just("send"), Just("check"), Just("config")],
            rest in proptest::collection::vec(token(), 0..8),
        ) {
            let mut argv = vec!["envoi", sub];
            argv.extend(rest.iter().map(String::as_str));
            prop_assert_eq!(ours(&argv), clap_alone(&argv));
        }
    }
}
