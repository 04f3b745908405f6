//! Search finds every row, whoever wrote it (issue 19): rows inserted or changed by another
//! program, in plain SQL over its own connection (tokio-postgres; a diesel `SqliteConnection`
//! that has none of the server's functions), are found by the very next search, with the
//! same matching as the server's own rows: case-insensitive for any letter, `%`, `_` and `\`
//! literal. Title order (and paging through it) folds such rows alike on both backends.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::other_writer::Shared;
use crate::common::{Backend, UserClient};

async fn list(user: &UserClient<'_>, query: &str) -> Value {
    user.get(&user.tasks_path(query)).await.good(StatusCode::OK)
}

fn titles(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|t| t["title"].as_str().expect("a title").to_owned())
        .collect()
}

/// The titles of the user's tasks that `needle` finds, sorted.
async fn found(user: &UserClient<'_>, needle: &str) -> Vec<String> {
    let encoded: String = url::form_urlencoded::byte_serialize(needle.as_bytes()).collect();
    let mut got = titles(&list(user, &format!("?search={encoded}")).await);
    got.sort();
    got
}

/// Rows another program inserts (non-ASCII text, `%`, `_`, `\`, in titles and descriptions)
/// are found by the next search, and only with the matching the server's own rows get.
async fn rows_inserted_in_plain_sql_are_found_at_once(backend: Backend) {
    let Some(db) = Shared::start(backend).await else {
        return;
    };
    let alice = db.app.user("alice");
    // Before the inserts: a search, so nothing could be computed ahead.
    assert!(found(&alice, "école").await.is_empty());
    db.insert("alice", "ÉCOLE Straße", Some("ΟΔΟΣ ΣΑΣ, Привет МИР"))
        .await;
    db.insert("alice", "Save 100% a_b", Some("path C:\\temp"))
        .await;
    db.insert("bob", "ÉCOLE of bob", Some("Привет")).await;

    let ecole = vec!["ÉCOLE Straße".to_owned()];
    let literal = vec!["Save 100% a_b".to_owned()];
    assert_eq!(found(&alice, "école").await, ecole, "non-ASCII title folds");
    assert_eq!(found(&alice, "ÉCOLE").await, ecole);
    assert_eq!(found(&alice, "straße").await, ecole);
    assert_eq!(
        found(&alice, "STRAẞE").await,
        ecole,
        "capital sharp s folds to ß"
    );
    assert_eq!(
        found(&alice, "привет мир").await,
        ecole,
        "Cyrillic description"
    );
    assert_eq!(
        found(&alice, "οδος σας").await,
        ecole,
        "final sigma, as Rust folds"
    );
    assert_eq!(found(&alice, "100%").await, literal, "% matches itself");
    assert_eq!(found(&alice, "a_b").await, literal, "_ matches itself");
    assert_eq!(found(&alice, "c:\\t").await, literal, "\\ matches itself");
    assert!(found(&alice, "100_").await.is_empty(), "_ is no wildcard");
    assert!(found(&alice, "a%b").await.is_empty(), "% is no wildcard");
    assert!(found(&alice, "c:t").await.is_empty(), "\\ is no escape");
    assert!(
        found(&alice, "bob").await.is_empty(),
        "only the viewer's rows"
    );
    let bob = db.app.user("bob");
    assert_eq!(found(&bob, "привет").await, vec!["ÉCOLE of bob".to_owned()]);
}

/// A task changed by another program is found by its new text at once, not by its old one.
async fn rows_changed_in_plain_sql_are_found_by_their_new_text(backend: Backend) {
    let Some(db) = Shared::start(backend).await else {
        return;
    };
    let alice = db.app.user("alice");
    let created = alice
        .post(
            &alice.tasks_path(""),
            json!({"title": "old title", "description": "old words"}),
        )
        .await
        .good(StatusCode::CREATED);
    assert_eq!(
        found(&alice, "OLD WORDS").await,
        vec!["old title".to_owned()]
    );
    db.other_writer(&format!(
        "UPDATE tasks SET title = 'NEUE Übung', description = 'ΝΈΑ λόγια' WHERE id = {}",
        created["id"]
    ))
    .await;
    let renamed = vec!["NEUE Übung".to_owned()];
    assert_eq!(found(&alice, "neue übung").await, renamed);
    assert_eq!(found(&alice, "νέα").await, renamed);
    assert!(
        found(&alice, "old").await.is_empty(),
        "the old text is gone"
    );
}

