//! Schema invariants: the two migration sets (`migrations/postgres`, `migrations/sqlite`) must
//! give the same tables, columns (with the same kind of type and nullability), primary keys and
//! indexes, and every per-user table must be indexed by its owner first. Each backend is
//! migrated by the real binary (`todo-api migrate`) and then read back from its catalogue.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::common::pg::TempDatabase;
use crate::common::{Backend, TestApp};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use reqwest::StatusCode;

/// Indexes only one backend can have, and why. Anything else missing on one side fails.
const POSTGRES_ONLY_INDEXES: [(&str, &str); 1] = [(
    "tasks_user_title",
    "title order by the stored key; SQLite keeps no key (migration 000011) and folds titles as \
     it sorts",
)];

/// Tables only one backend has, and why. Anything else missing on one side fails.
const SQLITE_ONLY_TABLES: [(&str, &str); 1] = [(
    "journal_touched",
    "whose journals a write moved, drained by the same transaction (migration 000065): SQLite \
     has no NOTIFY, so the server delivers every member's events itself",
)];
const POSTGRES_ONLY_TABLES: [(&str, &str); 1] = [(
    "task_counts",
    "each owner's task count for the cap, kept by triggers on tasks (migrations 000079, 000080): \
     SQLite, one writer at a time, counts the owner's tasks on its index",
)];

/// The column that names a row's owner.
const OWNER: &str = "user_id";

/// What a migrated database holds, in terms both backends share.
#[derive(Debug, Default, PartialEq, Eq)]
struct Shape {
    /// table -> column -> (kind of type, nullable)
    columns: BTreeMap<String, BTreeMap<String, (String, bool)>>,
    /// table -> primary key columns, in order
    primary_keys: BTreeMap<String, Vec<String>>,
    /// (table, index name) -> (columns in order, unique)
    indexes: BTreeMap<(String, String), (Vec<String>, bool)>,
}

/// The kind of a declared type, as both backends' drivers map it (diesel's `BigInt`,
/// `SmallInt` and `Integer` all read SQLite's INTEGER; `Timestamp` reads both spellings).
fn kind(declared: &str) -> String {
    let t = declared.to_ascii_lowercase();
    let kind = if t.contains("int") {
        "integer"
    } else if t.contains("bool") {
        "boolean"
    } else if t.starts_with("timestamp") {
        "timestamp"
    } else if t.contains("text") || t.contains("char") {
        "text"
    } else {
        return t;
    };
    kind.to_owned()
}

/// Runs `todo-api migrate` against `url` in a scratch directory.
fn migrate(dir: &Path, url: &str) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_todo-api"))
        .arg("migrate")
        .current_dir(dir)
        .env_remove("BETTER_AUTH_URL")
        .env_remove("JWKS_URL")
        .env("DATABASE_URL", url)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .output()
        .expect("runs todo-api migrate");
    assert!(
        output.status.success(),
        "migrate failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[derive(QueryableByName)]
struct SqliteColumn {
    #[diesel(sql_type = Text)]
    tbl: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    declared: String,
    #[diesel(sql_type = BigInt)]
    not_null: i64,
    #[diesel(sql_type = BigInt)]
    pk: i64,
}

#[derive(QueryableByName)]
struct SqliteIndexColumn {
    #[diesel(sql_type = Text)]
    tbl: String,
    #[diesel(sql_type = Text)]
    idx: String,
    #[diesel(sql_type = BigInt)]
    is_unique: i64,
    #[diesel(sql_type = Text)]
    origin: String,
    #[diesel(sql_type = Text)]
    col: String,
}

fn sqlite_shape(path: &Path) -> Shape {
    let mut conn = SqliteConnection::establish(&path.to_string_lossy()).expect("opens SQLite");
    let mut shape = Shape::default();
    let columns: Vec<SqliteColumn> = diesel::sql_query(
        "SELECT m.name AS tbl, p.name AS name, p.type AS declared, p.\"notnull\" AS not_null,
                p.pk AS pk
         FROM sqlite_master m JOIN pragma_table_info(m.name) p
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
           AND m.name <> '__diesel_schema_migrations'
         ORDER BY m.name, p.pk",
    )
    .load(&mut conn)
    .expect("reads SQLite columns");
    for c in columns {
        // A rowid alias (INTEGER PRIMARY KEY) is never NULL, whatever it declares.
        let nullable = c.not_null == 0 && c.pk == 0;
        shape
            .columns
            .entry(c.tbl.clone())
            .or_default()
            .insert(c.name.clone(), (kind(&c.declared), nullable));
        if c.pk > 0 {
            shape.primary_keys.entry(c.tbl).or_default().push(c.name);
        }
    }
    let indexed: Vec<SqliteIndexColumn> = diesel::sql_query(
        "SELECT m.name AS tbl, il.name AS idx, il.\"unique\" AS is_unique, il.origin AS origin,
                ii.name AS col
         FROM sqlite_master m JOIN pragma_index_list(m.name) il JOIN pragma_index_info(il.name) ii
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
           AND m.name <> '__diesel_schema_migrations'
         ORDER BY m.name, il.name, ii.seqno",
    )
    .load(&mut conn)
    .expect("reads SQLite indexes");
    for c in indexed {
        // Primary keys are compared above; SQLite backs a non-rowid one with an autoindex.
        if c.origin == "pk" {
            continue;
        }
        let entry = shape
            .indexes
            .entry((c.tbl, c.idx))
            .or_insert_with(|| (Vec::new(), c.is_unique != 0));
        entry.0.push(c.col);
    }
    shape
}

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connects to the test database");
    tokio::spawn(connection);
    client
}

