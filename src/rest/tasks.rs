//! `/api/{user_id}/tasks` handlers. Each: authenticate, check the path user (403), parse,
//! call the service, map the result.

use std::collections::{BTreeMap, HashMap};

use axum::body::Bytes;
use axum::extract::{FromRequestParts, OriginalUri, Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::input;
use super::openapi::{
    CreateErrors, ItemErrors, ListErrors, ListParams, TaskCreate, TaskPath, TaskUpdate,
    UpdateErrors, UserPath,
};
use crate::AppState;
use crate::auth::AuthUser;
use crate::error::{AppError, AppResult};
use crate::tasks::{Category, Cursor, Priority, Task, TaskService, TaskStats, time};

/// The routes, each also under a trailing slash (FastAPI clients send both).
pub(super) fn router() -> Router<AppState> {
    let collection = get(list).post(create);
    let stats = get(stats);
    let item = get(read).put(update).delete(remove);
    let complete = patch(toggle);
    Router::new()
        .route("/api/{user_id}/tasks", collection.clone())
        .route("/api/{user_id}/tasks/", collection)
        // A fixed segment: matched before `{id}`.
        .route("/api/{user_id}/tasks/stats", stats.clone())
        .route("/api/{user_id}/tasks/stats/", stats)
        .route("/api/{user_id}/tasks/{id}", item.clone())
        .route("/api/{user_id}/tasks/{id}/", item)
        .route("/api/{user_id}/tasks/{id}/complete", complete.clone())
        .route("/api/{user_id}/tasks/{id}/complete/", complete)
}

/// The verified user, after checking that the path's `{user_id}` is theirs. Checked before
/// the body or id is even looked at.
pub(super) struct Owner(pub(super) AuthUser);

impl FromRequestParts<AppState> for Owner {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        // Through the admission gate: verified and charged to the user's rate limit.
        let user = AuthUser::from_request_parts(parts, state).await?;
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| AppError::Forbidden)?;
        match params.get("user_id") {
            Some(path_user) if path_user == user.id() => Ok(Owner(user)),
            _ => Err(AppError::Forbidden),
        }
    }
}

/// A task in the FastAPI backend's JSON shape.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Task)]
pub struct TaskJson {
    id: i64,
    user_id: String,
    title: String,
    description: Option<String>,
    completed: bool,
    created_at: String,
    updated_at: String,
    priority: PriorityName,
    category: CategoryName,
    /// RFC 3339 UTC with `Z`, or `null`.
    due_date: Option<String>,
    /// When the task was last completed; `null` while it is pending.
    completed_at: Option<String>,
}

/// A task's priority on the wire.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = Priority)]
pub enum PriorityName {
    High,
    Medium,
    Low,
    None,
}

impl From<Priority> for PriorityName {
    fn from(priority: Priority) -> Self {
        match priority {
            Priority::High => PriorityName::High,
            Priority::Medium => PriorityName::Medium,
            Priority::Low => PriorityName::Low,
            Priority::None => PriorityName::None,
        }
    }
}

/// A task's category on the wire.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = Category)]
pub enum CategoryName {
    Work,
    Personal,
    Shopping,
    Health,
    Other,
}

impl From<Category> for CategoryName {
    fn from(category: Category) -> Self {
        match category {
            Category::Work => CategoryName::Work,
            Category::Personal => CategoryName::Personal,
            Category::Shopping => CategoryName::Shopping,
            Category::Health => CategoryName::Health,
            Category::Other => CategoryName::Other,
        }
    }
}

