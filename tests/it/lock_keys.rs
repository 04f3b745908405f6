//! The per-owner advisory locks (`tasks::unit::locks`, PostgreSQL only: SQLite has one writer
//! and takes none) belong to their owner alone: a user whose id is `task_lists:<id>` does not
//! hold `<id>`'s lists lock, and two ids with equal 32-bit `hashtext` do not share a lock
//! (issue 26). Each case is deterministic: the holder's own write is made to stop while it
//! holds its locks (its task's row is locked by the test, and the test waits until
//! `pg_locks` shows the write holding two advisory locks and waiting on the row); the other
//! user's create must then answer while those locks are still held. A control shows the
//! locks held are the ones that matter: the holder's own create waits for them.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use tokio_postgres::Client;

use crate::common::{Backend, TestApp, pg};

/// Far longer than a create takes: only a create stuck behind a lock runs into it.
const PROMPTLY: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_task_lists_prefixed_user_does_not_delay_the_user_it_names() {
    let Some((db, app)) = app_on_a_database().await else {
        return;
    };
    holder_does_not_delay(&app, &db, "task_lists:alice", "alice").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_users_with_equal_hashtext_do_not_share_a_lock() {
    let Some((db, app)) = app_on_a_database().await else {
        return;
    };
    let side = side_client(&db).await;
    // Among 400,000 ids a 32-bit hash has about 18 colliding pairs; `hashtext` is fixed for a
    // server, so this finds the same pair every run.
    let row = side
        .query_one(
            "SELECT min(id), max(id) FROM (SELECT 'u' || g AS id, hashtext('u' || g) AS h \
             FROM generate_series(1, 400000) g) ids GROUP BY h HAVING count(*) > 1 \
             ORDER BY min(id) LIMIT 1",
            &[],
        )
        .await
        .expect("a colliding pair of ids");
    let (holder, victim): (String, String) = (row.get(0), row.get(1));
    let same: bool = side
        .query_one("SELECT hashtext($1) = hashtext($2)", &[&holder, &victim])
        .await
        .expect("hashes compare")
        .get(0);
    assert!(same, "{holder} and {victim} collide under hashtext");
    holder_does_not_delay(&app, &db, &holder, &victim).await;
    holder_does_not_delay(&app, &db, &victim, &holder).await;
}

/// A fresh database and a server on it; `None` when PostgreSQL is missing outside CI (in CI a
/// missing PostgreSQL fails here).
async fn app_on_a_database() -> Option<(pg::TempDatabase, TestApp)> {
    let db = pg::TempDatabase::migrated().await?;
    let app = TestApp::builder(Backend::Postgres)
        .database_url(&db.url)
        // Longer than the test waits: the held delete must not end on its own meanwhile.
        .arg("--statement-timeout", "60s")
        .start()
        .await
        .expect("the server starts");
    Some((db, app))
}

/// A connection of the test's own, as the database's owner.
async fn side_client(db: &pg::TempDatabase) -> Client {
    pg::client(&db.url).await
}

/// `holder`'s delete is stopped while holding its advisory locks; `victim` creates a task
/// meanwhile, and must get its answer before the holder's locks are released.
async fn holder_does_not_delay(app: &TestApp, db: &pg::TempDatabase, holder: &str, victim: &str) {
    let (holding, side) = (app.user(holder), side_client(db).await);
    let task = holding.create_task("held").await["id"].as_i64().unwrap();
    side.batch_execute("BEGIN").await.expect("BEGIN");
    side.execute("SELECT 1 FROM tasks WHERE id = $1 FOR UPDATE", &[&task])
        .await
        .expect("the row is locked");
    let path = holding.tasks_path(&format!("/{task}"));
    let delete = tokio::spawn({
        let (client, url, token) = (
            app.client.clone(),
            format!("{}{path}", app.base),
            app.token(holder),
        );
        async move {
            let response = client.delete(url).bearer_auth(token).send().await;
            response.expect("the delete answers").status()
        }
    });
    wait_until_holding(&side).await;

    let victims = app.user(victim);
    let started = std::time::Instant::now();
    let created = tokio::time::timeout(
        PROMPTLY,
        victims.post(&victims.tasks_path(""), json!({"title": "mine"})),
    )
    .await
    .unwrap_or_else(|_| panic!("{victim}'s create waited for {holder}'s locks"));
    created.good(StatusCode::CREATED);
    eprintln!(
        "measured: {victim}'s create answered in {:?} while {holder}'s locks were held",
        started.elapsed()
    );
    assert_eq!(held_advisory_locks(&side).await, 2, "still held meanwhile");

    // The control: the holder's own create waits for the locks its delete holds.
    let own = tokio::spawn({
        let (client, url, token) = (
            app.client.clone(),
            format!("{}{}", app.base, holding.tasks_path("")),
            app.token(holder),
        );
        async move {
            let response = client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"title": "after"}))
                .send()
                .await;
            response.expect("the create answers").status()
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!own.is_finished(), "{holder}'s create did not wait");
    assert!(!delete.is_finished(), "the delete is still held");

    side.batch_execute("COMMIT").await.expect("COMMIT");
    assert_eq!(delete.await.unwrap(), StatusCode::NO_CONTENT);
    assert_eq!(own.await.unwrap(), StatusCode::CREATED);
}

