//! The database: which backend (chosen once, from the `DATABASE_URL` scheme), its bb8 pool,
//! per-backend connection setup, embedded migrations, and [`db_run!`], the one dispatch that
//! expands a diesel query written once for both backends.
//!
//! This module owns connections; it knows nothing of tasks (that SQL lives in the tasks features' store files)
//! but the paths of PostgreSQL's function files, which live beside them (`functions`).

pub mod events;
mod failure;
pub mod functions;
mod health;
mod heartbeat;
mod migrate;
mod per_store;
pub mod pg;
mod pooler;
mod queue;
mod reader;
pub mod schema;
#[cfg(test)]
#[path = "../../tests/unit_support/scratch_pg.rs"]
pub(crate) mod scratch;
mod share;
mod shared_reads;
mod sqlite;
pub mod sqlite_triggers;
mod tls;
mod transaction;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use diesel::SqliteConnection;
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, PoolError, PoolableConnection,
};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;

use crate::error::AppError;

pub use self::failure::StorageFailure;
pub use self::per_store::PerStore;
pub use self::pooler::{DirectOrigin, PgRoutes, neon_direct_url};
pub use self::queue::{Checkout, PoolStats};
pub use self::reader::Reader;
pub use self::share::{UserShare, UserTurn};
pub use self::shared_reads::PgCheckout;
pub use self::transaction::{APP_ROLE, Acting};

/// The SQLite connection: diesel's sync connection run on tokio's blocking pool.
pub type SqliteConn = SyncConnectionWrapper<SqliteConnection>;
type PgManager = AsyncDieselConnectionManager<pg::PgConn>;
type SqliteManager = AsyncDieselConnectionManager<SqliteConn>;

diesel::define_sql_function! {
    /// The 1-based position of `needle` in `haystack`, 0 when absent, NULL for a NULL
    /// haystack: PostgreSQL's built-in; on SQLite, each connection gets it (`db::sqlite`).
    fn strpos(
        haystack: diesel::sql_types::Nullable<diesel::sql_types::Text>,
        needle: diesel::sql_types::Text,
    ) -> diesel::sql_types::Nullable<diesel::sql_types::Integer>;
}

/// Which database a `DATABASE_URL` names. Its `Debug` hides the password a PostgreSQL URL
/// may carry.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    /// A PostgreSQL URL, passed to tokio-postgres (after TLS parameters are taken out).
    Postgres(String),
    /// A SQLite file.
    SqliteFile(PathBuf),
    /// `sqlite::memory:`: one private in-memory database, gone at exit.
    SqliteMemory,
}

impl DatabaseTarget {
    /// Picks the backend from the URL scheme: the only place that decision is made.
    pub fn parse(url: &str) -> Result<Self, String> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseTarget::Postgres(url.to_owned()));
        }
        if url == "sqlite::memory:" || url == "sqlite://:memory:" {
            return Ok(DatabaseTarget::SqliteMemory);
        }
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            let path = path.split('?').next().unwrap_or_default();
            if path.is_empty() {
                return Err("a sqlite URL needs a file path, as in sqlite://todo.db".to_owned());
            }
            return Ok(DatabaseTarget::SqliteFile(PathBuf::from(path)));
        }
        Err(
            "expected a URL starting with postgres://, postgresql://, sqlite:// or sqlite::memory:"
                .to_owned(),
        )
    }

    /// Name of the backend, for logs and health output.
    pub fn backend_name(&self) -> &'static str {
        match self {
            DatabaseTarget::Postgres(_) => "postgres",
            _ => "sqlite",
        }
    }
}

impl std::fmt::Debug for DatabaseTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DatabaseTarget::Postgres(url) => {
                f.debug_tuple("Postgres").field(&redacted(url)).finish()
            }
            DatabaseTarget::SqliteFile(path) => f.debug_tuple("SqliteFile").field(path).finish(),
            DatabaseTarget::SqliteMemory => f.write_str("SqliteMemory"),
        }
    }
}

