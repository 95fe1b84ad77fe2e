//! Exit codes (sysexits.h, as sendmail and msmtp use them) and the failure type that carries one.

use envoi::ComposeError;
use envoi::config::ConfigError;
use envoi::relay::RelayError;

pub const OK: u8 = 0;
pub const USAGE: u8 = 64;
pub const DATAERR: u8 = 65;
pub const NOINPUT: u8 = 66;
pub const IOERR: u8 = 74;
pub const TEMPFAIL: u8 = 75;
pub const CONFIG: u8 = 78;

/// A message for stderr and the code to exit with.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn new(code: u8, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
        }
    }
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure::new(USAGE, message)
    }
    /// A composing error about the draft called `name`.
    pub fn compose(name: &str, e: ComposeError) -> Failure {
        match e {
            ComposeError::Draft(f) => Failure::new(DATAERR, format!("{name}: {f}")),
            ComposeError::Option(e) => Failure::usage(e.to_string()),
        }
    }
    pub fn config(e: ConfigError) -> Failure {
        Failure::new(CONFIG, e.to_string())
    }
    pub fn relay(e: &RelayError) -> Failure {
        Failure::new(e.exit_code(), e.to_string())
    }
    pub fn write(what: &std::path::Path, e: std::io::Error) -> Failure {
        Failure::new(IOERR, format!("cannot write {}: {e}", what.display()))
    }
}

pub type Result<T = ()> = std::result::Result<T, Failure>;
