//! SQLite connections: opened with the settings every connection needs (WAL, a busy timeout,
//! foreign keys, the `strpos` search uses), and with STATEMENT_TIMEOUT enforced by SQLite
//! itself.
//!
//! The budget: diesel does not hand out the raw `sqlite3*`, so an auto-extension (run by
//! `sqlite3_open_v2` on the opening thread) leaves it in a thread-local, taken right after the
//! open. On it, a trace callback notes when each statement starts and ends, and a progress
//! handler (called every [`PROGRESS_STEPS`] virtual-machine steps) interrupts a statement that
//! has run longer than the budget: it fails with "interrupted" (`db::failure` maps it to
//! `QueryTimeout`), its transaction is rolled back, and the connection goes on serving. The
//! budget's state is the connection's client data, freed by SQLite when the connection closes.
//!
//! It must not keep a handle past the connection's life: nothing but SQLite's own callbacks
//! (which die with the connection) ever reads it.

use std::cell::Cell;
use std::ffi::{CStr, c_char, c_int, c_uint, c_void};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Once};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::{Connection, ConnectionError, ConnectionResult, SqliteConnection};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use futures::FutureExt;
use futures::future::BoxFuture;
use libsqlite3_sys as ffi;

use super::SqliteConn;

/// How long SQLite waits for another writer before "database is locked". Writes are single
/// short statements, so this is only reached under a pathological pile-up.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 15_000;

/// Virtual-machine steps between two looks at the clock: a few microseconds of work.
const PROGRESS_STEPS: c_int = 1_000;

/// The client-data key the budget is stored under.
const BUDGET_KEY: &CStr = c"todo_api.statement_budget";

thread_local! {
    /// The handle the last `sqlite3_open_v2` on this thread opened.
    static OPENED: Cell<*mut ffi::sqlite3> = const { Cell::new(std::ptr::null_mut()) };
}

/// Called by SQLite inside every `sqlite3_open_v2` of the process, on the opening thread.
unsafe extern "C" fn remember_handle(
    db: *mut ffi::sqlite3,
    _error: *mut *mut c_char,
    _api: *const ffi::sqlite3_api_routines,
) -> c_int {
    OPENED.with(|opened| opened.set(db));
    ffi::SQLITE_OK
}

/// One connection's budget: the limit, and when the running statement started.
struct Budget {
    limit_nanos: u64,
    /// Nanoseconds since [`EPOCH`] (plus one) when the running statement started; 0 if none.
    started: AtomicU64,
}

static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);

fn now_nanos() -> u64 {
    u64::try_from(EPOCH.elapsed().as_nanos()).unwrap_or(u64::MAX - 1) + 1
}

/// SQLITE_TRACE_STMT: a statement starts running; SQLITE_TRACE_PROFILE: it has finished.
unsafe extern "C" fn on_trace(
    event: c_uint,
    budget: *mut c_void,
    _statement: *mut c_void,
    text: *mut c_void,
) -> c_int {
    // SAFETY: `budget` is the `Budget` registered with this callback; it lives until the
    // connection closes, and SQLite calls this only while the connection is open.
    let budget = unsafe { &*(budget as *const Budget) };
    if event == ffi::SQLITE_TRACE_STMT as c_uint {
        // A trigger's program reports itself as "-- …": still the same statement.
        // SAFETY: for SQLITE_TRACE_STMT, `text` is a NUL-terminated string (or null).
        let nested = !text.is_null()
            && unsafe { CStr::from_ptr(text as *const c_char) }
                .to_bytes()
                .starts_with(b"--");
        if !nested {
            budget.started.store(now_nanos(), Ordering::Relaxed);
        }
    } else if event == ffi::SQLITE_TRACE_PROFILE as c_uint {
        budget.started.store(0, Ordering::Relaxed);
    }
    0
}

/// Non-zero interrupts the running statement.
unsafe extern "C" fn on_progress(budget: *mut c_void) -> c_int {
    // SAFETY: as in `on_trace`.
    let budget = unsafe { &*(budget as *const Budget) };
    let started = budget.started.load(Ordering::Relaxed);
    c_int::from(started != 0 && now_nanos().saturating_sub(started) > budget.limit_nanos)
}

