//! Invite links (issue 29): `/api/{user_id}/lists/{id}/invites` (the owner makes, lists and
//! revokes them) and `/api/{user_id}/invites/{token}/accept` (anyone holding a live token
//! joins the list). Each: authenticate (accepting is charged to the rate limit like every
//! request), check the path user (403), parse, call the service, map the result.

// A `FieldError` is large, but validation failures are the cold path (as in `tasks::task::rules`).
#![allow(clippy::result_large_err)]

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::body::{object, string_type};
use super::extract::Owner;
use super::list_body::ListJson;
use super::members::text;
use super::openapi::{InvitePath, ListPath, Slashed, TokenPath};
use super::query::task_id;
use super::write_docs::{ListWriteErrors, ListsErrors};
use crate::AppState;
use crate::error::{AppError, AppResult};
use crate::tasks::sharing::invite_lifetime;
use crate::tasks::task::model::enum_error;
use crate::tasks::task::time::rfc3339;
use crate::tasks::{Invite, Role, TaskService};

/// The routes and their documentation, from one list; each also under a trailing slash.
pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .slashed(routes!(invites_all, invite_create))
        .slashed(routes!(invite_revoke))
        .slashed(routes!(invite_accept))
}

/// An invite link as REST shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct InviteJson {
    /// The SHA-256 of its token (hex): names it in a list and to revoke it; not a link.
    id: String,
    /// The token, only in the answer that made it: the link is
    /// `POST /api/{user_id}/invites/{token}/accept`.
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
    /// `editor` or `viewer`: the role it gives.
    #[schema(pattern = "^(editor|viewer)$")]
    role: &'static str,
    /// Who made it (the list's owner).
    created_by: String,
    /// RFC 3339 UTC with `Z`.
    created_at: String,
    /// When it stops working; RFC 3339 UTC with `Z`.
    expires_at: String,
    /// Revoked by the owner (its `expires_at` is then when it was revoked, unless it had
    /// expired before).
    revoked: bool,
}

impl From<&Invite> for InviteJson {
    fn from(invite: &Invite) -> Self {
        InviteJson {
            id: invite.id.clone(),
            token: invite.token.clone(),
            role: invite.role.as_str(),
            created_by: invite.created_by.clone(),
            created_at: rfc3339(invite.created_at),
            expires_at: rfc3339(invite.expires_at),
            revoked: invite.revoked,
        }
    }
}

/// Body of `POST …/invites`; other fields are ignored.
#[derive(ToSchema)]
pub struct InviteCreate {
    /// `editor` or `viewer`.
    #[schema(value_type = String, pattern = "^(editor|viewer)$")]
    role: Role,
    /// How long the link lives: `7d`, `12h`, `90m` (at most `30d`; default `7d`).
    #[schema(value_type = Option<String>, example = "7d")]
    expires_in: std::time::Duration,
}

impl InviteCreate {
    /// Parses the body; every problem is reported at once.
    fn parse(body: &[u8]) -> Result<InviteCreate, AppError> {
        let body = object(body)?;
        let mut errors = Vec::new();
        let role = match text(&body, "role").map(|r| Role::for_member(&r, "role")) {
            Ok(Ok(role)) => Some(role),
            Ok(Err(AppError::Validation(mut e))) => {
                errors.append(&mut e);
                None
            }
            Ok(Err(other)) => return Err(other),
            Err(e) => {
                errors.push(e);
                None
            }
        };
        let expires_in = match body.get("expires_in") {
            None | Some(Value::Null) => invite_lifetime(None, "expires_in"),
            Some(Value::String(s)) => invite_lifetime(Some(s), "expires_in"),
            Some(other) => Err(AppError::invalid(string_type("expires_in", other))),
        };
        let expires_in = match expires_in {
            Ok(lifetime) => Some(lifetime),
            Err(AppError::Validation(mut e)) => {
                errors.append(&mut e);
                None
            }
            Err(other) => return Err(other),
        };
        match (role, expires_in) {
            (Some(role), Some(expires_in)) if errors.is_empty() => {
                Ok(InviteCreate { role, expires_in })
            }
            _ => Err(AppError::Validation(errors)),
        }
    }
}

