//! The NOTIFY payload of a task event: what one instance tells the others (and itself) about a
//! change, always under PostgreSQL's 8,000-byte limit. It carries the task's owner; each
//! receiving router delivers to that owner's audience (`tasks::visibility::audience`).

use serde::{Deserialize, Serialize};

use super::pending::Reference;
use super::{TaskEvent, TaskEventKind};
use crate::db::events::MAX_PAYLOAD_BYTES;
use crate::tasks::model::{Task, TaskRow};

/// A payload carrying the whole task must stay this small; a larger one (a task full of
/// characters JSON escapes as `\u00XX`, 6 bytes each, can reach ~7,400 bytes) carries only
/// the ids and the receiving instance reads the task.
pub(crate) const INLINE_LIMIT: usize = 6000;

/// The NOTIFY payload.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Wire {
    #[serde(rename = "u")]
    user: String,
    #[serde(rename = "k")]
    kind: TaskEventKind,
    #[serde(rename = "i", default)]
    task_id: i64,
    #[serde(rename = "s", default)]
    seq: i64,
    #[serde(rename = "t", default, skip_serializing_if = "Option::is_none")]
    task: Option<Task>,
    /// True when the task was left out for size: the receiver reads it.
    #[serde(rename = "r", default, skip_serializing_if = "std::ops::Not::not")]
    by_reference: bool,
}

/// The payload for one change, always under PostgreSQL's 8,000-byte limit: the whole task
/// when it fits in [`INLINE_LIMIT`], otherwise its ids, and (for a user id too long even for
/// that) a resync for everyone rather than a failed write.
pub(in crate::tasks) fn wire_payload(
    user: &str,
    kind: TaskEventKind,
    task_id: i64,
    seq: i64,
    row: Option<&TaskRow>,
) -> String {
    let mut wire = Wire {
        user: user.to_owned(),
        kind,
        task_id,
        seq,
        task: row.cloned().map(Task::from),
        by_reference: false,
    };
    let inline = serde_json::to_string(&wire).unwrap_or_default();
    if !inline.is_empty() && inline.len() <= INLINE_LIMIT {
        return inline;
    }
    wire.by_reference = wire.task.take().is_some();
    let reference = serde_json::to_string(&wire).unwrap_or_default();
    if !reference.is_empty() && reference.len() <= MAX_PAYLOAD_BYTES {
        return reference;
    }
    tracing::warn!(
        bytes = reference.len(),
        "task event too large to send even by reference; asking every subscriber to resync"
    );
    r#"{"u":"","k":"resync"}"#.to_owned()
}

/// A decoded payload: an event ready to route, one whose task must be read first, or a
/// resync for everyone.
pub(in crate::tasks) enum Received {
    Event(Box<TaskEvent>),
    NeedsTask(Reference),
    ResyncAll,
}

pub(in crate::tasks) fn decode(payload: &str) -> Option<Received> {
    let wire: Wire = match serde_json::from_str(payload) {
        Ok(wire) => wire,
        Err(e) => {
            tracing::warn!(error = %e, "ignoring a task event payload that does not parse");
            return None;
        }
    };
    Some(match wire.kind {
        TaskEventKind::Resync => Received::ResyncAll,
        kind if wire.by_reference => Received::NeedsTask(Reference {
            owner: wire.user,
            kind,
            task_id: wire.task_id,
            seq: wire.seq,
        }),
        kind => Received::Event(Box::new(TaskEvent::change(
            &wire.user,
            kind,
            wire.task_id,
            wire.task,
            wire.seq,
        ))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::model::{DESCRIPTION_MAX_CHARS, TITLE_MAX_CHARS};

    fn row(title: String, description: String) -> TaskRow {
        TaskRow::for_test(title, description)
    }

    #[test]
    fn payloads_stay_under_the_notify_limit() {
        // Four-byte characters: the largest UTF-8, still carried whole.
        let emoji = row(
            "😀".repeat(TITLE_MAX_CHARS),
            "😀".repeat(DESCRIPTION_MAX_CHARS),
        );
        let payload = wire_payload("user-1", TaskEventKind::Updated, 1, 9, Some(&emoji));
        assert!(payload.len() <= INLINE_LIMIT, "{}", payload.len());
        assert!(matches!(decode(&payload), Some(Received::Event(e)) if e.task.is_some()));

        // Control characters: 6 bytes each in JSON, the worst case; sent by reference.
        let worst = row(
            "\u{1}".repeat(TITLE_MAX_CHARS),
            "\u{1}".repeat(DESCRIPTION_MAX_CHARS),
        );
        let inline = serde_json::to_string(&Task::from(worst.clone())).unwrap();
        assert!(
            inline.len() > INLINE_LIMIT,
            "worst case is {} bytes",
            inline.len()
        );
        let payload = wire_payload("user-1", TaskEventKind::Updated, 1, 9, Some(&worst));
        assert!(payload.len() < 200, "{payload}");
        assert!(matches!(
            decode(&payload),
            Some(Received::NeedsTask(Reference {
                task_id: 1,
                seq: 9,
                ..
            }))
        ));

        let huge_user = "u".repeat(9000);
        let payload = wire_payload(&huge_user, TaskEventKind::Deleted, 1, 9, None);
        assert!(matches!(decode(&payload), Some(Received::ResyncAll)));
    }
}
