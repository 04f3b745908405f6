//! The occurrence rules, case by case: parsing the subset, time zones, and the due dates a
//! series walks through (daylight-saving switches, short months, 29 February, COUNT, UNTIL).

use crate::tasks::series::recurrence::*;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("an RFC 3339 time")
        .with_timezone(&Utc)
}

fn rule(raw: &str) -> Rule {
    Rule::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"))
}

/// The due dates after `start` that successive completions give, up to `n`, in `zone`.
fn walk(raw: &str, zone_name: &str, start: &str, n: usize) -> Vec<String> {
    let (rule, tz) = (rule(raw), zone(zone_name).expect("a zone"));
    let start = utc(start);
    let mut due = start;
    let mut out = Vec::new();
    while out.len() < n {
        let Some(next) = next_due(&rule, tz, start, due) else {
            break;
        };
        assert!(next > due, "{raw}: {next} after {due}");
        out.push(next.with_timezone(&tz).to_rfc3339());
        due = next;
    }
    out
}

#[test]
fn parses_the_subset_into_its_canonical_spelling() {
    for (raw, canonical) in [
        ("FREQ=DAILY", "FREQ=DAILY"),
        ("rrule:freq=daily;interval=1", "FREQ=DAILY"),
        (
            "RRULE:FREQ=WEEKLY;BYDAY=FR,MO,MO",
            "FREQ=WEEKLY;BYDAY=MO,FR",
        ),
        (
            "INTERVAL=2;FREQ=MONTHLY;COUNT=3",
            "FREQ=MONTHLY;INTERVAL=2;COUNT=3",
        ),
        ("FREQ=YEARLY;UNTIL=20301231", "FREQ=YEARLY;UNTIL=20301231"),
        ("FREQ=YEARLY;UNTIL=00010101", "FREQ=YEARLY;UNTIL=00010101"),
        (
            "FREQ=DAILY;UNTIL=99991231T235959Z",
            "FREQ=DAILY;UNTIL=99991231T235959Z",
        ),
        (
            "FREQ=DAILY;UNTIL=20301231T235959z",
            "FREQ=DAILY;UNTIL=20301231T235959Z",
        ),
        (
            "FREQ=WEEKLY;INTERVAL=1000;COUNT=10000",
            "FREQ=WEEKLY;INTERVAL=1000;COUNT=10000",
        ),
    ] {
        assert_eq!(rule(raw).canonical(), canonical, "{raw}");
        assert_eq!(validate_recurrence(raw).ok().as_deref(), Some(canonical));
    }
}

#[test]
fn refuses_anything_else_naming_the_part() {
    for (raw, says) in [
        ("", "the rule is empty"),
        ("RRULE:", "the rule is empty"),
        ("FREQ=DAILY;BYMONTH=1", "BYMONTH is not supported"),
        ("FREQ=DAILY;WKST=SU", "WKST is not supported"),
        ("FREQ=MONTHLY;BYMONTHDAY=1", "BYMONTHDAY is not supported"),
        ("FREQ=DAILY;BYSETPOS=1", "BYSETPOS is not supported"),
        ("FREQ=HOURLY", "FREQ=HOURLY is not supported"),
        ("FREQ=FORTNIGHTLY", "FREQ=FORTNIGHTLY is not supported"),
        ("INTERVAL=2", "FREQ is required"),
        ("FREQ=DAILY;FREQ=WEEKLY", "FREQ is given twice"),
        (
            "FREQ=DAILY;INTERVAL=0",
            "INTERVAL must be a whole number from 1 to 1000",
        ),
        (
            "FREQ=DAILY;INTERVAL=1001",
            "INTERVAL must be a whole number from 1 to 1000",
        ),
        ("FREQ=DAILY;INTERVAL=-1", "INTERVAL must be"),
        ("FREQ=DAILY;INTERVAL=+2", "INTERVAL must be"),
        (
            "FREQ=DAILY;COUNT=0",
            "COUNT must be a whole number from 1 to 10000",
        ),
        ("FREQ=DAILY;COUNT=99999999999", "COUNT must be"),
        (
            "FREQ=DAILY;COUNT=2;UNTIL=20301231",
            "UNTIL and COUNT cannot both be given",
        ),
        (
            "FREQ=DAILY;BYDAY=MO",
            "BYDAY is only supported with FREQ=WEEKLY",
        ),
        (
            "FREQ=WEEKLY;BYDAY=1MO",
            "BYDAY=1MO: numeric prefixes are not supported",
        ),
        (
            "FREQ=WEEKLY;BYDAY=-1FR",
            "numeric prefixes are not supported",
        ),
        ("FREQ=WEEKLY;BYDAY=MONDAY", "is not a day"),
        ("FREQ=WEEKLY;BYDAY=MO,,TU", "is not a day"),
        (
            "FREQ=DAILY;UNTIL=20301231T235959",
            "UNTIL=20301231T235959 must be a date",
        ),
        ("FREQ=DAILY;UNTIL=20300231", "must be a date"),
        (
            "FREQ=DAILY;UNTIL=00000101",
            "UNTIL=00000101 must be in years 0001 to 9999",
        ),
        (
            "FREQ=DAILY;UNTIL=00001231T235959Z",
            "must be in years 0001 to 9999",
        ),
        ("FREQ=DAILY;UNTIL=tomorrow", "must be a date"),
        ("FREQ=DAILY;", "an empty part"),
        ("FREQ=DAILY;;COUNT=2", "an empty part"),
        ("FREQ", "FREQ is not a NAME=VALUE part"),
        ("FREQ=", "FREQ has no value"),
        ("DTSTART=20260101", "DTSTART is not supported"),
    ] {
        let error = validate_recurrence(raw).expect_err(raw);
        assert_eq!(error.field.as_deref(), Some("recurrence"));
        assert_eq!(error.kind, "value_error");
        assert!(error.message.contains(says), "{raw}: {}", error.message);
    }
    let long = format!("FREQ=DAILY;{}", "X".repeat(RECURRENCE_MAX_CHARS));
    let error = validate_recurrence(&long).expect_err("too long");
    assert_eq!(error.kind, "string_too_long");
}

