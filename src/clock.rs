//! The one place that reads the system time. Everything else takes an injected [`Clock`], so
//! golden tests are exact and `SOURCE_DATE_EPOCH` makes output reproducible.

use chrono::{DateTime, FixedOffset, Local, TimeZone, Utc};

/// A moment, with the UTC offset that a Date field should show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    pub unix: i64,
    pub nanos: u32,
    /// Seconds east of UTC.
    pub offset: i32,
}

impl Now {
    /// The moment in RFC 5322 §3.3 form, e.g. `Sun, 29 Nov 2026 04:46:28 +0100`.
    pub fn rfc5322(&self) -> String {
        let tz = FixedOffset::east_opt(self.offset)
            .unwrap_or_else(|| FixedOffset::east_opt(0).expect("0 is valid"));
        match tz.timestamp_opt(self.unix, self.nanos).single() {
            Some(t) => t.to_rfc2822(),
            None => Utc
                .timestamp_opt(0, 0)
                .single()
                .map(|t| t.to_rfc2822())
                .unwrap_or_default(),
        }
    }
}

/// Where compose gets the time from.
pub trait Clock: Send + Sync {
    fn now(&self) -> Now;
}

/// The real time, with the local UTC offset (DST included) at that moment.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Now {
        let t: DateTime<Local> = Local::now();
        Now {
            unix: t.timestamp(),
            nanos: t.timestamp_subsec_nanos(),
            offset: t.offset().local_minus_utc(),
        }
    }
}

/// Always the same moment: for tests and reproducible builds.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub Now);

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

/// Reads `SOURCE_DATE_EPOCH` (reproducible-builds.org): None when unset or empty.
pub fn source_date_epoch() -> Result<Option<i64>, String> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.trim().is_empty() => v.trim().parse::<i64>().map(Some).map_err(|_| {
            format!("SOURCE_DATE_EPOCH=`{v}` is not a whole number of seconds since 1970")
        }),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
