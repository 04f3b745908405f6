//! The second wall: PostgreSQL's row-level security stands on its own. In plain SQL, as the
//! server's role with `app.user_id` = alice, bob's rows cannot be read, changed or deleted, and
//! with no user set nothing can be read or written; the role in force during real requests is
//! not superuser, owner or BYPASSRLS; and a database owner that is no superuser (Neon's case:
//! CREATEROLE) can run the migrations and gets policies that bite. SQLite has no row
//! security: there, and with DATABASE_ROW_SECURITY off, the query filter still isolates users.
//!
//! (A query WITHOUT the owner filter through the server's own unit of work is tested in
//! `tasks::unit`'s unit tests, against a real PostgreSQL.)

use reqwest::StatusCode;
use serde_json::json;
use tokio_postgres::{Client, NoTls, Row};

use crate::common::pg::{self, TempDatabase};
use crate::common::{Backend, TestApp};

backend_cases!(without_row_security_the_query_filter_still_isolates);

/// The server's role, created by the migrations.
const APP_ROLE: &str = "todo_api_app";

pub(crate) async fn connect(url: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|e| panic!("connecting to the test database: {e}"));
    tokio::spawn(connection);
    client
}

/// Runs `sql` in a transaction as the server's role, with `app.user_id` = `user` (none:
/// unset), and rolls it back.
pub(crate) async fn as_app(db: &Client, user: Option<&str>, sql: &str) -> Result<Vec<Row>, String> {
    db.batch_execute(&format!("BEGIN; SET LOCAL ROLE {APP_ROLE}"))
        .await
        .unwrap();
    if let Some(user) = user {
        db.execute("SELECT set_config('app.user_id', $1, true)", &[&user])
            .await
            .unwrap();
    }
    let outcome = db.query(sql, &[]).await.map_err(|e| match e.as_db_error() {
        Some(db_error) => format!("{}: {}", db_error.code().code(), db_error.message()),
        None => e.to_string(),
    });
    db.batch_execute("ROLLBACK").await.unwrap();
    outcome
}

pub(crate) async fn count(db: &Client, user: Option<&str>, sql: &str) -> i64 {
    as_app(db, user, sql).await.unwrap()[0].get(0)
}

/// Alice's and bob's tasks (with their journal and counters), made through the API.
async fn seed(app: &TestApp) {
    for user in ["alice", "bob"] {
        let client = app.user(user);
        for n in 0..2 {
            client.create_task(&format!("{user} {n}")).await;
        }
    }
}

/// Every way alice could reach bob's rows in SQL, on each per-user table: 0 rows.
async fn assert_alice_cannot_touch_bob(db: &Client) {
    for table in ["tasks", "task_changes", "task_sync_cursors"] {
        let mine = count(db, Some("alice"), &format!("SELECT count(*) FROM {table}")).await;
        assert!(mine >= 1, "alice sees her own {table} rows");
        let where_bob = format!("FROM {table} WHERE user_id = 'bob'");
        assert_eq!(
            count(db, Some("alice"), &format!("SELECT count(*) {where_bob}")).await,
            0,
            "{table}: bob's rows are invisible to alice"
        );
        let updated = as_app(
            db,
            Some("alice"),
            &format!("UPDATE {table} SET user_id = 'alice' WHERE user_id = 'bob' RETURNING 1"),
        )
        .await
        .unwrap();
        assert_eq!(updated.len(), 0, "{table}: bob's rows cannot be updated");
        let deleted = as_app(
            db,
            Some("alice"),
            &format!("DELETE {where_bob} RETURNING 1"),
        )
        .await
        .unwrap();
        assert_eq!(deleted.len(), 0, "{table}: bob's rows cannot be deleted");
    }
    // Nor can alice plant a row in bob's name, nor give her own rows to bob.
    let planted = as_app(
        db,
        Some("alice"),
        "INSERT INTO tasks (user_id, title, title_key) VALUES ('bob', 'planted', 'planted')",
    )
    .await;
    assert!(
        planted.as_ref().is_err_and(|e| e.starts_with("42501")),
        "{planted:?}"
    );
    let given = as_app(
        db,
        Some("alice"),
        "UPDATE tasks SET user_id = 'bob' WHERE user_id = 'alice'",
    )
    .await;
    assert!(
        given.as_ref().is_err_and(|e| e.starts_with("42501")),
        "{given:?}"
    );
}

/// With `app.user_id` unset or empty: no rows, no writes (fail closed).
async fn assert_no_user_no_rows(db: &Client) {
    for user in [None, Some("")] {
        for table in ["tasks", "task_changes", "task_sync_cursors"] {
            let sql = format!("SELECT count(*) FROM {table}");
            assert_eq!(count(db, user, &sql).await, 0, "{table} with {user:?}");
            let deleted = as_app(db, user, &format!("DELETE FROM {table} RETURNING 1"))
                .await
                .unwrap();
            assert!(deleted.is_empty(), "{table} with {user:?}");
        }
        for owner in ["alice", ""] {
            let insert = format!(
                "INSERT INTO tasks (user_id, title, title_key) VALUES ('{owner}', 't', 't')"
            );
            let refused = as_app(db, user, &insert).await;
            assert!(
                refused.as_ref().is_err_and(|e| e.starts_with("42501")),
                "insert as {owner:?} with {user:?}: {refused:?}"
            );
        }
    }
}

