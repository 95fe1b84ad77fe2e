//! The async relay (feature `tokio`): composes a draft once, then submits it twice at the same
//! time from two tasks, each with its own relay and so its own connection.
//!
//! `cargo run --features tokio --example send_async -- HOST PORT DRAFT` (plain SMTP, loopback
//! only, like examples/send.rs).

use envoi::relay::join_addrs;
use envoi::relay::smtp::{AsyncSmtpRelay, SmtpSettings, TlsMode};
use envoi::{Composer, Envelope, Options};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [host, port, draft] = args.as_slice() else {
        return Err("usage: send_async HOST PORT DRAFT".into());
    };
    let settings = SmtpSettings::builder(host.as_str())
        .port(port.parse()?)
        .tls(TlsMode::None)
        .build()?;
    let draft = std::fs::read(draft)?;
    let composed = Composer::new(Options::default())?.compose(&draft)?;
    let id = composed.message_id().to_owned();
    // Owned copies, so that the tasks ('static) can share them.
    let messages: Arc<Vec<(Envelope, Vec<u8>)>> = Arc::new(
        composed
            .iter()
            .map(|s| (s.envelope().clone(), s.to_bytes()))
            .collect(),
    );
    let tasks: Vec<_> = (1..=2)
        .map(|task| {
            let (settings, messages, id) = (settings.clone(), Arc::clone(&messages), id.clone());
            tokio::spawn(async move {
                let mut relay = AsyncSmtpRelay::new(settings);
                let mut lines = Vec::new();
                for (envelope, bytes) in messages.iter() {
                    let delivery = relay.submit(envelope, bytes).await?;
                    lines.push(format!(
                        "task {task}: {id} accepted: {}",
                        join_addrs(&delivery.accepted)
                    ));
                }
                relay.close().await;
                Ok::<_, envoi::RelayError>(lines)
            })
        })
        .collect();
    for t in tasks {
        for line in t.await?? {
            println!("{line}");
        }
    }
    Ok(())
}
