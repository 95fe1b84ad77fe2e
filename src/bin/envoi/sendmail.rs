//! `envoi sendmail` (also envoi installed under the name `sendmail`): the command line that cron,
//! mailx, mutt and git send-email expect. Reads one message on stdin; exits with sysexits codes;
//! a message that was not accepted is kept (outbox, or `dead.letter`), never dropped.

use crate::args::ComposeArgs;
use crate::exit::{CONFIG, Failure, IOERR, Result};
use chrono::{FixedOffset, TimeZone};
use envoi::address::parse_list;
use envoi::config::Config;
use envoi::relay::aliases::{Aliases, host_domain, login_user};
use envoi::relay::{self, ErrorKind, FileRelay};
use envoi::{Addr, BccPolicy, Clock, Draft, Envelope, Now, SystemClock};
use std::ffi::OsString;
use std::io::Read;

const USAGE: &str = "\
Usage: envoi sendmail [-t] [-i] [-oi] [-f ADDR] [-F NAME] [-B TYPE] [-oXXX] [--] [RCPT]...
       (or envoi installed under the name `sendmail`)

Reads one message on stdin, composes it (Bcc removed; Date, Message-ID, X-Mailer added where
missing) and submits it through the configured relay.

  -t         recipients from To/Cc/Bcc, plus those given as arguments
  -i, -oi    a line with a lone dot does not end the message
  -f ADDR    envelope sender (also -r); a From for a message without one
  -F NAME    full name for a From field the message lacks
  -B, -o..., -N, -R, -V, -v  accepted and ignored

Bare names (root) are qualified with [compose] domain (default: the host name) or mapped
through [compose] aliases. A message that is not accepted is never dropped: on a temporary
failure (exit 75) it is queued in the outbox; on any other failure it is kept as read in
OUTBOX/failed/, or appended to ~/dead.letter when there is no usable outbox. stderr says where.
";

/// What the caller asked for, as sendmail(8) spells it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SendmailArgs {
    /// -t: recipients from To/Cc/Bcc, plus those on the command line.
    pub from_headers: bool,
    /// -i / -oi: a line with a lone dot is not the end of the message.
    pub ignore_dots: bool,
    /// -f / -r: envelope sender.
    pub sender: Option<String>,
    /// -F: full name for a From field that the message lacks.
    pub full_name: Option<String>,
    pub recipients: Vec<String>,
}

/// Parses sendmail's options: clustered flags (`-ti`), values attached or separate (`-fADDR`,
/// `-f ADDR`), `-o` options ignored except `-oi`, `--` ending the options.
pub fn parse_args(args: &[String]) -> std::result::Result<SendmailArgs, String> {
    let mut a = SendmailArgs::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg == "--" {
            a.recipients.extend(args[i..].iter().cloned());
            break;
        }
        let Some(flags) = arg.strip_prefix('-').filter(|f| !f.is_empty()) else {
            // Recipients may be followed by more options (`sendmail root -oi`).
            a.recipients.push(arg.clone());
            continue;
        };
        for (at, c) in flags.char_indices() {
            let rest = &flags[at + c.len_utf8()..];
            match c {
                't' => a.from_headers = true,
                'i' => a.ignore_dots = true,
                // -v (verbose), -m (me too), -U (initial submission), -n (no aliasing): no
                // effect here.
                'v' | 'm' | 'U' | 'n' => {}
                'f' | 'r' | 'F' | 'B' | 'o' | 'N' | 'R' | 'V' | 'X' | 'L' | 'b' | 'h' | 'O' => {
                    let value = if !rest.is_empty() {
                        rest.to_owned()
                    } else if i < args.len() {
                        i += 1;
                        args[i - 1].clone()
                    } else {
                        return Err(format!("option -{c} needs a value"));
                    };
                    match c {
                        'f' | 'r' => a.sender = Some(value),
                        'F' => a.full_name = Some(value),
                        'o' if value == "i" => a.ignore_dots = true,
                        'b' if value != "m" => {
                            return Err(format!(
                                "-b{value} is not supported: envoi only submits mail (-bm)"
                            ));
                        }
                        // -B 8BITMIME, -oem, -odb, -N, -R, -V, -X, -L, -h: accepted, ignored.
                        _ => {}
                    }
                    break;
                }
                _ => return Err(format!("unknown option -{c} (in `{arg}`)")),
            }
        }
    }
    Ok(a)
}