/// The policies, in SQL, as the server's role on a database migrated by the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_policies_hold_in_sql_as_the_servers_role() {
    let Some(database) = TempDatabase::create().await else {
        return;
    };
    let app = TestApp::builder(Backend::Postgres)
        .database_url(&database.url)
        .start()
        .await
        .expect("app");
    seed(&app).await;
    let db = connect(&database.url).await;
    assert_alice_cannot_touch_bob(&db).await;
    assert_no_user_no_rows(&db).await;
    // The counting functions read past the policies (SECURITY DEFINER), so each refuses a
    // viewer who is neither the owner nor an editor of one of the owner's lists.
    for call in [
        "owner_task_count('bob')",
        "owner_tag_count('bob')",
        "owner_task_cap_reached('bob', 10)",
    ] {
        let sql = format!("SELECT {call}");
        let refused = as_app(&db, Some("alice"), &sql).await.err();
        let expected = "P0001: todo_api refused: forbidden";
        assert_eq!(refused.as_deref(), Some(expected), "{call}");
        assert!(as_app(&db, Some("bob"), &sql).await.is_ok(), "{call}");
    }
    // `app.user_id` is transaction-local: nothing of it outlives its transaction.
    db.batch_execute("BEGIN; SELECT set_config('app.user_id', 'alice', true); COMMIT")
        .await
        .unwrap();
    assert_eq!(count(&db, None, "SELECT count(*) FROM tasks").await, 0);
    // RLS is enabled AND forced on every per-user table.
    let rows = db
        .query(
            "SELECT relname FROM pg_class WHERE relname = ANY($1) \
             AND relrowsecurity AND relforcerowsecurity",
            &[&vec![
                "tasks",
                "task_changes",
                "task_sync_cursors",
                "task_counts",
            ]],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 4);
    // Nothing was lost: bob still has both his tasks.
    let bobs = app
        .user("bob")
        .get("/api/bob/tasks")
        .await
        .good(StatusCode::OK);
    assert_eq!(bobs.as_array().unwrap().len(), 2);
}

/// Real requests' writes, observed by triggers on every per-user table (the server has no
/// test-only code): each task write ran as the server's role, and each journal and counter
/// write (the database's journal triggers', issue 27) as the journal's role, both neither
/// superuser, nor BYPASSRLS, nor a member of the tables' owner, with `app.user_id` = the
/// requesting user, and on that user's rows only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_requests_run_as_an_unprivileged_role_for_their_user() {
    let Some(database) = TempDatabase::migrated().await else {
        return;
    };
    let app = TestApp::builder(Backend::Postgres)
        .database_url(&database.url)
        .start()
        .await
        .expect("app");
    let db = connect(&database.url).await;
    db.batch_execute(
        "CREATE TABLE seen (tbl TEXT, op TEXT, role TEXT, privileged BOOL, user_id TEXT,
                            row_user TEXT);
         GRANT INSERT ON seen TO PUBLIC;
         CREATE FUNCTION note_role() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             INSERT INTO seen
             SELECT TG_TABLE_NAME, TG_OP, current_user,
                    r.rolsuper OR r.rolbypassrls
                        OR pg_has_role(current_user, c.relowner, 'USAGE'),
                    current_setting('app.user_id', true),
                    CASE WHEN TG_OP = 'DELETE' THEN OLD.user_id ELSE NEW.user_id END
             FROM pg_roles r, pg_class c
             WHERE r.rolname = current_user AND c.oid = TG_RELID;
             RETURN COALESCE(NEW, OLD);
         END $$;
         CREATE TRIGGER note_role BEFORE INSERT OR UPDATE OR DELETE ON tasks
             FOR EACH ROW EXECUTE FUNCTION note_role();
         CREATE TRIGGER note_role BEFORE INSERT OR UPDATE OR DELETE ON task_changes
             FOR EACH ROW EXECUTE FUNCTION note_role();
         CREATE TRIGGER note_role BEFORE INSERT OR UPDATE OR DELETE ON task_sync_cursors
             FOR EACH ROW EXECUTE FUNCTION note_role();",
    )
    .await
    .unwrap();
    let alice = app.user("alice");
    let id = alice.create_task("observed").await["id"].as_i64().unwrap();
    alice
        .put(
            &alice.tasks_path(&format!("/{id}")),
            json!({"title": "changed"}),
        )
        .await
        .good(StatusCode::OK);
    alice
        .graphql_data(
            "mutation($id: ID!) { deleteTask(id: $id) }",
            json!({"id": id.to_string()}),
        )
        .await;

    let seen = db
        .query(
            "SELECT tbl, op, role, privileged, user_id, row_user FROM seen",
            &[],
        )
        .await
        .unwrap();
    for table in ["tasks", "task_changes", "task_sync_cursors"] {
        assert!(seen.iter().any(|r| r.get::<_, &str>(0) == table), "{table}");
    }
    for op in ["INSERT", "UPDATE", "DELETE"] {
        assert!(seen.iter().any(|r| r.get::<_, &str>(1) == op), "{op}");
    }
    for row in &seen {
        let what = format!("{}/{}", row.get::<_, &str>(0), row.get::<_, &str>(1));
        let table = row.get::<_, &str>(0);
        let role = if table == "tasks" {
            APP_ROLE
        } else {
            "todo_api_journal"
        };
        assert_eq!(row.get::<_, &str>(2), role, "{what}");
        assert_eq!(row.get::<_, Option<&str>>(5), Some("alice"), "{what}");
        assert!(!row.get::<_, bool>(3), "{what}: a privileged role");
        assert_eq!(row.get::<_, Option<&str>>(4), Some("alice"), "{what}");
    }
}

