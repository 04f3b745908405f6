//! The REST layer's OpenAPI 3.1 description, served at `/openapi.json`, and Swagger UI at
//! `/docs` (its files are compiled into the binary: no CDN).
//!
//! Operations are described by `#[utoipa::path]` on the handlers themselves and collected
//! from the same `routes!` list that routes them (`tasks.rs`, `live.rs`), so this file names
//! no handler. It holds what they share: the document's header, the error responses (the 412
//! body's schema is `conditional`'s), the bearer scheme, the path and conditional-header
//! parameters, and [`Slashed`].

use std::collections::BTreeMap;

use axum::Router;
use serde::Deserialize;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{IntoParams, IntoResponses, Modify, OpenApi};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};
use utoipa_swagger_ui::SwaggerUi;

use crate::AppState;

/// The document's header; the paths and their schemas are added by the routers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "todo-api REST",
        description = "The FastAPI-compatible REST layer of todo-api. Every path also accepts a \
                       trailing slash. `{user_id}` must be the token's user (else 403); another \
                       user's task looks absent (404). GraphQL lives at `/graphql`."
    ),
    components(schemas(
        crate::error::Detail,
        crate::error::ValidationErrors,
        crate::error::ValidationError,
        super::conditional::PreconditionFailed,
        super::conditional::ListPreconditionFailed
    )),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "tasks", description = "One user's tasks"),
        (name = "tags", description = "One user's tags, across their tasks"),
        (name = "lists", description = "One user's lists of tasks (docs/TASK_MODEL.md)"),
        (name = "sharing", description = "Shared lists: members, roles and invite links (docs/TASK_MODEL.md#sharing)")
    )
)]
pub struct ApiDoc;

/// The Content-Security-Policy of `/docs` (and the document beside it), as GraphiQL's: Swagger
/// UI's page loads only its own files (no inline script), calls only this origin ("Try it
/// out"), and draws its icons from `data:` URLs.
const DOCS_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// `/openapi.json` (the given document) and `/docs`, under [`DOCS_POLICY`].
pub fn docs(api: utoipa::openapi::OpenApi) -> Router<AppState> {
    Router::from(SwaggerUi::new("/docs").url("/openapi.json", api)).layer(
        axum::middleware::map_response(async |mut response: axum::response::Response| {
            response.headers_mut().insert(
                axum::http::header::CONTENT_SECURITY_POLICY,
                axum::http::HeaderValue::from_static(DOCS_POLICY),
            );
            response
        }),
    )
}

/// Routes handlers at their documented path and again under a trailing slash (FastAPI
/// clients send both); only the first is documented.
pub trait Slashed {
    /// Adds `routes!(…)` both ways.
    fn slashed(self, routes: UtoipaMethodRouter<AppState>) -> Self;
}

impl Slashed for OpenApiRouter<AppState> {
    fn slashed(self, (schemas, paths, method_router): UtoipaMethodRouter<AppState>) -> Self {
        let twins: Vec<String> = paths.paths.keys().map(|path| format!("{path}/")).collect();
        let router = twins.iter().fold(self, |router, twin| {
            router.route(twin, method_router.clone())
        });
        router.routes((schemas, paths, method_router))
    }
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

/// The path of the collection: what `Owner` reads and checks against the token.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct UserPath {
    /// The token's user id.
    pub user_id: String,
}

/// The path of one task. The id is taken as text and parsed by `query::task_id`, for
/// FastAPI's 422.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TaskPath {
    /// The token's user id.
    pub user_id: String,
    /// The task's id.
    #[param(value_type = i64)]
    pub id: String,
}

/// The path of one tag.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TagPath {
    /// The token's user id.
    pub user_id: String,
    /// The tag's name, percent-encoded (`%20` for a space, `%2F` for `/`); any case.
    #[param(min_length = 1)]
    pub name: String,
}

/// The path of one list. The id is taken as text and parsed as a task id is, for FastAPI's
/// 422.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ListPath {
    /// The token's user id.
    pub user_id: String,
    /// The list's id.
    #[param(value_type = i64)]
    pub id: String,
}

/// `/api/{user_id}/webhooks/{id}` (issue 43); the id parsed as a task's is.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct WebhookPath {
    /// The token's user id.
    pub user_id: String,
    /// The webhook's id.
    #[param(value_type = i64)]
    pub id: String,
}

/// `/api/{user_id}/lists/{id}/members/{member_id}`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct MemberPath {
    /// The token's user id (checked by `Owner`).
    pub user_id: String,
    /// The list's id.
    #[param(value_type = i64)]
    pub id: String,
    /// The member's user id.
    pub member_id: String,
}

/// `/api/{user_id}/lists/{id}/invites/{token}`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct InvitePath {
    /// The token's user id (checked by `Owner`).
    pub user_id: String,
    /// The list's id.
    #[param(value_type = i64)]
    pub id: String,
    /// The invite's token, or its `id`.
    pub token: String,
}

/// `/api/{user_id}/invites/{token}/accept`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TokenPath {
    /// The token's user id (checked by `Owner`).
    pub user_id: String,
    /// The invite link's token.
    pub token: String,
}

/// `If-Match` on a write (RFC 9110 §13.1.1).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IfMatchHeader {
    /// Perform the write only if the task is still in this version: its `ETag` as last seen
    /// (`"<id>-<version>"`; several, comma-separated, match any), or `*` for "it exists".
    /// Compared strongly: a weak tag (`W/…`) never matches. Stale: 412 with the current task.
    /// Malformed: 400. Required (428 without it) when REQUIRE_IF_MATCH is on.
    #[serde(rename = "If-Match")]
    #[param(rename = "If-Match")]
    pub if_match: Option<String>,
}

/// `If-None-Match` on a read (RFC 9110 §13.1.2).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IfNoneMatchHeader {
    /// The `ETag` the client already has (or `*`): 304 with no body when the task is still in
    /// that version (weak comparison).
    #[serde(rename = "If-None-Match")]
    #[param(rename = "If-None-Match")]
    pub if_none_match: Option<String>,
}

/// The responses only a write conditioned by `If-Match` can get: 400, 412, 428.
pub struct ConditionalErrors;

impl IntoResponses for ConditionalErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let conflict = ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("PreconditionFailed")))
            .build();
        let mut map = BTreeMap::new();
        let mut add = |status: &str, response: ResponseBuilder| {
            map.insert(status.to_owned(), RefOr::T(response.build()));
        };
        add(
            "400",
            detail_response("`If-Match` is neither `*` nor a list of quoted entity-tags"),
        );
        add(
            "412",
            ResponseBuilder::new()
                .description(
                    "`If-Match` does not match the task's current version (a stale or weak \
                     tag): `VERSION_CONFLICT`, with the task as it is now in `task` and its \
                     `ETag`; nothing was written",
                )
                .content("application/json", conflict),
        );
        add(
            "428",
            detail_response("REQUIRE_IF_MATCH is on and the request has no `If-Match`"),
        );
        map
    }
}

/// One error response with the `{"detail": …}` body.
pub(super) fn detail_response(description: &str) -> ResponseBuilder {
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("Detail")))
        .build();
    ResponseBuilder::new()
        .description(description)
        .content("application/json", content)
}

/// Error responses for an operation: the ones every operation can give, plus those that
/// depend on whether it reads an id or a body.
pub(super) fn errors(takes_id: bool, takes_body: bool) -> BTreeMap<String, RefOr<Response>> {
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
/// Errors of operations on one task without a body.
pub type ItemErrors = Errors<true, false>;
