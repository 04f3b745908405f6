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
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};
use diesel::sqlite::Sqlite;

use super::fold::search_fold;
use crate::db::SqliteConn;
use crate::db::schema::tasks;

/// A key expression on `tasks`, boxed so one query text serves both backends.
pub(in crate::tasks) type Key<ST, DB> = Box<dyn BoxableExpression<tasks::table, DB, SqlType = ST>>;

/// Where a connection's backend finds the folded title and description.
pub(in crate::tasks) trait SearchKeys {
    /// The backend the keys are written for.
    type Db: Backend;
    /// The folded title: title order and title search.
    fn title_key(&self) -> Key<Text, Self::Db>;
    /// The folded description (NULL without one): description search.
    fn description_key(&self) -> Key<Nullable<Text>, Self::Db>;
}

impl SearchKeys for PgConn {
    type Db = Pg;
    fn title_key(&self) -> Key<Text, Pg> {
        Box::new(tasks::title_key)
    }
    fn description_key(&self) -> Key<Nullable<Text>, Pg> {
        Box::new(tasks::description_key)
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
}

impl SearchKeys for SqliteConn {
    type Db = Sqlite;
    fn title_key(&self) -> Key<Text, Sqlite> {
        Box::new(search_fold(tasks::title.nullable()).assume_not_null())
    }
    fn description_key(&self) -> Key<Nullable<Text>, Sqlite> {
        Box::new(search_fold(tasks::description))
    }
}
