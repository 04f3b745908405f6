//! The PostgreSQL connection under the pool: diesel's query builder and types over
//! tokio-postgres, with the two things diesel-async's own connection does not give (issue 28):
//!
//! - **Every statement is one exchange.** Directly, a statement is prepared once per
//!   connection and kept (keyed by its SQL, so `sql_query` statements are kept too), and runs
//!   in one exchange from then on. Behind a transaction pooler ([`PgConn::unnamed`]), and for
//!   SQL diesel deems unsafe to keep, it runs as an unnamed statement (`query_typed`: parse,
//!   bind and execute in one message), so no named statement ever outlives its transaction and
//!   none is prepared apart. A statement's types are built in: this server names no type that
//!   would need a lookup (see `binds`).
//! - **A read costs one round trip** ([`PgConn::read_scope`]): within a read scope each
//!   statement is sent as `BEGIN READ ONLY …` (the unit's batch: role, `app.user_id`, budget),
//!   the statement and `COMMIT`, together, before its answer is awaited. Under READ COMMITTED
//!   every statement takes its own snapshot anyway, so a read of several statements sees what
//!   it saw in one transaction; each is a transaction of its own, with the same role, user and
//!   budget. Nothing is awaited between the three, so no dropped future can leave a read's
//!   transaction open.
//!
//! - **Reads may share a connection** ([`PgConn::view`], `db::shared_reads`): each read's
//!   three parts are queued under one lock, so reads of several units follow one another on
//!   the socket, and PostgreSQL serves a queue of them per wake-up.
//!
//! Everything else (the transaction manager, the pool's view of a broken connection) is
//! diesel-async's.

mod binds;
mod deferred;
mod error;
mod row;
mod session;
mod undeclared;

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use diesel::connection::{CacheSize, Instrumentation};
use diesel::pg::Pg;
use diesel::query_builder::{AsQuery, QueryFragment, QueryId};
use diesel::{ConnectionError, ConnectionResult, QueryResult};
use diesel_async::pooled_connection::PoolableConnection;
use diesel_async::{
    AnsiTransactionManager, AsyncConnection, AsyncConnectionCore, SimpleAsyncConnection,
    TransactionManager,
};
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt, TryStreamExt};
use tokio_postgres::Statement;

use self::binds::Built;
pub use self::deferred::DEFER_EVENTS;
pub use self::error::from_postgres;
pub use self::row::PgRow;
use self::session::Session;
pub use self::session::clock;
pub use self::undeclared::Undeclared;
use self::undeclared::proves_a_pooler;

/// Most statements one connection keeps prepared; past it, new SQL runs unnamed.
const MAX_STATEMENTS: usize = 512;

/// One PostgreSQL connection (see the module's note), or a view of one that concurrent reads
/// share ([`PgConn::view`]).
pub struct PgConn {
    /// What every view of the connection shares: the socket and its statements.
    session: Arc<Session>,
    /// The BEGIN batch each statement of the current read scope is wrapped in.
    reads: Option<Arc<str>>,
    transactions: AnsiTransactionManager,
    /// Set when a statement outside a read scope (in a transaction, which it aborted) proved
    /// an undeclared pooler: its unit of work runs again ([`PgConn::stumbled`]).
    stumbled: AtomicBool,
    /// Mutex only to be `Sync` (pipelining shares the connection); diesel never uses it.
    instrumentation: Mutex<Option<Box<dyn Instrumentation>>>,
}

impl PgConn {
    /// A connection over `client`, whose connection task the caller drives. `unnamed`: it is
    /// behind a transaction pooler; `undeclared`: its pool's proof of one nobody declared.
    pub fn new(client: tokio_postgres::Client, unnamed: bool, undeclared: Arc<Undeclared>) -> Self {
        PgConn::over(Arc::new(Session {
            client,
            statements: Mutex::default(),
            preparing: tokio::sync::Mutex::const_new(()),
            sending: Mutex::default(),
            unnamed,
            undeclared,
            answered: AtomicU64::new(0),
        }))
    }

