//! The keys titles are ordered by and titles and descriptions are searched by, per backend:
//! the one backend-specific piece of the task queries.
//!
//! PostgreSQL stores them (`title_key`, `description_key`), kept by the database itself (the
//! trigger `tasks_search_keys.sql` beside this file), so a row from any writer is keyed the moment
//! it is written, and the b-tree on the title key keeps serving title order. SQLite cannot keep
//! them right in SQL (its lower() folds ASCII only, and a trigger calling the server's function
//! would break other programs' writes), so there the server's `search_fold` folds the text as the
//! query runs: per row, one user's rows at most.

use crate::db::pg::PgConn;
use diesel::backend::Backend;
use diesel::expression::BoxableExpression;
use diesel::expression::expression_types::NotSelectable;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};
use diesel::sqlite::Sqlite;

use super::fold::search_fold;
use crate::db::SqliteConn;
use crate::db::schema::tasks;

/// A key expression on `tasks`, boxed so one query text serves both backends.
pub(in crate::tasks) type Key<ST, DB> = Box<dyn BoxableExpression<tasks::table, DB, SqlType = ST>>;

/// An order key on `tasks` (`ASC` or `DESC`), boxed the same way.
pub(in crate::tasks) type OrderKey<DB> = Key<NotSelectable, DB>;

/// Where a connection's backend finds the folded title and description.
pub(in crate::tasks) trait SearchKeys {
    /// The backend the keys are written for.
    type Db: Backend;
    /// The folded title: title order and title search.
    fn title_key(&self) -> Key<Text, Self::Db>;
    /// The folded description (NULL without one): description search.
    fn description_key(&self) -> Key<Nullable<Text>, Self::Db>;
    /// The due-date order, first key first: undated tasks last in both directions, ties by id.
    fn due_order(&self, ascending: bool) -> Vec<OrderKey<Self::Db>>;
}

/// PostgreSQL says `NULLS LAST`: ascending, that is `tasks_user_due`'s own order, so a page
/// walks the index and stops (ordering by `due_date IS NULL` first made it read the user's
/// whole set, by a sequential scan at 10,000 tasks: `benches/writes/rows_per_page.sh`).
fn pg_due_order(ascending: bool) -> Vec<OrderKey<Pg>> {
    if ascending {
        vec![
            Box::new(tasks::due_date.asc().nulls_last()),
            Box::new(tasks::id.asc()),
        ]
    } else {
        vec![
            Box::new(tasks::due_date.desc().nulls_last()),
            Box::new(tasks::id.desc()),
        ]
    }
}

impl SearchKeys for PgConn {
    type Db = Pg;
    fn title_key(&self) -> Key<Text, Pg> {
        Box::new(tasks::title_key)
    }
    fn description_key(&self) -> Key<Nullable<Text>, Pg> {
        Box::new(tasks::description_key)
    }
    fn due_order(&self, ascending: bool) -> Vec<OrderKey<Pg>> {
        pg_due_order(ascending)
    }
}

/// Reads pipelined through a shared connection (`db::Reader`) see the same keys.
impl SearchKeys for &PgConn {
    type Db = Pg;
    fn title_key(&self) -> Key<Text, Pg> {
        (**self).title_key()
    }
    fn description_key(&self) -> Key<Nullable<Text>, Pg> {
        (**self).description_key()
    }
    fn due_order(&self, ascending: bool) -> Vec<OrderKey<Pg>> {
        pg_due_order(ascending)
    }
}

impl SearchKeys for SqliteConn {
    type Db = Sqlite;
    fn title_key(&self) -> Key<Text, Sqlite> {
        Box::new(search_fold(tasks::title.nullable()).assume_not_null())
    }
    fn description_key(&self) -> Key<Nullable<Text>, Sqlite> {
        Box::new(search_fold(tasks::description))
    }
    /// SQLite puts NULLs first ascending: `due_date IS NULL` (false before true) comes first.
    fn due_order(&self, ascending: bool) -> Vec<OrderKey<Sqlite>> {
        let undated_last: OrderKey<Sqlite> = Box::new(tasks::due_date.is_null().asc());
        if ascending {
            vec![
                undated_last,
                Box::new(tasks::due_date.asc()),
                Box::new(tasks::id.asc()),
            ]
        } else {
            vec![
                undated_last,
                Box::new(tasks::due_date.desc()),
                Box::new(tasks::id.desc()),
            ]
        }
    }
}
