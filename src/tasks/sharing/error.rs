//! The refusals of shared lists (issue 29): what a sharing request may not do, and how each
//! looks to a client (`error::FeatureError`: both APIs read status, code and message here).

use axum::http::StatusCode;

use crate::error::FeatureError;

/// A refused sharing request or write in a shared list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SharingError {
    /// 403: the caller sees the list but their role does not allow this (a viewer's write,
    /// a member's sharing); the text says what is missing.
    #[error("not allowed: {0}")]
    NotAllowed(&'static str),
    /// 404: the user named is not a member of the list.
    #[error("member not found")]
    MemberNotFound,
    /// 404: an invite link that is unknown, expired or revoked.
    #[error("invite not found")]
    InviteNotFound,
    /// 409: the user named is already the list's owner or a member.
    #[error("already a member")]
    DuplicateMember,
    /// 409: the list has MAX_MEMBERS_PER_LIST members already.
    #[error("member limit reached ({0})")]
    MemberLimitReached(u64),
    /// 409: the list has MAX_INVITES_PER_LIST live invite links already.
    #[error("invite limit reached ({0})")]
    InviteLimitReached(u64),
}

impl FeatureError for SharingError {
    fn message(&self) -> String {
        match self {
            SharingError::NotAllowed(why) => format!("Forbidden: {why}"),
            SharingError::MemberNotFound => "Member not found".to_owned(),
            SharingError::InviteNotFound => {
                "Invite not found: the link is unknown, expired or revoked".to_owned()
            }
            SharingError::DuplicateMember => {
                "That user is already the list's owner or a member".to_owned()
            }
            SharingError::MemberLimitReached(cap) => format!(
                "Member limit reached: at most {cap} members per list (MAX_MEMBERS_PER_LIST)"
            ),
            SharingError::InviteLimitReached(cap) => format!(
                "Invite limit reached: at most {cap} live invite links per list \
                 (MAX_INVITES_PER_LIST); revoke one first"
            ),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            SharingError::NotAllowed(_) => "FORBIDDEN",
            SharingError::MemberNotFound | SharingError::InviteNotFound => "NOT_FOUND",
            SharingError::DuplicateMember => "DUPLICATE_MEMBER",
            SharingError::MemberLimitReached(_) | SharingError::InviteLimitReached(_) => {
                "LIMIT_EXCEEDED"
            }
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            SharingError::NotAllowed(_) => StatusCode::FORBIDDEN,
            SharingError::MemberNotFound | SharingError::InviteNotFound => StatusCode::NOT_FOUND,
            SharingError::DuplicateMember
            | SharingError::MemberLimitReached(_)
            | SharingError::InviteLimitReached(_) => StatusCode::CONFLICT,
        }
    }
}
