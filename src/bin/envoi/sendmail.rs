//! `envoi sendmail` (also envoi installed under the name `sendmail`): the command line that cron,
//! mailx, mutt and git send-email expect. Reads one message on stdin; exits with sysexits codes;
//! a message that was not accepted is kept (outbox, or `dead.letter`), never dropped.

use crate::exit::{CONFIG, DATAERR, Failure, IOERR, Result, TEMPFAIL};
use envoi::config::Config;
use envoi::relay::{Dsn, ErrorKind};
use envoi::sendmail::{
    Frontend, Kept, Prepared, Request, SendmailError, Unsent, default_dead_letter, keep,
};
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
  -N WHEN    delivery status notifications: never, or a list of success, failure, delay
  -R full|hdrs  what a failure notification returns: the message or its header
  -V ENVID   the envelope identifier notifications quote
  -B, -o..., -v  accepted and ignored
  -q         flush the outbox (envoi queue flush); -bp lists it (envoi queue list)
(-N, -R and -V go to the server when it offers DSN; when it does not, stderr says so.)

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
    /// -N, -R, -V: the delivery status notifications asked for.
    pub dsn: Dsn,
}

impl SendmailArgs {
    /// What the library needs of these arguments (-i is about reading, done here).
    fn request(&self) -> Request {
        Request {
            recipients: self.recipients.clone(),
            from_headers: self.from_headers,
            sender: self.sender.clone(),
            full_name: self.full_name.clone(),
        }
    }
}

/// Parses sendmail's options: clustered flags (`-ti`), values attached or separate (`-fADDR`,
/// `-f ADDR`), `-o` options ignored except `-oi`, `--` ending the options.
pub fn parse_args(args: &[String]) -> std::result::Result<SendmailArgs, String> {
    let mut a = SendmailArgs::default();
    let mut dsn: [Option<String>; 3] = Default::default();
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
                        'N' => dsn[0] = Some(value),
                        'R' => dsn[1] = Some(value),
                        'V' => dsn[2] = Some(value),
                        'o' if value == "i" => a.ignore_dots = true,
                        'b' if value != "m" => {
                            return Err(format!(
                                "-b{value} is not supported: envoi only submits mail (-bm)"
                            ));
                        }
                        // -B 8BITMIME, -oem, -odb, -X, -L, -h: accepted, ignored.
                        _ => {}
                    }
                    break;
                }
                _ => return Err(format!("unknown option -{c} (in `{arg}`)")),
            }
        }
    }
    let [n, r, v] = &dsn;
    a.dsn = crate::dsn::read(n.as_deref(), r.as_deref(), v.as_deref())?;
    Ok(a)
}

/// `-q` (any interval, `-q30m`: a cron line runs it) is a flush, `-bp` a listing.
fn queue_command(args: &[String]) -> Option<crate::args::QueueCommand> {
    use crate::args::QueueCommand;
    let mut options = args.iter().take_while(|a| *a != "--");
    if options.clone().any(|a| a.starts_with("-q")) {
        Some(QueueCommand::Flush { all: false })
    } else if options.any(|a| a == "-bp") {
        Some(QueueCommand::List {
            failed: false,
            json: false,
        })
    } else {
        None
    }
}

