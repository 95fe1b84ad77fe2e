//! The `envoi` command line: parses arguments, reads drafts, prints results and maps outcomes to
//! sysexits codes. No mail logic lives here; the library is the product.

mod args;
mod commands;
mod exit;
mod input;

use clap::Parser;
use exit::Failure;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match args::Cli::try_parse() {
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
    match commands::run(cli) {
        Ok(()) => ExitCode::from(exit::OK),
        Err(Failure { code, message }) => {
            if !message.is_empty() {
                eprintln!("envoi: {message}");
            }
            ExitCode::from(code)
        }
    }
}
