//! What GraphQL's nested fields read for a whole page at once (`Task.list`, `Task.parent`,
//! `Task.subtasks`, batched by `graphql::loaders`): one read unit and one statement per field,
//! whatever the page's size, instead of one unit per task (DESIGN rule 13). Each is filtered
//! by the one visibility predicate and runs as the viewer under row security, like every read.

use std::collections::HashMap;

use super::list_model::List;
use super::model::Task;
use super::service::TaskService;
use super::store;
use crate::auth::AuthUser;
use crate::error::AppResult;

impl TaskService {
    /// Those of the user's tasks whose ids are given, by id (a deleted one is absent).
    pub async fn tasks_by_id(&self, user: &AuthUser, ids: &[i64]) -> AppResult<HashMap<i64, Task>> {
        let rows = self
            .work
            .read(user, async |conn| {
                Ok(store::find_many(conn, user, ids).await?)
            })
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let task = Task::from(row);
                (task.id, task)
            })
            .collect())
    }

    /// The subtasks (direct children) of each of `parents`, in manual order; a parent without
    /// any maps to an empty list.
    pub async fn subtasks_by_parent(
        &self,
        user: &AuthUser,
        parents: &[i64],
    ) -> AppResult<HashMap<i64, Vec<Task>>> {
        let rows = self
            .work
            .read(user, async |conn| {
                Ok(store::subtasks_of(conn, user, parents).await?)
            })
            .await?;
        let mut children: HashMap<i64, Vec<Task>> =
            parents.iter().map(|parent| (*parent, Vec::new())).collect();
        for task in rows.into_iter().map(Task::from) {
            if let Some(siblings) = task.parent_id.and_then(|p| children.get_mut(&p)) {
                siblings.push(task);
            }
        }
        Ok(children)
    }

    /// Those of the user's lists whose ids are given, by id (a deleted one is absent).
    pub async fn lists_by_id(&self, user: &AuthUser, ids: &[i64]) -> AppResult<HashMap<i64, List>> {
        let rows = self
            .work
            .read(user, async |conn| {
                Ok(store::lists::find_many(conn, user, ids).await?)
            })
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let list = List::from(row);
                (list.id, list)
            })
            .collect())
    }
}
