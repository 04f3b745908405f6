//! Repeating tasks: the supported subset of RFC 5545 RRULEs ([`Rule`]: parsed and checked here,
//! with an error naming the part that is wrong), IANA time zones ([`zone`]), and the next due
//! date of a series ([`next_due`]). The calendar arithmetic is the `rrule` crate's; what this
//! module adds is the rules on top of it (docs/TASK_MODEL.md, "Repeating tasks"):
//!
//! - the due date a series began with (`tasks.recurrence_start`) is its first due date, and
//!   `COUNT` counts it;
//! - occurrences keep their wall-clock time in the task's zone: `rrule` computes them as local
//!   times (in a zone without daylight saving), and [`instant`] places each in the zone: a
//!   time that occurs twice is the first, a time in a spring-forward gap is read with the
//!   offset before the gap (RFC 5545 §3.3.5: 02:30 in New York on the switch day is 03:30 EDT);
//! - a monthly series on the 29th–31st falls on a shorter month's last day
//!   (`BYMONTHDAY=d,-1;BYSETPOS=1`), and a yearly one on 29 February on 28 February.
//!
//! A leaf: it must not depend on the store or the service.

// A `FieldError` is large, but validation failures are the cold path.
#![allow(clippy::result_large_err)]

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeZone,
    Timelike, Utc, Weekday,
};
use chrono_tz::Tz;
use rrule::{Frequency, NWeekday, RRule};
use serde_json::{Value, json};

use crate::error::FieldError;

/// Longest recurrence accepted, in characters (the longest rule of the subset is about 90).
pub const RECURRENCE_MAX_CHARS: usize = 200;
/// Largest `INTERVAL`.
pub const INTERVAL_MAX: u16 = 1000;
/// Largest `COUNT`.
pub const COUNT_MAX: u32 = 10_000;
/// The rule parts supported, in the order the canonical spelling writes them.
const PARTS: &str = "FREQ, INTERVAL, BYDAY, UNTIL and COUNT";

/// How often a series repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freq {
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

impl Freq {
    fn name(self) -> &'static str {
        match self {
            Freq::Daily => "DAILY",
            Freq::Weekly => "WEEKLY",
            Freq::Monthly => "MONTHLY",
            Freq::Yearly => "YEARLY",
        }
    }
}

/// Where a series ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// It repeats for ever.
    Never,
    /// After this many due dates in all, the first included.
    Count(u32),
    /// With the last occurrence on or before this local date (in the task's zone).
    UntilDate(NaiveDate),
    /// With the last occurrence at or before this instant.
    UntilInstant(DateTime<Utc>),
}

/// A recurrence rule of the supported subset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub freq: Freq,
    /// 1 to [`INTERVAL_MAX`].
    pub interval: u16,
    /// Weekdays of a weekly rule, Monday first; empty: the first due date's weekday.
    pub by_day: Vec<Weekday>,
    pub end: End,
}

/// A value error about `field`, pydantic-style.
fn value_error(field: &str, message: impl std::fmt::Display, input: &str) -> FieldError {
    FieldError::body(
        field,
        "value_error",
        format!("Value error, {message}"),
        Value::from(input),
    )
}

const DAYS: [(&str, Weekday); 7] = [
    ("MO", Weekday::Mon),
    ("TU", Weekday::Tue),
    ("WE", Weekday::Wed),
    ("TH", Weekday::Thu),
    ("FR", Weekday::Fri),
    ("SA", Weekday::Sat),
    ("SU", Weekday::Sun),
];

impl Rule {
    /// Parses a rule of the subset, or says which part is wrong. Names and values are
    /// case-insensitive; a leading `RRULE:` is allowed.
    pub fn parse(raw: &str) -> Result<Rule, String> {
        let upper = raw.trim().to_ascii_uppercase();
        let text = upper.strip_prefix("RRULE:").unwrap_or(&upper);
        if text.is_empty() {
            return Err("the rule is empty (null stops a task repeating)".into());
        }
        let (mut freq, mut interval, mut by_day, mut count, mut until) =
            (None, None, None, None, None);
        for part in text.split(';') {
            let Some((name, value)) = part.split_once('=') else {
                return Err(match part {
                    "" => "the rule has an empty part (a ';' too many)".to_owned(),
                    _ => format!("{part} is not a NAME=VALUE part"),
                });
            };
            if value.is_empty() {
                return Err(format!("{name} has no value"));
            }
            let seen = match name {
                "FREQ" => freq.replace(parse_freq(value)?).is_some(),
                "INTERVAL" => interval
                    .replace(parse_number(name, value, 1..=INTERVAL_MAX)?)
                    .is_some(),
                "BYDAY" => by_day.replace(parse_days(value)?).is_some(),
                "COUNT" => count
                    .replace(parse_number(name, value, 1..=COUNT_MAX)?)
                    .is_some(),
                "UNTIL" => until.replace(parse_until(value)?).is_some(),
                other => return Err(format!("{other} is not supported (only {PARTS})")),
            };
            if seen {
                return Err(format!("{name} is given twice"));
            }
        }
        let freq = freq.ok_or("FREQ is required (DAILY, WEEKLY, MONTHLY or YEARLY)")?;
        if by_day.is_some() && freq != Freq::Weekly {
            return Err("BYDAY is only supported with FREQ=WEEKLY".into());
        }
        let end = match (count, until) {
            (Some(_), Some(_)) => return Err("UNTIL and COUNT cannot both be given".into()),
            (Some(count), None) => End::Count(count),
            (None, Some(until)) => until,
            (None, None) => End::Never,
        };
        Ok(Rule {
            freq,
            interval: interval.unwrap_or(1),
            by_day: by_day.unwrap_or_default(),
            end,
        })
    }

