//! PostgreSQL's own CPU time over a slice, from /proc (the database runs on this machine): the
//! utime + stime of the bench database's backends (the postmaster's children whose command
//! line names the database), and, for a slice whose backends end with it (pgbench's), what the
//! postmaster reaped in between (its children's times, `cutime` + `cstime`). Background
//! processes (checkpointer, WAL writer) are left out. The reaped time cannot be told apart by
//! database: other databases' connections that end during a pgbench slice would count too, so
//! measure on a quiet machine. A server's backends live through its slices (its pool), so its
//! rows count the database's live backends only.

use std::collections::HashMap;
use std::time::Duration;

use crate::clock_ticks;

/// The PostgreSQL server the bench's database lives on.
pub struct PgCpu {
    postmaster: u32,
    database: String,
}

/// CPU times at one moment, in clock ticks.
pub struct Snapshot {
    /// The database's live backends.
    backends: HashMap<u32, u64>,
    /// The postmaster's reaped children, all together.
    reaped: u64,
}

/// Fields 14-17 of /proc/<pid>/stat (utime, stime, cutime, cstime), and the parent's pid.
fn stat(pid: u32) -> Option<(u32, [u64; 4])> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the `(comm)`: state is field 3, ppid 4, utime 14.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let number = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    let ppid = number(1)? as u32;
    Some((ppid, [number(11)?, number(12)?, number(13)?, number(14)?]))
}

impl PgCpu {
    /// Through `admin`, a connection to `database`: `None` when PostgreSQL's processes cannot
    /// be read (another machine, or another PID namespace).
    pub async fn new(admin: &tokio_postgres::Client, database: &str) -> Option<PgCpu> {
        let backend: i32 = admin
            .query_one("SELECT pg_backend_pid()", &[])
            .await
            .ok()?
            .get(0);
        let (postmaster, _) = stat(u32::try_from(backend).ok()?)?;
        stat(postmaster)?;
        Some(PgCpu {
            postmaster,
            database: database.to_owned(),
        })
    }

    pub fn snapshot(&self) -> Snapshot {
        let mut backends = HashMap::new();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            let Some((ppid, times)) = stat(pid) else {
                continue;
            };
            if ppid != self.postmaster {
                continue;
            }
            // "postgres: 15/main: USER DATABASE ADDRESS STATE"
            let command = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let command = String::from_utf8_lossy(&command);
            if command.split_whitespace().any(|word| word == self.database) {
                backends.insert(pid, times[0] + times[1]);
            }
        }
        let reaped = stat(self.postmaster).map_or(0, |(_, t)| t[2] + t[3]);
        Snapshot { backends, reaped }
    }

    /// The CPU time PostgreSQL spent on the database since `before`: its live backends' and,
    /// with `reaped`, the backends' that ended since (pgbench's).
    pub fn since(&self, before: &Snapshot, reaped: bool) -> Duration {
        let now = self.snapshot();
        let mut ticks: i64 = 0;
        for (pid, after) in &now.backends {
            ticks += *after as i64 - before.backends.get(pid).copied().unwrap_or(0) as i64;
        }
        if reaped {
            // A backend that ended since: its whole life is in `reaped`, its part before the
            // slice was already counted.
            ticks += now.reaped as i64 - before.reaped as i64;
            for (pid, then) in &before.backends {
                if !now.backends.contains_key(pid) {
                    ticks -= *then as i64;
                }
            }
        }
        Duration::from_secs_f64(ticks.max(0) as f64 / clock_ticks())
    }
}