/// Traditional input ends at a line holding a lone dot, unless -i.
fn cut_at_dot(input: &mut Vec<u8>) {
    let mut start = 0;
    while start < input.len() {
        let end = memchr::memchr(b'\n', &input[start..]).map_or(input.len(), |p| start + p);
        let line = &input[start..end];
        if line == b"." || line == b".\r" {
            input.truncate(start);
            return;
        }
        start = end + 1;
    }
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
    // sendmail's queue commands, as an administrator's scripts use them: -q flushes, -bp lists.
    if let Some(cmd) = queue_command(&args) {
        return crate::queue::run(cmd);
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
    result.map_err(|f| keep_message(f, config.as_ref().ok(), &a, &input, &attempt))
}

/// How far a submission got: what the library's `keep` can save beyond the bytes read.
#[derive(Default)]
struct Attempt {
    prepared: Option<Prepared>,
    /// The relay, and what kind of failure it reported.
    relay: Option<String>,
    kind: Option<ErrorKind>,
}

fn submit(a: &SendmailArgs, config: &Config, input: &[u8], attempt: &mut Attempt) -> Result {
    let mut front = Frontend::from_config(config).map_err(|e| failure(e, true))?;
    front.fixed_time = envoi::clock::source_date_epoch().map_err(Failure::usage)?;
    let prepared = front
        .prepare(&a.request(), input)
        .map_err(|e| failure(e, front.domain.is_some()))?;
    let prepared = attempt.prepared.insert(prepared);
    for s in &prepared.skipped {
        eprintln!(
            "envoi: alias target `{}` (for {}) skipped: only a mail server can deliver to programs and files",
            s.target, s.recipient
        );
    }
    // No relay yet (a new machine's cron): queued, to be sent once one is configured.
    let relay_config = config
        .relay_for(None)
        .map_err(|e| {
            attempt.kind = Some(ErrorKind::Transient);
            Failure::new(TEMPFAIL, e.to_string())
        })?
        .clone()
        .with_dsn(&a.dsn);
    attempt.relay = Some(relay_config.describe());
    let mut relay = relay_config.open();
    let result = relay.submit(&prepared.envelope, &prepared.message);
    relay.close();
    if let Ok(d) = &result {
        d.warnings.iter().for_each(|w| eprintln!("envoi: {w}"));
    }
    result.map(|_| ()).map_err(|e| {
        attempt.kind = Some(e.kind());
        Failure::relay(&e)
    })
}

/// The exit code of a library error, and its text in sendmail's terms (-f, [compose] domain).
fn failure(e: SendmailError, has_domain: bool) -> Failure {
    let hint = if has_domain {
        ""
    } else {
        " (set [compose] domain to qualify local names)"
    };
    match e {
        SendmailError::Recipient { .. } => Failure::usage(format!("{e}{hint}")),
        SendmailError::Sender { text, error } => {
            Failure::usage(format!("-f `{text}`: {error}{hint}"))
        }
        SendmailError::SenderNotSingle { text } => {
            Failure::usage(format!("-f `{text}` must be one address"))
        }
        SendmailError::NoRecipients | SendmailError::FromAddress { .. } => {
            Failure::usage(e.to_string())
        }
        SendmailError::NoLoginUser => Failure::usage(format!("{e}: give -f ADDR")),
        SendmailError::NoDomain => Failure::new(
            CONFIG,
            format!("{e}: set [compose] domain, or give -f ADDR"),
        ),
        SendmailError::Compose(e) => Failure::compose("<stdin>", e),
        SendmailError::NoRecipientsAfterAliases => Failure::new(DATAERR, e.to_string()),
        SendmailError::Aliases { .. } => Failure::new(CONFIG, e.to_string()),
    }
}

/// Keeps a message that was not accepted (the library decides where) and says where; the exit
/// code stays the failure's.
fn keep_message(
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
    let unsent = Unsent {
        input,
        prepared: attempt.prepared.as_ref(),
        temporary: attempt.kind == Some(ErrorKind::Transient),
        sender: a.sender.as_deref(),
        error: Some(&why),
    };
    let outbox = config.map(|c| c.outbox_dir.as_path());
    match keep(&unsent, outbox, default_dead_letter().as_deref()) {
        Ok(kept @ Kept::Queued(_)) => Failure::new(
            failure.code,
            format!(
                "{why}; the message was saved in {} (queued: `envoi queue flush` sends it)",
                kept.path().display()
            ),
        ),
        Ok(kept) => Failure::new(
            failure.code,
            format!("{why}; the message was saved in {}", kept.path().display()),
        ),
        Err(e) => Failure::new(
            IOERR,
            format!("{why}; and the message could NOT be saved ({e}): keep it and try again"),
        ),
    }
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
    fn mutt_dsn_options_are_read() {
        let a = p(&[
            "-oi",
            "-N",
            "success,failure",
            "-Rhdrs",
            "-V",
            "id-1",
            "b@y.example",
        ]);
        assert_eq!(a.dsn.mail_params(), " RET=HDRS ENVID=id-1");
        assert_eq!(a.dsn.rcpt_params(), " NOTIFY=SUCCESS,FAILURE");
        assert_eq!(a.recipients, ["b@y.example"]);
        let e = parse_args(&["-Nsometimes".to_string()]).unwrap_err();
        assert!(e.contains("sometimes"), "{e}");
        assert!(parse_args(&["-R".to_string(), "body".to_string()]).is_err());
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
}
