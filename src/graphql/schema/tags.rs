//! The user's tags: `tags` (each with its number of tasks), `renameTag` and `deleteTag`
//! (across all of the user's tasks, each returning the number of tasks changed). Like the
//! other resolvers: read the viewer, call the service, map the result.

use async_graphql::{Context, Object, Result, SimpleObject};

use super::error::to_graphql_error;
use super::idempotency::{as_json, keyed_request, or_replayed};
use super::{service, viewer};
use crate::graphql::transport::budget::charged;
use crate::tasks::TagCount;
use crate::tasks::idempotency::request::keyed;

/// One of the signed-in user's tags.
#[derive(SimpleObject)]
pub struct Tag {
    /// The name, as most recently written on a task (spellings differing only in case are
    /// one tag).
    pub name: String,
    /// How many of the user's tasks carry it (at least 1).
    pub count: i64,
}

impl From<TagCount> for Tag {
    fn from(tag: TagCount) -> Self {
        Tag {
            name: tag.name,
            count: tag.count,
        }
    }
}

/// The tag queries.
#[derive(Default)]
pub struct TagQuery;

#[Object]
impl TagQuery {
    /// The signed-in user's tags, each with how many of their tasks carry it, ordered by name
    /// ignoring case (at most MAX_TAGS_PER_USER).
    // Costed once: one grouped read, bounded by MAX_TAGS_PER_USER (`complexity::COSTS`).
    async fn tags(&self, ctx: &Context<'_>) -> Result<Vec<Tag>> {
        let user = viewer(ctx)?;
        let tags = charged(ctx, async {
            service(ctx)?.tags(user).await.map_err(to_graphql_error)
        })
        .await?;
        Ok(tags.into_iter().map(Tag::from).collect())
    }
}

/// The tag mutations; each takes an optional `idempotencyKey`, as the task mutations do.
#[derive(Default)]
pub struct TagMutation;

#[Object]
impl TagMutation {
    /// Renames the tag `from` (any case) to `to` (1 to 50 characters after trimming) on every
    /// task of the signed-in user that carries it, in one transaction, and returns how many
    /// tasks changed (each gets its version +1 and an UPDATED event; a task already spelling
    /// it exactly `to` is not changed). A task that also has `to` keeps one of the two. No
    /// task carrying `from`: NOT_FOUND.
    async fn rename_tag(
        &self,
        ctx: &Context<'_>,
        from: String,
        to: String,
        idempotency_key: Option<String>,
    ) -> Result<i64> {
        let user = viewer(ctx)?;
        let request = keyed_request(ctx, idempotency_key)?;
        let once = keyed(request.as_ref(), &as_json);
        let changed = service(ctx)?.rename_tag(user, &from, &to, once).await;
        Ok(or_replayed(changed)? as i64)
    }

    /// Removes the tag `name` (any case) from every task of the signed-in user, in one
    /// transaction, and returns how many tasks changed (each gets its version +1 and an
    /// UPDATED event). No task carrying it: NOT_FOUND.
    async fn delete_tag(
        &self,
        ctx: &Context<'_>,
        name: String,
        idempotency_key: Option<String>,
    ) -> Result<i64> {
        let user = viewer(ctx)?;
        let request = keyed_request(ctx, idempotency_key)?;
        let once = keyed(request.as_ref(), &as_json);
        let changed = service(ctx)?.delete_tag(user, &name, once).await;
        Ok(or_replayed(changed)? as i64)
    }
}