/// A PostgreSQL URL with its password (in the user part or as `?password=`) replaced; one
/// that does not parse is not shown at all.
fn redacted(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return "<unparsed URL, not shown>".to_owned();
    };
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some("<redacted>"));
    }
    if parsed.query_pairs().any(|(key, _)| key == "password") {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(key, value)| {
                let value = if key == "password" {
                    "<redacted>".into()
                } else {
                    value
                };
                (key.into_owned(), value.into_owned())
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.to_string()
}

/// Pool settings.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    /// Maximum connections held open.
    pub max_size: u32,
    /// How long a request waits for a connection (or to open one) before a 503.
    pub acquire_timeout: Duration,
    /// STATEMENT_TIMEOUT: the longest one statement may run before the database stops it.
    pub statement_timeout: Duration,
    /// DB_CONNECTIONS_PER_USER: most units of work one user runs at once (0: a quarter of
    /// `max_size`, at least one).
    pub connections_per_user: usize,
    /// DATABASE_ROW_SECURITY: on PostgreSQL, run each user's units of work as the application
    /// role with `app.user_id` set, so row-security policies bind them (`db::transaction`).
    pub row_security: bool,
    /// DB_READ_CONNECTIONS: on a direct PostgreSQL connection, how many of the pool's
    /// connections concurrent reads share (`db::shared_reads`; 0: none, each takes its own).
    pub read_connections: usize,
}

/// The pool of the chosen backend, with its time budget and what the last writes said about
/// its storage. Cloning is one reference count (every unit of work and handler holds one).
#[derive(Clone)]
pub struct Db(Arc<DbParts>);

impl std::ops::Deref for Db {
    type Target = DbParts;

    fn deref(&self) -> &DbParts {
        &self.0
    }
}

/// What a [`Db`] shares.
pub struct DbParts {
    pool: Pool,
    /// Where the database is (SQLite migrations open their own connection to it).
    target: Arc<DatabaseTarget>,
    /// STATEMENT_TIMEOUT, each statement's budget.
    statement_timeout: Duration,
    /// DB_TIMEOUT: how long a unit of work waits for its turn and its connection.
    acquire_timeout: Duration,
    /// The pool's waiting line (`queue`): connections in the order units asked.
    line: queue::Line,
    /// Set while writes fail for want of storage (read-only, full, I/O errors).
    storage: Arc<health::StorageHealth>,
    /// Each user's share of the pool.
    share: UserShare,
    /// DATABASE_ROW_SECURITY (see [`Db::acting_for`]).
    row_security: bool,
    /// PostgreSQL: the direct session URL, and whether the pool is behind a pooler.
    routes: Option<Arc<PgRoutes>>,
    /// Whether this instance hears its own task events (`db::events`).
    events: Arc<events::EventHealth>,
    /// The connections concurrent reads share (direct PostgreSQL only).
    shared_reads: Option<Arc<shared_reads::SharedReads>>,
}

/// The bb8 pool of one backend.
#[derive(Clone)]
enum Pool {
    /// PostgreSQL through our own diesel-async connection (`db::pg`).
    Postgres(bb8::Pool<PgManager>),
    /// SQLite through the sync wrapper.
    Sqlite(bb8::Pool<SqliteManager>),
}

/// One checked-out connection: a unit of work holds exactly one.
// The PostgreSQL guard is larger than the SQLite one; boxing it would add an allocation to
// every request to save stack space in a value that lives for one request.
#[allow(clippy::large_enum_variant)]
pub enum DbConn {
    /// A PostgreSQL connection (its own, or a ride on one reads share).
    Postgres(PgCheckout),
    /// A SQLite connection.
    Sqlite(Checkout<bb8::PooledConnection<'static, SqliteManager>>),
}

/// Runs one block of diesel DSL on whichever backend `$conn` holds. The block is expanded once
/// per backend, so it is type-checked against both; `$c` is `&mut` the concrete connection.
#[macro_export]
macro_rules! db_run {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConn::Postgres(pooled) => {
                let $c = &mut **pooled;
                $body
            }
            $crate::db::DbConn::Sqlite(pooled) => {
                let $c = &mut **pooled;
                $body
            }
        }
    };
}

fn pool_error(error: bb8::RunError<PoolError>) -> AppError {
    // Both "timed out waiting" and "could not connect" mean the database is not there for us
    // now: a 503 the client may retry, never a hang or a 500.
    AppError::Unavailable(format!("database connection: {error}"))
}

