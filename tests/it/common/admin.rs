//! The harness's own connections to the admin database (taking, creating and releasing test
//! databases, building the template), kept for the whole run instead of one per use: every new
//! connection is a PostgreSQL backend started and ended, two per PostgreSQL test before, and
//! backends starting and ending are most of the kernel time PostgreSQL spends in a run (page
//! faults, unmapping; `perf record -a` over the suite, 2026-11-28).
//!
//! They live on a runtime of their own (a test's runtime ends with its test, and a connection's
//! task with it); a test borrows one ([`take`]) and gives it back when the [`Admin`] drops. One
//! found closed is left. Tests that need an admin connection of their own (session state,
//! terminating backends) still open one with `pg::admin_client`.

use std::ops::Deref;
use std::sync::{LazyLock, Mutex};

use tokio_postgres::{Client, NoTls};

use super::pg;

/// The runtime the kept connections' tasks run on, for the whole process.
static DRIVER: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("admin-connections")
        .enable_all()
        .build()
        .expect("the admin connections' runtime")
});

/// Connections given back, ready for the next test.
static IDLE: Mutex<Vec<Client>> = Mutex::new(Vec::new());

/// An admin connection borrowed from the kept ones; back to them on drop.
pub struct Admin(Option<Client>);

impl Deref for Admin {
    type Target = Client;

    fn deref(&self) -> &Client {
        self.0.as_ref().expect("held until drop")
    }
}

impl Drop for Admin {
    fn drop(&mut self) {
        if let Some(client) = self.0.take()
            && !client.is_closed()
        {
            IDLE.lock().unwrap_or_else(|e| e.into_inner()).push(client);
        }
    }
}

/// A kept admin connection, or a new one; `None` (skip) or panic (CI) when PostgreSQL is
/// unreachable, as `pg::admin_client`.
pub async fn take() -> Option<Admin> {
    loop {
        let idle = IDLE.lock().unwrap_or_else(|e| e.into_inner()).pop();
        match idle {
            Some(client) if !client.is_closed() => return Some(Admin(Some(client))),
            Some(_) => continue,
            None => break,
        }
    }
    let url = pg::admin_url();
    let connected = DRIVER
        .spawn(async move {
            let (client, connection) = tokio_postgres::connect(&url, NoTls).await?;
            tokio::spawn(connection);
            Ok::<_, tokio_postgres::Error>(client)
        })
        .await
        .expect("the admin connections' runtime runs");
    match connected {
        Ok(client) => Some(Admin(Some(client))),
        Err(e) if pg::required() => panic!(
            "PostgreSQL is required (CI) but unreachable at {}: {e}",
            pg::admin_url()
        ),
        Err(e) => {
            eprintln!(
                "SKIPPED: PostgreSQL unreachable at {} ({e}); set CI=1 to make this fail",
                pg::admin_url()
            );
            None
        }
    }
}