async fn postgres_shape(url: &str) -> Shape {
    let client = connect(url).await;
    let mut shape = Shape::default();
    let columns = client
        .query(
            "SELECT table_name::text, column_name::text, data_type::text, is_nullable = 'YES'
             FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
            &[],
        )
        .await
        .expect("reads PostgreSQL columns");
    for row in columns {
        let (table, column, declared, nullable): (String, String, String, bool) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        shape
            .columns
            .entry(table)
            .or_default()
            .insert(column, (kind(&declared), nullable));
    }
    let indexes = client
        .query(
            "SELECT t.relname::text, i.relname::text, ix.indisunique, ix.indisprimary,
                    ARRAY(SELECT coalesce(a.attname::text, '(expression)')
                          FROM unnest(ix.indkey) WITH ORDINALITY k(attnum, ord)
                          LEFT JOIN pg_attribute a
                            ON a.attrelid = t.oid AND a.attnum = k.attnum
                          ORDER BY k.ord)
             FROM pg_index ix
             JOIN pg_class t ON t.oid = ix.indrelid
             JOIN pg_class i ON i.oid = ix.indexrelid
             JOIN pg_namespace n ON n.oid = t.relnamespace
             WHERE n.nspname = 'public' AND t.relname <> '__diesel_schema_migrations'",
            &[],
        )
        .await
        .expect("reads PostgreSQL indexes");
    for row in indexes {
        let (table, index, unique, primary, columns): (String, String, bool, bool, Vec<String>) =
            (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
        if primary {
            shape.primary_keys.insert(table, columns);
        } else {
            shape.indexes.insert((table, index), (columns, unique));
        }
    }
    shape
}

/// Both migration sets give the same schema, and every per-user table is indexed by its owner
/// first (a primary key on the owner counts).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_migration_sets_give_the_same_schema() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("schema.db");
    migrate(dir.path(), &format!("sqlite://{}", file.display()));
    let mut sqlite = sqlite_shape(&file);
    check_owner_indexes("SQLite", &sqlite);
    for (table, _) in SQLITE_ONLY_TABLES {
        assert!(sqlite.columns.remove(table).is_some(), "no table {table}");
        sqlite.primary_keys.remove(table);
    }

    let Some(database) = TempDatabase::create().await else {
        return;
    };
    migrate(dir.path(), &database.url);
    let mut postgres = postgres_shape(&database.url).await;
    check_owner_indexes("PostgreSQL", &postgres);
    check_task_store(&database.url, &postgres).await;
    for (table, _) in POSTGRES_ONLY_TABLES {
        assert!(postgres.columns.remove(table).is_some(), "no table {table}");
        postgres.primary_keys.remove(table);
        postgres.indexes.retain(|(on, _), _| on != table);
    }
    // Created only where pg_trgm can be installed, so allowed to be absent too.
    postgres
        .indexes
        .retain(|(_, index), _| !POSTGRES_ONLY_INDEXES.iter().any(|(name, _)| name == index));

    assert_eq!(
        sqlite.columns.keys().collect::<BTreeSet<_>>(),
        postgres.columns.keys().collect::<BTreeSet<_>>(),
        "the two migration sets create different tables"
    );
    for (table, columns) in &sqlite.columns {
        assert_eq!(
            Some(columns),
            postgres.columns.get(table),
            "table {table}: columns (kind of type, nullable) differ: SQLite left, PostgreSQL right"
        );
    }
    assert_eq!(
        sqlite.primary_keys, postgres.primary_keys,
        "primary keys differ: SQLite left, PostgreSQL right"
    );
    assert_eq!(
        sqlite.indexes, postgres.indexes,
        "indexes differ: SQLite left, PostgreSQL right"
    );
    assert!(
        sqlite.columns.contains_key("tasks") && !sqlite.indexes.is_empty(),
        "read nothing back: {sqlite:?}"
    );
}