unsafe extern "C" fn free_budget(budget: *mut c_void) {
    // SAFETY: made by `Box::into_raw` in `enforce_budget`, freed once, by SQLite at close.
    drop(unsafe { Box::from_raw(budget as *mut Budget) });
}

/// Opens `path` and enforces `budget` on its statements (none when zero).
fn open(path: &str, budget: Duration) -> ConnectionResult<SqliteConnection> {
    static REGISTER: Once = Once::new();
    // SAFETY: `remember_handle` has the signature SQLite expects and touches only a
    // thread-local.
    REGISTER.call_once(|| unsafe {
        ffi::sqlite3_auto_extension(Some(remember_handle));
    });
    OPENED.with(|opened| opened.set(std::ptr::null_mut()));
    let conn = SqliteConnection::establish(path);
    let handle = OPENED.with(|opened| opened.replace(std::ptr::null_mut()));
    let conn = conn?;
    if budget.is_zero() {
        return Ok(conn);
    }
    if handle.is_null() {
        return Err(ConnectionError::BadConnection(
            "SQLite did not report the connection it opened".into(),
        ));
    }
    // SAFETY: `handle` is the connection `conn` owns, opened just now on this thread; the
    // budget is handed to SQLite, which frees it when that connection closes.
    unsafe { enforce_budget(handle, budget) };
    Ok(conn)
}

/// Installs the trace callback and the progress handler on `db`.
unsafe fn enforce_budget(db: *mut ffi::sqlite3, limit: Duration) {
    let budget = Box::into_raw(Box::new(Budget {
        limit_nanos: u64::try_from(limit.as_nanos()).unwrap_or(u64::MAX),
        started: AtomicU64::new(0),
    }));
    // SAFETY: `db` is open; `budget` stays valid until SQLite calls `free_budget` at close,
    // after which none of the callbacks run.
    unsafe {
        ffi::sqlite3_set_clientdata(db, BUDGET_KEY.as_ptr(), budget.cast(), Some(free_budget));
        ffi::sqlite3_trace_v2(
            db,
            (ffi::SQLITE_TRACE_STMT | ffi::SQLITE_TRACE_PROFILE) as c_uint,
            Some(on_trace),
            budget.cast(),
        );
        ffi::sqlite3_progress_handler(db, PROGRESS_STEPS, Some(on_progress), budget.cast());
    }
}

/// Opens one SQLite connection with the settings every connection needs: WAL (readers never
/// block the writer), a busy timeout (writers queue instead of failing with "database is
/// locked"), foreign keys on, and `budget` per statement (none when zero).
pub(super) fn establish(
    path: &str,
    budget: Duration,
) -> BoxFuture<'_, ConnectionResult<SqliteConn>> {
    let path = path.to_owned();
    async move {
        tokio::task::spawn_blocking(move || {
            let mut conn = open(&path, budget)?;
            // PostgreSQL's `strpos`, as search uses it: memchr's two-way search is linear in
            // the text whatever the needle, where `LIKE '%…%'` and `instr` are not.
            super::strpos_utils::register_impl(
                &mut conn,
                |haystack: Option<String>, needle: String| {
                    let haystack = haystack?;
                    let found = memchr::memmem::find(haystack.as_bytes(), needle.as_bytes());
                    Some(found.map_or(0, |at| i32::try_from(at + 1).unwrap_or(i32::MAX)))
                },
            )
            .map_err(ConnectionError::CouldntSetupConfiguration)?;
            // Search and title order fold case as they run (see `tasks::task::fold` for why).
            crate::tasks::task::fold::register(&mut conn)
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
            conn.batch_execute(&format!(
                "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS};
                 PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = NORMAL;
                 PRAGMA foreign_keys = ON;"
            ))
            .map_err(ConnectionError::CouldntSetupConfiguration)?;
            Ok(SyncConnectionWrapper::new(conn))
        })
        .await
        .unwrap_or_else(|e| Err(ConnectionError::BadConnection(e.to_string())))
    }
    .boxed()
}
