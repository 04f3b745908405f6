//! Transaction poolers between `DATABASE_URL` and PostgreSQL (PgBouncer, Neon's `-pooler`
//! endpoint, Supabase's pooler): which URL session-scoped work uses (`LISTEN`, migrations:
//! [`PgRoutes::direct`]), whether the pool must stay safe behind a pooler that does not
//! track prepared statements ([`PgRoutes::pooler`]), and how such a connection is opened.
//!
//! Behind a pooler every statement of the pool runs inside a transaction (a server
//! connection is ours only until the transaction ends), and no statement is named: each runs
//! as an unnamed statement, parsed, bound and executed in one exchange (`db::pg`), so no named
//! statement is left on a server connection for another client to collide with. No statement
//! runs outside a transaction: the pool does not check a connection on checkout (diesel-async's
//! check prepared `SELECT $1` and ran it in two exchanges, which a pooler may send to two
//! server connections: `prepared statement "s35" does not exist`, then a new login each time).
//!
//! A pooler nobody declared (no `DATABASE_DIRECT_URL`, not a Neon host) is found out by the
//! first named statement it breaks ([`Undeclared`], `db::pg::undeclared`): from then on the
//! pool is as safe behind it as behind a declared one ([`Db::pooler_check`] tells `/readyz`).

use std::sync::Arc;

use diesel::{ConnectionError, ConnectionResult, QueryResult};
use diesel_async::{AsyncConnection, TransactionManager};
use futures::FutureExt;
use futures::future::BoxFuture;

use super::tls::{PgTls, with_causes};
use super::{Db, DbConn, redacted};
use crate::error::AppResult;

use super::pg::{PgConn, Undeclared};

type PgTransactions = <PgConn as AsyncConnection>::TransactionManager;

/// Where the direct (session) URL came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectOrigin {
    /// `DATABASE_DIRECT_URL`.
    Setting,
    /// Derived from a Neon pooled host by dropping `-pooler`.
    NeonHost,
    /// Nothing says `DATABASE_URL` is a pooler: it is used for everything.
    DatabaseUrl,
}

/// The PostgreSQL URLs of one deployment: the pool's (`DATABASE_URL`) and the direct one.
#[derive(Clone)]
pub struct PgRoutes {
    /// The direct session URL: LISTEN and migrations.
    pub direct: String,
    /// Where [`PgRoutes::direct`] came from.
    pub origin: DirectOrigin,
    /// True when `DATABASE_URL` is taken to be a transaction pooler (the direct URL differs
    /// from it): the pool then avoids named prepared statements outliving a transaction.
    pub pooler: bool,
    /// Whether `DATABASE_URL`, not declared a pooler, proved to be one: shared by every pool
    /// opened with these routes (requests', events').
    pub undeclared: Arc<Undeclared>,
}

/// Equal when they say the same: what was found out since is no part of the settings.
impl PartialEq for PgRoutes {
    fn eq(&self, other: &PgRoutes) -> bool {
        (&self.direct, self.origin, self.pooler) == (&other.direct, other.origin, other.pooler)
    }
}

impl Eq for PgRoutes {}

impl std::fmt::Debug for PgRoutes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgRoutes")
            .field("direct", &redacted(&self.direct))
            .field("origin", &self.origin)
            .field("pooler", &self.pooler)
            .field("undeclared", &self.undeclared.found())
            .finish()
    }
}

impl PgRoutes {
    /// The routes for `database_url` given `DATABASE_DIRECT_URL` (`direct`, if set): the
    /// setting, else the Neon direct host, else `DATABASE_URL` itself.
    pub fn resolve(database_url: &str, direct: Option<&str>) -> Result<PgRoutes, String> {
        let database_url = database_url.trim();
        let (direct, origin) = match direct.map(str::trim).filter(|d| !d.is_empty()) {
            Some(direct) => {
                if !(direct.starts_with("postgres://") || direct.starts_with("postgresql://")) {
                    return Err("expected a URL starting with postgres:// or postgresql://".into());
                }
                // The same TLS parameters as DATABASE_URL, checked the same way.
                PgTls::from_url(direct)?;
                (direct.to_owned(), DirectOrigin::Setting)
            }
            None => match neon_direct_url(database_url) {
                Some(direct) => (direct, DirectOrigin::NeonHost),
                None => (database_url.to_owned(), DirectOrigin::DatabaseUrl),
            },
        };
        let pooler = direct != database_url;
        Ok(PgRoutes {
            direct,
            origin,
            pooler,
            undeclared: Arc::default(),
        })
    }

