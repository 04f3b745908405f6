//! The NOTIFY payload of task and list events, as the database's journal trigger writes it
//! (`journal_notify` in migration `2026-11-25-000040_database_journal`, for every writer): what
//! one instance hears about a change. It carries the owner; each receiving router delivers to
//! that owner's audience (`tasks::visibility::audience`).
//!
//! - One change: `{"e": "task" | "list", "u": owner, "i": id, "s": change number, "k":
//!   "created" | "updated" | "deleted", "w": the row}`; a row that would make the payload
//!   pass 6,000 bytes is left out (`"r": true`) and the receiver reads it.
//! - Several (one statement: a subtree's delete, a renamed tag, a TRUNCATE): `{"k": "batch",
//!   "b": [[owner, after, upto], …]}`, each owner's range of change numbers; the receiver
//!   reads them from the journal.
//! - `{"k": "reminder", "u": owner, "i": id, "to": [recipients], "w": the row or null}`: a
//!   reminder came due (`tasks::reminders`), for each recipient alone; the row is left out
//!   (null) when it would not fit.
//! - `{"u": "", "k": "resync"}`: everyone resyncs (a batch over too many owners for one
//!   payload).

use serde::Deserialize;

use super::pending::Reference;
use super::{TaskEvent, TaskEventKind};
use crate::tasks::lists::model::{List, ListRow};
use crate::tasks::task::model::TaskRow;

/// What a payload is about.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Entity {
    #[default]
    Task,
    List,
}

/// What happened, as the trigger spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Created,
    Updated,
    Deleted,
    Batch,
    Reminder,
    Resync,
}

/// The NOTIFY payload.
#[derive(Debug, Deserialize)]
struct Wire {
    #[serde(rename = "e", default)]
    entity: Entity,
    #[serde(rename = "u", default)]
    user: String,
    #[serde(rename = "k")]
    kind: Kind,
    #[serde(rename = "i", default)]
    id: i64,
    #[serde(rename = "s", default)]
    seq: i64,
    #[serde(rename = "w", default)]
    row: Option<serde_json::Value>,
    /// True when the row was left out for size: the receiver reads it.
    #[serde(rename = "r", default)]
    by_reference: bool,
    #[serde(rename = "b", default)]
    batch: Vec<(String, i64, i64)>,
    /// A reminder's recipients.
    #[serde(rename = "to", default)]
    to: Vec<String>,
}

/// A decoded payload: an event ready to route, changes whose rows must be read first (each
/// a range of one owner's change numbers), or a resync for everyone.
pub(in crate::tasks) enum Received {
    Event(Box<TaskEvent>),
    NeedsRows(Vec<Reference>),
    /// One `Reminder` per recipient, each for that user alone.
    Reminders(Vec<TaskEvent>),
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
    let one = |owner: String, seq: i64| Reference {
        owner,
        after: seq - 1,
        upto: seq,
    };
    Some(match wire.kind {
        Kind::Resync => Received::ResyncAll,
        Kind::Reminder => {
            let task = wire
                .row
                .as_ref()
                .and_then(|json| parse::<TaskRow>(json)?.readable());
            Received::Reminders(
                wire.to
                    .iter()
                    .map(|to| TaskEvent::reminder(to, wire.id, task.clone()))
                    .collect(),
            )
        }
        Kind::Batch => Received::NeedsRows(
            wire.batch
                .into_iter()
                .map(|(owner, after, upto)| Reference { owner, after, upto })
                .collect(),
        ),
        _ if wire.by_reference => Received::NeedsRows(vec![one(wire.user, wire.seq)]),
        kind => match event(&wire, kind) {
            Some(event) => Received::Event(Box::new(event)),
            // A row this version cannot read (a newer server's column type): read it instead.
            None => Received::NeedsRows(vec![one(wire.user, wire.seq)]),
        },
    })
}

/// The event of a one-change payload; `None` when its row does not parse.
fn event(wire: &Wire, kind: Kind) -> Option<TaskEvent> {
    let gone = kind == Kind::Deleted;
    let row = match (&wire.row, gone) {
        (_, true) => None,
        (Some(row), false) => Some(row),
        (None, false) => return None,
    };
    Some(match wire.entity {
        Entity::Task => {
            let task = match row {
                Some(json) => Some(parse::<TaskRow>(json)?.readable()?),
                None => None,
            };
            let kind = match kind {
                Kind::Created => TaskEventKind::Created,
                Kind::Deleted => TaskEventKind::Deleted,
                _ => TaskEventKind::Updated,
            };
            TaskEvent::change(&wire.user, kind, wire.id, task, wire.seq)
        }
        Entity::List => {
            let list = match row {
                Some(json) => Some(List::from(
                    parse::<ListRow>(json).filter(ListRow::readable)?,
                )),
                None => None,
            };
            let kind = match kind {
                Kind::Created => TaskEventKind::ListCreated,
                Kind::Deleted => TaskEventKind::ListDeleted,
                _ => TaskEventKind::ListUpdated,
            };
            TaskEvent::list_change(&wire.user, kind, wire.id, list, wire.seq)
        }
    })
}