#[test]
fn time_zones_are_iana_names_any_case() {
    assert_eq!(validate_time_zone("UTC").ok().as_deref(), Some("UTC"));
    assert_eq!(
        validate_time_zone("america/new_york").ok().as_deref(),
        Some("America/New_York")
    );
    assert_eq!(
        validate_time_zone("Europe/Berlin").ok().as_deref(),
        Some("Europe/Berlin")
    );
    for bad in ["Mars/Olympus", "", "EST+5", "Europe/Berlin "] {
        let error = validate_time_zone(bad).expect_err(bad);
        assert_eq!(error.field.as_deref(), Some("time_zone"));
        assert!(
            error.message.contains("unknown time zone"),
            "{}",
            error.message
        );
    }
}

#[test]
fn daily_keeps_the_wall_clock_time_across_new_york_switches() {
    // 2026: daylight time from 8 March, standard from 1 November.
    assert_eq!(
        walk("FREQ=DAILY", "America/New_York", "2026-03-06T14:00:00Z", 4),
        [
            "2026-03-07T09:00:00-05:00",
            "2026-03-08T09:00:00-04:00",
            "2026-03-09T09:00:00-04:00",
            "2026-03-10T09:00:00-04:00",
        ]
    );
    assert_eq!(
        walk("FREQ=DAILY", "America/New_York", "2026-10-30T13:00:00Z", 3),
        [
            "2026-10-31T09:00:00-04:00",
            "2026-11-01T09:00:00-05:00",
            "2026-11-02T09:00:00-05:00",
        ]
    );
}

#[test]
fn daily_keeps_the_wall_clock_time_across_berlin_switches() {
    // 2026: summer time from 29 March, winter time from 25 October.
    assert_eq!(
        walk("FREQ=DAILY", "Europe/Berlin", "2026-03-28T08:30:00Z", 2),
        ["2026-03-29T09:30:00+02:00", "2026-03-30T09:30:00+02:00"]
    );
    assert_eq!(
        walk("FREQ=WEEKLY", "Europe/Berlin", "2026-10-18T07:30:00Z", 2),
        ["2026-10-25T09:30:00+01:00", "2026-11-01T09:30:00+01:00"]
    );
}

#[test]
fn utc_series_ignore_daylight_saving() {
    assert_eq!(
        walk("FREQ=DAILY;INTERVAL=3", "UTC", "2026-03-07T09:00:00Z", 2),
        ["2026-03-10T09:00:00+00:00", "2026-03-13T09:00:00+00:00"]
    );
}

