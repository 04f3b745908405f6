//! Every index on `tasks` serves a read the API offers (issue 60 item 2): docs/ARCHITECTURE.md
//! ("What each index on `tasks` serves") names the read of each, and this holds the table to
//! the database, so an index cannot come without its read said (or stay after its row goes).
//! And a write pays for what it changes: an update of no indexed column is HOT (no index
//! entry), whichever writer makes it. PostgreSQL's: SQLite has the same indexes
//! (`schema::` compares them) and no HOT updates.

use std::collections::BTreeSet;

use crate::common::pg::{self, TempDatabase};

/// The index names of the architecture's table: its rows' first cells.
fn documented() -> BTreeSet<String> {
    let text = include_str!("../../docs/ARCHITECTURE.md");
    let start = text
        .find("## What each index on `tasks` serves")
        .expect("the section");
    let section = &text[start..];
    let section = &section[..section[3..]
        .find("\n## ")
        .map_or(section.len(), |end| end + 3)];
    section
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split('`').next())
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_every_index_on_tasks_has_its_read_documented() {
    let Some(database) = TempDatabase::migrated().await else {
        return;
    };
    let db = pg::client(&database.url).await;
    let indexes: BTreeSet<String> = db
        .query(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'tasks'",
            &[],
        )
        .await
        .expect("reads the indexes")
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert!(indexes.len() >= 10, "{indexes:?}");
    assert_eq!(
        indexes,
        documented(),
        "the indexes on tasks (left) and those docs/ARCHITECTURE.md says a read of (right)"
    );
}

/// Another program's update of a description (no indexed column) is a HOT update; a toggle,
/// which changes `completed` and `updated_at`, is not. Counted in the updating transaction
/// (`pg_stat_xact_user_tables`, before and after: the view also holds counts of an earlier
/// transaction not reported yet).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_an_update_of_no_indexed_column_is_hot() {
    let Some(database) = TempDatabase::migrated().await else {
        return;
    };
    let db = pg::client(&database.url).await;
    db.batch_execute("INSERT INTO tasks (user_id, title) VALUES ('alice', 'one')")
        .await
        .expect("a task inserted");
    let counts = "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables
                  WHERE relname = 'tasks'";
    let updated = async |statement: &str| -> (i64, i64) {
        db.batch_execute("BEGIN").await.expect("begins");
        let before = db.query_one(counts, &[]).await.expect("counts");
        db.batch_execute(statement).await.expect("updates");
        let after = db.query_one(counts, &[]).await.expect("counts");
        db.batch_execute("COMMIT").await.expect("commits");
        let delta = |i: usize| after.get::<_, i64>(i) - before.get::<_, i64>(i);
        (delta(0), delta(1))
    };
    assert_eq!(
        updated("UPDATE tasks SET description = 'more'").await,
        (1, 1),
        "a new description: one update, HOT"
    );
    assert_eq!(
        updated("UPDATE tasks SET completed = NOT completed, updated_at = now()").await,
        (1, 0),
        "a toggle: one update, not HOT"
    );
}
