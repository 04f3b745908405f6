//! `/api/{user_id}/lists/{id}/members` (issue 29): everyone on a list (the owner first), and
//! its owner adding a member, changing a member's role and removing one; a member removing
//! themself leaves. Each: authenticate, check the path user (403, as for tasks), parse, call
//! the service, map the result. Adding takes an `Idempotency-Key`.

// A `FieldError` is large, but validation failures are the cold path (as in `tasks::task::rules`).
#![allow(clippy::result_large_err)]

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::body::{object, string_type};
use super::conditional::Refused;
use super::extract::Owner;
use super::idempotency::WriteKey;
use super::openapi::{ListPath, MemberPath, Slashed};
use super::query::task_id;
use super::write_docs::{KeyHeader, ListWriteErrors, ListsErrors};
use crate::AppState;
use crate::error::{AppError, AppResult, FieldError};
use crate::tasks::idempotency::request::{StoredOutcome, keyed};
use crate::tasks::task::time::rfc3339;
use crate::tasks::{Member, Role, TaskService};

/// The routes and their documentation, from one list; each also under a trailing slash.
pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .slashed(routes!(members_all, member_add))
        .slashed(routes!(member_update, member_remove))
}

/// Someone on a list, as REST shows them.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberJson {
    /// The user's id.
    user_id: String,
    /// `owner`, `editor` or `viewer`.
    #[schema(pattern = "^(owner|editor|viewer)$")]
    role: &'static str,
    /// When they joined (the owner: when the list was created); RFC 3339 UTC with `Z`.
    added_at: String,
}

impl From<&Member> for MemberJson {
    fn from(member: &Member) -> Self {
        MemberJson {
            user_id: member.user_id.clone(),
            role: member.role.as_str(),
            added_at: rfc3339(member.added_at),
        }
    }
}

/// Body of `POST …/members`; other fields are ignored.
#[derive(ToSchema)]
pub struct MemberAdd {
    /// The user to share the list with (their id, as their tokens' `sub`).
    user_id: String,
    /// `editor` or `viewer`.
    #[schema(value_type = String, pattern = "^(editor|viewer)$")]
    role: Role,
}

/// Body of `PUT …/members/{member_id}`; other fields are ignored.
#[derive(ToSchema)]
pub struct MemberUpdate {
    /// `editor` or `viewer`.
    #[schema(value_type = String, pattern = "^(editor|viewer)$")]
    role: Role,
}

impl MemberAdd {
    /// Parses the body; every problem is reported at once.
    fn parse(body: &[u8]) -> Result<MemberAdd, AppError> {
        let (user_id, role) = parse(body, true)?;
        Ok(MemberAdd {
            user_id: user_id.unwrap_or_default(),
            role,
        })
    }
}

impl MemberUpdate {
    /// Parses the body.
    fn parse(body: &[u8]) -> Result<MemberUpdate, AppError> {
        Ok(MemberUpdate {
            role: parse(body, false)?.1,
        })
    }
}

/// A required string field of a JSON object body.
pub(super) fn text(
    body: &serde_json::Map<String, Value>,
    field: &str,
) -> Result<String, FieldError> {
    match body.get(field) {
        None => Err(FieldError::body(
            field,
            "missing",
            "Field required",
            Value::Object(body.clone()),
        )),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(string_type(field, other)),
    }
}

/// The `role` of a body, every problem reported at once with `user_id`'s when asked.
fn parse(body: &[u8], with_user: bool) -> Result<(Option<String>, Role), AppError> {
    let body = object(body)?;
    let user = with_user.then(|| text(&body, "user_id"));
    let role = text(&body, "role");
    let mut errors = Vec::new();
    if let Some(Err(e)) = &user {
        errors.push(e.clone());
    }
    let role = match role {
        Ok(role) => match Role::for_member(&role, "role") {
            Ok(role) => Some(role),
            Err(AppError::Validation(mut e)) => {
                errors.append(&mut e);
                None
            }
            Err(other) => return Err(other),
        },
        Err(e) => {
            errors.push(e);
            None
        }
    };
    match role {
        Some(role) if errors.is_empty() => Ok((user.and_then(Result::ok), role)),
        _ => Err(AppError::Validation(errors)),
    }
}

#[utoipa::path(
    get, path = "/api/{user_id}/lists/{id}/members", tag = "sharing", params(ListPath),
    responses(
        (status = 200, description = "Everyone on the list: its owner first, then its members \
            in the order they joined. Any member may read it", body = Vec<MemberJson>),
        ListsErrors
    )
)]
async fn members_all(
    Owner(user): Owner,
    State(tasks): State<TaskService>,
    Path(ListPath { id, .. }): Path<ListPath>,
) -> AppResult<Json<Vec<MemberJson>>> {
    let members = tasks.members(&user, task_id(&id)?).await?;
    Ok(Json(members.iter().map(MemberJson::from).collect()))
}

#[utoipa::path(
    post, path = "/api/{user_id}/lists/{id}/members", tag = "sharing",
    params(ListPath, KeyHeader), request_body = MemberAdd,
    responses(
        (status = 201, description = "The new member. The list's owner only (a member: 403); \
            the owner or an existing member: 409 `DUPLICATE_MEMBER`; MAX_MEMBERS_PER_LIST \
            reached: 409 `LIMIT_EXCEEDED`", body = MemberJson),
        ListWriteErrors
    )
)]
async fn member_add(
    Owner(user): Owner,
    State(tasks): State<TaskService>,
    key: WriteKey,
    Path(ListPath { id, .. }): Path<ListPath>,
    body: Bytes,
) -> Result<Response, Refused> {
    let list = task_id(&id)?;
    let MemberAdd { user_id, role } = MemberAdd::parse(&body)?;
    let request = key.request(&body);
    let render = |m: &Member| {
        let body = serde_json::to_string(&MemberJson::from(m)).unwrap_or_default();
        StoredOutcome::json(StatusCode::CREATED, body)
    };
    let added = tasks
        .add_member(
            &user,
            list,
            &user_id,
            role,
            keyed(request.as_ref(), &render),
        )
        .await?;
    Ok(render(&added).response())
}

#[utoipa::path(
    put, path = "/api/{user_id}/lists/{id}/members/{member_id}", tag = "sharing",
    params(MemberPath), request_body = MemberUpdate,
    responses(
        (status = 200, description = "The member with their new role. The list's owner only",
            body = MemberJson),
        ListWriteErrors
    )
)]
async fn member_update(
    Owner(user): Owner,
    State(tasks): State<TaskService>,
    Path(path): Path<MemberPath>,
    body: Bytes,
) -> AppResult<Json<MemberJson>> {
    let list = task_id(&path.id)?;
    let MemberUpdate { role } = MemberUpdate::parse(&body)?;
    let member = tasks
        .update_member(&user, list, &path.member_id, role)
        .await?;
    Ok(Json(MemberJson::from(&member)))
}

#[utoipa::path(
    delete, path = "/api/{user_id}/lists/{id}/members/{member_id}", tag = "sharing",
    params(MemberPath),
    responses(
        (status = 204, description = "Removed: the owner removes a member, a member removes \
            themself (leaves). The list's tasks assigned to them lose their assignee; their \
            clients get the list's tasks as deletions"),
        ListWriteErrors
    )
)]
async fn member_remove(
    Owner(user): Owner,
    State(tasks): State<TaskService>,
    Path(path): Path<MemberPath>,
) -> AppResult<Response> {
    let list = task_id(&path.id)?;
    tasks.remove_member(&user, list, &path.member_id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
