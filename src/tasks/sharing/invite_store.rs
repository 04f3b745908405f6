//! Invite-link SQL (issue 29): a list's invites, the live ones counted for the cap, making
//! one (under the owner's lists lock), revoking one, and accepting one: on PostgreSQL one
//! call of `invite_accept` (`invite_accept.sql`: the caller, not yet a member, may not see the
//! invite or the members under row security), on SQLite the same steps one statement each.
//! The service checks first that the caller owns the list for everything but accepting;
//! every statement here names its list, or (accepting) the token's hash, the capability.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};
use diesel_async::RunQueryDsl;

use crate::auth::AuthUser;
use crate::db::pg::PgConn;
use crate::db::schema::list_invites::dsl as li;
use crate::db::schema::list_members::dsl as lm;
use crate::db::{DbConn, PerStore};
use crate::db_run;
use crate::tasks::sharing::member_store::NotAdded;
use crate::tasks::sharing::{Invite, Role};
use crate::tasks::visibility::{actor, member_row};

/// A row of `list_invites`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = crate::db::schema::list_invites)]
pub(in crate::tasks) struct InviteRow {
    pub(in crate::tasks) token_hash: String,
    pub(in crate::tasks) list_id: i64,
    pub(in crate::tasks) role: String,
    pub(in crate::tasks) created_by: String,
    pub(in crate::tasks) created_at: NaiveDateTime,
    pub(in crate::tasks) expires_at: NaiveDateTime,
    pub(in crate::tasks) revoked: bool,
}

impl From<InviteRow> for Invite {
    fn from(row: InviteRow) -> Self {
        Invite {
            id: row.token_hash,
            token: None,
            role: Role::stored(&row.role),
            created_by: row.created_by,
            created_at: row.created_at.and_utc(),
            expires_at: row.expires_at.and_utc(),
            revoked: row.revoked,
        }
    }
}

/// The invites of `list`, oldest first: with `live_at`, only those neither revoked nor
/// expired then; without, every one kept (the dead ones until the prune drops them).
pub(in crate::tasks) async fn of_list(
    conn: &mut DbConn,
    list: i64,
    live_at: Option<NaiveDateTime>,
) -> QueryResult<Vec<Invite>> {
    let rows: Vec<InviteRow> = db_run!(conn, |c| {
        let mut query = li::list_invites
            .filter(li::list_id.eq(list))
            .order_by((li::created_at.asc(), li::token_hash.asc()))
            .select(InviteRow::as_select())
            .into_boxed();
        if let Some(now) = live_at {
            query = query
                .filter(li::revoked.eq(false))
                .filter(li::expires_at.gt(now));
        }
        query.load(c).await
    })?;
    Ok(rows.into_iter().map(Invite::from).collect())
}

/// Stores `row` for the viewer's list while it has fewer than `cap` live invites (neither
/// revoked nor expired at `now`); `false` at the cap. The caller holds the viewer's lists
/// lock (`TaskService::locked_list`), so two creates count one after the other.
pub(in crate::tasks) async fn insert(
    conn: &mut DbConn,
    row: &InviteRow,
    now: NaiveDateTime,
    cap: u64,
) -> QueryResult<bool> {
    let cap = i64::try_from(cap).unwrap_or(i64::MAX);
    let live: i64 = db_run!(conn, |c| {
        li::list_invites
            .filter(li::list_id.eq(row.list_id))
            .filter(li::revoked.eq(false))
            .filter(li::expires_at.gt(now))
            .count()
            .get_result(c)
            .await
    })?;
    if live >= cap {
        return Ok(false);
    }
    db_run!(conn, |c| {
        diesel::insert_into(li::list_invites)
            .values(row)
            .execute(c)
            .await
    })?;
    Ok(true)
}

/// Revokes the invite of `list` whose hash is `hash` at `now`; whether there was one. Its
/// `expires_at` becomes `now` unless it was earlier (a revoked link stopped working then),
/// so the prune keeps it INVITE_RETENTION from its revocation, as an expired one from its
/// expiry (`maintenance::prune_dead_invites`).
pub(in crate::tasks) async fn revoke(
    conn: &mut DbConn,
    list: i64,
    hash: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    use diesel::dsl::case_when;
    let changed = db_run!(conn, |c| {
        diesel::update(
            li::list_invites
                .filter(li::list_id.eq(list))
                .filter(li::token_hash.eq(hash)),
        )
        .set((
            li::revoked.eq(true),
            li::expires_at.eq(
                case_when(li::expires_at.gt(now), now.into_sql::<Timestamp>())
                    .otherwise(li::expires_at),
            ),
        ))
        .execute(c)
        .await
    })?;
    Ok(changed > 0)
}

