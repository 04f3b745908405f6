//! A timestamp as a row holds it, read without trusting the writer (issue 40). Migration
//! 000069 refuses what the server cannot read (`infinity`, a date outside years 0001–9999,
//! text SQLite's date functions do not read as a calendar time), but a row can still come
//! back unreadable: a constraint dropped or never installed by a program that writes the
//! same database, or SQLite text its date functions accept and chrono does not (`2026-02-30`,
//! a trailing space). One such row must not fail every read of its owner and of every member
//! of its list, so a [`Stamp`] decodes to "unreadable" instead of failing the whole
//! statement; `tasks::task::model` and `tasks::lists::model` then answer a nullable one as null and
//! skip a row whose required one is unreadable, each logged with the row's id.
//!
//! It must not decide what an unreadable value means (the row types do) nor read a table.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::pg::Pg;
use diesel::sql_types::Timestamp;
use diesel::sqlite::Sqlite;

/// A stored timestamp (UTC without zone), or `None` when the stored value does not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromSqlRow)]
pub(crate) struct Stamp(Option<NaiveDateTime>);

impl Stamp {
    /// The time, or `None` (logged with the row and column) when it does not decode.
    pub(crate) fn read(self, table: &str, id: i64, column: &str) -> Option<NaiveDateTime> {
        self.logged(table, Some(id), None, column)
    }

    /// [`Stamp::read`] for a row known by a text key.
    pub(crate) fn read_as(self, table: &str, key: &str, column: &str) -> Option<NaiveDateTime> {
        self.logged(table, None, Some(key), column)
    }

    fn logged(
        self,
        table: &str,
        id: Option<i64>,
        key: Option<&str>,
        column: &str,
    ) -> Option<NaiveDateTime> {
        if self.0.is_none() {
            tracing::warn!(
                table,
                id,
                key,
                column,
                "a row's timestamp cannot be read (written by another program?): answered as \
                 null, or the row skipped if the column is required"
            );
        }
        self.0
    }

    /// Whether the stored value decoded.
    pub(crate) fn readable(self) -> bool {
        self.0.is_some()
    }

    /// A row's two required times (created, updated) as answered: an unreadable one is the
    /// other (the Unix epoch if neither reads). Only a write's answer gets here with one
    /// unreadable (a read skips such rows, logged), so it is not logged again.
    pub(crate) fn required(created: Stamp, updated: Stamp) -> (DateTime<Utc>, DateTime<Utc>) {
        let none = DateTime::UNIX_EPOCH.naive_utc();
        let created_at = created.0.or(updated.0).unwrap_or(none);
        (
            created_at.and_utc(),
            updated.0.unwrap_or(created_at).and_utc(),
        )
    }
}

impl From<NaiveDateTime> for Stamp {
    fn from(at: NaiveDateTime) -> Self {
        Stamp(Some(at))
    }
}

/// Both backends' own decoding (PostgreSQL's binary microseconds, SQLite's text formats and
/// Julian days), with its failure kept instead of returned: PostgreSQL's `infinity` is
/// `i64::MAX` microseconds, which chrono cannot hold.
fn tolerant<DB: Backend>(value: DB::RawValue<'_>) -> Stamp
where
    NaiveDateTime: FromSql<Timestamp, DB>,
{
    Stamp(<NaiveDateTime as FromSql<Timestamp, DB>>::from_sql(value).ok())
}

impl FromSql<Timestamp, Pg> for Stamp {
    fn from_sql(value: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        Ok(tolerant::<Pg>(value))
    }
}

impl FromSql<Timestamp, Sqlite> for Stamp {
    fn from_sql(value: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        Ok(tolerant::<Sqlite>(value))
    }
}

/// A `timestamptz` as PostgreSQL's `to_jsonb` spells it in the journal's NOTIFY (RFC 3339
/// with the session's offset; `"infinity"` for an infinite one), in UTC without zone.
impl<'de> serde::Deserialize<'de> for Stamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        Ok(Stamp(
            DateTime::parse_from_rfc3339(&text)
                .ok()
                .map(|at| at.naive_utc()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use crate::tasks::task::stamp::*;

    #[test]
    fn an_infinite_or_malformed_notify_value_is_unreadable_not_an_error() {
        let read = |json: &str| serde_json::from_str::<Stamp>(json).expect("a stamp");
        assert!(!read(r#""infinity""#).readable());
        assert!(!read(r#""2026-02-30T10:00:00+00:00""#).readable());
        assert!(read(r#""2026-11-24T10:00:00+01:00""#).readable());
    }

    #[test]
    fn sqlite_text_chrono_cannot_read_is_unreadable_not_an_error() {
        use diesel::prelude::*;
        use diesel::sql_types::Text;
        let mut conn = SqliteConnection::establish(":memory:").expect("sqlite");
        let mut read = |text: &str| -> Stamp {
            diesel::select(diesel::dsl::sql::<Timestamp>("").bind::<Text, _>(text))
                .get_result(&mut conn)
                .expect("a stamp")
        };
        for text in [
            "2026-02-30 10:00:00",
            "2026-11-24 24:00:00",
            "infinity",
            "x",
        ] {
            assert!(!read(text).readable(), "{text}");
        }
        assert!(read("2026-11-24 10:00:00.123456").readable());
    }
}
