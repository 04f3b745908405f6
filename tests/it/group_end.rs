//! Where an owner's group of tasks ends (the position a create without one is given, and a
//! placing move's), read on PostgreSQL by `group_end` as the tables' owner since migration
//! 000075 (issue 41). Under row security the policy's OR kept the planner from the index's last
//! entry: every create read one heap page per task of its user. Two properties hold it:
//! it answers exactly what the viewer's policy admitted (the whole group when it is the
//! viewer's own or in a list the viewer is a member of, nothing otherwise), and it reads a few
//! pages however many tasks the user has. On both backends, the positions creates are given
//! are `positions::`'s and `shared_writes::`'s to hold.

use tokio_postgres::Client;

use crate::common::pg::TempDatabase;
use crate::row_security::{as_app, connect};

/// `count` tasks for each of `users`, inserted as the owner one user after the other, so that
/// each page of `tasks` holds one task of every user and a user's tasks span `count` pages.
async fn spread(db: &Client, users: &[&str], count: usize, list: Option<i64>) {
    let users = users
        .iter()
        .map(|u| format!("'{u}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let list = list.map_or("NULL".to_owned(), |l| l.to_string());
    db.batch_execute(&format!(
        "INSERT INTO tasks (user_id, title, title_key, position, list_id)
         SELECT u, 'task ' || n, 'task ' || n, to_hex(128 + n), {list}
         FROM generate_series(1, {count}) AS n CROSS JOIN unnest(ARRAY[{users}]) AS u
         ORDER BY n, u"
    ))
    .await
    .unwrap();
}

/// `group_end(owner, list, NULL)` as the server's role for `viewer`.
async fn end_for(db: &Client, viewer: &str, owner: &str, list: Option<i64>) -> Option<String> {
    let list = list.map_or("NULL".to_owned(), |l| l.to_string());
    let rows = as_app(
        db,
        Some(viewer),
        &format!("SELECT group_end('{owner}', {list}, NULL)"),
    )
    .await
    .unwrap();
    rows[0].get(0)
}

#[tokio::test]
async fn postgres_a_groups_end_is_what_the_viewers_policy_admits() {
    let Some(database) = TempDatabase::migrated().await else {
        return;
    };
    let db = connect(&database.url).await;
    let list: i64 = db
        .query_one(
            "INSERT INTO task_lists (user_id, name, name_key, position, created_at, updated_at)
             VALUES ('alice', 'Home', 'home', '80', now(), now()) RETURNING id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    db.batch_execute(&format!(
        "INSERT INTO list_members (list_id, user_id, role, added_at)
         VALUES ({list}, 'bob', 'viewer', now())"
    ))
    .await
    .unwrap();
    spread(&db, &["alice", "carol"], 5, None).await;
    spread(&db, &["alice"], 3, Some(list)).await;
    // Her own inbox and list: the last of each (to_hex(128 + 5) and to_hex(128 + 3)).
    assert_eq!(
        end_for(&db, "alice", "alice", None).await.as_deref(),
        Some("85")
    );
    assert_eq!(
        end_for(&db, "alice", "alice", Some(list)).await.as_deref(),
        Some("83")
    );
    // A member of alice's list sees its group, not her inbox.
    assert_eq!(
        end_for(&db, "bob", "alice", Some(list)).await.as_deref(),
        Some("83")
    );
    assert_eq!(end_for(&db, "bob", "alice", None).await, None);
    // Someone else's groups are empty to a stranger; carol's own are hers.
    assert_eq!(end_for(&db, "carol", "alice", Some(list)).await, None);
    assert_eq!(end_for(&db, "carol", "alice", None).await, None);
    assert_eq!(
        end_for(&db, "carol", "carol", None).await.as_deref(),
        Some("85")
    );
    // No user set: nothing.
    let rows = as_app(&db, None, "SELECT group_end('alice', NULL, NULL)")
        .await
        .unwrap();
    assert_eq!(rows[0].get::<_, Option<String>>(0), None);
}

/// The pages one `group_end` reads, as the server's role for `user` (the second call of the
/// transaction: the first also reads the catalogue and compiles the function).
async fn pages_read(db: &Client, user: &str) -> u64 {
    db.batch_execute(&format!(
        "BEGIN; SET LOCAL ROLE todo_api_app; SELECT set_config('app.user_id', '{user}', true);
         SELECT group_end('{user}', NULL, NULL)"
    ))
    .await
    .unwrap();
    let plan: Vec<String> = db
        .query(
            &format!("EXPLAIN (ANALYZE, BUFFERS) SELECT group_end('{user}', NULL, NULL)"),
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    db.batch_execute("ROLLBACK").await.unwrap();
    // The top node's line, "Buffers: shared hit=N read=M ...": every page the call read.
    let buffers = plan
        .iter()
        .find(|line| line.trim_start().starts_with("Buffers:"))
        .unwrap_or_else(|| panic!("no Buffers line in {plan:?}"));
    buffers
        .split_whitespace()
        .filter_map(|word| word.strip_prefix("hit=").or(word.strip_prefix("read=")))
        .map(|n| n.parse::<u64>().unwrap())
        .sum()
}

#[tokio::test]
async fn postgres_a_groups_end_reads_a_few_pages_however_many_tasks_its_user_has() {
    let Some(database) = TempDatabase::migrated().await else {
        return;
    };
    let db = connect(&database.url).await;
    // Fifty users' tasks interleaved: a page holds about one task of each.
    let names: Vec<String> = (0..50).map(|n| format!("user{n}")).collect();
    let users: Vec<&str> = names.iter().map(String::as_str).collect();
    spread(&db, &users, 20, None).await;
    let few = pages_read(&db, "user0").await;
    spread(&db, &users, 200, None).await;
    db.batch_execute("ANALYZE tasks").await.unwrap();
    let many = pages_read(&db, "user0").await;
    // Read under row security it was about one page per task (220 here, the index's
    // besides); as the owner, a probe of the index's end and the function's own reads.
    assert!(
        many < 40 && many <= few + 5,
        "group_end read {few} pages for 20 tasks and {many} for 220"
    );
}
