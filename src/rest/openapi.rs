//! The REST layer's OpenAPI 3.1 description, served at `/openapi.json`, and Swagger UI at
//! `/docs` (its files are compiled into the binary: no CDN).
//!
//! Operations are described by `#[utoipa::path]` on the handlers themselves (`tasks.rs`);
//! this file holds what they share: the error responses, the bearer scheme, and the schemas of
//! bodies the handlers parse by hand (to give FastAPI's 422 shapes).

use std::collections::BTreeMap;

use axum::Router;
use serde::Serialize;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{IntoParams, IntoResponses, Modify, OpenApi, ToSchema};
use utoipa_swagger_ui::SwaggerUi;

use super::{live, tasks};
use crate::AppState;

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "todo-api REST",
        description = "The FastAPI-compatible REST layer of todo-api. Every path also accepts a \
                       trailing slash. `{user_id}` must be the token's user (else 403); another \
                       user's task looks absent (404). GraphQL lives at `/graphql`."
    ),
    paths(tasks::list, tasks::stats, tasks::create, tasks::read, tasks::update, tasks::remove, tasks::toggle, live::changes, live::events),
    components(schemas(tasks::TaskJson, tasks::StatsJson, tasks::PriorityName, tasks::CategoryName, live::ChangesJson, TaskCreate, TaskUpdate, Detail, ValidationErrors, ValidationError)),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags((name = "tasks", description = "One user's tasks"))
)]
pub struct ApiDoc;

/// `/openapi.json` and `/docs`.
pub fn router() -> Router<AppState> {
    Router::from(SwaggerUi::new("/docs").url("/openapi.json", ApiDoc::openapi()))
}

/// The `bearer` security scheme: a Better Auth (or shared-secret) JWT.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("`Authorization: Bearer <JWT>`; the user is its `sub`"))
                    .build(),
            ),
        );
    }
}

/// Body of `POST /api/{user_id}/tasks`; other fields (`id`, `user_id`, unknown ones) are
/// ignored.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // a schema only: the handler parses the body itself, for FastAPI's 422s
pub struct TaskCreate {
    /// 1–200 characters after trimming (stored trimmed); not only whitespace, no NUL.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000]*[^\u0000\s][^\u0000]*$",
        example = "Buy milk"
    )]
    title: String,
    /// Up to 1000 characters, no NUL.
    #[schema(max_length = 1000, pattern = r"^[^\u0000]*$", example = "2 litres")]
    description: Option<String>,
    /// `none` when absent.
    priority: Option<tasks::PriorityName>,
    /// `other` when absent.
    category: Option<tasks::CategoryName>,
    /// RFC 3339 with a time zone (stored in UTC, to the microsecond), or `null`.
    #[schema(format = DateTime, example = "2026-12-01T09:00:00Z")]
    due_date: Option<String>,
}

/// Body of `PUT /api/{user_id}/tasks/{id}`: a partial update. An absent field is unchanged;
/// `"description": null` clears the description.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // a schema only, as `TaskCreate`
pub struct TaskUpdate {
    /// 1–200 characters after trimming; not only whitespace, no NUL. May be absent, never
    /// `null`.
    #[schema(
        nullable = false,
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000]*[^\u0000\s][^\u0000]*$"
    )]
    title: Option<String>,
    /// Up to 1000 characters, no NUL; `null` clears it.
    #[schema(max_length = 1000, pattern = r"^[^\u0000]*$")]
    description: Option<String>,
    /// Done or not. Completing a task stamps `completed_at`; un-completing clears it. May be
    /// absent, never `null`.
    #[schema(nullable = false)]
    completed: Option<bool>,
    /// May be absent, never `null`.
    #[schema(nullable = false)]
    priority: Option<tasks::PriorityName>,
    /// May be absent, never `null`.
    #[schema(nullable = false)]
    category: Option<tasks::CategoryName>,
    /// RFC 3339 with a time zone; `null` clears it.
    #[schema(format = DateTime, example = "2026-12-01T09:00:00Z")]
    due_date: Option<String>,
}

/// An error in FastAPI's shape.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // a schema only: `AppError` renders these
pub struct Detail {
    /// What went wrong, e.g. "Task not found".
    #[schema(example = "Task not found")]
    detail: String,
    /// Only on 500: the id of the request in the server's logs.
    request_id: Option<String>,
}

/// A 422 in FastAPI's (pydantic v2) shape.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // a schema only
pub struct ValidationErrors {
    /// One entry per problem.
    detail: Vec<ValidationError>,
}

/// One input problem.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // a schema only
pub struct ValidationError {
    /// pydantic's error type: `missing`, `string_too_long`, `json_invalid`, …
    #[serde(rename = "type")]
    #[schema(example = "string_too_short")]
    kind: String,
    /// Where: `["body", "title"]`, `["path", "id"]`, `["query", "status"]`.
    /// Each item a field name or an index (a string or an integer).
    #[schema(value_type = Vec<serde_json::Value>, example = json!(["body", "title"]))]
    loc: Vec<serde_json::Value>,
    /// A human-readable message.
    msg: String,
    /// The offending input: any JSON value.
    #[schema(value_type = serde_json::Value)]
    input: serde_json::Value,
    /// Extra context (limits, the parser's complaint).
    #[schema(value_type = Option<Object>)]
    ctx: Option<serde_json::Value>,
}