/// Counts over the user's tasks.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = TaskStats)]
pub struct StatsJson {
    /// Every task.
    total: i64,
    /// Not completed.
    pending: i64,
    /// Completed.
    completed: i64,
    /// Pending and due before now.
    overdue: i64,
    /// Tasks per priority: `high`, `medium`, `low`, `none` (each present, 0 when none).
    #[schema(value_type = Object, example = json!({"high": 1, "medium": 0, "low": 2, "none": 5}))]
    by_priority: BTreeMap<&'static str, i64>,
    /// Tasks per category: `work`, `personal`, `shopping`, `health`, `other`.
    #[schema(value_type = Object, example = json!({"work": 3, "personal": 1, "shopping": 0, "health": 0, "other": 4}))]
    by_category: BTreeMap<&'static str, i64>,
}

impl From<TaskStats> for StatsJson {
    fn from(stats: TaskStats) -> Self {
        StatsJson {
            total: stats.total,
            pending: stats.pending,
            completed: stats.completed,
            overdue: stats.overdue,
            by_priority: stats
                .by_priority
                .iter()
                .map(|(p, n)| (p.as_str(), *n))
                .collect(),
            by_category: stats
                .by_category
                .iter()
                .map(|(c, n)| (c.as_str(), *n))
                .collect(),
        }
    }
}

/// A task's time as the REST JSON spells it (`tasks::time`), written straight into the output
/// instead of a `String` of its own.
#[derive(Debug, Clone, Copy)]
struct Timestamp(DateTime<Utc>);

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match time::Rfc3339::new(self.0) {
            Some(fast) => serializer.serialize_str(fast.as_str()),
            None => serializer.serialize_str(&time::rfc3339(self.0)),
        }
    }
}

/// A task as [`TaskJson`] encodes it, borrowed from the task: encoding a list copies no row
/// and makes no `String` per timestamp. The same fields in the same order as `TaskJson`
/// (the tests compare the bytes).
#[derive(Serialize)]
struct TaskView<'a> {
    id: i64,
    user_id: &'a str,
    title: &'a str,
    description: Option<&'a str>,
    completed: bool,
    created_at: Timestamp,
    updated_at: Timestamp,
    priority: PriorityName,
    category: CategoryName,
    due_date: Option<Timestamp>,
    completed_at: Option<Timestamp>,
}

impl<'a> From<&'a Task> for TaskView<'a> {
    fn from(task: &'a Task) -> Self {
        TaskView {
            id: task.id,
            user_id: &task.user_id,
            title: &task.title,
            description: task.description.as_deref(),
            completed: task.completed,
            created_at: Timestamp(task.created_at),
            updated_at: Timestamp(task.updated_at),
            priority: task.priority.into(),
            category: task.category.into(),
            due_date: task.due_date.map(Timestamp),
            completed_at: task.completed_at.map(Timestamp),
        }
    }
}

/// A JSON array of tasks.
struct TaskList<'a>(&'a [Task]);

impl Serialize for TaskList<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(TaskView::from))
    }
}