    fn over(session: Arc<Session>) -> Self {
        PgConn {
            session,
            reads: None,
            transactions: AnsiTransactionManager::default(),
            stumbled: AtomicBool::new(false),
            instrumentation: Mutex::new(None),
        }
    }

    /// Another handle on this connection for a unit of reads that shares it with others
    /// (`db::shared_reads`): the same socket and kept statements, its own read scope. Each of
    /// its statements is a transaction of its own whose three parts are queued together under
    /// one lock, so reads of several views follow one another on the wire, never interleave.
    /// A view never opens a transaction of several statements (`DbConn::begin_write` refuses).
    pub fn view(&self) -> PgConn {
        PgConn::over(Arc::clone(&self.session))
    }

    /// Another handle on this connection (as [`PgConn::view`]) whose statements also run with
    /// `setting` (a `SET LOCAL …`, trusted SQL) in their read scope's BEGIN batch: a planner
    /// setting for one statement, which its own transaction ends. `None` outside a read scope
    /// (in a write's transaction a `SET LOCAL` would outlive the statement).
    pub fn with_setting(&self, setting: &str) -> Option<PgConn> {
        let begin = self.reads.as_ref()?;
        let mut view = self.view();
        view.reads = Some(Arc::from(format!("{begin}; {setting}")));
        Some(view)
    }

    /// Whether `other` is a handle on the same connection.
    #[cfg(test)]
    pub fn same_connection(&self, other: &PgConn) -> bool {
        Arc::ptr_eq(&self.session, &other.session)
    }

    /// Whether the connection's socket is known closed.
    pub fn is_closed(&self) -> bool {
        self.session.client.is_closed()
    }

    /// From now on each statement runs in a transaction of its own opened by `begin` (a
    /// simple-protocol batch starting with `BEGIN READ ONLY`) and committed right behind it,
    /// all three sent together; `None` ends the scope. The pool's checkout ends it too
    /// (`Db::conn`), so a scope abandoned by a dropped future never reaches another unit.
    pub fn read_scope(&mut self, begin: Option<String>) {
        self.reads = begin.map(Arc::from);
    }

    /// Queues `sql` (a simple-protocol batch) without waiting for its answer: tokio-postgres
    /// sends a request on its future's first poll, and its connection task reads and drops
    /// the answer of a request whose future is gone. `Err` only when it could not be sent.
    pub fn send(&self, sql: &str) -> QueryResult<()> {
        self.session.send(sql).map_err(from_postgres)
    }

