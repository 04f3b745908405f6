//! The one seam where the two stores part. Code outside `db` names no backend: a piece of
//! work the stores do differently is one value implementing [`PerStore`], its PostgreSQL
//! form (usually one call of a function whose `.sql` file sits beside it) and its SQLite
//! steps written side by side, and [`DbConn::per_store`] is the one place that picks. The
//! compiler holds both: a form cannot be added for one store and forgotten for the other.
//!
//! What reads alike on both stores needs none of this: [`crate::db_run!`] expands one block of
//! diesel DSL for each, and [`DbConn::portable_sql`] gives one SQL text each store's
//! placeholders.

use std::borrow::Cow;
use std::future::Future;

use super::DbConn;
use super::pg::PgConn;

/// Work done one way on PostgreSQL and another on SQLite; run it with [`DbConn::per_store`].
pub trait PerStore: Sized + Send {
    /// What the work answers, the same on both stores.
    type Output;

    /// The work on PostgreSQL: several instances, row security, functions in the database.
    fn postgres(self, conn: &mut PgConn) -> impl Future<Output = Self::Output> + Send;

    /// The work on SQLite: one process, one writer at a time, no functions: the same outcome
    /// in steps of portable DSL on the unit's connection (`conn` is a SQLite one).
    fn sqlite(self, conn: &mut DbConn) -> impl Future<Output = Self::Output> + Send;
}

impl DbConn {
    /// Runs `work` in the form this connection's store takes.
    pub async fn per_store<W: PerStore>(&mut self, work: W) -> W::Output {
        match self {
            DbConn::Postgres(pg) => work.postgres(pg).await,
            DbConn::Sqlite(_) => work.sqlite(self).await,
        }
    }

    /// `text`, written with PostgreSQL's numbered placeholders (`$1`, used as often as
    /// needed), as this connection's store reads it (SQLite: `?1`). For the statements the DSL
    /// cannot say (a correlated `LIMIT 1` per row, an `UPDATE` from a subquery).
    pub fn portable_sql<'t>(&self, text: &'t str) -> Cow<'t, str> {
        match self {
            DbConn::Postgres(_) => Cow::Borrowed(text),
            DbConn::Sqlite(_) => Cow::Owned(text.replace('$', "?")),
        }
    }

    /// Whether the connection goes over a network (PostgreSQL), so it can break under a unit
    /// while the pool still holds good ones: a read that finds it broken may run again on a
    /// fresh one. SQLite's are in process.
    pub fn is_networked(&self) -> bool {
        matches!(self, DbConn::Postgres(_))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// The files outside `db/` that may name a backend's variant: tests that need a
    /// PostgreSQL connection itself.
    const ALLOWED: &[&str] = &["src/tasks/unit/tests.rs"];

    fn scan(dir: &Path, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if !path.ends_with("src/db") {
                    scan(&path, found);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                if text.contains("DbConn::Postgres") || text.contains("DbConn::Sqlite") {
                    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
                    found.push(path.strip_prefix(root).unwrap().display().to_string());
                }
            }
        }
    }

    #[test]
    fn no_file_outside_db_names_a_backend() {
        let mut found = Vec::new();
        scan(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut found,
        );
        found.retain(|f| !ALLOWED.contains(&f.as_str()));
        assert!(
            found.is_empty(),
            "these files pick a backend themselves; write the work as a `db::PerStore` \
             (both forms side by side) and run it with `DbConn::per_store`: {found:?}"
        );
    }
}
