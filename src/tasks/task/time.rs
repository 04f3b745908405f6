//! How both APIs spell a point in time: RFC 3339 in UTC with a `Z` and exactly six fractional
//! digits (`2026-11-23T09:00:00.123456Z`), as chrono's
//! `to_rfc3339_opts(SecondsFormat::Micros, true)` spells it. A list answer holds two to four
//! timestamps per task, so the common case is written digit by digit, with no formatter.

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};

/// The spelling of one time, on the stack.
#[derive(Clone, Copy)]
pub struct Rfc3339([u8; 27]);

impl Rfc3339 {
    /// The spelling, or `None` where chrono's own is needed: years outside four digits (a
    /// sign, more digits) and a leap second (`:60`), rare enough to take the slow path.
    pub fn new(at: DateTime<Utc>) -> Option<Rfc3339> {
        let at = at.naive_utc();
        let (date, time) = (at.date(), at.time());
        let year = u32::try_from(date.year()).ok().filter(|y| *y <= 9999)?;
        let nanos = time.nanosecond();
        if nanos >= 1_000_000_000 {
            return None;
        }
        fn put(out: &mut [u8], mut n: u32) {
            for digit in out.iter_mut().rev() {
                *digit = b'0' + (n % 10) as u8;
                n /= 10;
            }
        }
        let mut out = *b"0000-00-00T00:00:00.000000Z";
        put(&mut out[0..4], year);
        put(&mut out[5..7], date.month());
        put(&mut out[8..10], date.day());
        put(&mut out[11..13], time.hour());
        put(&mut out[14..16], time.minute());
        put(&mut out[17..19], time.second());
        put(&mut out[20..26], nanos / 1_000);
        Some(Rfc3339(out))
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII digits and punctuation are ever written.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// The spelling of `at` as a `String`.
pub fn rfc3339(at: DateTime<Utc>) -> String {
    match Rfc3339::new(at) {
        Some(fast) => fast.as_str().to_owned(),
        None => at.to_rfc3339_opts(SecondsFormat::Micros, true),
    }
}

#[cfg(test)]
mod tests {
    use crate::tasks::task::time::*;

    fn chrono_spelling(at: DateTime<Utc>) -> String {
        at.to_rfc3339_opts(SecondsFormat::Micros, true)
    }

    /// The same spelling as chrono's, at the edges and over every month, day and hour of a
    /// few centuries.
    #[test]
    fn spelt_as_chrono_spells_it() {
        let mut times: Vec<i64> = vec![
            0,
            1,
            999_999,
            1_795_000_000_123_456,
            -62_135_596_800_000_000,
            253_402_300_799_999_999,
            253_402_300_800_000_000, // year 10000
            -62_167_219_200_000_001, // before year 0
        ];
        let mut micros: i64 = -2_208_988_800_000_000; // 1900
        while micros < 7_258_118_400_000_000 {
            // up to 2200, at odd microseconds
            times.push(micros);
            micros += 3_600_000_000 * 7 + 123_457;
        }
        for micros in times {
            let at = DateTime::<Utc>::from_timestamp_micros(micros).expect("in range");
            assert_eq!(rfc3339(at), chrono_spelling(at), "{micros}");
        }
        let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
            .and_then(|d| d.and_hms_micro_opt(23, 59, 59, 1_500_000))
            .expect("a leap second")
            .and_utc();
        assert!(Rfc3339::new(leap).is_none());
        assert_eq!(rfc3339(leap), chrono_spelling(leap));
    }
}
