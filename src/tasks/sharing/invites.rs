//! Invite links of [`TaskService`] (issue 29): the owner makes one (a token of 256 random
//! bits, shown once, stored as its SHA-256), lists and revokes them; anyone holding a live
//! token joins the list with its role. An unknown, revoked or expired token is 404; accepting
//! twice (or as the owner) is 200 with no change. The SQL is `sharing::invite_store`'.
//!
//! A revoked or expired link is listed only on request, and dropped INVITE_RETENTION after
//! it stopped working by a background job ([`TaskService::spawn_invite_prune`]), so
//! create-and-revoke cycles leave no rows behind.

use std::time::Duration;

use super::SharingError;
use crate::auth::AuthUser;
use crate::error::{AppError, AppResult};
use crate::tasks::lists::model::List;
use crate::tasks::lists::reads;
use crate::tasks::service::{TaskService, now_micros};
use crate::tasks::sharing::invite_store::{self as store, Accepted, InviteRow};
use crate::tasks::sharing::{Invite, Role, invite_hash, new_invite_token};
use crate::tasks::sync::prune::{every, in_batches};

impl TaskService {
    /// The owner makes an invite link to their list giving `role`, living `lifetime`.
    pub async fn create_invite(
        &self,
        user: &AuthUser,
        list: i64,
        role: Role,
        lifetime: Duration,
    ) -> AppResult<Invite> {
        let cap = self.sharing.invites;
        let token = new_invite_token();
        let now = now_micros();
        let lifetime = chrono::Duration::from_std(lifetime)
            .map_err(|e| AppError::Internal(format!("invite lifetime: {e}")))?;
        let row = InviteRow {
            token_hash: invite_hash(&token),
            list_id: list,
            role: role.as_str().to_owned(),
            created_by: user.id().to_owned(),
            created_at: now,
            expires_at: now + lifetime,
            revoked: false,
        };
        self.write(user, async |tx| {
            self.locked_list(tx, user, list).await?;
            if !store::insert(tx, &row, now, cap).await? {
                return Err(SharingError::InviteLimitReached(cap).into());
            }
            Ok(())
        })
        .await?;
        Ok(Invite {
            token: Some(token),
            ..Invite::from(row)
        })
    }

    /// The invite links of the owner's list, oldest first (without their tokens): the live
    /// ones, or with `all` the revoked and expired ones too, until they are pruned.
    pub async fn invites(&self, user: &AuthUser, list: i64, all: bool) -> AppResult<Vec<Invite>> {
        let live_at = (!all).then(now_micros);
        self.work
            .read(user, async |conn| {
                self.owned_list(conn, user, list).await?;
                Ok(store::of_list(conn, list, live_at).await?)
            })
            .await
    }

    /// The owner revokes an invite link, named by its token or by its `id`.
    pub async fn revoke_invite(&self, user: &AuthUser, list: i64, token: &str) -> AppResult<()> {
        let hashed = invite_hash(token);
        let now = now_micros();
        self.write(user, async |tx| {
            self.owned_list(tx, user, list).await?;
            if store::revoke(tx, list, &hashed, now).await?
                || store::revoke(tx, list, token, now).await?
            {
                Ok(())
            } else {
                Err(SharingError::InviteNotFound.into())
            }
        })
        .await
    }

    /// The user joins the list a live invite link is for, with its role; the list as they
    /// now see it.
    pub async fn accept_invite(&self, user: &AuthUser, token: &str) -> AppResult<List> {
        let hashed = invite_hash(token);
        let cap = self.sharing.members;
        self.write(user, async |tx| {
            let list = match store::accept(tx, user, &hashed, now_micros(), cap).await? {
                None => return Err(SharingError::InviteNotFound.into()),
                Some(Accepted::Full) => {
                    return Err(SharingError::MemberLimitReached(cap).into());
                }
                Some(Accepted::Joined(list) | Accepted::Member(list)) => list,
            };
            reads::find_seen(tx, user, list)
                .await?
                .map(List::from)
                .ok_or(AppError::ListNotFound)
        })
        .await
    }

    /// Drops every list's invite links that stopped working (expired or revoked) more than
    /// INVITE_RETENTION ago; returns how many.
    pub async fn prune_dead_invites(&self) -> AppResult<usize> {
        let retention = chrono::Duration::from_std(self.sharing.invite_retention)
            .map_err(|e| AppError::Internal(format!("invite retention: {e}")))?;
        // As the owner (`maintenance`): it sees every list's invites, and no user asks.
        let work = &self.work;
        in_batches(PRUNE_BATCH, move || async move {
            let cutoff = now_micros() - retention;
            work.maintenance(async |tx| {
                Ok(
                    crate::tasks::sync::maintenance::prune_dead_invites(tx, cutoff, PRUNE_BATCH)
                        .await?,
                )
            })
            .await
        })
        .await
    }

    /// Runs [`TaskService::prune_dead_invites`] every `interval` in the background.
    pub fn spawn_invite_prune(&self, interval: Duration) {
        every(interval, "invites", self.clone(), |tasks| async move {
            tasks.prune_dead_invites().await
        });
    }

    /// The same service, keeping dead invite links `retention` (INVITE_RETENTION).
    pub fn with_invite_retention(mut self, retention: Duration) -> Self {
        self.sharing.invite_retention = retention;
        self
    }
}

/// Dead invite links dropped per transaction by the scheduled prune.
const PRUNE_BATCH: i64 = 500;
