//! The one place that reads the system time. Everything else takes an injected [`Clock`], so
//! golden tests are exact and `SOURCE_DATE_EPOCH` makes output reproducible.

use chrono::{DateTime, Local};

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
    /// The moment in RFC 5322 §3.3 form, e.g. `Sun, 29 Nov 2026 04:46:28 +0100`: the same text
    /// as chrono's `to_rfc2822`. A moment outside the years 0000 to 9999 is clamped to them.
    pub fn rfc5322(&self) -> String {
        self.rfc5322_text().as_str().to_owned()
    }

    /// [`Now::rfc5322`] without allocating. Written by hand because it runs once per message
    /// and chrono's formatter cost more than the rest of the header edits; the last moment's
    /// text is kept per thread, because a batch composes hundreds of messages per second.
    pub(crate) fn rfc5322_text(&self) -> DateText {
        thread_local! {
            static LAST: std::cell::Cell<Option<((i64, i32), DateText)>> =
                const { std::cell::Cell::new(None) };
        }
        let key = (self.unix, self.offset);
        LAST.with(|last| match last.get() {
            Some((k, text)) if k == key => text,
            _ => {
                let text = self.format_rfc5322();
                last.set(Some((key, text)));
                text
            }
        })
    }

    fn format_rfc5322(&self) -> DateText {
        const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        // A real zone is within ±24 h; anything else is shown as UTC, as chrono would refuse it.
        let offset = if self.offset.abs() < 86_400 {
            self.offset
        } else {
            0
        };
        let local = (self.unix.clamp(*UNIX_RANGE.start(), *UNIX_RANGE.end()) + i64::from(offset))
            .clamp(*UNIX_RANGE.start(), *UNIX_RANGE.end());
        let days = local.div_euclid(86_400);
        let secs = local.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        let mut t = *b"Thu, 01 Jan 1970 00:00:00 +0000";
        t[..3].copy_from_slice(DAYS[days.rem_euclid(7) as usize].as_bytes());
        put_2(&mut t[5..7], day);
        t[8..11].copy_from_slice(MONTHS[month as usize - 1].as_bytes());
        put_2(&mut t[12..14], (year / 100) as u32);
        put_2(&mut t[14..16], (year % 100) as u32);
        put_2(&mut t[17..19], (secs / 3600) as u32);
        put_2(&mut t[20..22], (secs / 60 % 60) as u32);
        put_2(&mut t[23..25], (secs % 60) as u32);
        t[26] = if offset < 0 { b'-' } else { b'+' };
        let off = offset.unsigned_abs() / 60;
        put_2(&mut t[27..29], off / 60);
        put_2(&mut t[29..31], off % 60);
        // RFC 5322 §3.3: the day is 1*2DIGIT; chrono writes it without a leading zero.
        if day < 10 {
            t.copy_within(6.., 5);
            DateText { bytes: t, len: 30 }
        } else {
            DateText { bytes: t, len: 31 }
        }
    }
}

/// The text of a Date field, kept inline: `Thu, 1 Jan 1970 00:00:00 +0000` is 30 or 31 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DateText {
    bytes: [u8; 31],
    len: u8,
}

impl DateText {
    /// The text, e.g. `Sun, 29 Nov 2026 04:46:28 +0100`.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).expect("the template, names and digits are ASCII")
    }

    /// The text's bytes (ASCII), without [`as_str`](Self::as_str)'s UTF-8 check.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// Two ASCII digits of `n` (0–99) into `out`.
fn put_2(out: &mut [u8], n: u32) {
    out[0] = b'0' + (n / 10 % 10) as u8;
    out[1] = b'0' + (n % 10) as u8;
}

/// Year, month (1–12) and day (1–31) of a day count since 1970-01-01, proleptic Gregorian
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
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
        let Ok(d) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) else {
            // A clock set before 1970: let chrono work it out.
            let t: DateTime<Local> = Local::now();
            return Now {
                unix: t.timestamp(),
                nanos: t.timestamp_subsec_nanos(),
                offset: t.offset().local_minus_utc(),
            };
        };
        let unix = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        Now {
            unix,
            nanos: d.subsec_nanos(),
            offset: local_offset(unix),
        }
    }
}

/// The local UTC offset at `unix` (DST included), looked up in the time-zone data once per
/// minute and thread: the lookup cost as much as composing a header. Offsets change at whole
/// minutes (in practice at whole hours), so a minute never straddles a change.
fn local_offset(unix: i64) -> i32 {
    use chrono::TimeZone;
    thread_local! {
        static LAST: std::cell::Cell<(i64, i32)> = const { std::cell::Cell::new((i64::MIN, 0)) };
    }
    let minute = unix.div_euclid(60);
    LAST.with(|last| match last.get() {
        (m, offset) if m == minute => offset,
        _ => {
            let offset = Local
                .timestamp_opt(unix, 0)
                .single()
                .map_or(0, |t| t.offset().local_minus_utc());
            last.set((minute, offset));
            offset
        }
    })
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
        // The cached offset is the one for that minute, not just the last one looked up.
        assert_eq!(local_offset(now.unix), now.offset);
        assert_eq!(local_offset(0), {
            use chrono::TimeZone;
            Local
                .timestamp_opt(0, 0)
                .unwrap()
                .offset()
                .local_minus_utc()
        });
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

    /// The per-thread memo answers for the moment asked, not the one before: the same second
    /// in another zone, the next second, and back.
    #[test]
    fn remembered_text_is_the_moments_own() {
        let at = |unix, offset| Now {
            unix,
            nanos: 7,
            offset,
        };
        for n in [
            at(1_700_000_000, 0),
            at(1_700_000_000, 0),
            at(1_700_000_000, 3600),
            at(1_700_000_001, 3600),
            at(1_700_000_000, 0),
        ] {
            assert_eq!(n.rfc5322_text(), n.format_rfc5322());
        }
        assert_eq!(
            at(1_700_000_000, 3600).rfc5322(),
            "Tue, 14 Nov 2023 23:13:20 +0100"
        );
    }

    /// The hand-written formatter against chrono, over the whole range and odd offsets.
    #[test]
    fn matches_chrono() {
        use chrono::{FixedOffset, TimeZone};
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let span = (UNIX_RANGE.end() - UNIX_RANGE.start()) as u64;
        for i in 0..200_000 {
            // xorshift: spread over the range, plus every edge case below.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let unix = match i {
                0 => *UNIX_RANGE.start() + 86_400,
                1 => *UNIX_RANGE.end() - 86_400,
                2 => 951_782_400, // 2000-02-29
                3 => -1,
                _ => UNIX_RANGE.start() + (x % span) as i64,
            };
            let offset = [0, 3600, -18_000, 19_800, -34_200, 50_400, -43_200][i % 7];
            let n = Now {
                unix,
                nanos: 0,
                offset,
            };
            let tz = FixedOffset::east_opt(offset).unwrap();
            let t = tz.timestamp_opt(unix, 0).single().unwrap();
            assert_eq!(n.rfc5322(), t.to_rfc2822(), "{unix} {offset}");
        }
    }
}
