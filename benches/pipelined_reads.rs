//! PostgreSQL's side of a read, without HTTP (benches/README.md, "Reads that share a
//! connection"): the server's read transaction (the BEGIN batch, the list statement and COMMIT,
//! queued together: three Syncs, one round trip) from 64 concurrent tasks, either each on a
//! connection of its own out of 10 (as the pool hands them out) or riding on a few shared
//! connections (`db::shared_reads`), against pgbench running the same statements as one
//! pipeline with one Sync. Reports reads per second, this process's CPU and PostgreSQL's per
//! read (pgbench: its rate only). It makes its own database (1,000 users × 50 rows, row
//! security on) and drops it; 127.0.0.1 only; every slice ends by itself.
//!
//! `cargo bench --bench pipelined_reads` (`PIPELINED_READS_URL`: the server,
//! `postgres://postgres@127.0.0.1:5432/postgres` by default; `PIPELINED_READS_SECONDS`: 6).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{FutureExt, TryStreamExt};
use tokio_postgres::{Client, NoTls, Statement};

#[path = "load/pgcpu.rs"]
mod pgcpu;

use pgcpu::PgCpu;

/// Clock ticks per second, for `pgcpu`.
fn clock_ticks() -> f64 {
    // SAFETY: sysconf only reads a constant.
    (unsafe { libc::sysconf(libc::_SC_CLK_TCK) }) as f64
}

const LIST: &str = "SELECT id, user_id, title, description, completed, created_at, updated_at, \
    c8, c9, c10, c11, c12, c13, c14, c15, c16, c17, c18, c19 FROM t WHERE user_id = $1 \
    ORDER BY created_at DESC, id DESC";
const ROLE: &str = "pipelined_reads_bench";
const CLIENTS: usize = 64;

const SETUP: &str = "
CREATE TABLE t (id bigserial PRIMARY KEY, user_id text NOT NULL, title text NOT NULL,
  description text, completed bool NOT NULL DEFAULT false, created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL, c8 int NOT NULL DEFAULT 0, c9 text, c10 text, c11 bigint,
  c12 bigint, c13 timestamptz, c14 text, c15 int DEFAULT 1, c16 text, c17 text,
  c18 bigint DEFAULT 1, c19 bool DEFAULT false);
INSERT INTO t (user_id, title, description, created_at, updated_at, c9, c16)
  SELECT 'user-' || u, 'Task number ' || i || ' of user ' || u, 'A description of task ' || i,
         now() - (i || ' minutes')::interval, now(), 'x', 'y'
  FROM generate_series(1, 1000) u, generate_series(1, 50) i;
CREATE INDEX t_user ON t (user_id, created_at DESC, id DESC);
ALTER TABLE t ENABLE ROW LEVEL SECURITY;
CREATE POLICY viewer ON t FOR SELECT USING (user_id = NULLIF(current_setting('app.user_id', true), ''));";

/// One connection, the pid of its backend, and the lock its readers queue under.
struct Lane {
    client: Client,
    list: Statement,
    sending: Mutex<()>,
    riders: AtomicUsize,
}

fn own_cpu() -> Duration {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct it is given.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    Duration::from_micros(micros(usage.ru_utime) + micros(usage.ru_stime))
}

/// One read as the server sends it: BEGIN batch, statement, COMMIT, queued under the lane's
/// lock, then the statement's rows awaited.
async fn read(lane: &Lane, user: &str) {
    let begin = format!(
        "BEGIN READ ONLY; SET LOCAL statement_timeout = 5000; SET LOCAL ROLE {ROLE}; \
         SELECT set_config('app.user_id', '{user}', true)"
    );
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&user];
    let mut rows = Box::pin(lane.client.query_raw(&lane.list, params));
    let first = {
        let _sending = lane.sending.lock().unwrap();
        let _ = lane.client.batch_execute(&begin).now_or_never();
        let first = (&mut rows).now_or_never();
        let _ = lane.client.batch_execute("COMMIT").now_or_never();
        first
    };
    let rows = match first {
        Some(rows) => rows,
        None => rows.await,
    }
    .expect("the list");
    let rows: Vec<tokio_postgres::Row> = rows.try_collect().await.expect("the rows");
    assert_eq!(rows.len(), 50);
}

