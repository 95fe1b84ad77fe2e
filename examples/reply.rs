//! A mail client's path through the library: answer a message (reply-all, quoted), attach a
//! file, tidy the draft's header, and compose it for a relay, all without the CLI.
//!
//! `cargo run --example reply -- fixtures/reply/thread-3.eml`

use envoi::build::{Attachment, Content, Editor, ReplyOptions, reply};
use envoi::{Addr, Composer, FixedClock, HashIds, Options};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "fixtures/reply/thread-3.eml".into());
    let parent = std::fs::read(&path)?;
    let me = vec![Addr::parse("me@example.net")?];
    let draft = reply(
        &parent,
        &ReplyOptions {
            all: true,
            me,
            quote: true,
        },
    )?
    .from("Me <me@example.net>")
    .bcc(["archive@example.net"])
    .attach(Attachment {
        content: Content::Bytes(b"agenda\n".to_vec()),
        filename: Some("Tagesordnung.txt".into()),
        content_type: None,
    })
    .to_vec()?;
    // The draft is plain RFC 5322: the editor changes one field and leaves the rest as built.
    let draft = Editor::new().add("X-Priority", "2").apply(&draft)?;
    // A fixed clock and hashed ids: the same input composes to the same bytes.
    let composer = Composer::new(Options::default())?
        .with_clock(FixedClock::utc(1_800_000_000))
        .with_ids(HashIds);
    let composed = composer.compose(&draft)?;
    for submission in &composed {
        println!("{}", submission.envelope().to_json());
        print!("{}", String::from_utf8_lossy(&submission.to_bytes()));
    }
    Ok(())
}
