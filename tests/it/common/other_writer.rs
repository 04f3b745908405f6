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
        let dir = tempfile::tempdir().unwrap();
        let pg = match backend {
            Backend::Postgres => Some(TempDatabase::migrated().await?),
            Backend::Sqlite => None,
        };
        let url = match &pg {
            Some(db) => db.url.clone(),
            None => crate::common::template::sqlite_url(dir.path()),
        };
        let app = TestApp::builder(backend).database_url(&url).start().await?;
        Some(Shared {
            app,
            url,
            _pg: pg,
            _dir: dir,
        })
    }

    /// Runs `sql` as another program would: its own connection, none of the server's code.
    pub async fn other_writer(&self, sql: &str) {
        match self.app.backend {
            Backend::Postgres => {
                let (client, connection) =
                    tokio_postgres::connect(&self.url, tokio_postgres::NoTls)
                        .await
                        .unwrap();
                tokio::spawn(connection);
                client.batch_execute(sql).await.unwrap();
            }
            Backend::Sqlite => {
                use diesel::Connection as _;
                use diesel::connection::SimpleConnection as _;
                let path = self.url.trim_start_matches("sqlite://").to_owned();
                let sql = format!("PRAGMA busy_timeout = 10000; {sql}");
                tokio::task::spawn_blocking(move || {
                    let mut conn = diesel::SqliteConnection::establish(&path).unwrap();
                    conn.batch_execute(&sql).unwrap();
                })
                .await
                .unwrap();
            }
        }
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

/// `text` as an SQL string literal (both backends: standard strings, `''` for `'`).
pub fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}