/// `CLIENTS` tasks reading for `seconds`: on `lanes` connections shared by all (`shared`), or
/// each read on a connection of its own taken from them.
async fn slice(url: &str, cpu: &PgCpu, lanes: usize, shared: bool, seconds: u64) -> String {
    let mut open = Vec::new();
    for _ in 0..lanes {
        let (client, connection) = tokio_postgres::connect(url, NoTls).await.expect("connect");
        tokio::spawn(connection);
        let list = client
            .prepare_typed(LIST, &[tokio_postgres::types::Type::TEXT])
            .await
            .expect("prepare");
        open.push(Lane {
            client,
            list,
            sending: Mutex::new(()),
            riders: AtomicUsize::new(0),
        });
    }
    let lanes = Arc::new(open);
    let free = Arc::new(Mutex::new((0..lanes.len()).collect::<Vec<_>>()));
    let turns = Arc::new(tokio::sync::Semaphore::new(lanes.len()));
    let done = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs(seconds);
    let database_before = cpu.snapshot();
    let (cpu_before, started) = (own_cpu(), Instant::now());
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (lanes, free, turns, done) =
                (lanes.clone(), free.clone(), turns.clone(), done.clone());
            tokio::spawn(async move {
                let mut user = client;
                while Instant::now() < until {
                    user = (user * 7919 + 13) % 1000;
                    let name = format!("user-{}", user + 1);
                    if shared {
                        let lane = (0..lanes.len())
                            .min_by_key(|&i| lanes[i].riders.load(Ordering::Relaxed))
                            .expect("a lane");
                        lanes[lane].riders.fetch_add(1, Ordering::Relaxed);
                        read(&lanes[lane], &name).await;
                        lanes[lane].riders.fetch_sub(1, Ordering::Relaxed);
                    } else {
                        let _turn = turns.acquire().await.expect("open");
                        let lane = free.lock().unwrap().pop().expect("a free lane");
                        read(&lanes[lane], &name).await;
                        free.lock().unwrap().push(lane);
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("a client");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let reads = done.load(Ordering::Relaxed) as f64;
    let database = cpu.since(&database_before, false);
    let kind = if shared {
        "shared by all"
    } else {
        "one per read"
    };
    format!(
        "{lanes_n:>2} connections, {kind:<13} {rate:>7.0} reads/s  client {client:>4.0} µs/read  PostgreSQL {pg:>4.0} µs/read",
        lanes_n = lanes.len(),
        rate = reads / elapsed,
        client = (own_cpu() - cpu_before).as_micros() as f64 / reads,
        pg = database.as_micros() as f64 / reads,
    )
}

/// pgbench running the same statements as ONE pipeline (one Sync) at 10 clients.
fn pgbench(url: &str, seconds: u64) -> String {
    let script = std::env::temp_dir().join(format!("pipelined_reads_{}.pgb", std::process::id()));
    let list = LIST.replace("$1", "'user-' || :u");
    std::fs::write(
        &script,
        format!(
            "\\set u random(1, 1000)\n\\startpipeline\nBEGIN READ ONLY;\n\
             SET LOCAL statement_timeout = 5000;\nSET LOCAL ROLE {ROLE};\n\
             SELECT set_config('app.user_id', 'user-' || :u, true);\n{list};\nCOMMIT;\n\\endpipeline\n"
        ),
    )
    .expect("the script");
    let output = std::process::Command::new("pgbench")
        .args(["-n", "-M", "prepared", "-c", "10", "-j", "2", "-T"])
        .arg(seconds.to_string())
        .arg("-f")
        .arg(&script)
        .arg(url)
        .output();
    let _ = std::fs::remove_file(&script);
    let text = match output {
        Ok(out) => String::from_utf8_lossy(&out.stdout).into_owned(),
        Err(e) => return format!("pgbench not run: {e}"),
    };
    let number = |key: &str| -> Option<f64> {
        let line = text.lines().find(|l| l.contains(key))?;
        line.split(key)
            .nth(1)?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    };
    // Its backends end with it: their CPU would have to be read from what the postmaster
    // reaped, which counts autovacuum's workers too on a table this fresh; so only its rate.
    match number("tps = ") {
        Some(tps) => format!("10 clients, pgbench, one Sync  {tps:>7.0} reads/s"),
        None => format!("pgbench said: {text}"),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let admin_url = std::env::var("PIPELINED_READS_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let seconds: u64 = std::env::var("PIPELINED_READS_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(6);
    let (admin, connection) = tokio_postgres::connect(&admin_url, NoTls)
        .await
        .expect("PostgreSQL at PIPELINED_READS_URL");
    tokio::spawn(connection);
    let name = format!("pipelined_reads_{}", std::process::id());
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("a database of its own");
    admin
        .batch_execute(&format!(
            "DO $$ BEGIN CREATE ROLE {ROLE} NOLOGIN; \
             EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        ))
        .await
        .expect("the readers' role");
    let base = admin_url.rsplit_once('/').map_or(&*admin_url, |(b, _)| b);
    let url = format!("{base}/{name}");
    {
        let (setup, connection) = tokio_postgres::connect(&url, NoTls).await.expect("connect");
        tokio::spawn(connection);
        setup.batch_execute(SETUP).await.expect("seed");
        setup
            .batch_execute("VACUUM ANALYZE t")
            .await
            .expect("vacuum");
        setup
            .batch_execute(&format!("GRANT SELECT ON t TO {ROLE}"))
            .await
            .expect("grant");
    }
    let (watcher, connection) = tokio_postgres::connect(&url, NoTls).await.expect("connect");
    tokio::spawn(connection);
    let cpu = PgCpu::new(&watcher, &name)
        .await
        .expect("PostgreSQL's processes readable from /proc (the same machine)");
    println!("{CLIENTS} concurrent reads, {seconds} s a slice, two rounds");
    for _ in 0..2 {
        println!("  {}", slice(&url, &cpu, 10, false, seconds).await);
        println!("  {}", slice(&url, &cpu, 2, true, seconds).await);
        println!("  {}", slice(&url, &cpu, 4, true, seconds).await);
        println!("  {}", pgbench(&url, seconds));
    }
    drop(watcher);
    admin
        .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .await
        .expect("drop the database");
}
