//! Sharing operations of [`TaskService`] (issue 29): a list's members (the owner first), and
//! the owner adding, re-roling and removing them; a member removing themself (leaving). Each
//! one unit of work. Who may: the list must be one the caller sees (else 404, as a stranger's
//! list), and sharing is its owner's (a member asking is 403, except to leave). The model is
//! `sharing`'s, the SQL `sharing::member_store`'.

use super::SharingError;
use crate::auth::AuthUser;
use crate::error::{AppError, AppResult, FieldError};
use crate::tasks::idempotency::request::Keyed;
use crate::tasks::lists::model::List;
use crate::tasks::lists::reads;
use crate::tasks::service::{TaskService, now_micros};
use crate::tasks::sharing::member_store::{self as store, NotAdded};
use crate::tasks::sharing::{Member, Role, SharingCaps, checked_user_id};

/// Only a list's owner shares it.
const OWNER_ONLY: &str = "only the list's owner manages its members";

impl TaskService {
    /// The same service, with MAX_MEMBERS_PER_LIST and MAX_INVITES_PER_LIST.
    pub fn with_sharing_caps(mut self, members: u64, invites: u64) -> Self {
        self.sharing = SharingCaps {
            members,
            invites,
            ..self.sharing
        };
        self
    }

    /// The list `id` as `user` sees it, in their unit of work: 404 when they do not.
    async fn seen_list(
        &self,
        conn: &mut crate::db::DbConn,
        user: &AuthUser,
        id: i64,
    ) -> AppResult<List> {
        reads::find_seen(conn, user, id)
            .await?
            .map(List::from)
            .ok_or(AppError::ListNotFound)
    }

    /// The list `id` when `user` owns it: 404 when they do not see it, 403 when they are a
    /// member.
    pub(in crate::tasks) async fn owned_list(
        &self,
        conn: &mut crate::db::DbConn,
        user: &AuthUser,
        id: i64,
    ) -> AppResult<List> {
        let list = self.seen_list(conn, user, id).await?;
        if list.role != Role::Owner {
            return Err(SharingError::NotAllowed(OWNER_ONLY).into());
        }
        Ok(list)
    }

    /// [`TaskService::owned_list`] under the user's lists lock, taken first: for a write that
    /// adds a row naming the list (a member, an invite). A deletion of the list takes the same
    /// lock, so it either committed before (the list is not found: 404) or waits for this
    /// write. Read first and locked after, a deletion committed in between made the insert a
    /// row-security (members) or foreign-key (invites) violation: a 500 on PostgreSQL.
    /// (SQLite needs no lock: its write transactions run one at a time.)
    pub(in crate::tasks) async fn locked_list(
        &self,
        tx: &mut crate::db::DbConn,
        user: &AuthUser,
        id: i64,
    ) -> AppResult<List> {
        crate::tasks::unit::locks::lock_lists(tx, user).await?;
        self.owned_list(tx, user, id).await
    }

    /// Everyone on a list the user sees: its owner first, then the members as they joined.
    pub async fn members(&self, user: &AuthUser, list: i64) -> AppResult<Vec<Member>> {
        self.work
            .read(user, async |conn| {
                let seen = self.seen_list(conn, user, list).await?;
                let mut all = vec![owner_of(&seen)];
                all.extend(store::of_list(conn, list).await?);
                Ok(all)
            })
            .await
    }

    /// The owner shares their list with `member` in `role` (editor or viewer).
    pub async fn add_member(
        &self,
        user: &AuthUser,
        list: i64,
        member: &str,
        role: Role,
        once: Option<Keyed<'_, Member>>,
    ) -> AppResult<Member> {
        checked_user_id(member, "user_id")?;
        let cap = self.sharing.members;
        self.write_once(
            user,
            once,
            |m: &Member| Some(m.clone()),
            async |tx| {
                let owned = self.locked_list(tx, user, list).await?;
                if owned.user_id == member {
                    return Err(SharingError::DuplicateMember.into());
                }
                match store::insert(tx, list, member, role, now_micros(), cap).await? {
                    Ok(added) => Ok(added),
                    Err(NotAdded::Duplicate) => Err(SharingError::DuplicateMember.into()),
                    Err(NotAdded::Full) => Err(SharingError::MemberLimitReached(cap).into()),
                }
            },
        )
        .await
    }

    /// The owner changes a member's role.
    pub async fn update_member(
        &self,
        user: &AuthUser,
        list: i64,
        member: &str,
        role: Role,
    ) -> AppResult<Member> {
        self.write(user, async |tx| {
            let owned = self.owned_list(tx, user, list).await?;
            if owned.user_id == member {
                return Err(owner_stays());
            }
            store::set_role(tx, list, member, role)
                .await?
                .ok_or_else(|| SharingError::MemberNotFound.into())
        })
        .await
    }

    /// The owner removes a member, or a member leaves (`member` is themself).
    pub async fn remove_member(&self, user: &AuthUser, list: i64, member: &str) -> AppResult<()> {
        self.write(user, async |tx| {
            let seen = self.seen_list(tx, user, list).await?;
            let leaving = member == user.id();
            match seen.role {
                Role::Owner if leaving => return Err(owner_stays()),
                Role::Owner => {}
                _ if leaving => {}
                _ => return Err(SharingError::NotAllowed(OWNER_ONLY).into()),
            }
            if store::remove(tx, list, member).await? {
                Ok(())
            } else {
                Err(SharingError::MemberNotFound.into())
            }
        })
        .await
    }
}

/// The owner as the first of a list's members.
pub(in crate::tasks) fn owner_of(list: &List) -> Member {
    Member {
        user_id: list.user_id.clone(),
        role: Role::Owner,
        added_at: list.created_at,
    }
}

/// A list keeps its owner: they can neither leave it nor change their role (delete the list
/// instead).
fn owner_stays() -> AppError {
    AppError::invalid(FieldError::body(
        "user_id",
        "value_error",
        "Value error, the owner cannot leave their list or change their role (delete the \
         list instead)",
        serde_json::Value::Null,
    ))
}
