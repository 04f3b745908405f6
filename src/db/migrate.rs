//! The embedded migrations: applying them (at start and by `migrate`) and checking that they
//! all ran (for readiness).

use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{AsyncConnection, SimpleAsyncConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::{DatabaseTarget, Db, Pool, pool_error, sqlite};
use crate::error::AppError;

const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// Key of the PostgreSQL advisory lock that serialises migrations across instances.
const MIGRATION_LOCK: i64 = 7_262_534_521;

impl Db {
    /// Applies the embedded migrations that have not run yet; returns how many ran.
    /// Several instances may start at once against one PostgreSQL: an advisory lock (held by
    /// the migrating connection's session) makes them take turns, so the second one sees the
    /// first one's work instead of failing on it. Migrations run without STATEMENT_TIMEOUT:
    /// rewriting a large table may take longer than any request should.
    pub async fn migrate(&self) -> anyhow::Result<usize> {
        match (&self.pool, &*self.target) {
            (Pool::Postgres(pool), _) => {
                let mut conn = pool.get_owned().await.map_err(anyhow::Error::msg)?;
                conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
                    .await?;
                let outcome = run_migrations(conn, PG_MIGRATIONS).await;
                let (mut conn, ran) = outcome?;
                conn.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
                    .await?;
                Ok(ran)
            }
            (Pool::Sqlite(_), DatabaseTarget::SqliteFile(path)) => {
                // A connection of its own, without the statement budget pooled ones have.
                let conn: SyncConnectionWrapper<_> =
                    sqlite::establish(&path.to_string_lossy(), std::time::Duration::ZERO).await?;
                Ok(run_migrations(conn, SQLITE_MIGRATIONS).await?.1)
            }
            (Pool::Sqlite(pool), _) => {
                // `:memory:`: the pooled connection *is* the database.
                let conn = pool.get_owned().await.map_err(anyhow::Error::msg)?;
                Ok(run_migrations(conn, SQLITE_MIGRATIONS).await?.1)
            }
        }
    }

    /// True when every embedded migration has been applied (for readiness).
    pub async fn migrations_applied(&self) -> Result<bool, AppError> {
        let pending = match &self.pool {
            Pool::Postgres(pool) => {
                let conn = pool.get_owned().await.map_err(pool_error)?;
                pending_count(conn, PG_MIGRATIONS)?
            }
            Pool::Sqlite(pool) => {
                let conn = pool.get_owned().await.map_err(pool_error)?;
                pending_count(conn, SQLITE_MIGRATIONS)?
            }
        };
        Ok(pending == 0)
    }
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

fn pending_count<C>(conn: C, migrations: EmbeddedMigrations) -> Result<usize, AppError>
where
    C: AsyncConnection + 'static,
    diesel_async::AsyncMigrationHarness<C>: MigrationHarness<C::Backend>,
{
    let mut harness = diesel_async::AsyncMigrationHarness::new(conn);
    harness
        .pending_migrations(migrations)
        .map(|pending| pending.len())
        .map_err(|e| AppError::Unavailable(format!("reading migrations: {e}")))
}
