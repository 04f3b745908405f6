//! The extractors a user-scoped handler starts with: [`Owner`] (the path's `{user_id}` is the
//! token's user) and, for a write of one task or list, [`ItemWriteParts`] (the owner, the item's
//! id, `If-Match` and `Idempotency-Key`, checked in that order, then handed to the service as
//! one [`ItemWrite`]).

use axum::extract::{FromRef, FromRequestParts, Path};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::conditional::IfMatch;
use super::idempotency::WriteKey;
use super::openapi::UserPath;
use super::query::task_id;
use crate::AppState;
use crate::auth::AuthUser;
use crate::error::AppError;
use crate::tasks::idempotency::request::{KeyedRequest, StoredOutcome, keyed};
use crate::tasks::{ItemWrite, TaskService};

/// The verified user, after checking that the path's `{user_id}` is theirs. Checked before
/// the body or id is even looked at.
pub(super) struct Owner(pub(super) AuthUser);

impl FromRequestParts<AppState> for Owner {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        // Through the admission gate: verified and charged to the user's rate limit.
        let user = AuthUser::from_request_parts(parts, state).await?;
        let Path(path) = Path::<UserPath>::from_request_parts(parts, state)
            .await
            .map_err(|_| AppError::Forbidden)?;
        if path.user_id == user.id() {
            Ok(Owner(user))
        } else {
            Err(AppError::Forbidden)
        }
    }
}

/// The `{id}` of an item's path (a task's or a list's; the rest of the path is `Owner`'s).
#[derive(Deserialize)]
struct ItemId {
    id: String,
}

/// What every REST write of one task or list takes, checked in this order: the path's owner
/// (403 first), `If-Match` (400, or 428 under REQUIRE_IF_MATCH), `Idempotency-Key` (400), the
/// id (422 when not an integer); and the service.
pub(super) struct ItemWriteParts {
    /// The verified owner of the path.
    pub(super) user: AuthUser,
    /// The item's id.
    pub(super) id: i64,
    if_match: IfMatch,
    key: WriteKey,
    /// The service.
    pub(super) tasks: TaskService,
}

impl FromRequestParts<AppState> for ItemWriteParts {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let refused = IntoResponse::into_response;
        let Owner(user) = Owner::from_request_parts(parts, state)
            .await
            .map_err(refused)?;
        let if_match = IfMatch::from_request_parts(parts, state)
            .await
            .map_err(refused)?;
        let key = WriteKey::from_request_parts(parts, state)
            .await
            .map_err(refused)?;
        let Path(ItemId { id }) = Path::<ItemId>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(ItemWriteParts {
            user,
            id: task_id(&id).map_err(refused)?,
            if_match,
            key,
            tasks: TaskService::from_ref(state),
        })
    }
}

impl ItemWriteParts {
    /// The keyed request of this write with the body it was sent (`None`: no key).
    pub(super) fn request(&self, body: &[u8]) -> Option<KeyedRequest> {
        self.key.request(body)
    }

    /// The service's write: this user and item, `If-Match` as its precondition, keyed with
    /// `request` (from [`Self::request`]) and stored as `render` makes it.
    pub(super) fn write<'a, T>(
        &'a self,
        request: &'a Option<KeyedRequest>,
        render: &'a (dyn Fn(&T) -> StoredOutcome + Sync),
    ) -> ItemWrite<'a, T> {
        ItemWrite {
            user: &self.user,
            id: self.id,
            expect: self.if_match.precondition(self.id),
            once: keyed(request.as_ref(), render),
        }
    }
}