#[test]
fn a_time_in_the_spring_forward_gap_moves_past_it_that_day_only() {
    // 02:30 does not exist in New York on 8 March 2026: 03:30 EDT, then 02:30 again.
    assert_eq!(
        walk("FREQ=DAILY", "America/New_York", "2026-03-07T07:30:00Z", 3),
        [
            "2026-03-08T03:30:00-04:00",
            "2026-03-09T02:30:00-04:00",
            "2026-03-10T02:30:00-04:00",
        ]
    );
    // Berlin skips 02:00–03:00 on 29 March 2026.
    assert_eq!(
        walk("FREQ=DAILY", "Europe/Berlin", "2026-03-28T01:15:00Z", 2),
        ["2026-03-29T03:15:00+02:00", "2026-03-30T02:15:00+02:00"]
    );
    // Santiago skips midnight itself (00:00 → 01:00 on 6 September 2026).
    assert_eq!(
        walk("FREQ=DAILY", "America/Santiago", "2026-09-05T04:30:00Z", 2),
        ["2026-09-06T01:30:00-03:00", "2026-09-07T00:30:00-03:00"]
    );
}

#[test]
fn a_time_that_occurs_twice_is_the_first() {
    // 01:30 occurs twice in New York on 1 November 2026: the daylight-time one.
    assert_eq!(
        walk("FREQ=DAILY", "America/New_York", "2026-10-31T05:30:00Z", 2),
        ["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"]
    );
}

#[test]
fn monthly_on_the_31st_falls_on_shorter_months_last_day_and_comes_back() {
    assert_eq!(
        walk("FREQ=MONTHLY", "UTC", "2026-01-31T10:00:00Z", 5),
        [
            "2026-02-28T10:00:00+00:00",
            "2026-03-31T10:00:00+00:00",
            "2026-04-30T10:00:00+00:00",
            "2026-05-31T10:00:00+00:00",
            "2026-06-30T10:00:00+00:00",
        ]
    );
    assert_eq!(
        walk("FREQ=MONTHLY", "UTC", "2028-01-30T10:00:00Z", 2),
        ["2028-02-29T10:00:00+00:00", "2028-03-30T10:00:00+00:00"]
    );
    assert_eq!(
        walk("FREQ=MONTHLY;INTERVAL=3", "UTC", "2026-08-31T10:00:00Z", 3),
        [
            "2026-11-30T10:00:00+00:00",
            "2027-02-28T10:00:00+00:00",
            "2027-05-31T10:00:00+00:00",
        ]
    );
    // On the 15th nothing is clamped.
    assert_eq!(
        walk("FREQ=MONTHLY", "UTC", "2026-01-15T10:00:00Z", 2),
        ["2026-02-15T10:00:00+00:00", "2026-03-15T10:00:00+00:00"]
    );
}

#[test]
fn the_31st_is_the_31st_in_the_tasks_zone() {
    // 31 January 23:00 in New York is 1 February in UTC: the local day counts.
    assert_eq!(
        walk(
            "FREQ=MONTHLY",
            "America/New_York",
            "2026-02-01T04:00:00Z",
            2
        ),
        ["2026-02-28T23:00:00-05:00", "2026-03-31T23:00:00-04:00"]
    );
}

#[test]
fn yearly_on_29_february_falls_on_28_february_in_other_years() {
    assert_eq!(
        walk("FREQ=YEARLY", "UTC", "2024-02-29T08:00:00Z", 4),
        [
            "2025-02-28T08:00:00+00:00",
            "2026-02-28T08:00:00+00:00",
            "2027-02-28T08:00:00+00:00",
            "2028-02-29T08:00:00+00:00",
        ]
    );
    assert_eq!(
        walk("FREQ=YEARLY", "UTC", "2026-03-01T08:00:00Z", 2),
        ["2027-03-01T08:00:00+00:00", "2028-03-01T08:00:00+00:00"]
    );
}

#[test]
fn weekly_by_day_and_interval() {
    // 2026-11-23 is a Monday.
    assert_eq!(
        walk(
            "FREQ=WEEKLY;BYDAY=MO,WE,FR",
            "UTC",
            "2026-11-23T09:00:00Z",
            4
        ),
        [
            "2026-11-25T09:00:00+00:00",
            "2026-11-27T09:00:00+00:00",
            "2026-11-30T09:00:00+00:00",
            "2026-12-02T09:00:00+00:00",
        ]
    );
    assert_eq!(
        walk(
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU",
            "UTC",
            "2026-11-24T09:00:00Z",
            2
        ),
        ["2026-12-08T09:00:00+00:00", "2026-12-22T09:00:00+00:00"]
    );
    // Started on a Wednesday, repeating on Mondays: the Wednesday is the first due date.
    assert_eq!(
        walk(
            "FREQ=WEEKLY;BYDAY=MO;COUNT=3",
            "UTC",
            "2026-11-25T09:00:00Z",
            5
        ),
        ["2026-11-30T09:00:00+00:00", "2026-12-07T09:00:00+00:00"]
    );
}

