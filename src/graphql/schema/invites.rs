//! Invite links in GraphQL (issue 29): `createListInvite`, `revokeListInvite` and
//! `acceptListInvite`. Like the other resolvers: read the viewer, call the service, map the
//! result.

use async_graphql::{Context, ID, Object, Result, SimpleObject};

use super::error::{parse_id, to_graphql_error};
use super::lists::TaskList;
use super::members::{ListRole, member_role};
use super::types::DateTime;
use super::{service, viewer};
use crate::tasks::Invite;
use crate::tasks::sharing::invite_lifetime;

/// An invite link to a list.
#[derive(SimpleObject)]
pub struct ListInvite {
    /// The SHA-256 of its token (hex): names it to revoke it; not a link.
    pub id: String,
    /// The token: only in `createListInvite`'s answer (only its SHA-256 is kept). Anyone
    /// holding it joins the list with `acceptListInvite` until it expires or is revoked.
    pub token: Option<String>,
    /// The role it gives.
    pub role: ListRole,
    /// When it stops working.
    pub expires_at: DateTime,
    /// Whether the owner revoked it.
    pub revoked: bool,
}

impl From<Invite> for ListInvite {
    fn from(invite: Invite) -> Self {
        ListInvite {
            id: invite.id,
            token: invite.token,
            role: invite.role.into(),
            expires_at: DateTime(invite.expires_at),
            revoked: invite.revoked,
        }
    }
}

/// Invite-link mutations.
#[derive(Default)]
pub struct InviteMutations;

#[Object]
impl InviteMutations {
    /// Makes an invite link to a list of the signed-in user's, giving EDITOR or VIEWER and
    /// living `expiresIn` (`7d`, `12h`, `90m`; at most `30d`). A member: FORBIDDEN;
    /// MAX_INVITES_PER_LIST live links already: LIMIT_EXCEEDED.
    async fn create_list_invite(
        &self,
        ctx: &Context<'_>,
        list_id: ID,
        role: ListRole,
        #[graphql(default_with = "String::from(\"7d\")")] expires_in: String,
    ) -> Result<ListInvite> {
        let user = viewer(ctx)?;
        let list = parse_id("listId", &list_id)?;
        let role = member_role(role)?;
        let lifetime = invite_lifetime(Some(&expires_in), "expiresIn").map_err(to_graphql_error)?;
        let invite = service(ctx)?
            .create_invite(user, list, role, lifetime)
            .await
            .map_err(to_graphql_error)?;
        Ok(invite.into())
    }

    /// Revokes an invite link (named by its token or its `id`); true when done.
    async fn revoke_list_invite(
        &self,
        ctx: &Context<'_>,
        list_id: ID,
        token: String,
    ) -> Result<bool> {
        let user = viewer(ctx)?;
        let list = parse_id("listId", &list_id)?;
        service(ctx)?
            .revoke_invite(user, list, &token)
            .await
            .map_err(to_graphql_error)?;
        Ok(true)
    }

    /// Joins the list an invite link is for, with its role: the list. An unknown, revoked
    /// or expired token: NOT_FOUND; accepting twice changes nothing.
    async fn accept_list_invite(&self, ctx: &Context<'_>, token: String) -> Result<TaskList> {
        let user = viewer(ctx)?;
        let list = service(ctx)?
            .accept_invite(user, &token)
            .await
            .map_err(to_graphql_error)?;
        Ok(list.into())
    }
}
