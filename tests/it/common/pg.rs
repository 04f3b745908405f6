//! PostgreSQL for tests: a database per test on the machine's server: empty (dropped afterwards),
//! or a copy of the migrated template (reused by a later test once emptied: `common::reuse`).

use tokio_postgres::NoTls;

/// The server tests create their databases on.
pub fn admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// True when PostgreSQL tests must run (CI): an unreachable server fails them.
pub fn required() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false")
        || std::env::var_os("TODO_API_REQUIRE_POSTGRES").is_some_and(|v| !v.is_empty() && v != "0")
}

/// A database that exists for one test.
pub struct TempDatabase {
    pub name: String,
    pub url: String,
    /// The template it is a copy of (then it goes back to the pool instead of being dropped).
    template: Option<String>,
    /// Its place among the databases in use at once ([`IN_USE`]).
    _place: tokio::sync::OwnedSemaphorePermit,
}

/// How many test databases may be in use at once. Each holds about eight of the server's
/// connections while its test runs (the request pool, the event pool, the listener, the
/// webhook worker's two, the test's own), some tests two servers' worth, and the shared
/// server allows 100 (97 for users like these): at eight PostgreSQL tests at once the suite
/// reached 96 and a server's start met `too many clients already`. With at most eight in use
/// (and sixteen test threads), peaks were 62-71, and the other threads run SQLite tests
/// meanwhile. A test holds at most two at once (graphql's limits, pooler's, schema's); one
/// that waits for a second while holding a first could only wait forever if eight such tests
/// held one each, so a test drops its first server before starting another where it can.
const AT_ONCE: usize = 8;

/// The places of [`AT_ONCE`]: a test waits for one before its database is made (runtime-free,
/// so every test's runtime shares it).
static IN_USE: std::sync::LazyLock<std::sync::Arc<tokio::sync::Semaphore>> =
    std::sync::LazyLock::new(|| std::sync::Arc::new(tokio::sync::Semaphore::new(AT_ONCE)));

async fn place() -> tokio::sync::OwnedSemaphorePermit {
    IN_USE
        .clone()
        .acquire_owned()
        .await
        .expect("the semaphore is never closed")
}

/// A connection of the test's own to the database at `url` (as another program would connect:
/// none of the server's code), its connection task spawned.
pub async fn client(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|e| panic!("a connection of the test's own to {url}: {e}"));
    tokio::spawn(connection);
    client
}

/// Connects to the admin database; `None` (skip) or panic (CI) when unreachable.
pub async fn admin_client() -> Option<tokio_postgres::Client> {
    match tokio_postgres::connect(&admin_url(), NoTls).await {
        Ok((client, connection)) => {
            tokio::spawn(connection);
            Some(client)
        }
        Err(e) if required() => {
            panic!(
                "PostgreSQL is required (CI) but unreachable at {}: {e}",
                admin_url()
            )
        }
        Err(e) => {
            eprintln!(
                "SKIPPED: PostgreSQL unreachable at {} ({e}); set CI=1 to make this fail",
                admin_url()
            );
            None
        }
    }
}

/// The URL a server under test uses for `database`: the admin URL's, with `sslmode=disable`
/// unless that sets an `sslmode`. Without it the driver negotiates TLS with the local server
/// (libpq's `prefer`) on every connection, a handshake each (about 4 ms of the machine's CPU:
/// `pgbench -C` opens 345 connections a second without TLS, 148 with) for the ~6 connections
/// every server under test opens. TLS itself is under test in `tls::` (a cluster of its own,
/// `sslmode=require` and `verify-full`), and `failure::` runs over `sslmode=require`.
pub fn database_url(database: &str) -> String {
    let url = url_with_database(&admin_url(), database);
    if url.contains("sslmode=") {
        url
    } else if url.contains('?') {
        format!("{url}&sslmode=disable")
    } else {
        format!("{url}?sslmode=disable")
    }
}

/// The `host:port` of a PostgreSQL URL.
pub fn address_of(url: &str) -> String {
    let url = url::Url::parse(url).expect("a URL");
    let host = url.host_str().expect("a host");
    format!("{host}:{}", url.port().unwrap_or(5432))
}

/// Replaces the database name in a URL.
pub fn url_with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let prefix = match base.rfind('/') {
        Some(slash) if slash > "postgres://".len() => &base[..slash],
        _ => base,
    };
    match query {
        Some(query) => format!("{prefix}/{database}?{query}"),
        None => format!("{prefix}/{database}"),
    }
}

impl TempDatabase {
    /// Creates `todo_test_<random>`, empty: for what must see a database before any migration
    /// (the `migrate` command, a server migrating at start). Tests that only need a working
    /// database take `migrated()`, which is faster.
    pub async fn create() -> Option<TempDatabase> {
        Self::create_from(None, place().await).await
    }

    /// A `todo_test_<random>` that is a copy of the migrated template (`common::template`):
    /// every migration already applied, so a server started on it finds nothing to do. A copy
    /// an earlier test released, emptied and checked (`common::reuse`), or a new one.
    pub async fn migrated() -> Option<TempDatabase> {
        let template = super::template::postgres().await?;
        let _place = place().await;
        let client = super::admin::take().await?;
        if let Some(name) = super::reuse::take(&client, &template).await {
            let url = database_url(&name);
            return Some(TempDatabase {
                name,
                url,
                template: Some(template),
                _place,
            });
        }
        Self::create_from(Some(&template), _place).await
    }

    async fn create_from(
        template: Option<&str>,
        _place: tokio::sync::OwnedSemaphorePermit,
    ) -> Option<TempDatabase> {
        let client = super::admin::take().await?;
        let name = format!("todo_test_{}", uuid::Uuid::new_v4().simple());
        let sql = match template {
            Some(template) => format!("CREATE DATABASE {name} TEMPLATE {template}"),
            None => format!("CREATE DATABASE {name}"),
        };
        client
            .batch_execute(&sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        client
            .batch_execute(&test_settings(&name))
            .await
            .unwrap_or_else(|e| panic!("{name}'s settings: {e}"));
        let url = database_url(&name);
        Some(TempDatabase {
            name,
            url,
            template: template.map(str::to_owned),
            _place,
        })
    }
}

impl Drop for TempDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        let template = self.template.clone();
        // Drop runs outside any runtime guarantee: use a thread with its own small runtime.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                runtime.block_on(async move {
                    if let Some(client) = super::admin::take().await {
                        super::reuse::release(&client, &name, template.as_deref()).await;
                    }
                });
            }
        })
        .join();
    }
}

/// What every test database sets for itself: commits that do not wait for their WAL flush
/// (`synchronous_commit = off`). A test's database lives only as long as its test, and no test
/// crashes the shared cluster (`failure::` stops a private one), so a flush's durability is
/// never under test here, while on a machine with a slow fsync waiting for it was a third of a
/// write-heavy test's time (27 s -> 16 s for `positions::postgres_cases::thousand_moves…`). The
/// server's own settings are untouched: it sets nothing about commits, and production keeps
/// PostgreSQL's default.
pub fn test_settings(database: &str) -> String {
    format!("ALTER DATABASE {database} SET synchronous_commit = off")
}
