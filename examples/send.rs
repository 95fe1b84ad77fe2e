//! Composes a draft with the library and submits it over plain SMTP to a relay on loopback,
//! through the library alone (no configuration file), then prints what was accepted.
//!
//! `cargo run --example send -- HOST PORT DRAFT`, e.g. `cargo run --example send -- 127.0.0.1 2525
//! examples/draft.eml` against a local test server. Plain SMTP is only allowed toward loopback;
//! a real submission server wants `TlsMode::Starttls` and `Credentials`.

use envoi::relay::smtp::{SmtpRelay, SmtpSettings, TlsMode};
use envoi::relay::{Relay, join_addrs};
use envoi::{Composer, Options};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [host, port, draft] = args.as_slice() else {
        return Err("usage: send HOST PORT DRAFT".into());
    };
    let settings = SmtpSettings::builder(host.as_str())
        .port(port.parse()?)
        .tls(TlsMode::None)
        .build()?;
    let draft = std::fs::read(draft)?;
    let composed = Composer::new(Options::default())?.compose(&draft)?;
    let mut relay = SmtpRelay::new(settings);
    for submission in &composed {
        let delivery = relay.submit(submission.envelope(), &submission.to_bytes())?;
        println!(
            "{} accepted: {}",
            composed.message_id(),
            join_addrs(&delivery.accepted)
        );
    }
    relay.close();
    Ok(())
}