/// What accepting an invite did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::tasks) enum Accepted {
    /// The viewer joined `list`.
    Joined(i64),
    /// The viewer already was its owner or a member: nothing changed.
    Member(i64),
    /// The list has `cap` members already.
    Full,
}

/// One row of `invite_accept`'s answer.
#[derive(QueryableByName)]
struct AcceptRow {
    #[diesel(sql_type = Text)]
    outcome: String,
    #[diesel(sql_type = BigInt)]
    list: i64,
}

/// The viewer accepts the invite whose token hashes to `hash` (`None`: no such live invite).
pub(in crate::tasks) async fn accept(
    conn: &mut DbConn,
    viewer: &AuthUser,
    hash: &str,
    now: NaiveDateTime,
    cap: u64,
) -> QueryResult<Option<Accepted>> {
    conn.per_store(Accept {
        viewer,
        hash,
        now,
        cap,
    })
    .await
}

/// One acceptance of an invite ([`accept`]).
struct Accept<'a> {
    viewer: &'a AuthUser,
    hash: &'a str,
    now: NaiveDateTime,
    cap: u64,
}

impl PerStore for Accept<'_> {
    type Output = QueryResult<Option<Accepted>>;

    /// Row security hides the invite from a user who is not a member yet: the database's
    /// function reads it (and adds the caller, `app.user_id`) in one statement.
    async fn postgres(self, conn: &mut PgConn) -> Self::Output {
        let cap = i64::try_from(self.cap).unwrap_or(i64::MAX);
        let rows: QueryResult<Vec<AcceptRow>> =
            diesel::sql_query("SELECT outcome, list FROM invite_accept($1, $2, $3)")
                .bind::<Text, _>(self.hash)
                .bind::<Timestamp, _>(self.now)
                .bind::<BigInt, _>(cap)
                .load(conn)
                .await;
        match rows {
            Err(diesel::result::Error::DatabaseError(_, info))
                if info.message() == "todo_api refused: member_limit" =>
            {
                Ok(Some(Accepted::Full))
            }
            rows => Ok(rows?
                .into_iter()
                .next()
                .map(|row| match row.outcome.as_str() {
                    "joined" => Accepted::Joined(row.list),
                    _ => Accepted::Member(row.list),
                })),
        }
    }

    /// The same steps (one write transaction at a time: no lock needed).
    async fn sqlite(self, conn: &mut DbConn) -> Self::Output {
        let Accept {
            viewer,
            hash,
            now,
            cap,
        } = self;
        let invite: Option<InviteRow> = db_run!(conn, |c| {
            li::list_invites
                .filter(li::token_hash.eq(hash))
                .filter(li::revoked.eq(false))
                .filter(li::expires_at.gt(now))
                .select(InviteRow::as_select())
                .first(c)
                .await
                .optional()
        })?;
        let Some(invite) = invite else {
            return Ok(None);
        };
        let me = actor(viewer);
        // Only a list's owner makes its invites: `created_by` is the owner.
        let member: Option<String> = db_run!(conn, |c| {
            lm::list_members
                .filter(member_row(invite.list_id, me))
                .select(lm::role)
                .first(c)
                .await
                .optional()
        })?;
        if invite.created_by == me || member.is_some() {
            return Ok(Some(Accepted::Member(invite.list_id)));
        }
        let role = Role::stored(&invite.role);
        Ok(Some(
            match crate::tasks::sharing::member_store::insert(
                conn,
                invite.list_id,
                me,
                role,
                now,
                cap,
            )
            .await?
            {
                Ok(_) => Accepted::Joined(invite.list_id),
                Err(NotAdded::Duplicate) => Accepted::Member(invite.list_id),
                Err(NotAdded::Full) => Accepted::Full,
            },
        ))
    }
}