fn parse<T: serde::de::DeserializeOwned>(json: &serde_json::Value) -> Option<T> {
    T::deserialize(json)
        .map_err(|e| tracing::warn!(error = %e, "a row in a task event payload does not parse"))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `journal_notify` sends (captured from PostgreSQL 15), decoded.
    #[test]
    fn decodes_what_the_trigger_sends() {
        let created = r#"{"e": "task", "i": 4, "k": "created", "s": 1, "u": "bob", "w": {"id": 4, "tags": "[\"a\"]", "title": "x", "list_id": null, "user_id": "bob", "version": 1, "category": "other", "due_date": null, "position": "80", "priority": 0, "completed": false, "parent_id": null, "time_zone": "UTC", "created_at": "2026-11-25T06:43:55.132029+01:00", "recurrence": null, "updated_at": "2026-11-25T06:43:55+00:00", "description": null, "completed_at": null, "recurrence_start": null}}"#;
        let Some(Received::Event(event)) = decode(created) else {
            panic!("not an event");
        };
        let task = event.task.expect("the task");
        assert_eq!(
            (event.kind, task.id, event.cursor),
            (TaskEventKind::Created, 4, Some(1))
        );
        assert_eq!(task.tags, vec!["a".to_owned()]);
        assert_eq!(
            task.created_at.to_rfc3339(),
            "2026-11-25T05:43:55.132029+00:00"
        );

        let deleted = r#"{"e": "task", "i": 2, "k": "deleted", "s": 5, "u": "alice"}"#;
        let Some(Received::Event(event)) = decode(deleted) else {
            panic!("not an event");
        };
        assert_eq!(
            (event.kind, event.task_id),
            (TaskEventKind::Deleted, Some(2))
        );

        let large = r#"{"e": "task", "i": 2, "k": "updated", "s": 5, "u": "alice", "r": true}"#;
        assert!(matches!(decode(large), Some(Received::NeedsRows(r)) if r[0].after == 4));

        let batch = r#"{"b": [["alice", 5, 7], ["bob", 1, 2]], "k": "batch"}"#;
        let Some(Received::NeedsRows(ranges)) = decode(batch) else {
            panic!("not a batch");
        };
        assert_eq!(ranges.len(), 2);
        assert_eq!(
            (ranges[1].owner.as_str(), ranges[1].after, ranges[1].upto),
            ("bob", 1, 2)
        );

        let list = r#"{"e": "list", "i": 3, "k": "updated", "s": 9, "u": "alice", "w": {"id": 3, "user_id": "alice", "name": "Work", "color": null, "position": "80", "version": 2, "created_at": "2026-11-25T06:43:55+00:00", "updated_at": "2026-11-25T06:43:55+00:00"}}"#;
        let Some(Received::Event(event)) = decode(list) else {
            panic!("not an event");
        };
        assert_eq!(
            (event.kind, event.list_id),
            (TaskEventKind::ListUpdated, Some(3))
        );
        assert_eq!(event.list.expect("the list").name, "Work");

        assert!(matches!(
            decode(r#"{"u": "", "k": "resync"}"#),
            Some(Received::ResyncAll)
        ));
        assert!(decode("not json").is_none());
    }

    /// A row another program wrote with times the server cannot read (issue 40): an
    /// infinite due date is sent as null; an infinite creation time sends the listener to
    /// the journal (whose read leaves the row out) rather than dropping the event silently.
    #[test]
    fn an_unreadable_time_in_a_payload_is_null_or_read_again() {
        let row = |due: &str, created: &str| {
            format!(
                r#"{{"e": "task", "i": 4, "k": "updated", "s": 3, "u": "bob", "w": {{"id": 4, "tags": "[]", "title": "x", "list_id": null, "user_id": "bob", "version": 2, "category": "other", "due_date": {due}, "position": "80", "priority": 0, "completed": false, "parent_id": null, "time_zone": "UTC", "created_at": {created}, "recurrence": null, "updated_at": "2026-11-25T06:43:55+00:00", "description": null, "completed_at": null, "recurrence_start": null}}}}"#
            )
        };
        let fine = r#""2026-11-25T06:43:55+00:00""#;
        let Some(Received::Event(event)) = decode(&row(r#""infinity""#, fine)) else {
            panic!("not an event");
        };
        assert_eq!(event.task.expect("the task").due_date, None);
        let read_again = decode(&row("null", r#""-infinity""#));
        assert!(matches!(read_again, Some(Received::NeedsRows(_))));
    }
}
