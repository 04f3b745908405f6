//! How both APIs spell a point in time: RFC 3339 in UTC with a `Z` and exactly six fractional
//! digits (`2026-11-23T09:00:00.123456Z`), as chrono's
//! `to_rfc3339_opts(SecondsFormat::Micros, true)` spells it. A list answer holds two to four
//! timestamps per task, so the common case is written digit by digit, with no formatter.
//!
//! And how the server spells one for PostgreSQL inside JSON ([`pg_text`]): the write
//! functions take their values as one `jsonb` (`service::folded`), whose times must read back as
//! the `timestamp` a bound parameter was, to the microsecond.

use chrono::{DateTime, Datelike, NaiveDateTime, SecondsFormat, Timelike, Utc};

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

/// `at` as PostgreSQL reads a `timestamp` (or, in a UTC session, a `timestamptz`) from text:
/// cut to whole microseconds as a bound parameter is (diesel sends microseconds), six
/// fractional digits, no zone, a year past 9999 in full and one before 1 as `… BC`, where
/// chrono's own spelling (`+10000`, `-0001`) would not parse (such a value is refused by the
/// columns' CHECKs, as a bound one was).
pub(crate) fn pg_text(at: NaiveDateTime) -> String {
    let at = DateTime::<Utc>::from_timestamp_micros(at.and_utc().timestamp_micros())
        .map_or(at, |cut| cut.naive_utc());
    let year = at.year();
    let (shown, era) = if year >= 1 {
        (year, "")
    } else {
        (1 - year, " BC")
    };
    format!(
        "{shown:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}{era}",
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.nanosecond() / 1_000
    )
}

/// Serde's `serialize_with` for an optional time, as [`pg_text`] spells it (`None`: null).
pub(crate) fn pg_json<S: serde::Serializer>(
    at: &Option<NaiveDateTime>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => serializer.serialize_str(&pg_text(*at)),
        None => serializer.serialize_none(),
    }
}

/// [`pg_json`] for a change of a nullable time (`Some(None)`: null; `None` is skipped by
/// the field's `skip_serializing_if`).
pub(crate) fn pg_json_change<S: serde::Serializer>(
    at: &Option<Option<NaiveDateTime>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    pg_json(&at.flatten(), serializer)
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

    /// PostgreSQL's reading of each (checked by hand with `psql`: `'10000-01-01T00:00:00'`
    /// and `'0001-12-31T23:59:59.999999 BC'` parse, `+10000-…` does not).
    #[test]
    fn spelt_for_postgresql() {
        let at = |micros: i64| {
            DateTime::<Utc>::from_timestamp_micros(micros)
                .expect("in range")
                .naive_utc()
        };
        assert_eq!(pg_text(at(0)), "1970-01-01T00:00:00.000000");
        assert_eq!(
            pg_text(at(1_795_000_000_123_456)),
            "2026-11-18T11:06:40.123456"
        );
        assert_eq!(
            pg_text(at(253_402_300_800_000_000)),
            "10000-01-01T00:00:00.000000"
        );
        assert_eq!(
            pg_text(at(-62_135_596_800_000_001)),
            "0001-12-31T23:59:59.999999 BC"
        );
        // Nanoseconds are cut, as diesel cuts a bound value, never rounded up.
        let fine = chrono::NaiveDate::from_ymd_opt(2026, 1, 2)
            .and_then(|d| d.and_hms_nano_opt(3, 4, 5, 999_999_999))
            .expect("a time");
        assert_eq!(pg_text(fine), "2026-01-02T03:04:05.999999");
    }
}
