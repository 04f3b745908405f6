//! Tags across a user's tasks: the tags with their task counts ([`TaskService::tags`]),
//! renaming one and deleting one on every task that carries it, each in one transaction
//! ([`TaskService::rename_tag`], [`TaskService::delete_tag`]), the per-user cap on different
//! tag names (MAX_TAGS_PER_USER, checked wherever a create or an update writes tags, by the
//! store: `service::folded`). The field rules are `rules`'; the SQL `store`'s.
//!
//! Every task these operations change gets its version +1, its journal entry and its event,
//! like any other write.

pub mod rules;
pub(in crate::tasks) mod store;

use crate::auth::AuthUser;
use crate::error::{AppError, AppResult};
use crate::tasks::idempotency::request::Keyed;
use crate::tasks::service::{TaskService, now_micros};
use crate::tasks::tags::rules::{tag_key, validate_tag};
use crate::tasks::task::model::Task;
use crate::tasks::task::query;

/// One of a user's tags and how many of their tasks carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagCount {
    /// The name as most recently written on a task (tags differing only in case are one).
    pub name: String,
    /// The tasks carrying it.
    pub count: i64,
}

/// What a rename or delete does to the tasks carrying a tag.
enum TagChange<'a> {
    /// The tag `from_key` becomes `to`.
    Rename { from_key: &'a str, to: &'a str },
    /// The tag `key` goes.
    Delete { key: &'a str },
}

impl TagChange<'_> {
    /// The tag whose tasks change.
    fn key(&self) -> &str {
        match self {
            TagChange::Rename { from_key, .. } => from_key,
            TagChange::Delete { key } => key,
        }
    }

    /// A task's tags after the change.
    fn apply(&self, tags: &[String]) -> Vec<String> {
        match self {
            TagChange::Rename { from_key, to } => renamed(tags, from_key, to),
            TagChange::Delete { key } => tags
                .iter()
                .filter(|t| tag_key(t) != *key)
                .cloned()
                .collect(),
        }
    }

    /// Whether a task with these tags (before the change) merges two of them into one.
    fn merges(&self, tags: &[String]) -> bool {
        match self {
            TagChange::Rename { from_key, to } => {
                let to_key = tag_key(to);
                *from_key != to_key && tags.iter().any(|t| tag_key(t) == to_key)
            }
            TagChange::Delete { .. } => false,
        }
    }
}

/// `tags` with the tag `from_key` renamed `to`; a tag already spelled as `to` (by key) is
/// merged into it: the first of the two keeps its place, spelled `to`, and the other goes.
fn renamed(tags: &[String], from_key: &str, to: &str) -> Vec<String> {
    let to_key = tag_key(to);
    let mut out: Vec<String> = Vec::with_capacity(tags.len());
    for tag in tags {
        let key = tag_key(tag);
        if key == from_key || key == to_key {
            if !out.iter().any(|t| tag_key(t) == to_key) {
                out.push(to.to_owned());
            }
        } else {
            out.push(tag.clone());
        }
    }
    out
}

impl TaskService {
    /// The same service, refusing a write that would give a user more than `max` different
    /// tag names.
    pub fn with_tag_cap(mut self, max: u64) -> Self {
        self.max_tags = max;
        self
    }

    /// The user's tags, each with its number of tasks, ordered by name case-insensitively
    /// (the lower-cased name, by code point). A tag spelled differently on different tasks
    /// ("Work", "work") is one, named as on the task tagged most recently.
    pub async fn tags(&self, user: &AuthUser) -> AppResult<Vec<TagCount>> {
        let rows = self
            .work
            .read(user, async |conn| Ok(store::spellings(conn, user).await?))
            .await?;
        // Per key: the total, and the spelling written last (ties: the greater spelling).
        let mut tags: Vec<(String, TagCount, Option<chrono::NaiveDateTime>)> = Vec::new();
        for (key, name, count, at) in rows {
            // Unreadable (another program's row, issue 40): the oldest spelling (logged).
            let at = at.and_then(|at| at.read_as("task_tags", &key, "changed_at"));
            match tags.iter_mut().find(|(k, _, _)| *k == key) {
                Some((_, tag, newest)) => {
                    tag.count += count;
                    if (at, &name) > (*newest, &tag.name) {
                        (tag.name, *newest) = (name, at);
                    }
                }
                None => tags.push((key, TagCount { name, count }, at)),
            }
        }
        tags.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(tags.into_iter().map(|(_, tag, _)| tag).collect())
    }