/// Waits until a write holds two advisory locks (the lists and placement locks) and waits on
/// a row: the held delete, stopped where it must be.
async fn wait_until_holding(side: &Client) {
    for _ in 0..200 {
        // `side` is inside a transaction, which would keep its first look at the activity view.
        side.batch_execute("SELECT pg_stat_clear_snapshot()")
            .await
            .expect("a fresh look");
        let waiting: i64 = side
            .query_one(
                "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) \
                 WHERE NOT l.granted AND a.datname = current_database()",
                &[],
            )
            .await
            .expect("pg_locks")
            .get(0);
        if waiting > 0 && held_advisory_locks(side).await == 2 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the delete never held its locks while waiting on the row");
}

/// Advisory locks granted in this database.
async fn held_advisory_locks(side: &Client) -> i64 {
    side.query_one(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        &[],
    )
    .await
    .expect("pg_locks")
    .get(0)
}

/// An editor's move of a task in a shared list takes the list OWNER's locks (issue 29), so it
/// is serialised with the owner's own placements: while the test holds alice's placement lock,
/// bob's move of her task waits for it (deterministically: `pg_locks` shows it waiting on an
/// advisory lock), and answers once the lock is released. It took bob's own locks before, and
/// went through at once. The same for bob clearing completed tasks, which deletes alice's
/// completed tasks in the list too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_an_editors_placements_take_the_owners_locks() {
    let Some((db, app)) = app_on_a_database().await else {
        return;
    };
    let (alice, bob) = (app.user("alice"), app.user("bob"));
    let list = crate::lists::id_of(&crate::lists::create_list(&alice, "shared").await);
    let first = crate::sharing::task_in(&alice, list, "first").await;
    let done = crate::sharing::task_in(&alice, list, "done").await;
    alice
        .patch(&alice.tasks_path(&format!("/{}/complete", done["id"])))
        .await
        .good(StatusCode::OK);
    crate::sharing::share(&alice, list, "bob", "editor").await;

    let moving = bob.tasks_path(&format!("/{}/move", first["id"]));
    let status = waits_for_alices_lock(&app, &db, &moving, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let clearing = json!({"query": "mutation { clearCompleted }"});
    let status = waits_for_alices_lock(&app, &db, "/graphql", clearing).await;
    assert_eq!(status, StatusCode::OK);
    let left = alice.get(&alice.tasks_path("")).await.good(StatusCode::OK);
    assert_eq!(left.as_array().map(Vec::len), Some(1), "{left}");
}

/// Posts `body` to `path` as bob while the test holds alice's placement lock: the request
/// must wait for it (seen in `pg_locks`), and answer once it is released; its status.
async fn waits_for_alices_lock(
    app: &TestApp,
    db: &pg::TempDatabase,
    path: &str,
    body: serde_json::Value,
) -> StatusCode {
    let mut side = side_client(db).await;
    let tx = side.transaction().await.expect("a transaction");
    // alice's placement lock, as `unit::locks` names it (top bits 10, then her 62-bit hash).
    tx.execute(
        "SELECT pg_advisory_xact_lock((hashtextextended('alice', 0) & 4611686018427387903) \
         | (-9223372036854775807 - 1))",
        &[],
    )
    .await
    .expect("alice's placement lock");
    let bob = app.user("bob");
    let request = bob.post(path, body);
    tokio::pin!(request);
    let mut waited = false;
    for _ in 0..400 {
        tokio::select! {
            answered = &mut request => {
                panic!("{path} did not wait for alice's lock: {}", answered.status)
            }
            _ = tokio::time::sleep(Duration::from_millis(25)) => {}
        }
        // Inside a transaction, which would keep its first look at the activity view.
        tx.batch_execute("SELECT pg_stat_clear_snapshot()")
            .await
            .expect("a fresh look");
        let waiting: i64 = tx
            .query_one(
                "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) \
                 WHERE l.locktype = 'advisory' AND NOT l.granted \
                 AND a.datname = current_database()",
                &[],
            )
            .await
            .expect("pg_locks")
            .get(0);
        if waiting > 0 {
            waited = true;
            break;
        }
    }
    assert!(waited, "{path} never waited for alice's placement lock");
    tx.commit().await.expect("the lock is released");
    tokio::time::timeout(PROMPTLY, request)
        .await
        .expect("the request answers once the lock is free")
        .status
}