impl Db {
    /// Builds the pool for `target` and checks that a connection can be made. On PostgreSQL
    /// the direct URL is derived from `DATABASE_URL` alone (a Neon pooled host's direct host,
    /// else `DATABASE_URL`); [`Db::connect_routed`] takes it from the settings.
    pub async fn connect(target: &DatabaseTarget, options: &PoolOptions) -> anyhow::Result<Db> {
        let routes = match target {
            DatabaseTarget::Postgres(url) => {
                Some(PgRoutes::resolve(url, None).map_err(anyhow::Error::msg)?)
            }
            _ => None,
        };
        Self::connect_routed(target, routes.as_ref(), options).await
    }

    /// [`Db::connect`] with the PostgreSQL routes (`DATABASE_DIRECT_URL`) given.
    pub async fn connect_routed(
        target: &DatabaseTarget,
        routes: Option<&PgRoutes>,
        options: &PoolOptions,
    ) -> anyhow::Result<Db> {
        let budget = options.statement_timeout;
        let pool = match target {
            DatabaseTarget::Postgres(url) => {
                let (tls, driver_url) = tls::driver_url(url, options.acquire_timeout)?;
                let pooler = routes.is_some_and(|r| r.pooler);
                let undeclared = routes.map(|r| r.undeclared.clone()).unwrap_or_default();
                let mut config = ManagerConfig::default();
                config.custom_setup = Box::new(move |url| {
                    pooler::connect(&tls, url.to_owned(), pooler, undeclared.clone())
                });
                let manager = PgManager::new_with_config(driver_url, config);
                let pool = bb8::Pool::builder()
                    .max_size(options.max_size)
                    .connection_timeout(options.acquire_timeout)
                    // No `SELECT 1` before every unit of work (a round trip of its own on
                    // every request): `conn` skips connections whose socket is known closed,
                    // and a read that finds its connection dead runs again (`tasks::unit`).
                    .test_on_check_out(false)
                    .build_unchecked(manager);
                Pool::Postgres(pool)
            }
            DatabaseTarget::SqliteFile(path) => {
                let mut config = ManagerConfig::default();
                config.custom_setup = Box::new(move |url| sqlite::establish(url, budget));
                let manager = SqliteManager::new_with_config(path.to_string_lossy(), config);
                let pool = bb8::Pool::builder()
                    .max_size(options.max_size)
                    .connection_timeout(options.acquire_timeout)
                    .build_unchecked(manager);
                Pool::Sqlite(pool)
            }
            DatabaseTarget::SqliteMemory => {
                // Each SQLite connection to ":memory:" is its own database, so the pool holds
                // exactly one connection, forever.
                let mut config = ManagerConfig::default();
                config.custom_setup = Box::new(move |url| sqlite::establish(url, budget));
                let manager = SqliteManager::new_with_config(":memory:", config);
                let pool = bb8::Pool::builder()
                    .max_size(1)
                    .min_idle(Some(1))
                    .max_lifetime(None)
                    .idle_timeout(None)
                    .connection_timeout(options.acquire_timeout)
                    .build_unchecked(manager);
                Pool::Sqlite(pool)
            }
        };
        // One place per connection the pool may hold.
        let line = queue::Line::new(match target {
            DatabaseTarget::SqliteMemory => 1,
            _ => options.max_size,
        });
        let db = Db(Arc::new(DbParts {
            line,
            pool,
            target: Arc::new(target.clone()),
            statement_timeout: budget,
            acquire_timeout: options.acquire_timeout,
            storage: Arc::default(),
            share: UserShare::new(UserShare::per_user_for(
                options.connections_per_user,
                options.max_size,
            )),
            row_security: options.row_security,
            shared_reads: match target {
                DatabaseTarget::Postgres(_) if !routes.is_some_and(|r| r.pooler) => {
                    shared_reads::SharedReads::new(options.read_connections, options.max_size)
                }
                _ => None,
            },
            routes: routes.cloned().map(Arc::new),
            events: Arc::default(),
        }));
        // `build_unchecked` connects lazily: open one connection now to fail fast at start.
        db.first_connection(options.acquire_timeout).await?;
        if let Err(e) = db.conn().await {
            anyhow::bail!("{e}");
        }
        Ok(db)
    }