    /// Renames the tag `from` (any case) to `to` on every one of the user's tasks that carries
    /// it, in one transaction, and returns how many tasks changed (a task already spelling it
    /// exactly `to` does not). A task that also carries `to` keeps one of the two. No task
    /// carrying `from`: [`AppError::TagNotFound`].
    pub async fn rename_tag(
        &self,
        user: &AuthUser,
        from: &str,
        to: &str,
        once: Option<Keyed<'_, u64>>,
    ) -> AppResult<u64> {
        let to = validate_tag("body", "name", to).map_err(AppError::invalid)?;
        let from_key = tag_key(from);
        let change = TagChange::Rename {
            from_key: &from_key,
            to: &to,
        };
        self.retag_all(user, change, once).await
    }

    /// Removes the tag `name` (any case) from every one of the user's tasks, in one
    /// transaction, and returns how many tasks changed. No task carrying it:
    /// [`AppError::TagNotFound`].
    pub async fn delete_tag(
        &self,
        user: &AuthUser,
        name: &str,
        once: Option<Keyed<'_, u64>>,
    ) -> AppResult<u64> {
        let key = tag_key(name);
        self.retag_all(user, TagChange::Delete { key: &key }, once)
            .await
    }

    /// Gives every task of the user carrying the changed tag its tags after `change`, in one
    /// transaction; each task changed gets its version, journal entry and event, and the tag
    /// index follows in a few statements (`tags::store::rename_tag`, `tags::store::forget_tag`).
    async fn retag_all(
        &self,
        user: &AuthUser,
        change: TagChange<'_>,
        once: Option<Keyed<'_, u64>>,
    ) -> AppResult<u64> {
        let changed = |tasks: &Option<Vec<i64>>| tasks.as_deref().map(count);
        let written = self
            .write_once(user, once, changed, async |tx| {
                let ids = store::tagged(tx, user, change.key()).await?;
                if ids.is_empty() {
                    return Ok(None);
                }
                let now = now_micros();
                let mut rows = tx
                    .readers(async |r| query::find_many(r, user, &ids).await)
                    .await?;
                rows.sort_by_key(|row| row.id);
                let (mut ids, mut merged) = (Vec::new(), Vec::new());
                for row in rows {
                    let task = Task::from(row);
                    let tags = change.apply(&task.tags);
                    if tags == task.tags {
                        continue;
                    }
                    if change.merges(&task.tags) {
                        merged.push(task.id);
                    }
                    if store::retag(tx, user, task.id, &tags, now).await?.is_some() {
                        ids.push(task.id);
                    }
                }
                match change {
                    TagChange::Delete { key } => store::forget_tag(tx, user, key).await?,
                    TagChange::Rename { from_key, to } => {
                        store::rename_tag(tx, user, (from_key, to), &ids, &merged, now).await?
                    }
                }
                Ok(Some(ids))
            })
            .await?
            .ok_or(AppError::TagNotFound)?;
        Ok(count(&written))
    }
}

fn count<T>(changed: &[T]) -> u64 {
    changed.len() as u64
}

#[cfg(test)]
mod tests {
    use super::renamed;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_rename_onto_a_tag_the_task_has_merges_them() {
        let tags = names(&["a", "Work", "b", "urgent"]);
        assert_eq!(
            renamed(&tags, "work", "Job"),
            names(&["a", "Job", "b", "urgent"])
        );
        assert_eq!(
            renamed(&tags, "work", "URGENT"),
            names(&["a", "URGENT", "b"])
        );
        assert_eq!(renamed(&tags, "urgent", "work"), names(&["a", "work", "b"]));
        assert_eq!(
            renamed(&tags, "work", "work"),
            names(&["a", "work", "b", "urgent"])
        );
    }
}
