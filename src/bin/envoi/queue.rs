//! `envoi queue ...`: the outbox on the command line (list, show, flush, remove, retry), and
//! the words `send` and `sendmail` use when they queue a message.

use crate::args::QueueCommand;
use crate::exit::{Failure, IOERR, NOINPUT, Result, TEMPFAIL};
use envoi::config::Config;
use envoi::outbox::{Entry, Outbox, OutboxError};
use envoi::relay::{ErrorKind, join_addrs};
use std::io::{BufWriter, Write};
use std::path::Path;

pub fn run(cmd: QueueCommand) -> Result {
    let config = Config::load().map_err(Failure::config)?;
    let outbox = config.outbox();
    match cmd {
        QueueCommand::List { failed, json } => {
            let entries = if failed {
                outbox.list_failed()
            } else {
                outbox.list()
            };
            list(&entries.map_err(outbox_failure)?, json)
        }
        QueueCommand::Show { id } => {
            let bytes = outbox.message(&id).map_err(outbox_failure)?;
            std::io::stdout()
                .lock()
                .write_all(&bytes)
                .map_err(|e| Failure::write(Path::new("stdout"), e))
        }
        QueueCommand::Remove { id } => outbox.remove(&id).map_err(outbox_failure),
        QueueCommand::Retry { id } => {
            let e = outbox.retry(&id).map_err(outbox_failure)?;
            eprintln!(
                "envoi: {id} is queued again in {}; run `envoi queue flush` to send it",
                e.path.parent().unwrap_or(outbox.dir()).display()
            );
            Ok(())
        }
        QueueCommand::Flush { all } => flush(&config, &outbox, all),
    }
}

/// Sends what is due and reports each message; 0 when the queue is empty afterwards, 75 when
/// some still wait (the relay's own code when it refused the login or the configuration).
fn flush(config: &Config, outbox: &Outbox, all: bool) -> Result {
    if outbox.list().map_err(outbox_failure)?.is_empty() {
        return Ok(());
    }
    let relay_config = config.relay_for(None).map_err(Failure::config)?;
    let mut relay = relay_config.open();
    let report = outbox.flush(&mut *relay, all);
    relay.close();
    let report = report.map_err(outbox_failure)?;
    let mut out = std::io::stdout().lock();
    for (id, d) in &report.sent {
        writeln!(out, "{id} accepted: {}", join_addrs(&d.accepted))
            .map_err(|e| Failure::write(Path::new("stdout"), e))?;
    }
    let _ = out.flush();
    for (id, reason) in &report.failed {
        eprintln!(
            "envoi: {id} moved to {}: {reason}",
            outbox.failed_dir().display()
        );
    }
    for (id, e) in &report.deferred {
        eprintln!("envoi: {id} deferred: {e}");
    }
    for id in &report.busy {
        eprintln!("envoi: {id} is being sent by another flush");
    }
    if let Some(e) = &report.stopped
        && matches!(e.kind(), ErrorKind::Auth | ErrorKind::Config)
    {
        return Err(Failure::relay(e));
    }
    match report.remaining {
        0 => Ok(()),
        n => Err(Failure::new(
            TEMPFAIL,
            format!(
                "{n} message{} still queued in {}",
                if n == 1 { "" } else { "s" },
                outbox.dir().display()
            ),
        )),
    }
}

fn list(entries: &[Entry], json: bool) -> Result {
    let mut out = BufWriter::new(std::io::stdout().lock());
    let now = envoi::outbox::unix_time();
    for e in entries {
        let (from, to) = match &e.envelope {
            Some(env) => (
                Some(env.from.to_string()),
                env.to.iter().map(|a| a.to_string()).collect(),
            ),
            None => (None, Vec::new()),
        };
        let line = if json {
            serde_json::json!({
                "id": e.id,
                "queued_at": rfc3339(e.state.queued_at),
                "from": from,
                "to": to,
                "attempts": e.state.attempts,
                "next_attempt": rfc3339(e.state.next_attempt),
                "last_error": e.state.last_error,
            })
            .to_string()
        } else {
            format!(
                "{}  {:>4}  {} -> {}  attempts {}{}",
                e.id,
                age(now.saturating_sub(e.state.queued_at)),
                from.as_deref().unwrap_or("?"),
                if to.is_empty() {
                    "?".to_owned()
                } else {
                    to.join(", ")
                },
                e.state.attempts,
                e.state
                    .last_error
                    .as_deref()
                    .map(|l| format!("  last error: {l}"))
                    .unwrap_or_default()
            )
        };
        writeln!(out, "{line}").map_err(|e| Failure::write(Path::new("stdout"), e))?;
    }
    out.flush()
        .map_err(|e| Failure::write(Path::new("stdout"), e))
}

fn rfc3339(unix: u64) -> String {
    chrono::DateTime::from_timestamp(i64::try_from(unix).unwrap_or(0), 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

fn age(secs: u64) -> String {
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 2 * 86400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

/// The exit code of an outbox error: 74 for the disk, 66 for an id that is not there, 75 for
/// a message another flush holds.
pub fn outbox_failure(e: OutboxError) -> Failure {
    let code = match e {
        OutboxError::NotFound { .. } => NOINPUT,
        OutboxError::Busy { .. } => TEMPFAIL,
        _ => IOERR,
    };
    Failure::new(code, e.to_string())
}
