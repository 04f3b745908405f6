//! A shared list's own journal, the first step of issue 60's journal per scope
//! (docs/ARCHITECTURE.md, "How (a) is to be built"): every change of a task in a list that has
//! members is recorded once in the list's scope (`list_task_changes`), numbered per list
//! without a gap (`list_journal_counters`), whoever writes it and however many rows a statement
//! writes; a move is a tombstone in the list it left and a creation in the one it entered; a
//! list without members has no entries. The same on both backends.

use reqwest::StatusCode;
use serde_json::json;

use crate::common::Backend;
use crate::common::other_writer::Shared;
use crate::lists::{create_list, id_of};
use crate::sharing::{share, task_in};

backend_cases!(each_change_in_a_shared_list_is_recorded_once_in_its_scope);

/// The list scopes' entries as `list:task:seq:deleted:created_seq` (0: none), by list and
/// number, and their counters as `list:last_seq`.
async fn scopes(backend: Backend, url: &str) -> (Vec<String>, Vec<String>) {
    const ENTRIES: &str = "SELECT list_id || ':' || task_id || ':' || seq || ':' || \
        (CASE WHEN deleted THEN 1 ELSE 0 END) || ':' || coalesce(created_seq, 0) AS line \
        FROM list_task_changes ORDER BY list_id, seq";
    const COUNTERS: &str = "SELECT list_id || ':' || last_seq AS line \
        FROM list_journal_counters ORDER BY list_id";
    match backend {
        Backend::Postgres => {
            let client = crate::common::pg::client(url).await;
            let mut read = Vec::new();
            for sql in [ENTRIES, COUNTERS] {
                let rows = client.query(sql, &[]).await.expect("reads the list scopes");
                read.push(rows.iter().map(|r| r.get::<_, String>(0)).collect());
            }
            let counters = read.pop().expect("counters");
            (read.pop().expect("entries"), counters)
        }
        Backend::Sqlite => {
            use diesel::{Connection as _, QueryableByName, RunQueryDsl as _};
            #[derive(QueryableByName)]
            struct Line {
                #[diesel(sql_type = diesel::sql_types::Text)]
                line: String,
            }
            let path = url.trim_start_matches("sqlite://");
            let mut conn = diesel::SqliteConnection::establish(path).expect("opens SQLite");
            let mut read = |sql: &str| -> Vec<String> {
                let rows: Vec<Line> = diesel::sql_query(sql)
                    .load(&mut conn)
                    .expect("reads the list scopes");
                rows.into_iter().map(|r| r.line).collect()
            };
            (read(ENTRIES), read(COUNTERS))
        }
    }
}

/// Alice's list L is shared with Bob, M with Carol, P with nobody. Through the API: two tasks
/// created in L, one renamed, one moved to M, one to P, the one in M deleted, one created in
/// P; then another program inserts three tasks into L in one statement, renames the three in
/// another, and deletes one. L's scope ends with twelve numbers and each task's last change;
/// M's with two; P has none.
async fn each_change_in_a_shared_list_is_recorded_once_in_its_scope(backend: Backend) {
    let Some(db) = Shared::start(backend).await else {
        return;
    };
    let alice = db.app.user("alice");
    let l = id_of(&create_list(&alice, "L").await);
    let m = id_of(&create_list(&alice, "M").await);
    let p = id_of(&create_list(&alice, "P").await);
    share(&alice, l, "bob", "editor").await;
    share(&alice, m, "carol", "viewer").await;
    let put = async |id: i64, body| {
        alice
            .put(&alice.tasks_path(&format!("/{id}")), body)
            .await
            .good(StatusCode::OK);
    };
    let one = id_of(&task_in(&alice, l, "one").await); // L 1
    let two = id_of(&task_in(&alice, l, "two").await); // L 2
    put(one, json!({"title": "one, renamed"})).await; // L 3
    put(two, json!({"list_id": m})).await; // L 4 (gone), M 1 (came)
    put(one, json!({"list_id": p})).await; // L 5 (gone)
    alice
        .delete(&alice.tasks_path(&format!("/{two}")))
        .await
        .good(StatusCode::NO_CONTENT); // M 2 (gone)
    task_in(&alice, p, "private").await;
    alice.create_task("no list").await;
    let at = crate::common::other_writer::timestamp(backend);
    db.other_writer(&format!(
        "INSERT INTO tasks (user_id, title, completed, created_at, updated_at, list_id, position)
         VALUES ('alice', 'bulk 1', FALSE, {at}, {at}, {l}, '000010000080'),
                ('alice', 'bulk 2', FALSE, {at}, {at}, {l}, '000011000080'),
                ('alice', 'bulk 3', FALSE, {at}, {at}, {l}, '000012000080');
         UPDATE tasks SET title = title || '!' WHERE list_id = {l};
         DELETE FROM tasks WHERE title = 'bulk 2!';"
    ))
    .await; // L 6-8 (came), 9-11, 12 (gone)
    let in_l = alice
        .get(&alice.tasks_path(&format!("?list_id={l}")))
        .await
        .good(StatusCode::OK);
    let mut bulk: Vec<i64> = in_l.as_array().expect("tasks").iter().map(id_of).collect();
    bulk.sort();
    assert_eq!(bulk.len(), 2, "{in_l}");
    let (first, third) = (bulk[0], bulk[1]);
    let second = first + 1;

    let (entries, counters) = scopes(backend, &db.url).await;
    assert_eq!(
        entries,
        [
            format!("{l}:{two}:4:1:2"),
            format!("{l}:{one}:5:1:1"),
            format!("{l}:{first}:9:0:6"),
            format!("{l}:{third}:11:0:8"),
            format!("{l}:{second}:12:1:7"),
            format!("{m}:{two}:2:1:1"),
        ]
    );
    assert_eq!(counters, [format!("{l}:12"), format!("{m}:2")]);
}