/// `task_store`, the one UPDATE of PostgreSQL's task writes (migration 000073), writes every
/// column of `tasks` but `id`: a migration that adds one and does not call
/// `task_store_restate()` fails here.
async fn check_task_store(url: &str, shape: &Shape) {
    let definition: String = connect(url)
        .await
        .query_one(
            "SELECT pg_get_functiondef('task_store(tasks)'::regprocedure)",
            &[],
        )
        .await
        .expect("reads task_store")
        .get(0);
    let written: BTreeSet<String> = definition
        .split("p_row.")
        .skip(1)
        .map(|rest| {
            let name = rest.trim_start_matches('"');
            let end = name.find(|c: char| !(c.is_alphanumeric() || c == '_'));
            name[..end.unwrap_or(name.len())].to_owned()
        })
        .filter(|column| column != "id")
        .collect();
    let columns: BTreeSet<String> = shape.columns["tasks"]
        .keys()
        .filter(|column| *column != "id")
        .cloned()
        .collect();
    assert_eq!(
        written, columns,
        "task_store: SELECT task_store_restate() after a new column"
    );
}

/// Every table with an owner column has an index (or primary key) that starts with it.
fn check_owner_indexes(backend: &str, shape: &Shape) {
    let per_user: Vec<&String> = shape
        .columns
        .iter()
        .filter(|(_, columns)| columns.contains_key(OWNER))
        .map(|(table, _)| table)
        .collect();
    assert!(
        per_user.iter().any(|t| *t == "tasks"),
        "{backend}: no per-user table found"
    );
    for table in per_user {
        let by_primary_key = shape
            .primary_keys
            .get(table)
            .is_some_and(|pk| pk.first().map(String::as_str) == Some(OWNER));
        let by_index = shape.indexes.iter().any(|((t, _), (cols, _))| {
            t == table && cols.first().map(String::as_str) == Some(OWNER)
        });
        assert!(
            by_primary_key || by_index,
            "{backend}: per-user table {table} has no index that starts with {OWNER}"
        );
    }
}

backend_cases!(the_server_migrates_a_fresh_database);

/// How many migrations `__diesel_schema_migrations` records on `url`'s database.
async fn migrations_recorded(backend: Backend, url: &str) -> i64 {
    match backend {
        Backend::Sqlite => {
            let path = url.trim_start_matches("sqlite://");
            let mut conn = SqliteConnection::establish(path).expect("opens SQLite");
            #[derive(QueryableByName)]
            struct Count {
                #[diesel(sql_type = BigInt)]
                n: i64,
            }
            diesel::sql_query("SELECT count(*) AS n FROM __diesel_schema_migrations")
                .get_result::<Count>(&mut conn)
                .expect("reads the migrations table")
                .n
        }
        Backend::Postgres => {
            let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .expect("connects to the test database");
            tokio::spawn(connection);
            client
                .query_one("SELECT count(*) FROM __diesel_schema_migrations", &[])
                .await
                .expect("reads the migrations table")
                .get(0)
        }
    }
}

/// The server migrates a fresh, empty database itself at start (most tests start on a copy of
/// the migrated template, where its migration check finds nothing to do), and what it builds
/// is what the tests' template holds.
async fn the_server_migrates_a_fresh_database(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (url, _database) = match backend {
        Backend::Sqlite => {
            let file = dir.path().join("fresh.db");
            (format!("sqlite://{}", file.display()), None)
        }
        Backend::Postgres => {
            let Some(database) = TempDatabase::create().await else {
                return;
            };
            let (client, connection) =
                tokio_postgres::connect(&database.url, tokio_postgres::NoTls)
                    .await
                    .expect("connects to the test database");
            tokio::spawn(connection);
            let tables: i64 = client
                .query_one(
                    "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
                    &[],
                )
                .await
                .expect("reads the catalogue")
                .get(0);
            assert_eq!(tables, 0, "the fresh database is empty");
            (database.url.clone(), Some(database))
        }
    };
    if backend == Backend::Sqlite {
        assert!(
            !dir.path().join("fresh.db").exists(),
            "no file before start"
        );
    }

    let app = TestApp::builder(backend)
        .database_url(&url)
        .start()
        .await
        .expect("the app starts");
    app.anonymous().get("/readyz").await.good(StatusCode::OK);
    app.user("alice")
        .create_task("on a database the server migrated")
        .await;
    let folder = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let all = std::fs::read_dir(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(folder),
    )
    .unwrap()
    .count() as i64;
    assert_eq!(migrations_recorded(backend, &url).await, all);

    // The tests' template: the same migrations, the same schema.
    let _template = match backend {
        Backend::Sqlite => {
            let file = dir.path().join("template.db");
            crate::common::template::copy_sqlite(&file);
            let url = format!("sqlite://{}", file.display());
            assert_eq!(migrations_recorded(backend, &url).await, all);
            assert_eq!(
                sqlite_shape(&file),
                sqlite_shape(&dir.path().join("fresh.db"))
            );
            None
        }
        Backend::Postgres => {
            let template = TempDatabase::migrated()
                .await
                .expect("a copy of the template");
            assert_eq!(migrations_recorded(backend, &template.url).await, all);
            assert_eq!(
                postgres_shape(&template.url).await,
                postgres_shape(&url).await
            );
            Some(template)
        }
    };
}