/// The tasks as a JSON array, encoded straight to bytes in a buffer sized for them.
fn json_list(headers: HeaderMap, tasks: &[Task]) -> Response {
    let mut body = Vec::with_capacity(2 + tasks.len() * 384);
    match serde_json::to_writer(&mut body, &TaskList(tasks)) {
        Ok(()) => (
            headers,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response(),
        Err(e) => AppError::Internal(format!("encoding tasks: {e}")).into_response(),
    }
}

impl From<Task> for TaskJson {
    fn from(task: Task) -> Self {
        TaskJson {
            id: task.id,
            user_id: task.user_id,
            title: task.title,
            description: task.description,
            completed: task.completed,
            created_at: time::rfc3339(task.created_at),
            updated_at: time::rfc3339(task.updated_at),
            priority: task.priority.into(),
            category: task.category.into(),
            due_date: task.due_date.map(time::rfc3339),
            completed_at: task.completed_at.map(time::rfc3339),
        }
    }
}

#[utoipa::path(
    get, path = "/api/{user_id}/tasks", tag = "tasks", params(UserPath, ListParams),
    responses(
        (status = 200, description = "The user's tasks. With `limit` (or `cursor`), one page of \
            them: the next page's URL is in `Link` and the number over all pages in \
            `X-Total-Count`.", body = Vec<TaskJson>, headers(
            ("Link" = String, description = "`<…&cursor=…>; rel=\"next\"` when more tasks follow (paged requests only)"),
            ("X-Total-Count" = i64, description = "Tasks matching the filters, over all pages (paged requests only)"),
        )),
        ListErrors
    )
)]
async fn list(
    Owner(user): Owner,
    State(tasks): State<TaskService>,
    OriginalUri(uri): OriginalUri,
    RawQuery(raw): RawQuery,
) -> AppResult<Response> {
    let (query, page) = input::list_query(raw.as_deref())?;
    let Some(page) = page else {
        let list = tasks.list(&user, &query).await?;
        return Ok(json_list(HeaderMap::new(), &list));
    };
    let found = tasks.list_page(&user, &query, &page).await?;
    let mut headers = HeaderMap::new();
    headers.insert("x-total-count", HeaderValue::from(found.total));
    if let (true, Some(last)) = (found.has_next, found.tasks.last()) {
        let cursor = Cursor::after(last, &query).encode();
        let link = format!(
            "<{}>; rel=\"next\"",
            next_url(uri.path(), raw.as_deref(), &cursor)
        );
        // Every part comes from the parsed path and re-encoded query: always a valid value.
        if let Ok(value) = HeaderValue::from_str(&link) {
            headers.insert(header::LINK, value);
        }
    }
    Ok(json_list(headers, &found.tasks))
}

/// The URL of the next page: the request's own path and parameters (as a reference relative
/// to the host, so it holds behind any proxy that keeps paths), with `cursor` replaced.
fn next_url(path: &str, raw_query: Option<&str>, cursor: &str) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in url::form_urlencoded::parse(raw_query.unwrap_or_default().as_bytes()) {
        if key != "cursor" {
            query.append_pair(&key, &value);
        }
    }
    query.append_pair("cursor", cursor);
    format!("{path}?{}", query.finish())
}

#[utoipa::path(
    get, path = "/api/{user_id}/tasks/stats", tag = "tasks", params(UserPath),
    responses((status = 200, description = "Counts over the user's tasks", body = StatsJson), ListErrors)
)]
async fn stats(Owner(user): Owner, State(tasks): State<TaskService>) -> AppResult<Json<StatsJson>> {
    Ok(Json(tasks.stats(&user).await?.into()))
}

#[utoipa::path(
    post, path = "/api/{user_id}/tasks", tag = "tasks", params(UserPath), request_body = TaskCreate,
    responses((status = 201, description = "The new task", body = TaskJson), CreateErrors)
)]
async fn create(
    Owner(user): Owner,
    State(tasks): State<TaskService>,
    body: Bytes,
) -> AppResult<(StatusCode, Json<TaskJson>)> {
    let new = input::new_task(&body)?;
    let task = tasks.create(&user, new).await?;
    Ok((StatusCode::CREATED, Json(task.into())))
}

#[utoipa::path(
    get, path = "/api/{user_id}/tasks/{id}", tag = "tasks", params(TaskPath),
    responses((status = 200, description = "The task", body = TaskJson), ItemErrors)
)]
async fn read(
    Owner(user): Owner,
    State(tasks): State<TaskService>,
    Path((_, id)): Path<(String, String)>,
) -> AppResult<Json<TaskJson>> {
    let task = tasks.get(&user, input::task_id(&id)?).await?;
    Ok(Json(task.into()))
}

#[utoipa::path(
    put, path = "/api/{user_id}/tasks/{id}", tag = "tasks", params(TaskPath), request_body = TaskUpdate,
    responses((status = 200, description = "The updated task", body = TaskJson), UpdateErrors)
)]
async fn update(
    Owner(user): Owner,
    State(tasks): State<TaskService>,
    Path((_, id)): Path<(String, String)>,
    body: Bytes,
) -> AppResult<Json<TaskJson>> {
    let id = input::task_id(&id)?;
    let patch = input::task_patch(&body)?;
    Ok(Json(tasks.update(&user, id, patch).await?.into()))
}

