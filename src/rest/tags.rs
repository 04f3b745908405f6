//! `/api/{user_id}/tags` handlers: the user's tags with their task counts, and renaming or
//! deleting one across all of the user's tasks. Each: authenticate, check the path user
//! (403), parse, call the service, map the result. A tag's name in the path is
//! percent-encoded (`%20` for a space, `%2F` for `/`), and compared ignoring case.

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use serde_json::Value;
use utoipa::openapi::{RefOr, Response as DocResponse};
use utoipa::{IntoResponses, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::body::{object, string_type};
use super::conditional::Refused;
use super::extract::Owner;
use super::idempotency::WriteKey;
use super::openapi::{ListErrors, Slashed, TagPath, UserPath, detail_response};
use super::write_docs::{KeyHeader, TAG_CAP_NOTE, WriteErrors};
use crate::AppState;
use crate::error::{AppError, AppResult, FieldError};
use crate::tasks::idempotency::request::{StoredOutcome, keyed};
use crate::tasks::{TagCount, TaskService};

/// The routes and their documentation, from one list; each also under a trailing slash.
pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .slashed(routes!(list))
        .slashed(routes!(rename, remove))
}

/// One of the user's tags.
#[derive(Serialize, ToSchema)]
pub struct TagJson {
    /// The name, as most recently written on a task (spellings differing only in case are
    /// one tag).
    #[schema(example = "work")]
    name: String,
    /// How many of the user's tasks carry it (at least 1).
    #[schema(example = 3)]
    count: i64,
}

impl From<TagCount> for TagJson {
    fn from(tag: TagCount) -> Self {
        TagJson {
            name: tag.name,
            count: tag.count,
        }
    }
}

/// What a rename or delete changed.
#[derive(Serialize, ToSchema)]
pub struct TagsChanged {
    /// How many tasks changed (each got its version +1 and an event).
    #[schema(example = 3)]
    changed: u64,
}

/// Body of `PUT /api/{user_id}/tags/{name}`; other fields are ignored.
#[derive(ToSchema)]
pub struct TagRename {
    /// The new name: 1–50 characters after trimming (stored trimmed), no NUL. A task that
    /// already has a tag of that name (ignoring case) keeps one tag, spelled as given here.
    #[schema(
        min_length = 1,
        max_length = 50,
        pattern = r"^[^\u0000]*[^\u0000\s][^\u0000]*$",
        example = "job"
    )]
    name: String,
}

impl TagRename {
    fn parse(body: &[u8]) -> Result<TagRename, AppError> {
        let body = object(body)?;
        match body.get("name") {
            Some(Value::String(name)) => Ok(TagRename { name: name.clone() }),
            Some(other) => Err(AppError::invalid(string_type("name", other))),
            None => Err(AppError::invalid(FieldError::body(
                "name",
                "missing",
                "Field required",
                Value::Object(body),
            ))),
        }
    }
}

/// The error responses of a write to one tag: a write's, plus 404.
pub struct TagWriteErrors<const BODY: bool>;

impl<const BODY: bool> IntoResponses for TagWriteErrors<BODY> {
    fn responses() -> BTreeMap<String, RefOr<DocResponse>> {
        let mut map = WriteErrors::<false, BODY>::responses();
        // A rename never adds a name: its 409 is the key's only, not a task body's tag cap.
        if let Some(RefOr::T(conflict)) = map.get_mut("409")
            && let Some(cap) = conflict.description.find(TAG_CAP_NOTE)
        {
            conflict.description.truncate(cap);
        }
        map.insert(
            "404".to_owned(),
            RefOr::T(
                detail_response("No task of the user carries this tag (`Tag not found`)").build(),
            ),
        );
        map
    }
}

/// The response of a rename or delete: sent, and stored for a keyed retry's replay.
fn changed_outcome(changed: &u64) -> StoredOutcome {
    let body = serde_json::to_string(&TagsChanged { changed: *changed })
        .unwrap_or_else(|_| "{}".to_owned());
    StoredOutcome::json(StatusCode::OK, body)
}

#[utoipa::path(
    get, path = "/api/{user_id}/tags", tag = "tags", params(UserPath),
    responses(
        (status = 200, description = "The user's tags, each with how many of their tasks carry \
            it, ordered by name ignoring case (the lower-cased names, by code point). A tag \
            spelled differently on different tasks is one, named as on the task tagged most \
            recently.", body = Vec<TagJson>),
        ListErrors
    )
)]
async fn list(
    Owner(user): Owner,
    State(tasks): State<TaskService>,
) -> AppResult<Json<Vec<TagJson>>> {
    let tags = tasks.tags(&user).await?;
    Ok(Json(tags.into_iter().map(TagJson::from).collect()))
}

#[utoipa::path(
    put, path = "/api/{user_id}/tags/{name}", tag = "tags", params(TagPath, KeyHeader),
    request_body = TagRename,
    responses(
        (status = 200, description = "Renamed on every task of the user that carried it, in one \
            transaction; `changed` counts the tasks changed (each: version +1, an event). A task \
            already spelling it exactly so is not changed.", body = TagsChanged),
        TagWriteErrors<true>
    )
)]
async fn rename(
    Owner(user): Owner,
    State(tasks): State<TaskService>,
    key: WriteKey,
    Path(TagPath { name, .. }): Path<TagPath>,
    body: Bytes,
) -> Result<Response, Refused> {
    let to = TagRename::parse(&body)?.name;
    let request = key.request(&body);
    let changed = tasks
        .rename_tag(&user, &name, &to, keyed(request.as_ref(), &changed_outcome))
        .await?;
    Ok(changed_outcome(&changed).response())
}

#[utoipa::path(
    delete, path = "/api/{user_id}/tags/{name}", tag = "tags", params(TagPath, KeyHeader),
    responses(
        (status = 200, description = "Removed from every task of the user that carried it, in \
            one transaction; `changed` counts those tasks (each: version +1, an event).",
            body = TagsChanged),
        TagWriteErrors<false>
    )
)]
async fn remove(
    Owner(user): Owner,
    State(tasks): State<TaskService>,
    key: WriteKey,
    Path(TagPath { name, .. }): Path<TagPath>,
) -> Result<Response, Refused> {
    let request = key.request(&[]);
    let changed = tasks
        .delete_tag(&user, &name, keyed(request.as_ref(), &changed_outcome))
        .await?;
    Ok(changed_outcome(&changed).response())
}
