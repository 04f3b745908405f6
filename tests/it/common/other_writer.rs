//! A server over a database that another program writes to as well: plain SQL over its own
//! connection (tokio-postgres; a diesel `SqliteConnection` that has none of the server's
//! functions), as a legacy backend, an import script or an admin would.

use crate::common::pg::TempDatabase;
use crate::common::{Backend, TestApp};

/// A server over a database that another writer can reach too.
pub struct Shared {
    pub app: TestApp,
    pub url: String,
    _pg: Option<TempDatabase>,
    _dir: tempfile::TempDir,
}

impl Shared {
    /// `None` when PostgreSQL is unavailable outside CI.
    pub async fn start(backend: Backend) -> Option<Shared> {
        Shared::start_with(backend, &[]).await
    }

    /// [`Shared::start`] with extra settings (`--flag`, value).
    pub async fn start_with(backend: Backend, args: &[(&str, &str)]) -> Option<Shared> {
        let dir = tempfile::tempdir().unwrap();
        let pg = match backend {
            Backend::Postgres => Some(TempDatabase::migrated().await?),
            Backend::Sqlite => None,
        };
        let url = match &pg {
            Some(db) => db.url.clone(),
            None => crate::common::template::sqlite_url(dir.path()),
        };
        let builder = args
            .iter()
            .fold(TestApp::builder(backend), |builder, (flag, value)| {
                builder.arg(flag, value)
            });
        let app = builder.database_url(&url).start().await?;
        Some(Shared {
            app,
            url,
            _pg: pg,
            _dir: dir,
        })
    }

    /// Runs `sql` as another program would: its own connection, none of the server's code.
    pub async fn other_writer(&self, sql: &str) {
        run_sql(self.app.backend, &self.url, sql).await;
    }

    /// Inserts a task for `owner` with only the columns a writer that knows nothing of search
    /// keys fills (those of the FastAPI reference's `Task` model); SQL literals, quoted.
    pub async fn insert(&self, owner: &str, title: &str, description: Option<&str>) {
        let description = description.map_or("NULL".to_owned(), quote);
        self.other_writer(&format!(
            "INSERT INTO tasks (user_id, title, description, completed, created_at, updated_at)
             VALUES ({}, {}, {description}, FALSE, '2026-11-24 10:00:00', '2026-11-24 10:00:00')",
            quote(owner),
            quote(title),
        ))
        .await;
    }
}

/// Two instances of the server on one PostgreSQL database, as a deployment with two replicas
/// runs (the database dropped after them).
pub struct TwoInstances {
    pub a: TestApp,
    pub b: TestApp,
    pub db: TempDatabase,
}

impl TwoInstances {
    /// `None` when PostgreSQL is unavailable outside CI.
    pub async fn start() -> Option<TwoInstances> {
        let db = TempDatabase::migrated().await?;
        let start = || {
            TestApp::builder(Backend::Postgres)
                .database_url(&db.url)
                .start()
        };
        let a = start().await.expect("instance A");
        let b = start().await.expect("instance B");
        Some(TwoInstances { a, b, db })
    }
}

/// Runs `sql` on the database at `url` as another program would (its own connection, none of
/// the server's code); the database's refusal as its message (PostgreSQL: the constraint's
/// name, then the message).
pub async fn write_as_other(backend: Backend, url: &str, sql: &str) -> Result<(), String> {
    match backend {
        Backend::Postgres => super::pg::client(url)
            .await
            .batch_execute(sql)
            .await
            .map_err(|e| match e.as_db_error() {
                Some(db) => format!("{}: {}", db.constraint().unwrap_or(""), db.message()),
                None => e.to_string(),
            }),
        Backend::Sqlite => {
            use diesel::Connection as _;
            use diesel::connection::SimpleConnection as _;
            let path = url.trim_start_matches("sqlite://").to_owned();
            let sql = format!("PRAGMA busy_timeout = 10000; {sql}");
            tokio::task::spawn_blocking(move || {
                let mut conn = diesel::SqliteConnection::establish(&path).unwrap();
                conn.batch_execute(&sql).map_err(|e| e.to_string())
            })
            .await
            .unwrap()
        }
    }
}

/// Runs `sql` on the database at `url` as another program would: its own connection (also
/// for a server started as the real binary, `common::binary`); panics when it is refused.
pub async fn run_sql(backend: Backend, url: &str, sql: &str) {
    if let Err(error) = write_as_other(backend, url, sql).await {
        panic!("another program's SQL failed: {error}\n{sql}");
    }
}

/// The numbers 1 to `count`, as a table `n(i)`.
pub fn numbers(backend: Backend, count: usize) -> String {
    match backend {
        Backend::Postgres => format!("(SELECT generate_series(1, {count}) AS i) n"),
        Backend::Sqlite => format!(
            "(WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < {count}) \
             SELECT i FROM c) n"
        ),
    }
}

/// A fixed time (2026-11-24 10:00), as each backend takes it in a select list.
pub fn timestamp(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "TIMESTAMP '2026-11-24 10:00:00'",
        Backend::Sqlite => "'2026-11-24 10:00:00'",
    }
}

/// `text` as an SQL string literal (both backends: standard strings, `''` for `'`).
pub fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}