/// Query parameters of `GET /api/{user_id}/lists/{id}/invites`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InviteListParams {
    /// `live` (default): the links that still work. `all`: the revoked and expired ones too,
    /// kept INVITE_RETENTION after they stopped working.
    #[param(value_type = Option<String>, pattern = "^(live|all)$")]
    include: bool,
}

impl InviteListParams {
    /// `include` of a raw query string (the last one given); anything else is 422.
    fn parse(raw: Option<&str>) -> Result<InviteListParams, AppError> {
        let mut include = None;
        for (key, value) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            if key == "include" {
                include = Some(value.into_owned());
            }
        }
        match include.as_deref() {
            None | Some("live") => Ok(InviteListParams { include: false }),
            Some("all") => Ok(InviteListParams { include: true }),
            Some(other) => Err(AppError::invalid(enum_error(
                "query",
                "include",
                &["live", "all"],
                Value::from(other),
            ))),
        }
    }
}

#[utoipa::path(
    get, path = "/api/{user_id}/lists/{id}/invites", tag = "sharing",
    params(ListPath, InviteListParams),
    responses(
        (status = 200, description = "The list's invite links, oldest first, without their \
            tokens: those that still work, or with `include=all` the revoked and expired ones \
            too (until INVITE_RETENTION after they stopped working). The list's owner only (a \
            member: 403)", body = Vec<InviteJson>),
        ListsErrors
    )
)]
async fn invites_all(
    Owner(user): Owner,
    State(tasks): State<TaskService>,
    Path(ListPath { id, .. }): Path<ListPath>,
    RawQuery(raw): RawQuery,
) -> AppResult<Json<Vec<InviteJson>>> {
    let list = task_id(&id)?;
    let InviteListParams { include } = InviteListParams::parse(raw.as_deref())?;
    let invites = tasks.invites(&user, list, include).await?;
    Ok(Json(invites.iter().map(InviteJson::from).collect()))
}

#[utoipa::path(
    post, path = "/api/{user_id}/lists/{id}/invites", tag = "sharing", params(ListPath),
    request_body = InviteCreate,
    responses(
        (status = 201, description = "The new invite link, with its token (shown this once: \
            only its SHA-256 is kept). The list's owner only (403); MAX_INVITES_PER_LIST live \
            links already: 409 `LIMIT_EXCEEDED`", body = InviteJson),
        ListWriteErrors
    )
)]
async fn invite_create(
    Owner(user): Owner,
    State(tasks): State<TaskService>,
    Path(ListPath { id, .. }): Path<ListPath>,
    body: Bytes,
) -> AppResult<Response> {
    let list = task_id(&id)?;
    let InviteCreate { role, expires_in } = InviteCreate::parse(&body)?;
    let invite = tasks.create_invite(&user, list, role, expires_in).await?;
    Ok((StatusCode::CREATED, Json(InviteJson::from(&invite))).into_response())
}

#[utoipa::path(
    delete, path = "/api/{user_id}/lists/{id}/invites/{token}", tag = "sharing",
    params(InvitePath),
    responses(
        (status = 204, description = "Revoked: the link no longer works. Named by its token \
            or its `id`; the list's owner only"),
        ListWriteErrors
    )
)]
async fn invite_revoke(
    Owner(user): Owner,
    State(tasks): State<TaskService>,
    Path(path): Path<InvitePath>,
) -> AppResult<Response> {
    let list = task_id(&path.id)?;
    tasks.revoke_invite(&user, list, &path.token).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    post, path = "/api/{user_id}/invites/{token}/accept", tag = "sharing", params(TokenPath),
    responses(
        (status = 200, description = "The list, with the caller now a member in the link's \
            role. Accepting again (or as the owner) changes nothing. An unknown, revoked or \
            expired token: 404; MAX_MEMBERS_PER_LIST reached: 409 `LIMIT_EXCEEDED`",
            body = ListJson),
        ListWriteErrors
    )
)]
async fn invite_accept(
    Owner(user): Owner,
    State(tasks): State<TaskService>,
    Path(path): Path<TokenPath>,
) -> AppResult<Json<ListJson>> {
    let list = tasks.accept_invite(&user, &path.token).await?;
    Ok(Json(ListJson::from(&list)))
}