    /// `statement` (a future that sends its request on its first poll), wrapped in the read
    /// scope's BEGIN batch and COMMIT when there is one, all sent before anything is awaited.
    /// Always queued under the connection's lock: a request sent without it could land
    /// between another view's BEGIN batch and its statement.
    async fn scoped<T>(
        &self,
        statement: impl Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> QueryResult<T> {
        self.scoped_raw(statement).await.map_err(from_postgres)
    }

    /// [`PgConn::scoped`] with tokio-postgres' error.
    async fn scoped_raw<T>(
        &self,
        statement: impl Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> Result<T, tokio_postgres::Error> {
        let outcome = self.session.queued(self.reads.as_deref(), statement).await;
        if self.reads.is_some() {
            self.session.answered.store(clock(), Ordering::Relaxed);
        }
        outcome
    }

    /// Whether a statement since the last call proved an undeclared pooler inside a
    /// transaction (which it aborted, so nothing of it commits): the unit must run again,
    /// now that no statement is named (`tasks::unit`).
    pub fn stumbled(&self) -> bool {
        self.stumbled.swap(false, Ordering::Relaxed)
    }

    /// `Some` answer of a named statement (or of its prepare), or `None` when its failure
    /// proved an undeclared pooler (`db::pg::undeclared`) within a read scope: the pool names
    /// nothing from now on, and the caller runs it again unnamed at once (its transaction was
    /// its own, ended by the COMMIT sent behind it). Outside a read scope the failure aborted
    /// the unit's transaction: it is returned, and the unit runs again ([`PgConn::stumbled`]).
    fn unless_pooler<T>(&self, named: Result<T, tokio_postgres::Error>) -> QueryResult<Option<T>> {
        match named {
            Ok(answer) => Ok(Some(answer)),
            Err(e) if proves_a_pooler(&e) => {
                self.session.undeclared.prove(&e);
                if self.reads.is_some() {
                    return Ok(None);
                }
                self.stumbled.store(true, Ordering::Relaxed);
                Err(from_postgres(e))
            }
            Err(e) => Err(from_postgres(e)),
        }
    }

    /// The kept statement to run `built` by, or `None` to run it unnamed.
    async fn statement(&self, built: &Built) -> QueryResult<Option<Statement>> {
        Ok(self.unless_pooler(self.prepared(built).await)?.flatten())
    }

    /// When a read on this connection last had its answer, in milliseconds of [`clock`].
    pub fn answered(&self) -> u64 {
        self.session.answered.load(Ordering::Relaxed)
    }

    /// The kept statement for `built`, preparing it the first time; `None` when it runs
    /// unnamed (behind a pooler, SQL diesel will not have kept, or a full cache).
    async fn prepared(&self, built: &Built) -> Result<Option<Statement>, tokio_postgres::Error> {
        if self.session.names_nothing() || !built.cacheable {
            return Ok(None);
        }
        if let Some(kept) = self.kept(built) {
            return Ok(kept);
        }
        // One view prepares at a time; another that wanted the same SQL finds it kept.
        let _preparing = self.session.preparing.lock().await;
        if let Some(kept) = self.kept(built) {
            return Ok(kept);
        }
        let types = built.types();
        // Queued under the lock like a read's three parts, so it never lands inside another
        // view's transaction (where that one's abort or budget would be this one's).
        let statement = self
            .session
            .queued(None, self.session.client.prepare_typed(&built.sql, &types))
            .await?;
        self.statements()
            .insert(built.sql.clone(), statement.clone());
        Ok(Some(statement))
    }

    /// `Some(Some(kept))` for a statement kept for `built`, `Some(None)` when there is none
    /// and the cache is full (it runs unnamed), `None` when it is to be prepared.
    fn kept(&self, built: &Built) -> Option<Option<Statement>> {
        let kept = self.statements();
        if let Some(statement) = kept.get(&built.sql) {
            return Some(Some(statement.clone()));
        }
        (kept.len() >= MAX_STATEMENTS).then_some(None)
    }

    fn statements(&self) -> std::sync::MutexGuard<'_, HashMap<String, Statement>> {
        self.session
            .statements
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `built` by its kept statement when it has one (`named`); else, or when that
    /// proved an undeclared pooler within a read scope, unnamed (`unnamed`).
    async fn run_built<T, N, U>(
        &self,
        built: &Built,
        named: impl FnOnce(Statement) -> N,
        unnamed: impl FnOnce() -> U,
    ) -> QueryResult<T>
    where
        N: Future<Output = Result<T, tokio_postgres::Error>>,
        U: Future<Output = Result<T, tokio_postgres::Error>>,
    {
        if let Some(statement) = self.statement(built).await?
            && let Some(answer) = self.unless_pooler(self.scoped_raw(named(statement)).await)?
        {
            return Ok(answer);
        }
        self.scoped(unnamed()).await
    }

    fn load_built(&self, built: QueryResult<Built>) -> BoxFuture<'_, QueryResult<Rows>> {
        async move {
            let built = &built?;
            let client = &self.session.client;
            let rows = self
                .run_built(
                    built,
                    |statement| async move {
                        client.query_raw(&statement, built.params.iter()).await
                    },
                    || client.query_typed_raw(&built.sql, built.typed()),
                )
                .await?;
            Ok(rows.map_err(from_postgres).map_ok(PgRow::new).boxed())
        }
        .boxed()
    }

    fn execute_built(&self, built: QueryResult<Built>) -> BoxFuture<'_, QueryResult<usize>> {
        async move {
            let built = &built?;
            let client = &self.session.client;
            let count = self
                .run_built(
                    built,
                    |statement| async move {
                        client.execute_raw(&statement, built.params.iter()).await
                    },
                    || async {
                        let typed: Vec<_> = built
                            .typed()
                            .map(|(p, t)| (p as &(dyn tokio_postgres::types::ToSql + Sync), t))
                            .collect();
                        client.execute_typed(&built.sql, &typed).await
                    },
                )
                .await?;
            usize::try_from(count)
                .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))
        }
        .boxed()
    }
}

