//! Reads that share a connection (issue 28): on a direct PostgreSQL connection, concurrent
//! units of reads ride on a few pooled connections together instead of taking one each.
//!
//! Each read is already one transaction sent as one burst (BEGIN batch, statement, COMMIT:
//! `db::pg`), answered in order, so several units' reads can follow one another on one socket:
//! PostgreSQL reads a queue of them per wake-up and answers them back to back, where a
//! connection per read puts its backend to sleep and wakes it for every request. On two cores
//! that cut PostgreSQL's CPU per list transaction by about a fifth at the database
//! (benches/README.md, "Reads that share a connection"). Each read keeps its own READ ONLY
//! transaction, role, `app.user_id` and statement budget: nothing of one read's transaction
//! reaches the next, which is a transaction of its own.
//!
//! - **At most DB_READ_CONNECTIONS connections are shared** (never the whole pool: writes
//!   take theirs from the rest, through the same line). A unit joins the one with the fewest
//!   riders; a new one is checked out while fewer are open and every open one is busy. The
//!   last rider to leave gives the connection back to the pool.
//! - **A slow read does not hold the others up for long**: a connection whose riders have had
//!   no answer for [`STALL`] takes no new ones; while every shared connection is stalled, a
//!   unit takes a connection of its own as before. The riders already queued behind a slow
//!   statement wait for it (STATEMENT_TIMEOUT bounds each statement), and so does a unit's
//!   next statement sent behind it: per-user shares bound how many units one user runs, not
//!   whose statement a ride waits behind.
//! - **Reads do not queue behind writes for a ride**: while the line has no free place, a
//!   unit joins an open shared connection rather than wait to open another. A read on a ride
//!   is not shed after DB_TIMEOUT as a unit waiting in the line is; it waits its turn.
//! - **A dead connection is left**: one whose socket is closed takes no riders; each rider's
//!   read fails and runs once more on a connection of its own (`tasks::unit`).
//! - **Not behind a transaction pooler**, nor on SQLite: there every unit takes its own;
//!   nor once `DATABASE_URL` proved a pooler nobody declared (`db::pg::undeclared`).
//!
//! It must not run a write: a view refuses to begin a transaction (`DbConn::begin_write`).

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::pg::{PgConn, clock};
use super::queue::Checkout;
use super::{Db, DbConn, PgManager};
use crate::error::AppError;

/// How long the riders of a shared connection may go without an answer before it takes no
/// new ones. Far above a read's time under load (a list answers in well under a millisecond
/// at the database), far below STATEMENT_TIMEOUT.
pub(super) const STALL: Duration = Duration::from_millis(20);

/// A connection of the pool, checked out.
type Pooled = Checkout<bb8::PooledConnection<'static, PgManager>>;

/// A PostgreSQL connection held by a unit of work: its own, or a view of a shared one.
pub enum PgCheckout {
    /// A connection of its own: every write, and reads when none is shared.
    Own(Pooled),
    /// A ride on a connection concurrent reads share.
    Shared(Rider),
}

impl Deref for PgCheckout {
    type Target = PgConn;

    fn deref(&self) -> &PgConn {
        match self {
            PgCheckout::Own(own) => own,
            PgCheckout::Shared(rider) => &rider.view,
        }
    }
}

impl DerefMut for PgCheckout {
    fn deref_mut(&mut self) -> &mut PgConn {
        match self {
            PgCheckout::Own(own) => own,
            PgCheckout::Shared(rider) => &mut rider.view,
        }
    }
}

/// The connections reads share now, and how many may be.
pub(super) struct SharedReads {
    /// DB_READ_CONNECTIONS, already below the pool's size.
    most: usize,
    open: Mutex<Vec<Arc<Shared>>>,
}

/// One shared connection, given back to the pool when the last rider leaves.
struct Shared {
    conn: Pooled,
    /// Units riding on it (changed under [`SharedReads::open`]'s lock).
    riders: AtomicUsize,
    /// When the first of its current riders came (`pg::clock`).
    boarded: AtomicU64,
}

/// A unit's ride: its own view of the shared connection (`PgConn::view`).
pub struct Rider {
    view: PgConn,
    shared: Arc<Shared>,
    reads: Arc<SharedReads>,
}

