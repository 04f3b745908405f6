//! A server over a database the test can also reach directly, behind the server's back: to
//! write what thousands of requests would leave (`positions`), or to read the rows a script of
//! requests left (`parity`). The direct connection is the database's owner (PostgreSQL: the
//! admin user, which row security does not filter).

use super::{Backend, TestApp, pg, template};

/// A server and the URL of its database.
pub struct Direct {
    pub app: TestApp,
    pub url: String,
    _dir: tempfile::TempDir,
    _pg: Option<pg::TempDatabase>,
}

impl Direct {
    /// A server (no rate limit) over a fresh migrated database; `None` when this is
    /// PostgreSQL and it is unreachable outside CI.
    pub async fn start(backend: Backend) -> Option<Direct> {
        let dir = tempfile::tempdir().unwrap();
        let pg = match backend {
            Backend::Postgres => Some(pg::TempDatabase::migrated().await?),
            Backend::Sqlite => None,
        };
        let url = match &pg {
            Some(db) => db.url.clone(),
            None => template::sqlite_url(dir.path()),
        };
        let app = TestApp::builder(backend)
            .database_url(&url)
            .arg("--rate-limit", "0")
            .start()
            .await?;
        Some(Direct {
            app,
            url,
            _dir: dir,
            _pg: pg,
        })
    }

    /// Runs `sql` as the database's owner, behind the server's back.
    pub async fn exec(&self, sql: &str) {
        match self.url.strip_prefix("sqlite://") {
            None => {
                postgres(&self.url).await.batch_execute(sql).await.unwrap();
            }
            Some(path) => {
                use diesel::RunQueryDsl;
                diesel::sql_query(sql).execute(&mut sqlite(path)).unwrap();
            }
        }
    }

    /// Runs `sql`, a query of one text column, and returns that column of each row in order.
    pub async fn texts(&self, sql: &str) -> Vec<String> {
        match self.url.strip_prefix("sqlite://") {
            None => {
                let rows = postgres(&self.url)
                    .await
                    .simple_query(sql)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
                rows.into_iter()
                    .filter_map(|message| match message {
                        tokio_postgres::SimpleQueryMessage::Row(row) => {
                            Some(row.get(0).expect("a non-null text").to_owned())
                        }
                        _ => None,
                    })
                    .collect()
            }
            Some(path) => {
                use diesel::RunQueryDsl;
                #[derive(diesel::QueryableByName)]
                struct Text {
                    #[diesel(sql_type = diesel::sql_types::Text)]
                    text: String,
                }
                let (path, sql) = (path.to_owned(), sql.to_owned());
                tokio::task::spawn_blocking(move || {
                    diesel::sql_query(&sql)
                        .load::<Text>(&mut sqlite(&path))
                        .unwrap_or_else(|e| panic!("{sql}: {e}"))
                        .into_iter()
                        .map(|row| row.text)
                        .collect()
                })
                .await
                .expect("the SQLite read runs")
            }
        }
    }
}

/// A connection to the PostgreSQL database at `url`.
async fn postgres(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

/// A connection to the SQLite file at `path` that waits for the server's writes.
fn sqlite(path: &str) -> diesel::SqliteConnection {
    use diesel::{Connection, RunQueryDsl};
    let mut conn = diesel::SqliteConnection::establish(path).unwrap();
    diesel::sql_query("PRAGMA busy_timeout = 10000")
        .execute(&mut conn)
        .unwrap();
    conn
}
