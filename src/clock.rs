//! The one place that reads the system time. Everything else takes an injected [`Clock`], so
//! golden tests are exact and `SOURCE_DATE_EPOCH` makes output reproducible.

use chrono::{DateTime, FixedOffset, Local, Offset, Utc};

/// A moment, with the UTC offset that a Date field should show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    /// Seconds since 1970-01-01T00:00:00Z.
    pub unix: i64,
    /// Nanoseconds within that second.
    pub nanos: u32,
    /// Seconds east of UTC.
    pub offset: i32,
}

/// The range of moments a Date field can show: years 0000 to 9999 (RFC 5322 §3.3 has four
/// digits; chrono agrees). `source_date_epoch` rejects anything outside it.
pub(crate) const UNIX_RANGE: std::ops::RangeInclusive<i64> = -62_167_219_200..=253_402_300_799;

impl Now {
    /// The moment in RFC 5322 §3.3 form, e.g. `Sun, 29 Nov 2026 04:46:28 +0100` (chrono's
    /// `to_rfc2822`). A moment outside the years 0000 to 9999 is clamped to them, in local time
    /// too; an offset of a day or more, which no zone has, is shown as UTC.
    pub fn rfc5322(&self) -> String {
        let offset = FixedOffset::east_opt(self.offset).unwrap_or(Utc.fix());
        let east = i64::from(offset.local_minus_utc());
        let (first, last) = (*UNIX_RANGE.start(), *UNIX_RANGE.end());
        let local = (self.unix.clamp(first, last) + east).clamp(first, last);
        DateTime::from_timestamp(local - east, 0)
            .expect("clamped to the range a Date field can show")
            .with_timezone(&offset)
            .to_rfc2822()
    }
}

/// Where compose gets the time from.
pub trait Clock: Send + Sync {
    /// The current moment, with the UTC offset the Date field should show.
    fn now(&self) -> Now;
}

/// The real time, with the local UTC offset (DST included) at that moment.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Now {
        let t = Local::now();
        Now {
            unix: t.timestamp(),
            nanos: t.timestamp_subsec_nanos(),
            offset: t.offset().local_minus_utc(),
        }
    }
}

/// Always the same moment: for tests and reproducible builds.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(
    /// The moment it always gives.
    pub Now,
);

impl FixedClock {
    /// A fixed moment in UTC.
    pub fn utc(unix: i64) -> FixedClock {
        FixedClock(Now {
            unix,
            nanos: 0,
            offset: 0,
        })
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Now {
        self.0
    }
}

/// Reads `SOURCE_DATE_EPOCH` (reproducible-builds.org): None when unset or empty; an error
/// (saying what is wrong) when it is not a whole number of seconds within the years 0000–9999.
pub fn source_date_epoch() -> Result<Option<i64>, String> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.trim().is_empty() => match v.trim().parse::<i64>() {
            Ok(n) if UNIX_RANGE.contains(&n) => Ok(Some(n)),
            Ok(_) => Err(format!(
                "SOURCE_DATE_EPOCH=`{v}` is outside the years 0000 to 9999 that a Date field can show"
            )),
            Err(_) => Err(format!(
                "SOURCE_DATE_EPOCH=`{v}` is not a whole number of seconds since 1970"
            )),
        },
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_clock_agrees_with_chrono() {
        let before = Local::now();
        let now = SystemClock.now();
        let after = Local::now();
        assert!((before.timestamp()..=after.timestamp()).contains(&now.unix));
        assert_eq!(now.offset, after.offset().local_minus_utc());
    }

    #[test]
    fn formats_rfc5322() {
        assert_eq!(
            FixedClock::utc(0).now().rfc5322(),
            "Thu, 1 Jan 1970 00:00:00 +0000"
        );
        let n = Now {
            unix: 1_700_000_000,
            nanos: 0,
            offset: -5 * 3600,
        };
        assert_eq!(n.rfc5322(), "Tue, 14 Nov 2023 17:13:20 -0500");
    }

    /// The ends of the range, with offsets that would push the local time past them, and
    /// offsets no zone has: clamped, never a panic.
    #[test]
    fn clamps_to_what_a_date_field_can_show() {
        let at = |unix, offset| Now {
            unix,
            nanos: 0,
            offset,
        };
        let first = *UNIX_RANGE.start();
        let last = *UNIX_RANGE.end();
        assert_eq!(at(first, -3600).rfc5322(), "Sat, 1 Jan 0000 00:00:00 -0100");
        assert_eq!(at(i64::MIN, 0).rfc5322(), "Sat, 1 Jan 0000 00:00:00 +0000");
        assert_eq!(at(last, 3600).rfc5322(), "Fri, 31 Dec 9999 23:59:59 +0100");
        assert_eq!(at(i64::MAX, 0).rfc5322(), "Fri, 31 Dec 9999 23:59:59 +0000");
        assert_eq!(at(0, 86_400).rfc5322(), "Thu, 1 Jan 1970 00:00:00 +0000");
        assert_eq!(at(0, i32::MIN).rfc5322(), "Thu, 1 Jan 1970 00:00:00 +0000");
    }
}
