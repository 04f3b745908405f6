//! Better Auth's `session` table, read-only: the one query that turns an opaque session token
//! into its user, for when Better Auth shares our database.
//!
//! Better Auth owns and migrates this table; we never write it and our migrations never create
//! it. Its columns are camelCase (`"userId"`, `"expiresAt"`), and `expiresAt` is stored however
//! Better Auth's adapter stores dates: `timestamptz` (or `timestamp`) on PostgreSQL, and on
//! SQLite ISO-8601 text or a Unix time in milliseconds. [`SessionExpiry`] reads all of them.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Text, Timestamptz};
use diesel::sqlite::Sqlite;
use diesel_async::RunQueryDsl;

use crate::db::DbConn;
use crate::db_run;

/// The SQL type of `"expiresAt"`: PostgreSQL's timestamp, SQLite's text (or integer).
#[derive(Debug, Clone, Copy, diesel::sql_types::SqlType, diesel::query_builder::QueryId)]
#[diesel(postgres_type(oid = 1184, array_oid = 1185))]
#[diesel(sqlite_type(name = "Text"))]
pub struct BetterAuthTime;

diesel::table! {
    use diesel::sql_types::Text;
    use super::BetterAuthTime;

    /// Better Auth's sessions (only the columns we read).
    #[sql_name = "session"]
    better_auth_session (token) {
        token -> Text,
        #[sql_name = "userId"]
        user_id -> Text,
        #[sql_name = "expiresAt"]
        expires_at -> BetterAuthTime,
    }
}

/// When a session ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromSqlRow)]
pub struct SessionExpiry(pub DateTime<Utc>);

// PostgreSQL sends `timestamp` and `timestamptz` in the same binary form (microseconds since
// 2000-01-01), and Better Auth writes UTC, so one reading serves both column types.
impl FromSql<BetterAuthTime, Pg> for SessionExpiry {
    fn from_sql(
        value: <Pg as diesel::backend::Backend>::RawValue<'_>,
    ) -> deserialize::Result<Self> {
        <DateTime<Utc> as FromSql<Timestamptz, Pg>>::from_sql(value).map(SessionExpiry)
    }
}

// SQLite has no date type: the value is read as text (an integer column converts to its
// digits) and parsed by `parse_stored_time`.
impl FromSql<BetterAuthTime, Sqlite> for SessionExpiry {
    fn from_sql(
        value: <Sqlite as diesel::backend::Backend>::RawValue<'_>,
    ) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, Sqlite>>::from_sql(value)?;
        parse_stored_time(&text)
            .map(SessionExpiry)
            .ok_or_else(|| format!("unrecognised session expiry {text:?}").into())
    }
}

/// Reads a date as Better Auth's adapters store it on SQLite: RFC 3339 (`…T…Z`, what its
/// Kysely adapter writes), `YYYY-MM-DD HH:MM:SS[.fff]` (UTC), or Unix time in milliseconds
/// (Prisma, Drizzle's `timestamp_ms`) or seconds (Drizzle's `timestamp`).
pub fn parse_stored_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(number) = text.parse::<i64>() {
        // 10^11 seconds is the year 5138 and 10^11 milliseconds is 1973: no real expiry is
        // ambiguous.
        return if number.abs() >= 100_000_000_000 {
            Utc.timestamp_millis_opt(number).single()
        } else {
            Utc.timestamp_opt(number, 0).single()
        };
    }
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&Utc));
    }
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .map(|naive| naive.and_utc())
}

/// A session row: whose it is and until when.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct SessionRow {
    /// Better Auth's user id.
    pub user_id: String,
    /// When the session ends.
    pub expires_at: SessionExpiry,
}

/// The session whose token is `token`, expired or not (the caller decides).
pub async fn find_session(conn: &mut DbConn, token: &str) -> QueryResult<Option<SessionRow>> {
    use better_auth_session::dsl as session;
    db_run!(conn, |c| {
        session::better_auth_session
            .filter(session::token.eq(token))
            .select((session::user_id, session::expires_at))
            .first::<SessionRow>(c)
            .await
            .optional()
    })
}

/// Whether Better Auth's `session` table is there to read (checked once at start, so a
/// missing table is reported then rather than as 503s later).
pub async fn session_table_readable(conn: &mut DbConn) -> QueryResult<()> {
    use better_auth_session::dsl as session;
    db_run!(conn, |c| {
        session::better_auth_session
            .select(session::token)
            .limit(0)
            .load::<String>(c)
            .await
            .map(drop)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_stored_date_shape() {
        let want = Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap();
        for text in [
            "2026-11-23T10:00:00.000Z",
            "2026-11-23T10:00:00Z",
            "2026-11-23T11:00:00+01:00",
            "2026-11-23 10:00:00",
            "2026-11-23 10:00:00.000",
            "2026-11-23T10:00:00",
            "1795428000000",
            "1795428000",
        ] {
            assert_eq!(parse_stored_time(text), Some(want), "{text}");
        }
        assert_eq!(parse_stored_time("tomorrow"), None);
        assert_eq!(parse_stored_time(""), None);
    }
}
