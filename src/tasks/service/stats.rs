//! Counts over one user's tasks (by status, overdue, by priority and category): one grouped
//! read, folded here into the answer both APIs show.

use super::{TaskService, now_micros};
use crate::auth::AuthUser;
use crate::error::AppResult;
use crate::tasks::task::model::{Category, Priority, TaskStats};
use crate::tasks::task::query;

impl TaskService {
    /// Counts of the user's tasks: by status, overdue, by priority and by category.
    pub async fn stats(&self, user: &AuthUser) -> AppResult<TaskStats> {
        let groups = self
            .work
            .read(user, async |conn| {
                Ok(query::stats(conn, user, now_micros()).await?)
            })
            .await?;
        let mut stats = TaskStats {
            by_priority: Priority::ALL.iter().map(|p| (*p, 0)).collect(),
            by_category: Category::ALL.iter().map(|c| (*c, 0)).collect(),
            ..TaskStats::default()
        };
        for (rank, category, completed, count, overdue) in groups {
            stats.total += count;
            if completed {
                stats.completed += count;
            } else {
                stats.pending += count;
            }
            stats.overdue += overdue;
            let priority = Priority::from_rank(rank).unwrap_or_default();
            let category = Category::parse(&category).unwrap_or_default();
            for (p, n) in &mut stats.by_priority {
                if *p == priority {
                    *n += count;
                }
            }
            for (c, n) in &mut stats.by_category {
                if *c == category {
                    *n += count;
                }
            }
        }
        Ok(stats)
    }
}