/// The owner role and its database, dropped when the test ends.
struct OwnedDatabase {
    role: String,
    name: String,
}

impl Drop for OwnedDatabase {
    fn drop(&mut self) {
        let statements = [
            format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            format!("DROP ROLE IF EXISTS {}", self.role),
        ];
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                if let Ok((admin, connection)) =
                    tokio_postgres::connect(&pg::admin_url(), NoTls).await
                {
                    tokio::spawn(connection);
                    for sql in statements {
                        if let Err(e) = admin.batch_execute(&sql).await {
                            eprintln!("cleaning up: {sql}: {e}");
                        }
                    }
                }
            });
        })
        .join();
    }
}

/// Neon's case: the database belongs to a role that is no superuser and has CREATEROLE. The
/// server, connected as that role, migrates (creating or reusing the cluster-wide app role and
/// making itself a member), serves, and its requests are bound by the policies; the owner
/// itself sees every row (its maintenance policy), the app role only the viewer's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_createrole_owner_migrates_and_the_policies_bite() {
    let Some(admin) = pg::admin_client().await else {
        return;
    };
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let owned = OwnedDatabase {
        role: format!("todo_owner_{suffix}"),
        name: format!("todo_test_owned_{suffix}"),
    };
    // Two statements: CREATE DATABASE cannot share a (implicit) transaction.
    for sql in [
        format!(
            "CREATE ROLE {} LOGIN CREATEROLE NOSUPERUSER NOBYPASSRLS",
            owned.role
        ),
        format!("CREATE DATABASE {} OWNER {}", owned.name, owned.role),
    ] {
        admin.batch_execute(&sql).await.unwrap();
    }
    let mut url = url::Url::parse(&pg::database_url(&owned.name)).unwrap();
    url.set_username(&owned.role).unwrap();
    let url = url.to_string();

    let app = TestApp::builder(Backend::Postgres)
        .database_url(&url)
        .start()
        .await
        .expect("the server migrates and starts as a non-superuser owner");
    seed(&app).await;
    let alice = app
        .user("alice")
        .get("/api/alice/tasks")
        .await
        .good(StatusCode::OK);
    assert_eq!(alice.as_array().unwrap().len(), 2);

    let db = connect(&url).await;
    let me = db
        .query_one(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user",
            &[],
        )
        .await
        .unwrap();
    assert!(!me.get::<_, bool>(0) && !me.get::<_, bool>(1));
    let everyone: i64 = db
        .query_one("SELECT count(*) FROM tasks", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        everyone, 4,
        "the owner's maintenance policy admits every row"
    );
    assert_alice_cannot_touch_bob(&db).await;
    assert_no_user_no_rows(&db).await;
}

/// DATABASE_ROW_SECURITY=false (on SQLite it changes nothing: there is no row security): the
/// query filter alone still keeps users apart.
async fn without_row_security_the_query_filter_still_isolates(backend: Backend) {
    let app = start_app!(backend, "--database-row-security" => "false");
    seed(&app).await;
    let bob_task = app.user("bob").create_task("bob's").await["id"]
        .as_i64()
        .unwrap();
    let alice = app.user("alice");
    let mine = alice.get(&alice.tasks_path("")).await.good(StatusCode::OK);
    let mine = mine.as_array().unwrap();
    assert_eq!(mine.len(), 2);
    assert!(mine.iter().all(|t| t["user_id"] == "alice"));
    // A page's count (the kept count on PostgreSQL) is alice's, without `app.user_id` too.
    let page = alice.get(&alice.tasks_path("?limit=1")).await;
    assert_eq!(page.header("x-total-count"), Some("2"));
    let counted = alice
        .graphql_data("{ tasksConnection(first: 1) { totalCount } }", json!({}))
        .await;
    assert_eq!(counted["tasksConnection"]["totalCount"], 2);
    alice
        .get(&alice.tasks_path(&format!("/{bob_task}")))
        .await
        .detail(StatusCode::NOT_FOUND, "Task not found");
}
