//! The `envoi` command line: parses arguments, reads drafts, prints results and maps outcomes to
//! sysexits codes. No mail logic lives here; the library is the product.

#![forbid(unsafe_code)]

mod args;
mod commands;
mod draft;
mod dsn;
mod edit;
mod exit;
mod input;
mod queue;
mod send;
mod sendmail;

use clap::Parser;
use exit::Failure;
use std::process::ExitCode;

// Composing a batch is allocation-heavy (many small strings per message): with mimalloc,
// `compose --out-dir` of 10,000 drafts runs about 13% fewer instructions than with glibc's
// malloc (callgrind). The library leaves the choice of allocator to its users.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // Installed (or linked) as `sendmail`, envoi speaks sendmail's command line.
    let as_sendmail = argv
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .is_some_and(|n| n == "sendmail");
    // Installed as `mailq`, it lists the outbox, as sendmail's and Postfix's mailq do.
    if argv
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .is_some_and(|n| n == "mailq")
    {
        return finish(queue::run(args::QueueCommand::List {
            failed: false,
            json: false,
        }));
    }
    if as_sendmail {
        return finish(sendmail::run(&argv[1..]));
    }
    if argv.get(1).is_some_and(|a| a == "sendmail") {
        return finish(sendmail::run(&argv[2..]));
    }
    let cli = match args::Cli::try_parse_from(argv) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
    };
    finish(commands::run(cli))
}

fn finish(result: exit::Result) -> ExitCode {
    match result {
        Ok(()) => ExitCode::from(exit::OK),
        Err(Failure { code, message }) => {
            if !message.is_empty() {
                eprintln!("envoi: {message}");
            }
            ExitCode::from(code)
        }
    }
}