    /// What to tell an operator whose listener does not hear its own heartbeat.
    pub fn deaf_listener_hint(&self) -> &'static str {
        if self.undeclared.found() {
            return "DATABASE_URL is a transaction pooler (its prepared-statement errors proved \
                    it), and LISTEN through a transaction pooler never hears: set \
                    DATABASE_DIRECT_URL to the direct (non-pooler) connection string";
        }
        match self.origin {
            DirectOrigin::DatabaseUrl => {
                "LISTEN through a transaction pooler never hears: set DATABASE_DIRECT_URL to \
                 the direct (non-pooler) connection string"
            }
            DirectOrigin::Setting | DirectOrigin::NeonHost => {
                "the listener on DATABASE_DIRECT_URL (or the Neon host without -pooler) does not \
                 hear notifications sent through DATABASE_URL: check that DATABASE_DIRECT_URL is \
                 a direct (non-pooler) connection to the same database"
            }
        }
    }
}

/// A Neon pooled host (`ep-…-pooler.<region>.aws.neon.tech`) gives its direct host by
/// dropping `-pooler` from its first label; the rest of the URL (user, database, TLS
/// parameters) stays as it is. `None` for any other host.
pub fn neon_direct_url(database_url: &str) -> Option<String> {
    let mut url = url::Url::parse(database_url).ok()?;
    let host = url.host_str()?.to_ascii_lowercase();
    if !host.ends_with(".neon.tech") {
        return None;
    }
    let (first, rest) = host.split_once('.')?;
    let endpoint = first.strip_suffix("-pooler")?;
    if endpoint.is_empty() {
        return None;
    }
    url.set_host(Some(&format!("{endpoint}.{rest}"))).ok()?;
    Some(url.to_string())
}

/// Opens a PostgreSQL connection, safe behind a transaction pooler even when nothing says
/// there is one: its set-up (`SET TIME ZONE`, `SET CLIENT_ENCODING`) runs inside one
/// transaction. With `pooler`, no statement is named (see the module's comment), nor once
/// `undeclared` is found.
pub(super) fn connect(
    tls: &PgTls,
    url: String,
    pooler: bool,
    undeclared: Arc<Undeclared>,
) -> BoxFuture<'static, ConnectionResult<PgConn>> {
    let connector = tls.connector();
    async move {
        let (client, connection) = tokio_postgres::connect(&url, connector)
            .await
            .map_err(|e| ConnectionError::BadConnection(with_causes(&e)))?;
        // Requests fail (never hang) once this ends: tokio-postgres answers them "closed".
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "database connection ended");
            }
        });
        // diesel-async's own set-up, kept: UTC and UTF-8 for the session, in one transaction.
        client
            .batch_execute("BEGIN; SET TIME ZONE 'UTC'; SET CLIENT_ENCODING TO 'UTF8'; COMMIT")
            .await
            .map_err(|e| ConnectionError::CouldntSetupConfiguration(super::pg::from_postgres(e)))?;
        Ok(PgConn::new(client, pooler, undeclared))
    }
    .boxed()
}

impl Db {
    /// The direct session URL and whether the pool is behind a pooler (PostgreSQL only).
    pub fn routes(&self) -> Option<&Arc<PgRoutes>> {
        self.routes.as_ref()
    }

    /// Whether `DATABASE_URL` proved a transaction pooler nobody declared.
    pub fn undeclared_pooler(&self) -> bool {
        self.routes.as_ref().is_some_and(|r| r.undeclared.found())
    }