impl SharedReads {
    /// Sharing for a pool of `pool_size` connections with DB_READ_CONNECTIONS = `wanted`:
    /// `None` when it is off (0), or the pool too small to keep one for writes.
    pub(super) fn new(wanted: usize, pool_size: u32) -> Option<Arc<SharedReads>> {
        let most = wanted.min((pool_size as usize).saturating_sub(1));
        (most > 0).then(|| {
            Arc::new(SharedReads {
                most,
                open: Mutex::default(),
            })
        })
    }

    fn open(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Shared>>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What a unit of reads should do now; `place_free`: a connection can be checked out
    /// without waiting in the line.
    fn choose(self: &Arc<Self>, place_free: bool) -> Choice {
        let mut open = self.open();
        open.retain(|shared| !shared.conn.is_closed());
        let now = clock();
        let best = open
            .iter()
            .filter(|s| !s.stalled(now))
            .min_by_key(|s| s.riders());
        match best {
            // An idle one, or all that may be are open, or opening one would mean waiting
            // behind writes in the line: ride.
            Some(shared) if shared.riders() == 0 || open.len() >= self.most || !place_free => {
                Choice::Join(self.board(shared, now))
            }
            _ if open.len() >= self.most => Choice::Own,
            _ => Choice::Open,
        }
    }

    /// A rider on `shared` (under the lock of `open`).
    fn board(self: &Arc<Self>, shared: &Arc<Shared>, now: u64) -> Rider {
        if shared.riders.fetch_add(1, Ordering::Relaxed) == 0 {
            shared.boarded.store(now, Ordering::Relaxed);
        }
        Rider {
            view: shared.conn.view(),
            shared: Arc::clone(shared),
            reads: Arc::clone(self),
        }
    }

    /// Shares `conn`, a connection just checked out, and boards it (alone when, meanwhile,
    /// others opened as many as may be: it goes back to the pool when this unit is done).
    fn share(self: &Arc<Self>, conn: Pooled) -> Rider {
        let shared = Arc::new(Shared {
            conn,
            riders: AtomicUsize::new(0),
            boarded: AtomicU64::new(0),
        });
        let mut open = self.open();
        if open.len() < self.most {
            open.push(Arc::clone(&shared));
        }
        self.board(&shared, clock())
    }
}

enum Choice {
    Join(Rider),
    Open,
    Own,
}

impl Shared {
    fn riders(&self) -> usize {
        self.riders.load(Ordering::Relaxed)
    }

    /// Whether its riders have waited past [`STALL`] with no answer since the first of them
    /// came: a slow statement at the head of its queue, or a socket that went silent.
    fn stalled(&self, now: u64) -> bool {
        let since = self
            .boarded
            .load(Ordering::Relaxed)
            .max(self.conn.answered());
        self.riders() > 0 && now.saturating_sub(since) > STALL.as_millis() as u64
    }
}

impl Drop for Rider {
    fn drop(&mut self) {
        let mut open = self.reads.open();
        if self.shared.riders.fetch_sub(1, Ordering::Relaxed) == 1 {
            // The last one out gives the connection back (when the registry let go of it).
            open.retain(|shared| !Arc::ptr_eq(shared, &self.shared));
        }
    }
}

impl Db {
    /// A connection for a unit of reads: a ride on a shared one where reads share
    /// connections (see the module's note), else one of its own ([`Db::conn`]).
    pub async fn read_conn(&self) -> Result<DbConn, AppError> {
        let Some(reads) = &self.shared_reads else {
            return self.conn().await;
        };
        // Behind a pooler found out since start, as behind a declared one: no sharing.
        if self.undeclared_pooler() {
            return self.conn().await;
        }
        match reads.choose(self.line.has_free_place()) {
            Choice::Join(rider) => Ok(DbConn::Postgres(PgCheckout::Shared(rider))),
            Choice::Own => self.conn().await,
            Choice::Open => match self.conn().await? {
                DbConn::Postgres(PgCheckout::Own(own)) => {
                    Ok(DbConn::Postgres(PgCheckout::Shared(reads.share(own))))
                }
                other => Ok(other),
            },
        }
    }