    /// The canonical spelling, as stored and shown: `FREQ`, `INTERVAL` (unless 1), `BYDAY`
    /// (Monday first), then `UNTIL` or `COUNT`; no `RRULE:` prefix.
    pub fn canonical(&self) -> String {
        let mut parts = vec![format!("FREQ={}", self.freq.name())];
        if self.interval != 1 {
            parts.push(format!("INTERVAL={}", self.interval));
        }
        if !self.by_day.is_empty() {
            let days: Vec<&str> = self.by_day.iter().map(|d| day_name(*d)).collect();
            parts.push(format!("BYDAY={}", days.join(",")));
        }
        match self.end {
            End::Never => {}
            End::Count(n) => parts.push(format!("COUNT={n}")),
            End::UntilDate(d) => parts.push(format!("UNTIL={}", d.format("%Y%m%d"))),
            End::UntilInstant(at) => parts.push(format!("UNTIL={}", at.format("%Y%m%dT%H%M%SZ"))),
        }
        parts.join(";")
    }

    /// The rule as `rrule` evaluates it from a first due date on `local` (a wall-clock
    /// time): the day of a month or year clamped to the last day when a month lacks it.
    fn to_rrule(&self, local: NaiveDateTime) -> rrule::RRule<rrule::Unvalidated> {
        let freq = match self.freq {
            Freq::Daily => Frequency::Daily,
            Freq::Weekly => Frequency::Weekly,
            Freq::Monthly => Frequency::Monthly,
            Freq::Yearly => Frequency::Yearly,
        };
        let mut rule = RRule::new(freq).interval(self.interval);
        if !self.by_day.is_empty() {
            rule = rule.by_weekday(self.by_day.iter().map(|d| NWeekday::Every(*d)).collect());
        }
        let day = local.day() as i8;
        // The earlier of "day d" and "the last day" of each period: d when the month has it,
        // else the month's last day (RFC 5545 alone would skip that month).
        let clamped = vec![day, -1];
        match self.freq {
            Freq::Monthly if day >= 29 => rule.by_month_day(clamped).by_set_pos(vec![1]),
            Freq::Yearly if local.month() == 2 && day == 29 => rule
                .by_month(&[chrono::Month::February])
                .by_month_day(clamped)
                .by_set_pos(vec![1]),
            _ => rule,
        }
    }
}

fn day_name(day: Weekday) -> &'static str {
    DAYS.iter()
        .find(|(_, d)| *d == day)
        .map_or("MO", |(name, _)| name)
}

fn parse_freq(value: &str) -> Result<Freq, String> {
    match value {
        "DAILY" => Ok(Freq::Daily),
        "WEEKLY" => Ok(Freq::Weekly),
        "MONTHLY" => Ok(Freq::Monthly),
        "YEARLY" => Ok(Freq::Yearly),
        other => Err(format!(
            "FREQ={other} is not supported (DAILY, WEEKLY, MONTHLY or YEARLY)"
        )),
    }
}

fn parse_number<T>(name: &str, value: &str, range: std::ops::RangeInclusive<T>) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
{
    let parsed = value
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| value.parse::<T>().ok())
        .flatten()
        .filter(|n| range.contains(n));
    parsed.ok_or_else(|| {
        format!(
            "{name} must be a whole number from {} to {} (got {value})",
            range.start(),
            range.end()
        )
    })
}

/// `BYDAY`: two-letter days, comma-separated, no numeric prefix; kept Monday first, once each.
fn parse_days(value: &str) -> Result<Vec<Weekday>, String> {
    let mut days = Vec::new();
    for item in value.split(',') {
        let Some((_, day)) = DAYS.iter().find(|(name, _)| *name == item) else {
            let prefixed = item.len() > 2 && DAYS.iter().any(|(name, _)| item.ends_with(name));
            return Err(if prefixed {
                format!("BYDAY={item}: numeric prefixes are not supported (use MO … SU)")
            } else {
                format!("BYDAY: {item:?} is not a day (MO, TU, WE, TH, FR, SA or SU)")
            });
        };
        days.push(*day);
    }
    days.sort_by_key(Weekday::num_days_from_monday);
    days.dedup();
    Ok(days)
}

