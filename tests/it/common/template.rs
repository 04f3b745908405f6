//! Migrated templates: the migrations run once per migration set, and each test copies the
//! result instead of migrating a database of its own (most of a test's set-up time before).
//!
//! A template is named by a hash of its migration folder (every file's path and bytes) and, for
//! PostgreSQL, of the function files `migrate` applies after the migrations
//! (`todo_api::db::functions`), so a changed or added migration or function makes a new one and
//! a stale one is never used. Both kinds are
//! built by the real binary (`todo-api migrate`), outside any test's server, and survive the
//! process: the next run (or nextest's next process) finds them ready.
//! - PostgreSQL: the database `todo_tpl_<hash>`, built under an advisory lock (processes
//!   starting together build it once; the others wait and find it), migrated under a build
//!   name and renamed only when complete (a crashed build never passes for a template), then
//!   closed to connections, since `CREATE DATABASE … TEMPLATE` fails while anyone is connected
//!   to the template. Roles the migrations create are cluster-wide and already exist; grants
//!   and policies live in the database and are copied with it.
//! - SQLite: the file `todo-sqlite-<hash>.db` (its hash also covers `db::sqlite_triggers`, the
//!   generator `migrate` runs after the migrations) in cargo's target tmp dir, migrated under a
//!   build name and renamed into place (an atomic replace: two processes building at once
//!   both write the same thing).
//!
//! Old templates may be removed at any time (`ALTER DATABASE todo_tpl_… IS_TEMPLATE false`, then
//! `DROP DATABASE`; deleting the files): the next test builds them again.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use super::pg;

/// The advisory lock key under which PostgreSQL templates are built ("todo_tpl").
const BUILD_LOCK: i64 = 0x746F_646F_5F74_706C;

/// The prefix of a template being built; one left by a crashed build is dropped by the next.
const BUILDING: &str = "todo_tplbuild_";

/// A hash of every file under `migrations/<folder>` (relative path and contents, in order).
fn migrations_hash(folder: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(folder);
    let mut files = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("the migrations folder reads") {
            let path = entry.expect("a migrations entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut hash = Sha256::new();
    for file in files {
        let relative = file.strip_prefix(&root).expect("under the root");
        hash.update(relative.to_string_lossy().as_bytes());
        hash.update([0]);
        let bytes = std::fs::read(&file).expect("a migration reads");
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(bytes);
    }
    hex(hash)
}

/// The first 8 bytes of `hash`, in hex.
fn hex(hash: Sha256) -> String {
    hash.finalize()[..8]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The PostgreSQL template's hash: its migrations', and every function file's path and text.
fn postgres_hash() -> String {
    let mut hash = Sha256::new();
    hash.update(migrations_hash("postgres").as_bytes());
    for function in todo_api::db::functions::FUNCTIONS {
        hash.update(function.path.as_bytes());
        hash.update([0]);
        hash.update((function.text.len() as u64).to_le_bytes());
        hash.update(function.text.as_bytes());
    }
    hex(hash)
}

/// The SQLite template's hash: its migrations', and the generator of the triggers `migrate`
/// makes after them (`todo_api::db::sqlite_triggers`).
fn sqlite_hash() -> String {
    let generator = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/db/sqlite_triggers.rs");
    let mut hash = Sha256::new();
    hash.update(migrations_hash("sqlite").as_bytes());
    hash.update(std::fs::read(generator).expect("the trigger generator reads"));
    hex(hash)
}

/// Runs `todo-api migrate` against `url` (the server's own migration code, in a process of its
/// own, so nothing stays connected afterwards).
pub async fn migrate(url: &str) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_todo-api"))
        .env_clear()
        .env("DATABASE_URL", url)
        .arg("migrate")
        .output()
        .await
        .expect("todo-api migrate runs");
    assert!(
        output.status.success(),
        "todo-api migrate for a template failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The name of this migration set's PostgreSQL template, built if missing (once per process:
/// later calls only read the name). `None` when PostgreSQL is unreachable outside CI.
pub async fn postgres() -> Option<String> {
    static TEMPLATE: OnceCell<String> = OnceCell::const_new();
    if let Some(name) = TEMPLATE.get() {
        return Some(name.clone());
    }
    let client = pg::admin_client().await?;
    let name = TEMPLATE
        .get_or_init(|| async move {
            let name = format!("todo_tpl_{}", postgres_hash());
            build_postgres(&client, &name).await;
            name
        })
        .await;
    Some(name.clone())
}

async fn build_postgres(client: &tokio_postgres::Client, name: &str) {
    let run = |sql: String| async move {
        client
            .batch_execute(&sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    };
    // Session-scoped: released by the unlock below, or by the connection closing if this
    // process dies while building.
    run(format!("SELECT pg_advisory_lock({BUILD_LOCK})")).await;
    let exists = client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .await
        .expect("pg_database reads")
        .is_some();
    if !exists {
        // Whoever holds the lock is the only builder: any build database is a dead one's.
        let orphans = client
            .query(
                "SELECT datname FROM pg_database WHERE starts_with(datname, $1)",
                &[&BUILDING],
            )
            .await
            .expect("pg_database reads");
        for orphan in orphans {
            let orphan: String = orphan.get(0);
            // It may have died between marking it a template and renaming it.
            run(format!("ALTER DATABASE {orphan} IS_TEMPLATE false")).await;
            run(format!("DROP DATABASE IF EXISTS {orphan} WITH (FORCE)")).await;
        }
        let building = format!("{BUILDING}{}", uuid::Uuid::new_v4().simple());
        run(format!("CREATE DATABASE {building}")).await;
        migrate(&pg::database_url(&building)).await;
        run(format!(
            "ALTER DATABASE {building} WITH ALLOW_CONNECTIONS false IS_TEMPLATE true"
        ))
        .await;
        run(format!("ALTER DATABASE {building} RENAME TO {name}")).await;
    }
    run(format!("SELECT pg_advisory_unlock({BUILD_LOCK})")).await;
}

/// The path of this migration set's migrated SQLite file, built if missing (once per process).
pub fn sqlite() -> PathBuf {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
            let path = dir.join(format!("todo-sqlite-{}.db", sqlite_hash()));
            if !path.exists() {
                let building = tempfile::tempdir_in(dir).expect("a build directory");
                let file = building.path().join("todo.db");
                // A runtime of its own: this may be called from any test's runtime or none.
                std::thread::scope(|scope| {
                    scope
                        .spawn(|| {
                            tokio::runtime::Builder::new_current_thread()
                                .enable_all()
                                .build()
                                .expect("a runtime")
                                .block_on(migrate(&format!("sqlite://{}", file.display())))
                        })
                        .join()
                        .expect("the SQLite template builds")
                });
                // The migrating process closed its last connection: the WAL is checkpointed
                // into the file and removed, so the one file is the whole database.
                assert!(
                    !building.path().join("todo.db-wal").exists(),
                    "the migrated SQLite file left a WAL behind"
                );
                std::fs::rename(&file, &path).expect("the SQLite template moves into place");
            }
            path
        })
        .clone()
}

/// Copies the migrated SQLite template to `to` (a test's fresh database file).
pub fn copy_sqlite(to: &Path) {
    std::fs::copy(sqlite(), to).expect("the SQLite template copies");
}

/// The URL of `dir/todo.db`, a copy of the migrated SQLite template.
pub fn sqlite_url(dir: &Path) -> String {
    let file = dir.join("todo.db");
    copy_sqlite(&file);
    format!("sqlite://{}", file.display())
}