    /// How many connections reads share now, and how many riders they carry (`/metrics`).
    pub fn shared_reads(&self) -> (usize, usize) {
        self.shared_reads.as_ref().map_or((0, 0), |reads| {
            let open = reads.open();
            (open.len(), open.iter().map(|s| s.riders()).sum())
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use diesel::sql_types::{Text, Timestamptz};
    use diesel_async::RunQueryDsl;

    use super::*;
    use crate::db::scratch::ScratchPg;
    use crate::db::{Acting, DatabaseTarget, PoolOptions};

    /// What a read saw of itself, and when it ran.
    #[derive(diesel::QueryableByName)]
    struct Seen {
        #[diesel(sql_type = Text)]
        role: String,
        #[diesel(sql_type = Text)]
        user_id: String,
        #[diesel(sql_type = Timestamptz)]
        started: DateTime<Utc>,
        #[diesel(sql_type = Timestamptz)]
        ended: DateTime<Utc>,
    }

    async fn seen(conn: &mut DbConn, sleep: &str) -> Seen {
        let DbConn::Postgres(pg) = conn else {
            unreachable!("PostgreSQL only")
        };
        diesel::sql_query(format!(
            "SELECT current_user::text AS role, current_setting('app.user_id') AS user_id, \
                    statement_timestamp() AS started, \
                    (SELECT clock_timestamp() FROM pg_sleep({sleep})) AS ended"
        ))
        .get_result::<Seen>(&mut **pg)
        .await
        .expect("the read")
    }

    fn ride(conn: &DbConn) -> &PgConn {
        match conn {
            DbConn::Postgres(PgCheckout::Shared(rider)) => &rider.view,
            _ => panic!("expected a ride on a shared connection"),
        }
    }

    /// Two users' reads ride one connection, each in a transaction of its own as its own user
    /// (the second runs after the first, on the same backend); a write is refused on a ride;
    /// a connection whose riders have waited past STALL takes no new one (a unit takes its own
    /// connection instead); the last rider out gives the connection back.
    #[tokio::test(flavor = "multi_thread")]
    async fn postgres_reads_share_a_connection_each_as_its_user_and_a_stalled_one_takes_none() {
        let Some(scratch) = ScratchPg::create().await else {
            return;
        };
        let options = PoolOptions {
            max_size: 3,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(5),
            connections_per_user: 0,
            row_security: true,
            read_connections: 1,
        };
        let db = Db::connect(&DatabaseTarget::Postgres(scratch.url.clone()), &options)
            .await
            .unwrap();
        db.migrate().await.unwrap();
        let budget = db.statement_timeout();

        let mut alice = db.read_conn().await.unwrap();
        let mut bob = db.read_conn().await.unwrap();
        assert!(ride(&alice).same_connection(ride(&bob)));
        assert_eq!(db.shared_reads(), (1, 2));
        alice.begin_reads(budget, Acting::For("alice")).unwrap();
        bob.begin_reads(budget, Acting::For("bob")).unwrap();
        // Alice's read is queued first and sleeps; Bob's follows it on the same backend.
        let (a, b) = tokio::join!(seen(&mut alice, "0.2"), seen(&mut bob, "0"));
        assert_eq!(
            (a.role.as_str(), a.user_id.as_str()),
            ("todo_api_app", "alice")
        );
        assert_eq!(
            (b.role.as_str(), b.user_id.as_str()),
            ("todo_api_app", "bob")
        );
        assert!(
            b.started >= a.ended,
            "bob's read ran after alice's, on one connection"
        );
        assert!(
            bob.begin_write(budget, Acting::For("bob")).await.is_err(),
            "no write on a ride"
        );
        drop((alice, bob));
        assert_eq!(db.shared_reads(), (0, 0), "the last rider gave it back");

        // Carol's read sleeps on the shared connection; past STALL, Dave gets his own.
        let mut carol = db.read_conn().await.unwrap();
        carol.begin_reads(budget, Acting::For("carol")).unwrap();
        let slow = tokio::spawn(async move { seen(&mut carol, "0.5").await.ended });
        tokio::time::sleep(STALL * 5).await;
        let mut dave = db.read_conn().await.unwrap();
        assert!(matches!(dave, DbConn::Postgres(PgCheckout::Own(_))));
        dave.begin_reads(budget, Acting::For("dave")).unwrap();
        let d = seen(&mut dave, "0").await;
        assert_eq!(d.user_id, "dave");
        assert!(
            d.ended < slow.await.unwrap(),
            "dave did not wait for carol's read"
        );
    }
}