#[utoipa::path(
    delete, path = "/api/{user_id}/tasks/{id}", tag = "tasks", params(TaskPath),
    responses((status = 204, description = "Deleted; the body is empty"), ItemErrors)
)]
async fn remove(
    Owner(user): Owner,
    State(tasks): State<TaskService>,
    Path((_, id)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    tasks.delete(&user, input::task_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    patch, path = "/api/{user_id}/tasks/{id}/complete", tag = "tasks", params(TaskPath),
    responses((status = 200, description = "The task with `completed` flipped", body = TaskJson), ItemErrors)
)]
async fn toggle(
    Owner(user): Owner,
    State(tasks): State<TaskService>,
    Path((_, id)): Path<(String, String)>,
) -> AppResult<Json<TaskJson>> {
    Ok(Json(
        tasks.toggle(&user, input::task_id(&id)?).await?.into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(title: &str, description: Option<&str>, every_field: bool) -> Task {
        let at = |micros: i64| DateTime::<Utc>::from_timestamp_micros(micros).expect("in range");
        Task {
            id: 9_007_199_254_740_993,
            user_id: "user-ü \"quoted\" \\ /".into(),
            title: title.into(),
            description: description.map(str::to_owned),
            completed: every_field,
            created_at: at(1_795_000_000_123_456),
            updated_at: at(1_795_000_000_000_000),
            priority: if every_field {
                Priority::High
            } else {
                Priority::None
            },
            category: if every_field {
                Category::Shopping
            } else {
                Category::Other
            },
            due_date: every_field.then(|| at(-62_135_596_800_000_000)), // 0001-01-01
            completed_at: every_field.then(|| at(253_402_300_799_999_999)), // 9999-12-31
        }
    }

    /// The list encoder gives exactly the bytes of `TaskJson` through serde: every field set
    /// and every optional one null; titles with unicode, escapes and control characters.
    #[test]
    fn the_list_encoder_matches_the_serde_output_byte_for_byte() {
        let titles = [
            "plain",
            "ünïcødé ✓ 日本語 🎉",
            "quotes \" and \\ backslash / slash",
            "controls \n \r \t \u{0} \u{1f} \u{7f} \u{2028}",
            "",
        ];
        let mut tasks = Vec::new();
        for title in titles {
            tasks.push(task(title, None, false));
            tasks.push(task(title, Some(title), true));
        }
        let expected = serde_json::to_vec(
            &tasks
                .iter()
                .cloned()
                .map(TaskJson::from)
                .collect::<Vec<_>>(),
        )
        .expect("serde");
        let mut encoded = Vec::new();
        serde_json::to_writer(&mut encoded, &TaskList(&tasks)).expect("encoder");
        assert_eq!(
            String::from_utf8(encoded).expect("utf-8"),
            String::from_utf8(expected).expect("utf-8")
        );
        let mut empty = Vec::new();
        serde_json::to_writer(&mut empty, &TaskList(&[])).expect("encoder");
        assert_eq!(empty, b"[]");
    }

    /// The REST encoders spell timestamps as chrono does (through `tasks::time`), inside
    /// JSON too.
    #[test]
    fn timestamps_match_chrono() {
        let mut micros: i64 = -62_167_219_200_000_001; // before year 0
        while micros < 253_402_300_800_000_000 {
            // up to year 10000
            let at = DateTime::<Utc>::from_timestamp_micros(micros).expect("in range");
            let chrono = at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
            let json = serde_json::to_string(&Timestamp(at)).expect("encodes");
            assert_eq!(json, format!("\"{chrono}\""), "{micros}");
            micros += 86_400_000_000 * 397 + 3_600_000_000 * 5 + 7_654_321;
        }
    }
}
