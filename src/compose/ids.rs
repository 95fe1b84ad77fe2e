//! Message-ID sources (RFC 5322 §3.6.4): unique ones (UUID v7) for real mail, and ones derived from
//! a hash of the draft for reproducible output.

use crate::clock::Now;

/// Makes the `<left@right>` value of a new Message-ID or Resent-Message-ID.
pub trait IdSource: Send + Sync {
    /// `field` is the field being filled, so that one draft can get distinct ids for both.
    fn message_id(&self, now: &Now, draft: &[u8], domain: &str, field: &str) -> String;
}

/// Globally unique: a UUID v7 (time-ordered, 74 random bits) at the id domain.
#[derive(Debug, Default, Clone, Copy)]
pub struct UuidIds;

impl IdSource for UuidIds {
    fn message_id(&self, now: &Now, _draft: &[u8], domain: &str, _field: &str) -> String {
        let ts = uuid::Timestamp::from_unix(uuid::NoContext, now.unix.max(0) as u64, now.nanos);
        // Hex-encoded into a stack buffer: the formatting machinery costs more than the UUID.
        let mut hex = [0u8; uuid::fmt::Simple::LENGTH];
        let hex = uuid::Uuid::new_v7(ts).simple().encode_lower(&mut hex);
        angle_id(hex, domain)
    }
}

/// `<left@domain>`
fn angle_id(left: &str, domain: &str) -> String {
    let mut id = String::with_capacity(left.len() + domain.len() + 3);
    id.push('<');
    id.push_str(left);
    id.push('@');
    id.push_str(domain);
    id.push('>');
    id
}

/// Deterministic: a 128-bit hash of the draft, so the same input composes to the same bytes.
#[derive(Debug, Default, Clone, Copy)]
pub struct HashIds;

impl IdSource for HashIds {
    fn message_id(&self, _now: &Now, draft: &[u8], domain: &str, field: &str) -> String {
        let seed = xxhash_rust::xxh3::xxh3_64(field.as_bytes());
        let hash = xxhash_rust::xxh3::xxh3_128_with_seed(draft, seed);
        // The bytes of a UUID are only a carrier for the hash here: `simple()` is its 32 hex
        // digits, the same text as `{:032x}` without the formatter's cost.
        let mut hex = [0u8; uuid::fmt::Simple::LENGTH];
        let hex = uuid::Uuid::from_u128(hash).simple().encode_lower(&mut hex);
        angle_id(hex, domain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, FixedClock};

    #[test]
    fn uuid_ids_differ_within_one_second() {
        let now = FixedClock::utc(1_800_000_000).now();
        let a = UuidIds.message_id(&now, b"x", "d.example", "Message-ID");
        let b = UuidIds.message_id(&now, b"x", "d.example", "Message-ID");
        assert_ne!(a, b);
        assert!(a.starts_with('<') && a.ends_with("@d.example>"));
    }

    #[test]
    fn hash_ids_are_stable_and_field_specific() {
        let now = FixedClock::utc(0).now();
        let a = HashIds.message_id(&now, b"draft", "d", "Message-ID");
        assert_eq!(a, HashIds.message_id(&now, b"draft", "d", "Message-ID"));
        assert_ne!(
            a,
            HashIds.message_id(&now, b"draft", "d", "Resent-Message-ID")
        );
        assert_ne!(a, HashIds.message_id(&now, b"draft2", "d", "Message-ID"));
        let seed = xxhash_rust::xxh3::xxh3_64(b"Message-ID");
        let hash = xxhash_rust::xxh3::xxh3_128_with_seed(b"draft", seed);
        assert_eq!(a, format!("<{hash:032x}@d>"));
    }
}
