//! A fresh PostgreSQL database for one of `src`'s unit tests: test support, so it lives under
//! `tests/`, and `src/db/mod.rs` takes it in with `#[path]` under `cfg(test)` only. Not a test
//! binary of its own (a folder without `main.rs`).

/// A fresh PostgreSQL database for one test (TEST_POSTGRES_URL's server), dropped after;
/// `None` (the test is skipped, loudly) when that server is unreachable, except under
/// `CI=true`, where PostgreSQL is mandatory and an unreachable server fails the test.
pub(crate) struct ScratchPg {
    admin_url: String,
    name: String,
    pub(crate) url: String,
}

impl ScratchPg {
    pub(crate) async fn create() -> Option<ScratchPg> {
        let admin_url = std::env::var("TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let (admin, connection) =
            match tokio_postgres::connect(&admin_url, tokio_postgres::NoTls).await {
                Ok(pair) => pair,
                Err(e) if std::env::var("CI").is_ok_and(|ci| ci == "true") => {
                    panic!("CI=true and PostgreSQL unreachable at {admin_url}: {e}")
                }
                Err(e) => {
                    eprintln!("SKIPPED: PostgreSQL unreachable at {admin_url}: {e}");
                    return None;
                }
            };
        tokio::spawn(connection);
        let name = format!("todo_unit_{}", uuid::Uuid::new_v4().simple());
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        let base = admin_url.rsplit_once('/').map_or(&*admin_url, |(b, _)| b);
        let url = format!("{base}/{name}");
        Some(ScratchPg {
            admin_url,
            name,
            url,
        })
    }
}

impl Drop for ScratchPg {
    fn drop(&mut self) {
        // The test's runtime may be gone: the database is dropped from a thread of its own.
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let url = self.admin_url.clone();
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                if let Ok((admin, connection)) =
                    tokio_postgres::connect(&url, tokio_postgres::NoTls).await
                {
                    tokio::spawn(connection);
                    let _ = admin.batch_execute(&sql).await;
                }
            });
        })
        .join();
    }
}