/// Query parameters of the list.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // parameters only: the handler parses the query itself
pub struct ListParams {
    /// `all` (default), `pending` or `completed`.
    #[param(pattern = "^(all|pending|completed)$")]
    status: Option<String>,
    /// `created` (default), `updated`, `title`, `status`, `priority` or `due`.
    #[param(pattern = "^(created|updated|title|status|priority|due)$")]
    sort: Option<String>,
    /// The other spelling: `created_at`, `updated_at`, `title`, `status`, `priority` or
    /// `due_date`. Ties are broken by id.
    #[param(pattern = "^(created_at|updated_at|title|status|priority|due_date)$")]
    sort_by: Option<String>,
    /// `asc` or `desc`. Without it: times newest first, titles A→Z, pending first, priority
    /// high first, due date soonest first. Tasks without a due date come last either way.
    #[param(pattern = "^(asc|desc)$")]
    order: Option<String>,
    /// Only tasks of this priority.
    #[param(inline)]
    priority: Option<tasks::PriorityName>,
    /// Only tasks of this category.
    #[param(inline)]
    category: Option<tasks::CategoryName>,
    /// Only tasks whose title or description contains this text, case-insensitively (any
    /// letter); `%`, `_` and `\` match themselves. Up to 1000 characters.
    #[param(max_length = 1000, example = "milk")]
    search: Option<String>,
    /// Only tasks due strictly before this time (RFC 3339).
    #[param(format = DateTime, example = "2026-12-01T00:00:00Z")]
    due_before: Option<String>,
    /// Only tasks due strictly after this time (RFC 3339).
    #[param(format = DateTime, example = "2026-11-01T00:00:00Z")]
    due_after: Option<String>,
    /// `true`: only pending tasks whose due date has passed (`false`: no filter).
    overdue: Option<bool>,
    /// Page size, 1–200. With it the response is one page: a `Link: <…>; rel="next"` header
    /// leads to the next one, and `X-Total-Count` gives the number over all pages.
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// Where the page starts: the `cursor` of a `Link` header, passed back unchanged with
    /// the same sort and order (else 422). Alone, it pages on 200 at a time.
    cursor: Option<String>,
}

/// The path of the collection.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // parameters only
pub struct UserPath {
    /// The token's user id.
    user_id: String,
}

/// The path of one task.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // parameters only
pub struct TaskPath {
    /// The token's user id.
    user_id: String,
    /// The task's id.
    id: i64,
}

/// One error response with the `{"detail": …}` body.
fn detail_response(description: &str) -> ResponseBuilder {
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("Detail")))
        .build();
    ResponseBuilder::new()
        .description(description)
        .content("application/json", content)
}

/// Error responses for an operation: the ones every operation can give, plus those that
/// depend on whether it reads an id or a body.
fn errors(takes_id: bool, takes_body: bool) -> BTreeMap<String, RefOr<Response>> {
    let mut map = BTreeMap::new();
    let mut add = |status: &str, response: ResponseBuilder| {
        map.insert(status.to_owned(), RefOr::T(response.build()));
    };
    add(
        "401",
        detail_response(
            "Missing, invalid or expired token (`Not authenticated`, `Invalid token`, \
             `Token has expired`), with `WWW-Authenticate: Bearer`",
        ),
    );
    add(
        "403",
        detail_response("`{user_id}` is not the token's user"),
    );
    if takes_id {
        add(
            "404",
            detail_response("No such task (another user's task looks the same)"),
        );
    }
    if takes_body {
        add(
            "413",
            detail_response("The body is larger than MAX_BODY_SIZE"),
        );
    }
    let invalid = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("ValidationErrors")))
        .build();
    add(
        "422",
        ResponseBuilder::new()
            .description(
                "Malformed or invalid input: bad JSON, wrong types, lengths, id or query value",
            )
            .content("application/json", invalid),
    );
    let integer = || Some(ObjectBuilder::new().schema_type(Type::Integer).build());
    let text = || Some(ObjectBuilder::new().schema_type(Type::String).build());
    add(
        "429",
        detail_response("The user's rate limit is used up for now")
            .header(
                "Retry-After",
                HeaderBuilder::new()
                    .schema(integer())
                    .description(Some("Seconds to wait"))
                    .build(),
            )
            .header(
                "RateLimit",
                HeaderBuilder::new()
                    .schema(text())
                    .description(Some("e.g. `\"per-user\";r=0;t=3`"))
                    .build(),
            )
            .header(
                "RateLimit-Policy",
                HeaderBuilder::new()
                    .schema(text())
                    .description(Some("e.g. `\"per-user\";q=300;w=60`"))
                    .build(),
            ),
    );
    add(
        "500",
        detail_response("A bug: `Internal server error`, with a `request_id`"),
    );
    add(
        "503",
        detail_response("The database cannot be reached right now (`Service unavailable`)"),
    );
    map
}

/// The error responses of an operation that reads a task id (`ID`) and / or a body (`BODY`).
pub struct Errors<const ID: bool, const BODY: bool>;

impl<const ID: bool, const BODY: bool> IntoResponses for Errors<ID, BODY> {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        errors(ID, BODY)
    }
}

/// Errors of `GET /tasks`.
pub type ListErrors = Errors<false, false>;
/// Errors of `POST /tasks`.
pub type CreateErrors = Errors<false, true>;
/// Errors of operations on one task without a body.
pub type ItemErrors = Errors<true, false>;
/// Errors of `PUT /tasks/{id}`.
pub type UpdateErrors = Errors<true, true>;
