//! The documentation of the REST writes' idempotency: the `Idempotency-Key` header
//! ([`KeyHeader`]) and the error responses of a write ([`WriteErrors`]: every operation's,
//! plus a key's 400, 409 and 422, and `If-Match`'s 400, 412 and 428 on a task's writes).
//! Imported by the handlers, not by `openapi`.

use std::collections::BTreeMap;

use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Required, Response};
use utoipa::{IntoParams, IntoResponses};

use super::openapi::{ConditionalErrors, detail_response, errors};

/// Errors of `POST /tasks`.
pub type CreateErrors = WriteErrors<false, true>;
/// Errors of writes to one task without a body (`DELETE`, `PATCH …/complete`).
pub type ItemWriteErrors = WriteErrors<true, false>;
/// Errors of `PUT /tasks/{id}`.
pub type UpdateErrors = WriteErrors<true, true>;

/// What a write with a task body adds to its 409.
pub(super) const TAG_CAP_NOTE: &str = ", or the task's tags would give the user more than \
     MAX_TAGS_PER_USER different tags (`Tag limit reached: …`)";

/// The `Idempotency-Key` request header, as documented (`idempotency::WriteKey` reads it).
pub struct KeyHeader;

impl IntoParams for KeyHeader {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let text = ObjectBuilder::new()
            .schema_type(Type::String)
            .max_length(Some(255));
        vec![
            ParameterBuilder::new()
                .name("Idempotency-Key")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .schema(Some(text))
                .description(Some(
                    "Makes a retry of this write safe: a repeat with the same key and the same \
                     request gets the first outcome again (status and body, with \
                     `Idempotent-Replayed: true`) and changes nothing. 1 to 255 visible ASCII \
                     characters; keys are the user's own and kept IDEMPOTENCY_KEY_RETENTION.",
                ))
                .build(),
        ]
    }
}

/// The error responses of a write that reads a task id (`ID`) and / or a body (`BODY`):
/// those of every operation, those of an `Idempotency-Key`, and for a write to one task those
/// of `If-Match` (`ConditionalErrors`).
pub struct WriteErrors<const ID: bool, const BODY: bool>;

impl<const ID: bool, const BODY: bool> IntoResponses for WriteErrors<ID, BODY> {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let mut map = errors(ID, BODY);
        if ID {
            map.extend(ConditionalErrors::responses());
        }
        key_errors(&mut map, ID);
        // A task body's tags may meet the per-user cap on different names.
        if BODY && let Some(RefOr::T(conflict)) = map.get_mut("409") {
            conflict.description.push_str(TAG_CAP_NOTE);
        }
        map
    }
}

/// The responses an `Idempotency-Key` adds to a write's (`if_match`: the write also takes
/// `If-Match`, whose malformed header is a 400 too): 400, 409 still running, 422 reused, 429
/// at the per-user cap.
pub(super) fn key_errors(map: &mut BTreeMap<String, RefOr<Response>>, if_match: bool) {
    let bad_header = if if_match {
        "A malformed `Idempotency-Key` (empty, over 255 characters, or not visible ASCII), \
             or an `If-Match` that is neither `*` nor a list of quoted entity-tags"
    } else {
        "A malformed `Idempotency-Key` (empty, over 255 characters, or not visible ASCII)"
    };
    let mut add = |status: &str, description: &str| {
        map.insert(
            status.to_owned(),
            RefOr::T(detail_response(description).build()),
        );
    };
    add("400", bad_header);
    add(
        "409",
        "A request with this `Idempotency-Key` is still running (`code`: \
             `IDEMPOTENCY_KEY_IN_USE`); retry after `Retry-After` seconds for its outcome",
    );
    // 429 keeps its rate-limit headers; a key can also meet the per-user cap.
    if let Some(RefOr::T(limited)) = map.get_mut("429") {
        limited.description.push_str(
            ", or the user has MAX_IDEMPOTENCY_KEYS_PER_USER idempotency keys stored and \
                 none has expired",
        );
    }
    // 422 is FastAPI's validation body, or a key reused for another request (a `Detail`
    // with its `code`): the document allows both shapes.
    if let Some(RefOr::T(invalid)) = map.get_mut("422") {
        invalid.description = "Malformed or invalid input (`{\"detail\": [...]}`), or an \
                `Idempotency-Key` already used for a different method, path or body \
                (`{\"detail\": \"...\", \"code\": \"IDEMPOTENCY_KEY_REUSED\"}`)"
            .to_owned();
        let either = OneOfBuilder::new()
            .item(Ref::from_schema_name("ValidationErrors"))
            .item(Ref::from_schema_name("Detail"))
            .build();
        let either = utoipa::openapi::Schema::OneOf(either);
        invalid.content.insert(
            "application/json".to_owned(),
            RefOr::T(ContentBuilder::new().schema(Some(either)).build()),
        );
    }
}

