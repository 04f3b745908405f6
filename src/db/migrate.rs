//! The embedded migrations: applying them (at start and by `migrate`) and checking that they
//! all ran (for readiness).

use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection, TransactionManager};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::{DatabaseTarget, Db, Pool, pool_error, sqlite};
use crate::error::AppError;

const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
type PgTransactions = <AsyncPgConnection as AsyncConnection>::TransactionManager;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// Key of the PostgreSQL advisory lock that serialises migrations across instances.
const MIGRATION_LOCK: i64 = 7_262_534_521;

impl Db {
    /// Applies the embedded migrations that have not run yet, then (PostgreSQL) brings the
    /// database's functions to their files (`db::functions`); returns how many migrations ran.
    /// Several instances may start at once against one PostgreSQL: they take turns on an
    /// advisory lock, so the second one sees the first one's work instead of failing on it.
    ///
    /// On PostgreSQL they run on a connection of their own to the direct URL
    /// (DATABASE_DIRECT_URL), all in ONE transaction that first takes a transaction-scoped
    /// lock (`pg_advisory_xact_lock`): the lock ends with the transaction whatever carries it,
    /// so even through a transaction pooler it can never stay held by a pooled connection,
    /// and a failed migration leaves nothing half done. Set up as behind a pooler (statements
    /// closed inside the transaction), since nothing proves the direct URL is not one.
    /// Migrations run without STATEMENT_TIMEOUT: rewriting a large table may take longer than
    /// any request should.
    pub async fn migrate(&self) -> anyhow::Result<usize> {
        match (&self.pool, &*self.target) {
            (Pool::Postgres(_), DatabaseTarget::Postgres(url)) => {
                let direct = self.routes().map_or(url.as_str(), |r| r.direct.as_str());
                let (tls, driver_url) = super::tls::driver_url(direct, self.acquire_timeout)?;
                let mut conn = super::pooler::connect(&tls, driver_url, true, Default::default())
                    .await
                    .map_err(|e| anyhow::anyhow!("connecting for migrations: {e}"))?;
                PgTransactions::begin_transaction(&mut conn).await?;
                conn.batch_execute(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
                    .await?;
                // Each migration becomes a savepoint of this transaction. (A migration that
                // cannot run in a transaction, such as CREATE INDEX CONCURRENTLY, would need
                // its own connection: there is none today.)
                let (mut conn, ran) = run_migrations(conn, PG_MIGRATIONS).await?;
                // Then every function to its file's text, in the same transaction and under
                // the same lock (`db::functions`).
                super::functions::apply(&mut conn, ran).await?;
                PgTransactions::commit_transaction(&mut conn).await?;
                Ok(ran)
            }
            (Pool::Sqlite(_), DatabaseTarget::SqliteFile(path)) => {
                // A connection of its own, without the statement budget pooled ones have.
                let conn: SyncConnectionWrapper<_> =
                    sqlite::establish(&path.to_string_lossy(), std::time::Duration::ZERO).await?;
                let (mut conn, ran) = run_migrations(conn, SQLITE_MIGRATIONS).await?;
                // Then the triggers that name every column, to the table (`db::sqlite_triggers`).
                super::sqlite_triggers::apply(&mut conn).await?;
                Ok(ran)
            }
            (Pool::Postgres(_), _) => anyhow::bail!("a PostgreSQL pool for a SQLite target"),
            (Pool::Sqlite(pool), _) => {
                // `:memory:`: the pooled connection *is* the database.
                let conn = pool.get_owned().await.map_err(anyhow::Error::msg)?;
                let (mut conn, ran) = run_migrations(conn, SQLITE_MIGRATIONS).await?;
                super::sqlite_triggers::apply(&mut conn).await?;
                Ok(ran)
            }
        }
    }

    /// True when every embedded migration has been applied (for readiness).
    pub async fn migrations_applied(&self) -> Result<bool, AppError> {
        // A pooled connection like any unit's: it takes its place in the line first.
        let _place = self.place().await?;
        let pending = match &self.pool {
            Pool::Postgres(pool) => {
                // Once more when the first try proved an undeclared pooler (`db::pg::undeclared`):
                // the pool names no statement since.
                let mut again = true;
                loop {
                    let proven = self.undeclared_pooler();
                    match pg_pending(pool).await {
                        Err(_) if !proven && self.undeclared_pooler() && again => again = false,
                        outcome => break outcome?,
                    }
                }
            }
            Pool::Sqlite(pool) => {
                let conn = pool.get_owned().await.map_err(pool_error)?;
                pending_count(conn, SQLITE_MIGRATIONS)?.1
            }
        };
        Ok(pending == 0)
    }
}

/// How many embedded migrations are not applied yet, on a connection of `pool`: in a
/// transaction, since behind a transaction pooler a statement outside one may be prepared on
/// one server connection and run on another.
async fn pg_pending(pool: &bb8::Pool<super::PgManager>) -> Result<usize, AppError> {
    let mut conn = pool.get_owned().await.map_err(pool_error)?;
    PgTransactions::begin_transaction(&mut *conn).await?;
    let (mut conn, pending) = pending_count(conn, PG_MIGRATIONS)?;
    PgTransactions::commit_transaction(&mut *conn).await?;
    Ok(pending)
}

/// Runs the harness (it uses `block_in_place`, so it needs the multi-threaded runtime) and
/// hands the connection back.
async fn run_migrations<C>(conn: C, migrations: EmbeddedMigrations) -> anyhow::Result<(C, usize)>
where
    C: AsyncConnection + 'static,
    diesel_async::AsyncMigrationHarness<C>: MigrationHarness<C::Backend>,
{
    let mut harness = diesel_async::AsyncMigrationHarness::new(conn);
    let ran = harness
        .run_pending_migrations(migrations)
        .map_err(|e| anyhow::anyhow!("running migrations: {e}"))?
        .len();
    Ok((harness.into_inner(), ran))
}

/// How many migrations are pending, and the connection back.
fn pending_count<C>(conn: C, migrations: EmbeddedMigrations) -> Result<(C, usize), AppError>
where
    C: AsyncConnection + 'static,
    diesel_async::AsyncMigrationHarness<C>: MigrationHarness<C::Backend>,
{
    let mut harness = diesel_async::AsyncMigrationHarness::new(conn);
    let pending = harness
        .pending_migrations(migrations)
        .map(|pending| pending.len())
        .map_err(|e| AppError::Unavailable(format!("reading migrations: {e}")))?;
    Ok((harness.into_inner(), pending))
}
