//! The unit of work against real databases: roles and settings per transaction, rollback,
//! and a unit that meets an undeclared pooler.

use std::time::Duration;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::*;
use crate::db::schema::task_sync_cursors as cur;
use crate::db::scratch::ScratchPg;
use crate::db::{DatabaseTarget, PoolOptions};
use crate::db_run;

/// A pool of `max_size` connections, `read_connections` of them shared by reads.
fn options(max_size: u32, read_connections: usize) -> PoolOptions {
    PoolOptions {
        max_size,
        acquire_timeout: Duration::from_secs(5),
        statement_timeout: Duration::from_secs(5),
        connections_per_user: 0,
        row_security: true,
        read_connections,
    }
}

async fn insert_counter(conn: &mut DbConn, user: &str) -> AppResult<()> {
    db_run!(conn, |c| {
        diesel::insert_into(cur::table)
            .values((
                cur::user_id.eq(user),
                cur::last_seq.eq(1_i64),
                cur::pruned_seq.eq(0_i64),
            ))
            .execute(c)
            .await
    })?;
    Ok(())
}

async fn counters(work: &UnitOfWork) -> i64 {
    work.maintenance(async |conn| {
        Ok(db_run!(conn, |c| cur::table
            .count()
            .get_result::<i64>(c)
            .await)?)
    })
    .await
    .unwrap()
}

/// Commit on `Ok`, rollback on `Err`, and a future dropped inside the transaction leaves
/// no open transaction behind: with one pooled connection, the next unit would otherwise
/// find itself inside the abandoned one (or wait for its lock).
#[tokio::test(flavor = "multi_thread")]
async fn one_transaction_per_unit_even_when_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let target = DatabaseTarget::SqliteFile(dir.path().join("unit.db"));
    let options = options(1, 2);
    let db = Db::connect(&target, &options).await.unwrap();
    db.migrate().await.unwrap();
    let work = UnitOfWork::new(db);

    work.maintenance(async |conn| insert_counter(conn, "kept").await)
        .await
        .unwrap();
    let failed: AppResult<()> = work
        .maintenance(async |conn| {
            insert_counter(conn, "rolled-back").await?;
            Err(crate::error::AppError::NotFound)
        })
        .await;
    assert!(failed.is_err());
    assert_eq!(counters(&work).await, 1);

    let abandoned = work.maintenance(async |conn| {
        insert_counter(conn, "abandoned").await?;
        std::future::pending::<()>().await;
        Ok(())
    });
    assert!(
        tokio::time::timeout(Duration::from_millis(200), abandoned)
            .await
            .is_err()
    );
    assert_eq!(counters(&work).await, 1);
}

/// What a unit of work sees of itself on PostgreSQL.
#[derive(diesel::QueryableByName)]
struct Acting {
    #[diesel(sql_type = diesel::sql_types::Text)]
    role: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    privileged: bool,
    #[diesel(sql_type = diesel::sql_types::Text)]
    user_id: String,
    /// `task_sync_cursors` rows visible to a query WITHOUT the owner filter.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    unfiltered: i64,
}

async fn observe(conn: &mut DbConn) -> AppResult<Acting> {
    let DbConn::Postgres(pg) = conn else {
        unreachable!("PostgreSQL only")
    };
    // Deliberately no `WHERE user_id = …`: only the policies stand between this query
    // and every user's rows.
    Ok(diesel::sql_query(
        "SELECT current_user::text AS role, \
                (r.rolsuper OR r.rolbypassrls \
                 OR pg_has_role(current_user, c.relowner, 'USAGE')) AS privileged, \
                coalesce(current_setting('app.user_id', true), '') AS user_id, \
                (SELECT count(*) FROM task_sync_cursors) AS unfiltered \
         FROM pg_roles r, pg_class c \
         WHERE r.rolname = current_user AND c.oid = 'task_sync_cursors'::regclass",
    )
    .get_result::<Acting>(&mut **pg)
    .await?)
}

