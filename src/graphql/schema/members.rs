//! Sharing in GraphQL (issue 29): a list's role and members (`List.role`, `List.ownerId`,
//! `List.members`) and the `addListMember`, `updateListMember` and `removeListMember`
//! mutations. Like the other resolvers: read the viewer, call the service, map the result.

use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject};

use super::error::{parse_id, to_graphql_error};
use super::idempotency::{as_json, keyed_request, or_replayed};
use super::loaders::{NestedKey, NestedValue, loader};
use super::types::DateTime;
use super::{service, viewer};
use crate::error::{AppError, FieldError};
use crate::graphql::transport::budget::charged;
use crate::tasks::idempotency::request::keyed;
use crate::tasks::{Member, Role};

/// A user's role on a list.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::tasks::Role")]
pub enum ListRole {
    /// The list's owner: everything, sharing and deleting the list included.
    Owner,
    /// Creates, updates, completes, moves and deletes the list's tasks.
    Editor,
    /// Reads the list and its tasks.
    Viewer,
}

/// Someone on a list: its owner or a member.
#[derive(SimpleObject)]
pub struct ListMember {
    /// The user's id.
    pub user_id: String,
    /// Their role.
    pub role: ListRole,
    /// When they joined (the owner: when the list was created).
    pub added_at: DateTime,
}

impl From<Member> for ListMember {
    fn from(member: Member) -> Self {
        ListMember {
            user_id: member.user_id,
            role: member.role.into(),
            added_at: DateTime(member.added_at),
        }
    }
}

/// `List.members`: everyone on the list, the owner first. Batched over the page of lists
/// (`loaders`): one read for every list's members. A list gone since the page was read:
/// NOT_FOUND, as for a list the viewer does not see. Charged to the response's budget for
/// every list object it is answered under, before it is copied out of the loader's shared
/// answer (`transport::complexity` refuses it under a task's `list` in a list; `transport::budget` bounds the rest).
pub(super) async fn of_list(ctx: &Context<'_>, list: i64) -> Result<Vec<ListMember>> {
    let members = charged(ctx, async {
        match loader(ctx)?.load_one(NestedKey::Members(list)).await? {
            Some(NestedValue::Members(members)) => Ok(members),
            _ => Err(to_graphql_error(AppError::ListNotFound)),
        }
    })
    .await?;
    Ok(members.iter().cloned().map(ListMember::from).collect())
}

/// A member's role as given: `OWNER` is not one.
pub(super) fn member_role(role: ListRole) -> Result<Role> {
    match role {
        ListRole::Owner => Err(to_graphql_error(AppError::invalid(FieldError::body(
            "role",
            "enum",
            "Input should be EDITOR or VIEWER (a list has one owner)",
            serde_json::Value::String("OWNER".to_owned()),
        )))),
        other => Ok(other.into()),
    }
}

/// Sharing mutations: the owner's (a member: FORBIDDEN; a list the caller does not see:
/// NOT_FOUND), and a member's own leaving.
#[derive(Default)]
pub struct MemberMutations;

#[Object]
impl MemberMutations {
    /// Shares a list with a user as EDITOR or VIEWER. The owner or a member already:
    /// DUPLICATE_MEMBER; MAX_MEMBERS_PER_LIST reached: LIMIT_EXCEEDED.
    async fn add_list_member(
        &self,
        ctx: &Context<'_>,
        list_id: ID,
        user_id: String,
        role: ListRole,
        idempotency_key: Option<String>,
    ) -> Result<ListMember> {
        let user = viewer(ctx)?;
        let list = parse_id("listId", &list_id)?;
        let role = member_role(role)?;
        let request = keyed_request(ctx, idempotency_key)?;
        let once = keyed(request.as_ref(), &as_json);
        let added = service(ctx)?
            .add_member(user, list, &user_id, role, once)
            .await;
        Ok(or_replayed(added)?.into())
    }

    /// Changes a member's role (the owner's own: BAD_USER_INPUT; no such member: NOT_FOUND).
    async fn update_list_member(
        &self,
        ctx: &Context<'_>,
        list_id: ID,
        user_id: String,
        role: ListRole,
    ) -> Result<ListMember> {
        let user = viewer(ctx)?;
        let list = parse_id("listId", &list_id)?;
        let role = member_role(role)?;
        let member = service(ctx)?
            .update_member(user, list, &user_id, role)
            .await
            .map_err(to_graphql_error)?;
        Ok(member.into())
    }

    /// Removes a member (the owner), or leaves the list (a member giving their own id).
    /// True when done.
    async fn remove_list_member(
        &self,
        ctx: &Context<'_>,
        list_id: ID,
        user_id: String,
    ) -> Result<bool> {
        let user = viewer(ctx)?;
        let list = parse_id("listId", &list_id)?;
        service(ctx)?
            .remove_member(user, list, &user_id)
            .await
            .map_err(to_graphql_error)?;
        Ok(true)
    }
}
