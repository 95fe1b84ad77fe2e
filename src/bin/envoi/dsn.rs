//! Delivery status notification options: `envoi send --dsn-*` and sendmail's -N, -R, -V, read
//! into the library's `Dsn` (which the relay sends when the server offers DSN).

use envoi::relay::{Dsn, RelayError};

/// `envoi send`'s DSN options (over `[relay]` dsn_notify / dsn_return).
#[derive(clap::Args, Debug, Default, Clone)]
pub struct DsnArgs {
    /// Ask for delivery status notifications: `never`, or a list of success, failure, delay
    #[arg(long, value_name = "WHEN")]
    pub dsn_notify: Option<String>,
    /// What a failure notification returns: `full` (the message) or `hdrs` (its header)
    #[arg(long, value_name = "full|hdrs")]
    pub dsn_return: Option<String>,
    /// The envelope identifier the notifications quote
    #[arg(long, value_name = "ID")]
    pub dsn_envid: Option<String>,
}

impl DsnArgs {
    /// The request these options make; the error names what is wrong with a value.
    pub fn dsn(&self) -> Result<Dsn, String> {
        read(
            self.dsn_notify.as_deref(),
            self.dsn_return.as_deref(),
            self.dsn_envid.as_deref(),
        )
    }
}

/// A request from the three values as given (sendmail's -N, -R, -V or send's options).
pub fn read(notify: Option<&str>, ret: Option<&str>, envid: Option<&str>) -> Result<Dsn, String> {
    let text = |e: RelayError| e.message().to_owned();
    let mut d = Dsn::default();
    if let Some(n) = notify {
        d = d.with_notify(n.parse().map_err(text)?);
    }
    if let Some(r) = ret {
        d = d.with_ret(r.parse().map_err(text)?);
    }
    if let Some(id) = envid {
        d = d.with_envid(id).map_err(text)?;
    }
    Ok(d)
}