/// The second wall through the server's own path: a read unit and a write unit for alice
/// run as an unprivileged role (not superuser, not BYPASSRLS, not owning the tables) with
/// `app.user_id` = alice, and a query without the owner filter sees alice's row only,
/// while bob's rows exist. Maintenance runs as the owner and sees both.
#[tokio::test(flavor = "multi_thread")]
async fn postgres_units_see_only_their_user_without_the_filter() {
    let Some(scratch) = ScratchPg::create().await else {
        return;
    };
    let options = options(2, 2);
    let target = DatabaseTarget::Postgres(scratch.url.clone());
    let db = Db::connect(&target, &options).await.unwrap();
    db.migrate().await.unwrap();
    let work = UnitOfWork::new(db.clone());
    work.maintenance(async |conn| {
        insert_counter(conn, "alice").await?;
        insert_counter(conn, "bob").await
    })
    .await
    .unwrap();

    let read = work.read_for_member("alice", observe).await.unwrap();
    // A read's second statement is a transaction of its own, acting as alice too.
    let (first, second) = work
        .read_for_member("alice", async |conn| {
            Ok((observe(conn).await?, observe(conn).await?))
        })
        .await
        .unwrap();
    let (written, _) = work
        .transaction(db.acting_for("alice"), Deferral::Notify, observe)
        .await
        .unwrap();
    for seen in [read, first, second, written] {
        assert_eq!(seen.role, crate::db::APP_ROLE);
        assert!(
            !seen.privileged,
            "the request role must not bypass the policies"
        );
        assert_eq!(seen.user_id, "alice");
        assert_eq!(seen.unfiltered, 1, "only alice's row, without any filter");
    }
    let owner = work.maintenance(observe).await.unwrap();
    assert_eq!(owner.unfiltered, 2, "maintenance sees every user's rows");
    assert_eq!(owner.user_id, "");
}

/// What an undeclared transaction pooler does to a kept statement (`prepared statement
/// "sN" does not exist`), made here on a direct connection by `DEALLOCATE ALL` (through
/// PgBouncer itself: `undeclared_pooler` in tests/it). A write unit that meets it runs
/// again, unnamed, and commits once: its first run, aborted, committed nothing, not even
/// the row written before the failing statement, and its work swallowing the error does
/// not make the aborted transaction pass for committed. A read runs its statement again.
#[tokio::test(flavor = "multi_thread")]
async fn postgres_a_unit_that_meets_a_pooler_runs_again_and_commits_once() {
    let Some(scratch) = ScratchPg::create().await else {
        return;
    };
    let options = options(1, 0);
    let target = DatabaseTarget::Postgres(scratch.url.clone());
    let forget = async |db: &Db| {
        let mut conn = db.conn().await.unwrap();
        let DbConn::Postgres(pg) = &mut conn else {
            unreachable!("PostgreSQL only")
        };
        diesel_async::SimpleAsyncConnection::batch_execute(&mut **pg, "DEALLOCATE ALL")
            .await
            .unwrap();
    };

    let db = Db::connect(&target, &options).await.unwrap();
    db.migrate().await.unwrap();
    let work = UnitOfWork::new(db.clone());
    // The insert and the count are kept (named) on the pool's one connection.
    work.maintenance(async |conn| insert_counter(conn, "kept").await)
        .await
        .unwrap();
    assert_eq!(counters(&work).await, 1);
    forget(&db).await;
    let runs = std::sync::atomic::AtomicUsize::new(0);
    work.maintenance(async |conn| {
        runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        db_run!(&mut *conn, |c| diesel::sql_query(
            "INSERT INTO task_sync_cursors (user_id, last_seq, pruned_seq) \
             VALUES ('before', 1, 0)"
        )
        .execute(c)
        .await)?;
        let _swallowed = insert_counter(conn, "kept statement").await;
        Ok(())
    })
    .await
    .unwrap();
    assert_eq!(runs.into_inner(), 2, "it ran again");
    assert_eq!(counters(&work).await, 3, "each row once");
    assert_eq!(db.pooler_check(), "undeclared");

    // A fresh pool (nothing found yet): the read's kept count meets it and runs again.
    let db = Db::connect(&target, &options).await.unwrap();
    let work = UnitOfWork::new(db.clone());
    let visible = async || {
        work.read_for_member("kept", async |conn| {
            Ok(db_run!(conn, |c| cur::table
                .count()
                .get_result::<i64>(c)
                .await)?)
        })
        .await
    };
    assert_eq!(visible().await.unwrap(), 1);
    forget(&db).await;
    assert_eq!(db.pooler_check(), "ok");
    assert_eq!(visible().await.unwrap(), 1);
    assert_eq!(db.pooler_check(), "undeclared");
}