/// `UNTIL`: a date (`20261231`, the local date in the task's zone) or a UTC date-time
/// (`20261231T235959Z`), in years 0001–9999 as due dates are (`rules::validate_due_date`): a
/// year 0 would come back spelt in a way RFC 5545 has no room for.
fn parse_until(value: &str) -> Result<End, String> {
    let wrong =
        || format!("UNTIL={value} must be a date (20261231) or a UTC date-time (20261231T235959Z)");
    let (end, year) = if value.len() == 8 {
        let date = NaiveDate::parse_from_str(value, "%Y%m%d").map_err(|_| wrong())?;
        (End::UntilDate(date), date.year())
    } else {
        let local = value.strip_suffix('Z').ok_or_else(wrong)?;
        let at = NaiveDateTime::parse_from_str(local, "%Y%m%dT%H%M%S").map_err(|_| wrong())?;
        (End::UntilInstant(at.and_utc()), at.year())
    };
    if !(1..=9999).contains(&year) {
        return Err(format!("UNTIL={value} must be in years 0001 to 9999"));
    }
    Ok(end)
}

/// Checks a recurrence (body field `recurrence`) and returns its canonical spelling.
pub(crate) fn validate_recurrence(raw: &str) -> Result<String, FieldError> {
    if raw.chars().count() > RECURRENCE_MAX_CHARS {
        return Err(FieldError::body(
            "recurrence",
            "string_too_long",
            format!("String should have at most {RECURRENCE_MAX_CHARS} characters"),
            Value::from(raw),
        )
        .with_ctx(json!({"max_length": RECURRENCE_MAX_CHARS})));
    }
    Rule::parse(raw)
        .map(|rule| rule.canonical())
        .map_err(|why| value_error("recurrence", why, raw))
}

/// The error of a repeating task without a due date.
pub(crate) fn needs_due_date(recurrence: &str) -> FieldError {
    value_error(
        "recurrence",
        "a repeating task needs a due date (due_date)",
        recurrence,
    )
}

/// The IANA zone named `name` (case-insensitively).
pub fn zone(name: &str) -> Option<Tz> {
    name.parse::<Tz>().ok().or_else(|| {
        chrono_tz::TZ_VARIANTS
            .iter()
            .find(|tz| tz.name().eq_ignore_ascii_case(name))
            .copied()
    })
}

/// Checks a time zone (body field `time_zone`) and returns its canonical spelling.
pub(crate) fn validate_time_zone(name: &str) -> Result<String, FieldError> {
    zone(name).map(|tz| tz.name().to_owned()).ok_or_else(|| {
        value_error(
            "time_zone",
            format!("unknown time zone {name:?} (an IANA name such as Europe/Berlin or UTC)"),
            name,
        )
    })
}

/// The instant of wall-clock time `local` in `zone`: the first of a time that occurs twice;
/// a time in a gap read with the offset before the gap (so it lands as far past the gap's
/// start as it was meant to be, e.g. 02:30 → 03:30 on a one-hour spring-forward).
pub fn instant(zone: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => Some(at.with_timezone(&Utc)),
        LocalResult::None => {
            // A day earlier is before the gap (gaps are hours long, transitions months apart).
            let before = zone
                .from_local_datetime(&(local - Duration::days(1)))
                .earliest()?;
            let offset = before.offset().fix();
            offset
                .from_local_datetime(&local)
                .single()
                .map(|at| at.with_timezone(&Utc))
        }
    }
}

/// The due date after `due` of the series that began on `start` (its first due date) by
/// `rule` in `zone`, or `None` when the series has ended there (COUNT used up, past UNTIL,
/// or beyond year 9999).
pub fn next_due(
    rule: &Rule,
    zone: Tz,
    start: DateTime<Utc>,
    due: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let local = start.with_timezone(&zone).naive_local();
    // `rrule` works in whole seconds; the fraction of the first due date is kept on each.
    let fraction = Duration::nanoseconds(i64::from(local.nanosecond()));
    let whole = local.with_nanosecond(0)?;
    let dt_start = whole.and_utc().with_timezone(&rrule::Tz::UTC);
    let set = rule.to_rrule(whole).build(dt_start).ok()?;
    // The first due date is number 1, whether or not the rule itself would produce it.
    let mut number: u32 = 1;
    for occurrence in &set {
        let wall = occurrence.naive_utc() + fraction;
        if wall <= local {
            continue;
        }
        number += 1;
        let at = instant(zone, wall)?;
        let ended = match rule.end {
            End::Never => false,
            End::Count(count) => number > count,
            End::UntilDate(last) => wall.date() > last,
            End::UntilInstant(last) => at > last,
        };
        if ended || at.year() > 9999 {
            return None;
        }
        if at > due {
            return Some(at);
        }
    }
    None
}

#[cfg(test)]
mod tests;