type Rows = BoxStream<'static, QueryResult<PgRow>>;

impl SimpleAsyncConnection for PgConn {
    async fn batch_execute(&mut self, query: &str) -> QueryResult<()> {
        SimpleAsyncConnection::batch_execute(&mut &*self, query).await
    }
}

impl SimpleAsyncConnection for &PgConn {
    async fn batch_execute(&mut self, query: &str) -> QueryResult<()> {
        self.scoped(self.session.client.batch_execute(query)).await
    }
}

/// `AsyncConnectionCore` for `$for`, whose futures borrow the connection for `$life`: built
/// once (`Built::of`), then run on a shared reference (`load_built`, `execute_built`).
macro_rules! connection_core {
    ($for:ty, $(generic $a:lifetime,)? futures live $life:lifetime) => {
        impl$(<$a>)? AsyncConnectionCore for $for {
            type ExecuteFuture<'conn, 'query> = BoxFuture<$life, QueryResult<usize>>;
            type LoadFuture<'conn, 'query> = BoxFuture<$life, QueryResult<Rows>>;
            type Stream<'conn, 'query> = Rows;
            type Row<'conn, 'query> = PgRow;
            type Backend = Pg;

            fn load<'conn, 'query, T>(&'conn mut self, source: T) -> Self::LoadFuture<'conn, 'query>
            where
                T: AsQuery + 'query,
                T::Query: QueryFragment<Pg> + QueryId + 'query,
            {
                let conn: &$life PgConn = self;
                conn.load_built(Built::of(&source.as_query()))
            }

            fn execute_returning_count<'conn, 'query, T>(
                &'conn mut self,
                source: T,
            ) -> Self::ExecuteFuture<'conn, 'query>
            where
                T: QueryFragment<Pg> + QueryId + 'query,
            {
                let conn: &$life PgConn = self;
                conn.execute_built(Built::of(&source))
            }
        }
    };
}

connection_core!(PgConn, futures live 'conn);
// Pipelining through a shared reference, as diesel-async's own connection allows: statements
// whose futures are polled together travel together.
connection_core!(&'a PgConn, generic 'a, futures live 'a);

impl AsyncConnection for PgConn {
    type TransactionManager = AnsiTransactionManager;

    async fn establish(database_url: &str) -> ConnectionResult<Self> {
        let (client, connection) = tokio_postgres::connect(database_url, tokio_postgres::NoTls)
            .await
            .map_err(|e| ConnectionError::BadConnection(e.to_string()))?;
        tokio::spawn(connection);
        Ok(PgConn::new(client, false, Arc::default()))
    }

    fn transaction_state(&mut self) -> &mut AnsiTransactionManager {
        &mut self.transactions
    }

    fn instrumentation(&mut self) -> &mut dyn Instrumentation {
        self.instrumentation
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
    }

    fn set_instrumentation(&mut self, instrumentation: impl Instrumentation) {
        self.instrumentation = Mutex::new(Some(Box::new(instrumentation)));
    }

    fn set_prepared_statement_cache_size(&mut self, size: CacheSize) {
        if let Some(session) = Arc::get_mut(&mut self.session) {
            session.unnamed = matches!(size, CacheSize::Disabled);
        }
    }
}

impl PoolableConnection for PgConn {
    fn is_broken(&mut self) -> bool {
        AnsiTransactionManager::is_broken_transaction_manager(self) || self.is_closed()
    }
}
