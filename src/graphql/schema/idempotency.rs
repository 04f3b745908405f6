//! Idempotency keys on GraphQL mutations: the `idempotencyKey` argument (or, over HTTP, the
//! `Idempotency-Key` header of a single-operation request, put in the request's data by
//! `transport::http`), the keyed request a mutation makes (`GRAPHQL`, the field's name and its other
//! arguments, with variables resolved), what is stored (the service's result as JSON) and
//! its replay (that JSON read back, so the selection set shapes it as the first time).
//!
//! The check-and-store itself is the task service's (`tasks::idempotency`), inside the write.

use std::collections::BTreeMap;

use async_graphql::{Context, ID, Result};
use axum::http::StatusCode;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::{parse_id, to_graphql_error};
use super::{service, viewer};
use crate::auth::AuthUser;
use crate::error::{AppError, AppResult, IdempotencyError};
use crate::tasks::idempotency::request::{IdempotencyKey, KeyedRequest, StoredOutcome, keyed};
use crate::tasks::{ItemWrite, Precondition, TaskService};

/// The argument's name, left out of the fingerprint (a retry may move the key to the header).
const ARGUMENT: &str = "idempotencyKey";

/// The keyed request of this mutation field, when it has a key (argument or header).
pub(super) fn keyed_request(
    ctx: &Context<'_>,
    argument: Option<String>,
) -> Result<Option<KeyedRequest>> {
    let header = ctx.data_opt::<IdempotencyKey>();
    let key = match (argument, header) {
        (Some(raw), header) => {
            let key = IdempotencyKey::parse(raw.as_bytes()).map_err(refused)?;
            if header.is_some_and(|sent| *sent != key) {
                return Err(refused(IdempotencyError::BadKey(
                    "the idempotencyKey argument and the Idempotency-Key header differ",
                )));
            }
            key
        }
        (None, Some(header)) => header.clone(),
        (None, None) => return Ok(None),
    };
    let field = ctx.field();
    let arguments: BTreeMap<String, async_graphql::Value> = field
        .arguments()?
        .into_iter()
        .filter(|(name, _)| name.as_str() != ARGUMENT)
        .map(|(name, value)| (name.to_string(), value))
        .collect();
    let body = serde_json::to_vec(&arguments).unwrap_or_default();
    Ok(Some(KeyedRequest::new(key, "GRAPHQL", field.name(), &body)))
}

/// A keyed mutation of the item named by its `id` argument: the viewer, that id as an integer
/// and the keyed request (as `keyed_request`), checked in that order.
pub(super) fn item_request<'a>(
    ctx: &Context<'a>,
    id: &ID,
    argument: Option<String>,
) -> Result<(&'a AuthUser, i64, Option<KeyedRequest>)> {
    let user = viewer(ctx)?;
    let id = parse_id("id", id)?;
    Ok((user, id, keyed_request(ctx, argument)?))
}

fn refused(error: IdempotencyError) -> async_graphql::Error {
    to_graphql_error(error.into())
}

/// A mutation's result as stored: the service's value in JSON.
pub(super) fn as_json<T: Serialize>(value: &T) -> StoredOutcome {
    StoredOutcome::json(
        StatusCode::OK,
        serde_json::to_string(value).unwrap_or_default(),
    )
}

/// An `expectedVersion` argument as the service's precondition.
fn expecting(version: Option<i32>) -> Precondition {
    version.map_or(Precondition::None, |v| Precondition::Version(v.into()))
}

/// A mutation's write of item `id` by `user`: `expectedVersion` as its precondition, keyed
/// with `request` (from `keyed_request`) and stored as JSON.
pub(super) fn item_write<'a, T: Serialize>(
    user: &'a AuthUser,
    id: i64,
    expected_version: Option<i32>,
    request: &'a Option<KeyedRequest>,
) -> ItemWrite<'a, T> {
    ItemWrite {
        user,
        id,
        expect: expecting(expected_version),
        once: keyed(request.as_ref(), &as_json::<T>),
    }
}

/// A keyed write of the task or list named by the `id` argument: its viewer, id and keyed
/// request (as `item_request`), then `write` with the service and the `item_write`; the
/// written value, or on a replay the stored one read back.
pub(super) async fn item_mutation<T, W>(
    ctx: &Context<'_>,
    id: &ID,
    expected_version: Option<i32>,
    argument: Option<String>,
    write: W,
) -> Result<T>
where
    T: Serialize + DeserializeOwned,
    W: AsyncFnOnce(&TaskService, ItemWrite<'_, T>) -> AppResult<T>,
{
    let (user, id, request) = item_request(ctx, id, argument)?;
    let item = item_write(user, id, expected_version, &request);
    or_replayed(write(service(ctx)?, item).await)
}

/// The service's result, or on a replay the stored one read back.
pub(super) fn or_replayed<T: DeserializeOwned>(result: AppResult<T>) -> Result<T> {
    match result {
        Ok(value) => Ok(value),
        Err(AppError::Idempotency(IdempotencyError::Replay(stored))) => {
            serde_json::from_str(&stored.body).map_err(|e| {
                to_graphql_error(AppError::Internal(format!(
                    "a stored idempotent result does not read back: {e}"
                )))
            })
        }
        Err(error) => Err(to_graphql_error(error)),
    }
}