#[test]
fn count_counts_the_first_due_date() {
    assert!(walk("FREQ=DAILY;COUNT=1", "UTC", "2026-11-24T09:00:00Z", 5).is_empty());
    assert_eq!(
        walk("FREQ=DAILY;COUNT=3", "UTC", "2026-11-24T09:00:00Z", 5),
        ["2026-11-25T09:00:00+00:00", "2026-11-26T09:00:00+00:00"]
    );
}

#[test]
fn until_is_the_last_possible_due_date() {
    // A UTC instant: an occurrence exactly at it is the last.
    assert_eq!(
        walk(
            "FREQ=DAILY;UNTIL=20261126T090000Z",
            "UTC",
            "2026-11-24T09:00:00Z",
            5
        ),
        ["2026-11-25T09:00:00+00:00", "2026-11-26T09:00:00+00:00"]
    );
    // A date: the local date in the task's zone (23:00 in New York is the next day in UTC).
    assert_eq!(
        walk(
            "FREQ=DAILY;UNTIL=20261126",
            "America/New_York",
            "2026-11-25T04:00:00Z",
            5
        ),
        ["2026-11-25T23:00:00-05:00", "2026-11-26T23:00:00-05:00"]
    );
    // Already past when set, or before the first due date: the first completion ends it.
    assert!(
        walk(
            "FREQ=DAILY;UNTIL=20200101",
            "UTC",
            "2026-11-24T09:00:00Z",
            5
        )
        .is_empty()
    );
    assert!(
        walk(
            "FREQ=WEEKLY;UNTIL=20261130",
            "UTC",
            "2026-11-24T09:00:00Z",
            5
        )
        .is_empty()
    );
}

#[test]
fn next_is_after_the_current_due_date_even_long_past() {
    // A series begun years ago, its due date still in 2020: one occurrence at a time.
    let (rule, tz) = (rule("FREQ=WEEKLY"), Tz::UTC);
    let start = utc("2020-01-06T09:00:00Z");
    let due = utc("2020-03-02T09:00:00Z");
    assert_eq!(
        next_due(&rule, tz, start, due),
        Some(utc("2020-03-09T09:00:00Z"))
    );
    // A due date between occurrences (moved behind the server's back) goes to the next one.
    assert_eq!(
        next_due(&rule, tz, start, utc("2020-03-03T00:00:00Z")),
        Some(utc("2020-03-09T09:00:00Z"))
    );
}

#[test]
fn the_fraction_of_a_second_is_kept() {
    let start = utc("2026-11-24T09:00:00.123456Z");
    assert_eq!(
        next_due(&rule("FREQ=DAILY"), Tz::UTC, start, start),
        Some(utc("2026-11-25T09:00:00.123456Z"))
    );
}

#[test]
fn a_series_ends_before_year_10000() {
    let start = utc("9999-06-01T00:00:00Z");
    assert_eq!(next_due(&rule("FREQ=YEARLY"), Tz::UTC, start, start), None);
    let start = utc("9999-12-31T12:00:00Z");
    assert_eq!(next_due(&rule("FREQ=DAILY"), Tz::UTC, start, start), None);
    let start = utc("0001-01-01T00:00:00Z");
    assert_eq!(
        next_due(&rule("FREQ=YEARLY;INTERVAL=1000"), Tz::UTC, start, start),
        Some(utc("1001-01-01T00:00:00Z"))
    );
}

#[test]
fn instant_resolves_every_local_time() {
    let ny = zone("America/New_York").expect("zone");
    let at = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").expect("a time");
    assert_eq!(
        instant(ny, at("2026-03-08T02:00")),
        Some(utc("2026-03-08T07:00:00Z"))
    );
    assert_eq!(
        instant(ny, at("2026-03-08T03:00")),
        Some(utc("2026-03-08T07:00:00Z"))
    );
    assert_eq!(
        instant(ny, at("2026-11-01T01:00")),
        Some(utc("2026-11-01T05:00:00Z"))
    );
    assert_eq!(
        instant(ny, at("2026-11-01T02:00")),
        Some(utc("2026-11-01T07:00:00Z"))
    );
}
