//! The refusals of shared lists (issue 29): what a sharing request may not do, and how each
//! looks to a client. Here, beside the one error type, so that `error.rs` maps them in its
//! one `match` per API without growing a variant per case.

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

impl SharingError {
    /// The client-facing message.
    pub fn message(&self) -> String {
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

    /// The machine-readable code, the same on both APIs (`code` in a REST body,
    /// `extensions.code` in GraphQL).
    pub fn code(&self) -> &'static str {
        match self {
            SharingError::NotAllowed(_) => "FORBIDDEN",
            SharingError::MemberNotFound | SharingError::InviteNotFound => "NOT_FOUND",
            SharingError::DuplicateMember => "DUPLICATE_MEMBER",
            SharingError::MemberLimitReached(_) | SharingError::InviteLimitReached(_) => {
                "LIMIT_EXCEEDED"
            }
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> axum::http::StatusCode {
        use axum::http::StatusCode;
        match self {
            SharingError::NotAllowed(_) => StatusCode::FORBIDDEN,
            SharingError::MemberNotFound | SharingError::InviteNotFound => StatusCode::NOT_FOUND,
            SharingError::DuplicateMember
            | SharingError::MemberLimitReached(_)
            | SharingError::InviteLimitReached(_) => StatusCode::CONFLICT,
        }
    }
}