    /// The `/readyz` check `pooler`: `ok` (a direct database, a declared pooler, or SQLite),
    /// or `undeclared` once `DATABASE_URL` proved a transaction pooler nobody declared. The
    /// API works meanwhile (no statement is named since), so it degrades, not unready.
    pub fn pooler_check(&self) -> &'static str {
        if self.undeclared_pooler() {
            "undeclared"
        } else {
            "ok"
        }
    }

    /// Runs `work` on a pooled connection for the server itself (no user: Better Auth's
    /// sessions, readiness), inside a plain transaction on PostgreSQL as the connecting role:
    /// behind a transaction pooler a statement outside one may be prepared on one server
    /// connection and run on another. Once more when it proved an undeclared pooler (the
    /// transaction, read-only in effect, is rolled back; the pool names no statement since).
    pub async fn server_read<R>(
        &self,
        work: impl AsyncFnOnce(&mut DbConn) -> QueryResult<R> + Clone,
    ) -> AppResult<R> {
        let mut again = true;
        loop {
            let mut conn = self.conn().await?;
            let DbConn::Postgres(pooled) = &mut conn else {
                return Ok(work(&mut conn).await?);
            };
            PgTransactions::begin_transaction(&mut **pooled).await?;
            let outcome = work.clone()(&mut conn).await;
            let stumbled = conn.stumbled();
            if let DbConn::Postgres(pooled) = &mut conn {
                match &outcome {
                    Ok(_) if !stumbled => PgTransactions::commit_transaction(&mut **pooled).await?,
                    // A failed rollback leaves the connection marked broken; the pool drops it.
                    _ => {
                        let _ = PgTransactions::rollback_transaction(&mut **pooled).await;
                    }
                }
            }
            if stumbled && std::mem::take(&mut again) {
                continue;
            }
            return Ok(outcome?);
        }
    }
}

impl DbConn {
    /// Whether a statement of the transaction on this connection proved an undeclared pooler
    /// since the last call, which aborted it (`PgConn::stumbled`); never on SQLite.
    pub fn stumbled(&self) -> bool {
        match self {
            DbConn::Postgres(pooled) => pooled.stumbled(),
            DbConn::Sqlite(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_neon_pooled_host_gives_its_direct_host() {
        let pooled = "postgresql://alex:secret@ep-cool-name-123456-pooler.us-east-2.aws.neon.tech/neondb?sslmode=require&channel_binding=require";
        assert_eq!(
            neon_direct_url(pooled).as_deref(),
            Some(
                "postgresql://alex:secret@ep-cool-name-123456.us-east-2.aws.neon.tech/neondb?sslmode=require&channel_binding=require"
            )
        );
        let routes = PgRoutes::resolve(pooled, None).unwrap();
        assert_eq!(routes.origin, DirectOrigin::NeonHost);
        assert!(routes.pooler);
        assert!(!format!("{routes:?}").contains("secret"));

        // Neon's direct host, other hosts, and a `-pooler` outside Neon: nothing derived.
        for url in [
            "postgresql://alex@ep-cool-name-123456.us-east-2.aws.neon.tech/neondb",
            "postgres://postgres@127.0.0.1:6432/todo",
            "postgres://postgres@db-pooler.example.com/todo",
            "postgres://postgres@-pooler.aws.neon.tech/todo",
        ] {
            assert_eq!(neon_direct_url(url), None, "{url}");
            let routes = PgRoutes::resolve(url, None).unwrap();
            assert_eq!(routes.origin, DirectOrigin::DatabaseUrl);
            assert!(!routes.pooler, "{url}");
        }
    }

    #[test]
    fn the_direct_setting_wins_and_marks_the_pool_a_pooler() {
        let pooled = "postgres://postgres@127.0.0.1:6432/todo";
        let direct = "postgres://postgres@127.0.0.1:5432/todo?sslmode=disable";
        let routes = PgRoutes::resolve(pooled, Some(direct)).unwrap();
        assert_eq!(routes.direct, direct);
        assert_eq!(routes.origin, DirectOrigin::Setting);
        assert!(routes.pooler);
        // The same URL: nothing says it is a pooler.
        assert!(!PgRoutes::resolve(pooled, Some(pooled)).unwrap().pooler);
        assert!(PgRoutes::resolve(pooled, Some("mysql://x")).is_err());
        assert!(PgRoutes::resolve(pooled, Some("postgres://h/db?sslmode=bogus")).is_err());
    }
}
