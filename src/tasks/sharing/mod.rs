//! What sharing a list is (issue 29): the roles a user can hold on a list, a member as both
//! APIs show one, and the caps. A list has one owner (`task_lists.user_id`, whose caps count
//! its tasks); its members are editors (they write its tasks) or viewers (they read them).
//! Who sees what is `visibility`'s; the operations are `members`' and `invites`'.
//!
//! It must not know SQL nor how an API spells its errors beyond [`FieldError`].

#![allow(clippy::result_large_err)] // validation failures are the cold path (as in `rules`)

pub(in crate::tasks) mod assignees;
mod error;
pub(in crate::tasks) mod invite_store;
pub(in crate::tasks) mod invites;
pub(in crate::tasks) mod member_store;
pub(in crate::tasks) mod members;

use chrono::{DateTime, Utc};
use serde_json::Value;

pub use self::error::SharingError;
use crate::error::{AppError, FieldError};

/// A user's role on a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The list's owner: everything, sharing and deleting the list included.
    Owner,
    /// Creates, updates, completes, moves and deletes the list's tasks.
    Editor,
    /// Reads the list and its tasks.
    Viewer,
}

impl Role {
    /// As stored (members only) and as REST spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Editor => "editor",
            Role::Viewer => "viewer",
        }
    }

    /// A member's role as stored; anything else reads as the least, `viewer`.
    pub fn stored(text: &str) -> Role {
        match text {
            "editor" => Role::Editor,
            _ => Role::Viewer,
        }
    }

    /// A role a member may be given (`editor` or `viewer`), from a request's `field`.
    pub fn for_member(text: &str, field: &str) -> Result<Role, AppError> {
        match text {
            "editor" => Ok(Role::Editor),
            "viewer" => Ok(Role::Viewer),
            _ => Err(AppError::invalid(FieldError::body(
                field,
                "enum",
                "Input should be 'editor' or 'viewer' (a list has one owner)",
                Value::String(text.to_owned()),
            ))),
        }
    }

    /// Whether this role may write the list's tasks.
    pub fn writes_tasks(self) -> bool {
        matches!(self, Role::Owner | Role::Editor)
    }
}

/// A user on a list: its owner or a member.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Member {
    /// The user.
    pub user_id: String,
    /// Their role.
    pub role: Role,
    /// When they joined (the owner: when the list was created).
    pub added_at: DateTime<Utc>,
}

/// Longest user id a request may name, in characters (ids come from tokens: `sub` claims).
pub const USER_ID_MAX_CHARS: usize = 255;

/// A user id named in a request (`field`): not empty, not too long, no NUL.
pub fn checked_user_id(user_id: &str, field: &str) -> Result<(), AppError> {
    let bad = |kind: &'static str, message: &str| {
        Err(AppError::invalid(FieldError::body(
            field,
            kind,
            message,
            Value::String(user_id.to_owned()),
        )))
    };
    if user_id.trim().is_empty() {
        return bad(
            "string_too_short",
            "String should have at least 1 character",
        );
    }
    if user_id.chars().count() > USER_ID_MAX_CHARS {
        return bad(
            "string_too_long",
            "String should have at most 255 characters",
        );
    }
    if user_id.contains('\0') {
        return bad("value_error", "Value error, NUL characters are not allowed");
    }
    Ok(())
}

/// MAX_MEMBERS_PER_LIST, MAX_INVITES_PER_LIST and INVITE_RETENTION.
#[derive(Debug, Clone, Copy)]
pub struct SharingCaps {
    /// Members per list, besides its owner.
    pub members: u64,
    /// Live invite links per list.
    pub invites: u64,
    /// How long a revoked or expired invite link is kept before the prune drops it.
    pub invite_retention: std::time::Duration,
}

impl Default for SharingCaps {
    fn default() -> Self {
        SharingCaps {
            members: 50,
            invites: 20,
            invite_retention: std::time::Duration::from_secs(7 * 86_400),
        }
    }
}

/// Longest an invite link may live: 30 days.
pub const INVITE_MAX_LIFETIME: std::time::Duration = std::time::Duration::from_secs(30 * 86_400);

/// How long a new invite link lives when the request names no `expires_in`: 7 days.
pub const INVITE_DEFAULT_LIFETIME: std::time::Duration = std::time::Duration::from_secs(7 * 86_400);

/// An invite link's lifetime as a request gives it (`"7d"`, `"12h"`, `"90m"`; seconds
/// without a unit): more than nothing, at most 30 days. `None`: 7 days.
pub fn invite_lifetime(text: Option<&str>, field: &str) -> Result<std::time::Duration, AppError> {
    let Some(text) = text else {
        return Ok(INVITE_DEFAULT_LIFETIME);
    };
    let bad = |message: String| {
        AppError::invalid(FieldError::body(
            field,
            "value_error",
            format!("Value error, {message}"),
            Value::String(text.to_owned()),
        ))
    };
    let lifetime = crate::config::parse_duration(text).map_err(bad)?;
    if lifetime.as_secs() == 0 {
        return Err(bad("an invite must live at least one second".to_owned()));
    }
    if lifetime > INVITE_MAX_LIFETIME {
        return Err(bad("an invite lives at most 30 days (30d)".to_owned()));
    }
    Ok(lifetime)
}

/// An invite link to a list. Its token is shown once, to the owner who made it (`token`);
/// only its SHA-256 is stored, which is also the invite's `id` (not a credential: the link
/// needs the token).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Invite {
    /// The SHA-256 of the token, hex: how a list's invites are told apart and revoked.
    pub id: String,
    /// The token (at least 128 random bits, URL-safe): only when just created.
    pub token: Option<String>,
    /// The role it gives.
    pub role: Role,
    /// Who made it (the list's owner).
    pub created_by: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// Revoked by the owner.
    pub revoked: bool,
}

/// A new invite token: 32 random bytes (256 bits), base64url without padding (43 characters).
pub fn new_invite_token() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored of a token: its SHA-256, hex.
pub fn invite_hash(token: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
