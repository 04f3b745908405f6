//! What GraphQL's nested fields read for a whole page at once (`Task.list`, `Task.parent`,
//! `Task.subtasks`, `List.tasks`, `List.members`, batched by `graphql::schema::loaders`): one read
//! unit for all of them, whose statements (one per kind of field, and one per set of `List.tasks` filters)
//! travel together (`db::Reader`): one round trip on
//! PostgreSQL whatever the page's size, instead of one unit per task (GraphQL costs what it says). Each is
//! filtered by the one visibility predicate and runs as the viewer under row security, like
//! every read.

use std::collections::HashMap;

use crate::auth::AuthUser;
use crate::error::AppResult;
use crate::tasks::lists::model::List;
use crate::tasks::lists::reads;
use crate::tasks::service::TaskService;
use crate::tasks::sharing::Member;
use crate::tasks::sharing::member_store;
use crate::tasks::task::model::{ListFilter, ListQuery, Task, TaskRow};
use crate::tasks::task::query;

/// What a page's nested fields asked for: tasks by id (`parent`), the subtasks of tasks
/// (`subtasks`), lists by id (`list`), and lists' tasks (`List.tasks`), grouped by the
/// filters they were asked with, and lists' members (`List.members`).
#[derive(Debug, Default)]
pub struct NestedAsk {
    pub tasks: Vec<i64>,
    pub children_of: Vec<i64>,
    pub lists: Vec<i64>,
    pub tasks_of_lists: Vec<(ListQuery, Vec<i64>)>,
    pub members_of: Vec<i64>,
}

/// Their answers: a deleted task or list is absent; a task without subtasks maps to none.
#[derive(Debug, Default)]
pub struct NestedFound {
    pub tasks: HashMap<i64, Task>,
    pub children: HashMap<i64, Vec<Task>>,
    pub lists: HashMap<i64, List>,
    /// Per entry of [`NestedAsk::tasks_of_lists`], each list's tasks in the filters' order.
    pub tasks_of_lists: Vec<HashMap<i64, Vec<Task>>>,
    /// Each list of [`NestedAsk::members_of`] the viewer sees: its owner, then its members
    /// as they joined.
    pub members: HashMap<i64, Vec<Member>>,
}

impl TaskService {
    /// Everything `ask` names that the viewer may see, in one read unit.
    pub async fn nested(&self, user: &AuthUser, ask: &NestedAsk) -> AppResult<NestedFound> {
        let mut of_lists = Vec::new();
        for (filters, lists) in &ask.tasks_of_lists {
            crate::tasks::service::reads::check_query(filters)?;
            of_lists.push(ListQuery {
                list: ListFilter::Any,
                among_lists: lists.clone(),
                ..filters.clone()
            });
        }
        let now = crate::tasks::service::now_micros();
        // A list's members begin with its owner: those lists are read with the others.
        let mut list_ids = ask.lists.clone();
        list_ids.extend(ask.members_of.iter().filter(|id| !ask.lists.contains(id)));
        let (tasks, children, lists, in_lists, members) = self
            .work
            .read(user, async |conn| {
                conn.readers(async |r| {
                    let in_lists = of_lists
                        .iter()
                        .map(|query| query::list(r, user, query, None, now));
                    Ok(futures::try_join!(
                        query::find_many(r, user, &ask.tasks),
                        query::subtasks_of(r, user, &ask.children_of),
                        reads::find_many(r, user, &list_ids),
                        futures::future::try_join_all(in_lists),
                        member_store::of_lists(r, user, &ask.members_of),
                    )?)
                })
                .await
            })
            .await?;
        let mut found = NestedFound {
            tasks: tasks
                .into_iter()
                .filter_map(TaskRow::readable)
                .map(|task| (task.id, task))
                .collect(),
            children: ask.children_of.iter().map(|p| (*p, Vec::new())).collect(),
            lists: lists
                .into_iter()
                .map(|row| (row.0.id, List::from(row)))
                .collect(),
            tasks_of_lists: Vec::new(),
            members: HashMap::new(),
        };
        for id in &ask.members_of {
            if let Some(list) = found.lists.get(id) {
                found
                    .members
                    .insert(*id, vec![crate::tasks::sharing::members::owner_of(list)]);
            }
        }
        for (list, member) in members {
            if let Some(all) = found.members.get_mut(&list) {
                all.push(member);
            }
        }
        // Each statement's rows are in its order; split by list, that order holds per list.
        for ((_, lists), rows) in ask.tasks_of_lists.iter().zip(in_lists) {
            let mut by_list: HashMap<i64, Vec<Task>> =
                lists.iter().map(|l| (*l, Vec::new())).collect();
            for task in rows.into_iter().filter_map(TaskRow::readable) {
                if let Some(tasks) = task.list_id.and_then(|l| by_list.get_mut(&l)) {
                    tasks.push(task);
                }
            }
            found.tasks_of_lists.push(by_list);
        }
        // In manual order already (`subtasks_of`).
        for task in children.into_iter().filter_map(TaskRow::readable) {
            if let Some(siblings) = task.parent_id.and_then(|p| found.children.get_mut(&p)) {
                siblings.push(task);
            }
        }
        Ok(found)
    }
}
