//! Composes a draft with the library and prints each submission: its envelope, then its bytes.
//!
//! `cargo run --example compose -- examples/draft.eml`

use envoi::{BccPolicy, Composer, Options};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "examples/draft.eml".into());
    let draft = std::fs::read(&path)?;
    // `split` shows the policy at work: To/Cc get one copy, Bcc recipients another.
    let composer = Composer::new(Options {
        bcc_policy: BccPolicy::Split,
        ..Options::default()
    })?;
    let composed = composer.compose(&draft)?;
    let count = composed.iter().len();
    for (i, sub) in composed.iter().enumerate() {
        println!(
            "--- submission {} of {count}: {}",
            i + 1,
            sub.envelope().to_json()
        );
        print!("{}", String::from_utf8_lossy(&sub.to_bytes()));
    }
    Ok(())
}