/// Traditional input ends at a line holding a lone dot, unless -i.
fn cut_at_dot(input: &mut Vec<u8>) {
    let mut start = 0;
    while start < input.len() {
        let end = memchr_nl(&input[start..]).map_or(input.len(), |p| start + p);
        let line = &input[start..end];
        if line == b"." || line == b".\r" {
            input.truncate(start);
            return;
        }
        start = end + 1;
    }
}

fn memchr_nl(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}

/// `From: Name <addr>` with the display name quoted or RFC 2047-encoded as needed.
pub fn from_field(name: Option<&str>, addr: &Addr) -> String {
    match name.map(str::trim).filter(|n| !n.is_empty()) {
        None => format!("From: {addr}"),
        Some(n) if !n.is_ascii() => format!("From: =?UTF-8?B?{}?= <{addr}>", base64(n.as_bytes())),
        Some(n)
            if n.chars()
                .all(|c| c.is_ascii_alphanumeric() || " !#$%&'*+-/=?^_`{|}~".contains(c)) =>
        {
            format!("From: {n} <{addr}>")
        }
        Some(n) => {
            let q: String = n
                .chars()
                .filter(|c| !c.is_control())
                .flat_map(|c| match c {
                    '"' | '\\' => vec!['\\', c],
                    _ => vec![c],
                })
                .collect();
            format!("From: \"{q}\" <{addr}>")
        }
    }
}

fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(T[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn resolve_list(what: &str, s: &str, domain: Option<&str>) -> Result<Vec<Addr>> {
    let list = parse_list(s).map_err(|e| Failure::usage(format!("{what} `{s}`: {e}")))?;
    list.iter()
        .map(|m| {
            m.resolve(domain).map_err(|e| {
                Failure::usage(format!(
                    "{what} `{s}`: {e}{}",
                    if domain.is_none() {
                        " (set [compose] domain to qualify local names)"
                    } else {
                        ""
                    }
                ))
            })
        })
        .collect()
}

pub fn run(args: &[OsString]) -> Result {
    let args: Vec<String> = args
        .iter()
        .map(|a| {
            a.clone()
                .into_string()
                .map_err(|a| Failure::usage(format!("argument {a:?} is not UTF-8")))
        })
        .collect::<Result<_>>()?;
    if args.first().is_some_and(|a| a == "--help") {
        print!("{USAGE}");
        return Ok(());
    }
    // Mistakes in the command line itself are reported before the message is read.
    let a = parse_args(&args).map_err(Failure::usage)?;
    if a.recipients.is_empty() && !a.from_headers {
        return Err(Failure::usage(
            "no recipients: give them as arguments, or use -t to read To/Cc/Bcc",
        ));
    }

    let mut input = Vec::new();
    let read = std::io::stdin()
        .lock()
        .read_to_end(&mut input)
        .map_err(|e| Failure::new(IOERR, format!("cannot read the message from stdin: {e}")));
    match &read {
        Err(_) if input.is_empty() => return read.map(|_| ()),
        Err(_) => {} // what did arrive is kept below
        Ok(_) if !a.ignore_dots => cut_at_dot(&mut input),
        Ok(_) => {}
    }

    // From here on the message exists only in this process: whatever fails, it is kept.
    let config = Config::load();
    let mut attempt = Attempt::default();
    let result = read.and_then(|_| match &config {
        Ok(config) => submit(&a, config, &input, &mut attempt),
        Err(e) => Err(Failure::config(e.clone())),
    });
    result.map_err(|f| keep(f, config.as_ref().ok(), &a, &input, &attempt))
}

/// How far a submission got: what [`keep`] can save beyond the bytes that were read.
#[derive(Default)]
struct Attempt {
    envelope: Option<Envelope>,
    /// The composed message, once the relay was tried with it.
    composed: Option<Vec<u8>>,
    /// The relay, and what kind of failure it reported.
    relay: Option<String>,
    kind: Option<ErrorKind>,
}

fn submit(a: &SendmailArgs, config: &Config, input: &[u8], attempt: &mut Attempt) -> Result {
    let domain = config.compose.domain.clone().or_else(host_domain);
    let dom = domain.as_deref();

    let mut rcpts = Vec::new();
    for r in &a.recipients {
        rcpts.extend(resolve_list("recipient", r, dom)?);
    }
    let sender = match &a.sender {
        Some(s) => {
            let list = resolve_list("-f", s, dom)?;
            match list.as_slice() {
                [one] => Some(one.clone()),
                _ => return Err(Failure::usage(format!("-f `{s}` must be one address"))),
            }
        }
        None => None,
    };
    let input = add_from_if_missing(input, a, sender.as_ref(), dom)?;

    let mut base = config.compose.options();
    // Whatever the configured policy, a sendmail caller expects Bcc gone from every copy.
    base.bcc_policy = BccPolicy::Remove;
    base.local_domain = domain.clone();
    base.envelope_from = sender;
    base.extra_rcpts = rcpts.clone();
    let composer = ComposeArgs::default().composer(base, 1)?;
    let composed = composer
        .compose(&input)
        .map_err(|e| Failure::compose("<stdin>", e))?;
    // Under the `remove` policy there is exactly one submission.
    let Some(sub) = composed.iter().next() else {
        return Err(Failure::new(
            crate::exit::DATAERR,
            "the draft made no message",
        ));
    };
    let to = if a.from_headers {
        sub.envelope().to.clone()
    } else {
        rcpts
    };
    let to = expand_aliases(config, to, dom)?;
    if to.is_empty() {
        return Err(Failure::new(
            crate::exit::DATAERR,
            "no recipients are left once aliases are expanded",
        ));
    }
    let envelope = attempt
        .envelope
        .insert(Envelope::new(sub.envelope().from.clone(), to));
    let message = attempt.composed.insert(sub.to_bytes());

    let relay_config = config.relay_for(None).map_err(Failure::config)?;
    attempt.relay = Some(relay_config.describe());
    let mut relay = relay_config.open();
    let result = relay.submit(envelope, message);
    relay.close();
    result.map(|_| ()).map_err(|e| {
        attempt.kind = Some(e.kind());
        Failure::relay(&e)
    })
}

/// Keeps a message that was not accepted and says where; the exit code stays the failure's.
///
/// - A temporary failure (75, or a sendmail child's own code for one) queues the composed message and its envelope in the outbox (the
///   file relay's format), to be sent again as it is.
/// - Any other failure needs a person first, so the message is kept as it was read (Bcc and all,
///   ready to be fixed and piped in again), with the envelope where one was worked out, in
///   OUTBOX/failed/: kept out of the queue, never re-sent by itself.
/// - When no outbox can take it (the configuration is broken, the directory is not writable),
///   the message goes to `$HOME/dead.letter`, appended in mbox form as sendmail and mailx do.
fn keep(
    failure: Failure,
    config: Option<&Config>,
    a: &SendmailArgs,
    input: &[u8],
    attempt: &Attempt,
) -> Failure {
    let why = match (attempt.kind, &attempt.relay) {
        (Some(ErrorKind::Permanent), Some(relay)) => {
            format!("the message was refused by {relay}: {}", failure.message)
        }
        _ => failure.message,
    };
    let mut problems = Vec::new();
    let saved = config
        .and_then(|c| {
            let stored = match (&attempt.envelope, &attempt.composed) {
                (Some(env), Some(msg)) if attempt.kind == Some(ErrorKind::Transient) => {
                    FileRelay::new(c.outbox_dir.clone()).store(env, msg)
                }
                _ => FileRelay::new(c.outbox_dir.join("failed"))
                    .keep(input, attempt.envelope.as_ref()),
            };
            stored.map_err(|e| problems.push(e.to_string())).ok()
        })
        .or_else(|| {
            let home = std::env::var_os("HOME").filter(|h| !h.is_empty());
            let Some(home) = home else {
                problems.push("HOME is not set, so there is no dead.letter".into());
                return None;
            };
            let path = std::path::Path::new(&home).join("dead.letter");
            let sender = attempt
                .envelope
                .as_ref()
                .map(|e| e.from.to_string())
                .or_else(|| a.sender.clone())
                .or_else(login_user)
                .unwrap_or_default();
            relay::file::append_mbox(&path, &sender, &asctime(SystemClock.now()), input)
                .map(|()| path)
                .map_err(|e| problems.push(e.to_string()))
                .ok()
        });
    let message = match saved {
        Some(path) => format!("{why}; the message was saved in {}", path.display()),
        None => format!(
            "{why}; and the message could NOT be saved ({}): keep it and try again",
            problems.join("; ")
        ),
    };
    Failure::new(failure.code, message)
}

/// `Thu Nov 29 04:46:28 2026`: the date of an mbox `From ` line, in local time.
fn asctime(now: Now) -> String {
    FixedOffset::east_opt(now.offset)
        .and_then(|tz| tz.timestamp_opt(now.unix, 0).single())
        .map(|t| t.format("%a %b %e %H:%M:%S %Y").to_string())
        .unwrap_or_else(|| "Thu Jan  1 00:00:00 1970".into())
}

fn add_from_if_missing(
    input: &[u8],
    a: &SendmailArgs,
    sender: Option<&Addr>,
    domain: Option<&str>,
) -> Result<Vec<u8>> {
    let has_from = match Draft::parse(input) {
        Ok(d) => d.fields_named("From").next().is_some(),
        // Composing will report the problem with its line number.
        Err(_) => return Ok(input.to_vec()),
    };
    if has_from {
        return Ok(input.to_vec());
    }
    let addr = match sender {
        Some(s) => s.clone(),
        None => {
            let user = login_user().ok_or_else(|| {
                Failure::usage(
                    "the message has no From and the login user is unknown: give -f ADDR",
                )
            })?;
            let d = domain.ok_or_else(|| {
                Failure::new(CONFIG, "the message has no From and the host has no name: set [compose] domain, or give -f ADDR")
            })?;
            Addr::from_parts(&user, d).map_err(|e| {
                Failure::usage(format!("cannot make a From address for {user}: {e}"))
            })?
        }
    };
    // The added line ends like the message's own first line.
    let crlf = memchr_nl(input).is_some_and(|p| p > 0 && input[p - 1] == b'\r');
    let eol: &[u8] = if crlf { b"\r\n" } else { b"\n" };
    let mut out = from_field(a.full_name.as_deref(), &addr).into_bytes();
    out.extend_from_slice(eol);
    out.extend_from_slice(input);
    Ok(out)
}

fn expand_aliases(config: &Config, to: Vec<Addr>, domain: Option<&str>) -> Result<Vec<Addr>> {
    let (Some(path), Some(domain)) = (&config.compose.aliases, domain) else {
        return Ok(to);
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure::new(
            CONFIG,
            format!("aliases file {}: cannot read it: {e}", path.display()),
        )
    })?;
    let aliases = Aliases::parse(&text)
        .map_err(|e| Failure::new(CONFIG, format!("aliases file {}: {e}", path.display())))?;
    let mut out = Vec::new();
    for a in &to {
        let (got, skipped) = aliases.expand(a, domain);
        for s in skipped {
            eprintln!(
                "envoi: alias target `{s}` (for {a}) skipped: only a mail server can deliver to programs and files"
            );
        }
        out.extend(got);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> SendmailArgs {
        parse_args(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn cron_and_mutt_command_lines() {
        let a = p(&["-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"]);
        assert_eq!(a.full_name.as_deref(), Some("CronDaemon"));
        assert!(a.ignore_dots && !a.from_headers);
        assert_eq!(a.recipients, ["root"]);
        let a = p(&[
            "-oem",
            "-oi",
            "-f",
            "me@x.example",
            "--",
            "-weird@y.example",
            "b@y.example",
        ]);
        assert!(a.ignore_dots);
        assert_eq!(a.sender.as_deref(), Some("me@x.example"));
        assert_eq!(a.recipients, ["-weird@y.example", "b@y.example"]);
        let a = p(&["-ti", "-fme@x.example"]);
        assert!(a.from_headers && a.ignore_dots);
        assert_eq!(a.sender.as_deref(), Some("me@x.example"));
        assert!(parse_args(&["-bs".to_string()]).is_err());
        assert!(parse_args(&["-q".to_string()]).is_err());
        assert!(parse_args(&["-f".to_string()]).is_err());
    }

    #[test]
    fn lone_dot_ends_input_without_i() {
        let mut v = b"To: a\n\nx\n.\nafter\n".to_vec();
        cut_at_dot(&mut v);
        assert_eq!(v, b"To: a\n\nx\n");
        let mut v = b"To: a\r\n\r\n..x\r\n.\r\n".to_vec();
        cut_at_dot(&mut v);
        assert_eq!(v, b"To: a\r\n\r\n..x\r\n");
    }

    #[test]
    fn from_fields() {
        let a = Addr::parse("root@h.example").unwrap();
        assert_eq!(
            from_field(Some("CronDaemon"), &a),
            "From: CronDaemon <root@h.example>"
        );
        assert_eq!(
            from_field(Some("Doe, J."), &a),
            "From: \"Doe, J.\" <root@h.example>"
        );
        assert_eq!(from_field(None, &a), "From: root@h.example");
        assert_eq!(
            from_field(Some("Zoë"), &a),
            "From: =?UTF-8?B?Wm/Dqw==?= <root@h.example>"
        );
    }

    #[test]
    fn base64_matches_rfc4648() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }
}
