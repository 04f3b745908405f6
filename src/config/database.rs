//! The database settings: which database (`DATABASE_URL`) and its pool. Declares and reads
//! them; connecting is `db`'s business.

use std::time::Duration;

use clap::Args;

use super::value::{ConfigError, Parsed, Secret, bad, check, checked};
use crate::db::{DatabaseTarget, PgRoutes, PoolOptions};

/// The database settings as given.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// Database URL: postgres://…, postgresql://… (sslmode / sslrootcert as libpq), sqlite://PATH
    /// or sqlite::memory:.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://todo.db",
        value_parser = checked(DatabaseTarget::parse),
        global = true
    )]
    pub database_url: Parsed<DatabaseTarget>,

    /// PostgreSQL: the direct (non-pooler) connection string, for the event listener and
    /// migrations (session state a transaction pooler cannot keep), with the same TLS
    /// parameters as DATABASE_URL. Unset: derived for a Neon pooled host (`-pooler` dropped),
    /// else DATABASE_URL. Set and different from DATABASE_URL: DATABASE_URL is taken to be a
    /// transaction pooler (see docs/NEON.md). Unset in front of a pooler that proves to be one
    /// (its prepared-statement errors): a warning, and `/readyz` says `pooler: undeclared`.
    #[arg(
        long,
        env = "DATABASE_DIRECT_URL",
        value_parser = Secret::parse,
        global = true
    )]
    pub database_direct_url: Option<Secret>,

    /// Most database connections held open.
    #[arg(
        long,
        env = "DB_POOL_SIZE",
        default_value = "10",
        value_parser = check::at_least_one::<u32>("a number of connections"),
        global = true
    )]
    pub db_pool_size: Parsed<u32>,

    /// How long a request waits for a database connection before answering 503 (e.g. 5s).
    #[arg(
        long,
        env = "DB_TIMEOUT",
        default_value = "5s",
        value_parser = check::duration(),
        global = true
    )]
    pub db_timeout: Parsed<Duration>,

    /// Longest one database statement may run; one over it is stopped and the request
    /// answers 503 (e.g. 5s).
    #[arg(
        long,
        env = "STATEMENT_TIMEOUT",
        default_value = "5s",
        value_parser = check::nonzero_duration(),
        global = true
    )]
    pub statement_timeout: Parsed<Duration>,

    /// Longest `/readyz` waits for the database (e.g. 1s): past it, it answers 503 with
    /// `unavailable`, so a load balancer gets a prompt answer from every probe during a database
    /// outage instead of one per DB_TIMEOUT. Keep it under the balancer's probe timeout.
    #[arg(
        long,
        env = "READY_TIMEOUT",
        default_value = "1s",
        value_parser = check::nonzero_duration(),
        global = true
    )]
    pub ready_timeout: Parsed<Duration>,

    /// Most database connections one user's requests hold (or wait for) at once; more wait,
    /// and after DB_TIMEOUT answer 503. 0: a quarter of DB_POOL_SIZE, at least 1.
    #[arg(
        long,
        env = "DB_CONNECTIONS_PER_USER",
        default_value = "0",
        value_parser = check::number::<usize>("a number of connections"),
        global = true
    )]
    pub db_connections_per_user: Parsed<usize>,

    /// PostgreSQL, direct connections only (not behind a transaction pooler): how many of the
    /// pool's connections concurrent reads share, each read still a transaction of its own,
    /// queued one behind another, so the database serves several per wake-up. About the
    /// database's cores; always fewer than DB_POOL_SIZE (writes keep the rest). 0: every read
    /// takes a connection of its own.
    #[arg(
        long,
        env = "DB_READ_CONNECTIONS",
        default_value = "2",
        value_parser = check::number::<usize>("a number of connections"),
        global = true
    )]
    pub db_read_connections: Parsed<usize>,

    /// PostgreSQL: run each request's database work as the role `todo_api_app` with
    /// `app.user_id` set, so row-level security admits only that user's rows (the second wall
    /// behind the query filter). Off leaves the query filter as the only wall. Ignored on SQLite.
    #[arg(
        long,
        env = "DATABASE_ROW_SECURITY",
        default_value = "true",
        value_parser = check::boolean(),
        global = true
    )]
    pub database_row_security: Parsed<bool>,
}

impl DatabaseArgs {
    /// The database target.
    pub fn target(&self) -> Result<DatabaseTarget, ConfigError> {
        self.database_url.get()
    }

    /// PostgreSQL: the direct session URL and whether DATABASE_URL is a pooler; `None` on
    /// SQLite.
    pub fn routes(&self, target: &DatabaseTarget) -> Result<Option<PgRoutes>, ConfigError> {
        let direct = self.database_direct_url.as_ref().map(Secret::expose);
        match target {
            DatabaseTarget::Postgres(url) => PgRoutes::resolve(url, direct)
                .map(Some)
                .map_err(|e| bad("DATABASE_DIRECT_URL", e)),
            _ if direct.is_some_and(|d| !d.trim().is_empty()) => Err(bad(
                "DATABASE_DIRECT_URL",
                "is for PostgreSQL, and DATABASE_URL is a SQLite database",
            )),
            _ => Ok(None),
        }
    }

    /// The pool settings.
    pub fn pool(&self) -> Result<PoolOptions, ConfigError> {
        Ok(PoolOptions {
            max_size: self.db_pool_size.get()?,
            acquire_timeout: self.db_timeout.get()?,
            statement_timeout: self.statement_timeout.get()?,
            connections_per_user: self.db_connections_per_user.get()?,
            row_security: self.database_row_security.get()?,
            read_connections: self.db_read_connections.get()?,
        })
    }
}
