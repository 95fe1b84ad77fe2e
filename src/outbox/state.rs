//! The outbox's own record of a message (`ID.state.json`), and reading back the envelope that
//! the message writer stored beside it.

use crate::address::Addr;
use crate::envelope::Envelope;
use serde::{Deserialize, Serialize};

/// Where a queued message stands. Times are seconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// When it was queued.
    pub queued_at: u64,
    /// Attempts made and not accepted.
    pub attempts: u32,
    /// Not tried again before this time (a flush of every message ignores it).
    pub next_attempt: u64,
    /// Why the last attempt failed; in `failed/`, why the message was given up.
    pub last_error: Option<String>,
}

impl State {
    /// The state as stored: one JSON object and a newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string(self).unwrap_or_default();
        s.push('\n');
        s
    }

    pub(crate) fn parse(bytes: &[u8]) -> Result<State, String> {
        serde_json::from_slice(bytes).map_err(|e| format!("not an outbox state file: {e}"))
    }
}

#[derive(Deserialize)]
struct RawEnvelope {
    from: String,
    to: Vec<String>,
}

/// An envelope as [`Envelope::push_json`] wrote it.
pub(crate) fn parse_envelope(bytes: &[u8]) -> Result<Envelope, String> {
    let raw: RawEnvelope =
        serde_json::from_slice(bytes).map_err(|e| format!("not an envelope file: {e}"))?;
    let addr = |s: &str| Addr::parse(s).map_err(|e| format!("address `{s}`: {e}"));
    let from = if raw.from.is_empty() {
        return Err("the envelope has no sender".into());
    } else {
        addr(&raw.from)?
    };
    let to = raw
        .to
        .iter()
        .map(|s| addr(s))
        .collect::<Result<Vec<_>, _>>()?;
    if to.is_empty() {
        return Err("the envelope has no recipients".into());
    }
    Ok(Envelope::new(from, to))
}
