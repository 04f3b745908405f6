//! Behind a transaction pooler (Debian's PgBouncer in transaction mode, `common::pgbouncer`),
//! as on Neon's pooled endpoint.

use crate::common::pg::TempDatabase;
use crate::common::pgbouncer::PgBouncer;

/// The harness itself: a real PgBouncer in transaction mode in front of the test database.
/// Session state does not survive a transaction through it, which is what makes it the
/// pooler the other tests need (a session-mode or absent pooler would pass them vacuously).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_pgbouncer_is_a_transaction_pooler() {
    let Some(database) = TempDatabase::create().await else {
        return;
    };
    let Some(bouncer) = PgBouncer::start() else {
        return;
    };
    // Two clients through the pooler, one server connection's worth of work each: a
    // session-level setting made by one transaction is not visible to the next on the same
    // client once another client's transaction has run in between on the same server
    // connection. Simpler and decisive: pgbouncer's own SHOW reports the mode.
    let (client, connection) =
        tokio_postgres::connect(&bouncer.url("pgbouncer"), tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("admin console: {e}\n{}", bouncer.log()));
    tokio::spawn(connection);
    let rows = client
        .simple_query("SHOW CONFIG")
        .await
        .expect("SHOW CONFIG");
    let mode = rows
        .iter()
        .find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(row) if row.get(0) == Some("pool_mode") => {
                row.get(1).map(str::to_owned)
            }
            _ => None,
        })
        .expect("pool_mode in SHOW CONFIG");
    assert_eq!(mode, "transaction");

    let (client, connection) =
        tokio_postgres::connect(&bouncer.url(&database.name), tokio_postgres::NoTls)
            .await
            .expect("through the pooler");
    tokio::spawn(connection);
    let one: i32 = client
        .query_one("SELECT 1", &[])
        .await
        .expect("a query through the pooler")
        .get(0);
    assert_eq!(one, 1);
}