/// The FastAPI reference's description-search test: two rows written by its own ORM (no
/// search keys), then a search by a word of their descriptions finds both.
async fn descriptions_from_another_writer_are_searched(backend: Backend) {
    let Some(db) = Shared::start(backend).await else {
        return;
    };
    let alice = db.app.user("alice");
    alice.create_task("unrelated").await;
    db.insert("alice", "Task one", Some("Discuss the Quarterly report"))
        .await;
    db.insert("alice", "Task two", Some("QUARTERLY planning"))
        .await;
    assert_eq!(
        found(&alice, "quarterly").await,
        vec!["Task one".to_owned(), "Task two".to_owned()]
    );
}

/// Title order folds another writer's rows as it folds the server's own, on both backends, and
/// paging one task at a time through it (cursors carry the folded title) visits each once.
async fn title_order_and_paging_fold_every_row(backend: Backend) {
    let Some(db) = Shared::start(backend).await else {
        return;
    };
    let alice = db.app.user("alice");
    for title in ["éa", "Banana"] {
        alice.create_task(title).await;
    }
    for title in ["Éz", "apple", "ΩMEGA", "Ébène"] {
        db.insert("alice", title, None).await;
    }
    // Compared folded, byte by byte: "éa" < "ébène" < "éz" (same é, then a < b < z); Greek ω
    // (U+03C9) after Latin é (U+00E9). Unfolded, "Éz" and "Ébène" (É is U+00C9) would come
    // before "éa".
    let expected = ["apple", "Banana", "éa", "Ébène", "Éz", "ΩMEGA"];
    let whole = titles(&list(&alice, "?sort=title&order=asc").await);
    assert_eq!(whole, expected);

    let mut paged = Vec::new();
    let mut query = "?sort=title&order=asc&limit=1".to_owned();
    for _ in 0..expected.len() + 1 {
        let page = alice.get(&alice.tasks_path(&query)).await;
        let body = page.good(StatusCode::OK);
        paged.extend(titles(&body));
        let Some(link) = page.header("link") else {
            break;
        };
        let next = link
            .split(['<', '>'])
            .nth(1)
            .expect("a Link target")
            .to_owned();
        query = next[next.find('?').expect("a query string")..].to_owned();
    }
    assert_eq!(paged, expected, "each task once, in order");
}

backend_cases!(
    rows_inserted_in_plain_sql_are_found_at_once,
    rows_changed_in_plain_sql_are_found_by_their_new_text,
    descriptions_from_another_writer_are_searched,
    title_order_and_paging_fold_every_row,
);

/// PostgreSQL folds the keys again only when an UPDATE changes a text or writes a key
/// (migration 000085): a toggle calls no folding, a new title or a wrong key does, and the
/// keys read back right either way. Counted by `pg_stat_xact_user_functions`, which sees the
/// calls of its own transaction once `track_functions` is on.
#[tokio::test]
async fn postgres_an_update_folds_only_what_changed() {
    use crate::common::pg::{self, TempDatabase};
    let Some(database) = TempDatabase::migrated().await else {
        return;
    };
    let db = pg::client(&database.url).await;
    db.batch_execute(
        "INSERT INTO tasks (user_id, title, title_key) VALUES ('alice', 'ÉCOLE', 'x')",
    )
    .await
    .expect("a task inserted");
    // The view holds this backend's counts not yet reported, which may include an earlier
    // transaction's: the calls are read before and after the statement.
    let calls = "SELECT coalesce((SELECT calls FROM pg_stat_xact_user_functions
                                  WHERE funcname = 'tasks_search_keys'), 0)";
    let folds = async |statement: &str| -> (i64, String) {
        db.batch_execute("BEGIN; SET LOCAL track_functions = 'pl'")
            .await
            .expect("begins");
        let before: i64 = db.query_one(calls, &[]).await.expect("calls").get(0);
        db.batch_execute(statement).await.expect("updates");
        let after: i64 = db.query_one(calls, &[]).await.expect("calls").get(0);
        let key = db
            .query_one("SELECT title_key FROM tasks WHERE user_id = 'alice'", &[])
            .await
            .expect("reads the key");
        db.batch_execute("COMMIT").await.expect("commits");
        (after - before, key.get(0))
    };
    let toggle = "UPDATE tasks SET completed = NOT completed, updated_at = now()";
    assert_eq!(folds(toggle).await, (0, "école".to_owned()), "a toggle");
    let rename = "UPDATE tasks SET title = 'ΣΑΣ'";
    assert_eq!(folds(rename).await, (1, "σας".to_owned()), "a new title");
    let wrong_key = "UPDATE tasks SET title_key = 'wrong'";
    assert_eq!(
        folds(wrong_key).await,
        (1, "σας".to_owned()),
        "a key written"
    );
}