    /// Opens the first connection outside the pool: the pool retries a failing connect until
    /// its timeout and then reports only "timed out", hiding the reason (a refused certificate,
    /// a wrong password) an operator needs at start-up. On PostgreSQL it then joins the pool
    /// (one connection per pool at start, not two; a full pool drops it); SQLite's is dropped
    /// (cheap, and each `:memory:` connection is a database of its own).
    async fn first_connection(&self, timeout: Duration) -> anyhow::Result<()> {
        let attempt = async {
            match &self.pool {
                Pool::Postgres(pool) => pool.dedicated_connection().await.map(|c| {
                    let _ = pool.add(c);
                }),
                Pool::Sqlite(pool) => pool.dedicated_connection().await.map(drop),
            }
        };
        match tokio::time::timeout(timeout, attempt).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(anyhow::anyhow!("{e}")),
            Err(_) => anyhow::bail!("no connection within DB_TIMEOUT ({timeout:?})"),
        }
    }

    /// Checks a connection out of the pool: the start of a unit of work. A PostgreSQL
    /// connection whose socket is known to be closed (the server restarted while it sat idle)
    /// is passed over without a round trip; the pool closes it as it comes back.
    /// Units get their connections in the order they asked (`queue`); the place in the line
    /// and the connection together within DB_TIMEOUT.
    pub async fn conn(&self) -> Result<DbConn, AppError> {
        let checkout = async {
            // Bounded by the one timeout below, not a second timer of its own.
            let place = self.line.turn().await.ok_or_else(|| self.timed_out())?;
            Ok(match &self.pool {
                Pool::Postgres(pool) => {
                    let mut conn = pool.get_owned().await.map_err(|e| self.pool_failed(e))?;
                    // Bounded: each pass drops one dead connection; the pool has max_size.
                    for _ in 0..pool.state().connections {
                        if !PoolableConnection::is_broken(&mut *conn) {
                            break;
                        }
                        drop(conn);
                        conn = pool.get_owned().await.map_err(|e| self.pool_failed(e))?;
                    }
                    // Whatever a dropped unit left, this one starts outside any read scope,
                    // and with no stumble over a pooler but its own (`PgConn::stumbled`).
                    conn.read_scope(None);
                    let _ = conn.stumbled();
                    DbConn::Postgres(PgCheckout::Own(Checkout::new(conn, place)))
                }
                Pool::Sqlite(pool) => {
                    let conn = pool.get_owned().await.map_err(|e| self.pool_failed(e))?;
                    DbConn::Sqlite(Checkout::new(conn, place))
                }
            })
        };
        let waited = tokio::time::timeout(self.acquire_timeout, checkout).await;
        waited.unwrap_or_else(|_| Err(self.timed_out()))
    }

    /// A check-out bb8 could not make: counted when it timed out.
    fn pool_failed(&self, error: bb8::RunError<PoolError>) -> AppError {
        match error {
            bb8::RunError::TimedOut => self.timed_out(),
            other => pool_error(other),
        }
    }

    /// One of `user`'s turns at the pool (see `db::share`), waited for at most DB_TIMEOUT.
    pub async fn turn(&self, user: &str) -> Result<UserTurn, AppError> {
        self.share.turn(user, self.acquire_timeout).await
    }

    /// STATEMENT_TIMEOUT, which each transaction on PostgreSQL is given when it begins (on
    /// SQLite, each connection enforces it itself: `db::sqlite`).
    pub fn statement_timeout(&self) -> Duration {
        self.statement_timeout
    }

    /// DB_TIMEOUT: the longest a unit of work waits for its turn or its connection.
    pub fn acquire_timeout(&self) -> Duration {
        self.acquire_timeout
    }

    /// How this backend's task events reach subscribers: decided here, once, with the pool, so
    /// that the tasks service stores a strategy instead of asking which backend it runs on.
    pub fn event_transport(&self) -> events::EventTransport {
        match &self.pool {
            Pool::Postgres(_) => events::EventTransport::Notify,
            Pool::Sqlite(_) => events::EventTransport::InProcess,
        }
    }

    /// The backend's name.
    pub fn backend_name(&self) -> &'static str {
        match &self.pool {
            Pool::Postgres(_) => "postgres",
            Pool::Sqlite(_) => "sqlite",
        }
    }
}