/// Adds (or replaces) one `{"detail": …}` response.
fn with(
    mut map: BTreeMap<String, RefOr<Response>>,
    status: &str,
    description: &str,
) -> BTreeMap<String, RefOr<Response>> {
    map.insert(
        status.to_owned(),
        RefOr::T(detail_response(description).build()),
    );
    map
}

const NO_LIST: &str = "No such list (another user's list looks the same): `List not found`";

/// What a task read or create answers 404 for, beside the task itself.
const NO_LIST_OR_PARENT: &str = "`list_id` names no list of the user's (`List not found`), or \
     `parent_id` names no task of the user's (`Task not found`); another user's list or task \
     looks the same";

/// Errors of `GET /tasks`: every read's, and a `list_id` or `parent_id` that names no list
/// or task of the user's.
pub struct FilteredErrors;

impl IntoResponses for FilteredErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        with(errors(false, false), "404", NO_LIST_OR_PARENT)
    }
}

/// Errors of `POST /tasks`: a write's, and a `list_id` or `parent_id` that names no list or
/// task of the user's.
pub struct TaskCreateErrors;

impl IntoResponses for TaskCreateErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        with(CreateErrors::responses(), "404", NO_LIST_OR_PARENT)
    }
}

/// Errors of the list reads.
pub struct ListsErrors;

impl IntoResponses for ListsErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        with(errors(true, false), "404", NO_LIST)
    }
}

/// Errors of the list writes: a write's, 404 for the list or a move's neighbour, and 409
/// for a duplicate name or the list cap as well as a key in use.
pub struct ListWriteErrors;

impl IntoResponses for ListWriteErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let map = with(
            WriteErrors::<false, true>::responses(),
            "404",
            "No such list, or a move's `after_id` / `before_id` names no list of the user's \
             (another user's list looks the same): `List not found`",
        );
        with(
            map,
            "409",
            "The user already has a list of this name, case-insensitively (`code`: \
             `DUPLICATE_NAME`, the `detail` names it), or MAX_LISTS_PER_USER lists (`code`: \
             `LIMIT_EXCEEDED`), or a request with this `Idempotency-Key` is still running \
             (`code`: `IDEMPOTENCY_KEY_IN_USE`; retry after `Retry-After` seconds)",
        )
    }
}

/// Errors of the writes that change one list (update, move, delete): [`ListWriteErrors`] and
/// `If-Match`'s 400, 412 (with the list as it is now) and 428.
pub struct ListChangeErrors;

impl IntoResponses for ListChangeErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let mut map = ListWriteErrors::responses();
        map.extend(ConditionalErrors::responses());
        let conflict = ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ListPreconditionFailed")))
            .build();
        map.insert(
            "412".to_owned(),
            RefOr::T(
                utoipa::openapi::ResponseBuilder::new()
                    .description(
                        "`If-Match` does not match the list's current version: \
                         `VERSION_CONFLICT`, with the list as it is now in `list` and its \
                         `ETag`; nothing was written",
                    )
                    .content("application/json", conflict)
                    .build(),
            ),
        );
        with(
            map,
            "400",
            "A malformed `Idempotency-Key` (empty, over 255 characters, or not visible ASCII), \
             or an `If-Match` that is neither `*` nor a list of quoted entity-tags",
        )
    }
}
