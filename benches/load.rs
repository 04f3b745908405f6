//! Load benchmark: the release `todo-api` binary as a child process on 127.0.0.1, driven over
//! real HTTP, measured in the same run against two ceilings (`load/ceiling.rs`): `pgbench -M
//! prepared` running the plain statements of the job, and running the server's exact SQL and
//! transactions.
//!
//! - PostgreSQL (`load/table.rs`): 1,000 users × 50 tasks, 64 concurrent requests. Scenarios:
//!   REST list, GraphQL `tasks` list, and an 80/10/10 list/create/toggle mix through each API.
//!   Each scenario is a fixed time slice (BENCH_SECONDS), repeated BENCH_ROUNDS times,
//!   interleaved with the ceilings and the other builds (a baseline binary, this one without
//!   row security, this one behind PgBouncer, PostGraphile 5), so that the ratios hold even on
//!   a machine shared with other work.
//! - The server's CPU time per request (utime + stime from `/proc/<pid>/stat`), the most stable
//!   figure on a shared machine, and PostgreSQL's (`load/pgcpu.rs`).
//! - 1,000 concurrent connections (each sends a list request every second): errors, p99 and the
//!   server's resident memory.
//! - SQLite: start-to-ready time on a fresh file, and the same scenarios (no ceiling).
//! - Search: one user's 10,000 tasks (the per-user cap), `?search=` 50 a page, a rare and a
//!   common needle, on both backends (a scan of the user's tasks: `strpos` over the keys the
//!   database keeps on PostgreSQL, over the folded text on SQLite).
//! - Correctness under the load: every toggle of the few "hot" tasks the mix flips in parallel
//!   must show in their final `completed` parity, and the row count must grow by exactly the
//!   creates answered 201 (no lost writes).
//! - Realtime (`load/realtime.rs`): event delay from a write on one instance to subscribers on
//!   another, p50 / p99 (`BENCH_ONLY=realtime` alone).
//! - Noisy neighbour (`load/noisy.rs`): the others' list latency with and without one user
//!   running the worst search and slow readers (`BENCH_ONLY=noisy` / `noisy-sqlite` alone).
//!
//! Run: `cargo bench --bench load`. Settings (environment): BENCH_SECONDS (default 5),
//! BENCH_ROUNDS (2), BENCH_BASELINE_BIN (a `todo-api` binary built from older code, measured
//! side by side), BENCH_BIN (another build as "this"), BENCH_USERS (1000), BENCH_POSTGRAPHILE
//! (1: PostGraphile in the table), BENCH_POOLED (0: no pooled row), BENCH_SHARED (1: every
//! user sees 25 tasks of their own and 25 of a list shared with them; `half`: the odd-numbered
//! users do, the others see 50 of their own, and the table lists both kinds), BENCH_ONLY (see
//! benches/README.md). It stops by itself: every slice is bounded in time and a watchdog ends
//! the run (and its servers) after 30 minutes.

#[path = "load/ceiling.rs"]
mod ceiling;
#[path = "../tests/it/common/mod.rs"]
#[allow(unused_macros)]
mod common;
#[path = "load/noisy.rs"]
mod noisy;
#[path = "load/pgcpu.rs"]
mod pgcpu;
#[path = "load/pooled.rs"]
mod pooled;
#[path = "load/postgraphile.rs"]
mod postgraphile;
#[path = "load/realtime.rs"]
mod realtime;
#[path = "load/table.rs"]
mod table;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const CONCURRENCY: usize = 64;
const TASKS_PER_USER: usize = 50;
/// Tasks the mixes toggle, all in parallel: their parity is checked after every slice.
const HOT_TASKS: usize = 8;
const POOL_SIZE: usize = 10;
const WIDE_CONNECTIONS: usize = 1000;
const WATCHDOG: Duration = Duration::from_secs(30 * 60);

/// Search benchmark: tasks seeded for one user (MAX_TASKS_PER_USER's default) and requests per
/// needle.
const SEARCH_TASKS: usize = 10_000;
const SEARCH_REQUESTS: usize = 2_000;

const GQL_LIST: &str = "{ tasks { id title description completed createdAt updatedAt } }";
const GQL_CREATE: &str =
    "mutation($t: String!) { createTask(input: {title: $t}) { id title completed createdAt } }";
const GQL_TOGGLE: &str = "mutation($id: ID!) { toggleTask(id: $id) { id completed } }";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

// ---------------------------------------------------------------- servers

/// A `todo-api serve` child process.
struct Server {
    label: String,
    child: std::process::Child,
    base: String,
    /// PostGraphile (`load/postgraphile.rs`), not this server: GraphQL scenarios only.
    postgraphile: bool,
    _logs: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

static PIDS: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// A PostgreSQL URL with `sslmode=disable`: the direct-SQL ceiling connects without TLS
/// (tokio-postgres `NoTls`), so the server does too, and both do the same work. (Left to the
/// default, `prefer`, the server would encrypt every query to the local database.)
fn without_tls(url: &str) -> String {
    if !url.starts_with("postgres") || url.contains("sslmode=") {
        return url.to_owned();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}sslmode=disable")
}

impl Server {
    /// Starts `bin` on a free port and waits until `/readyz` answers; returns the time from
    /// spawn to ready.
    async fn start(label: &str, bin: &Path, database_url: &str) -> (Server, Duration) {
        Server::start_with(label, bin, database_url, &[]).await
    }

    /// [`Server::start`] with extra settings in its environment.
    async fn start_with(
        label: &str,
        bin: &Path,
        database_url: &str,
        settings: &[(&str, &str)],
    ) -> (Server, Duration) {
        let port = free_port();
        let logs = tempfile::tempdir().expect("temp dir");
        let mut command = std::process::Command::new(bin);
        command
            .env_clear()
            .current_dir(logs.path())
            .env("DATABASE_URL", without_tls(database_url))
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("BETTER_AUTH_SECRET", common::SECRET)
            .env("DB_POOL_SIZE", POOL_SIZE.to_string())
            // Thousands of requests per user: measure the service, not the per-user limiter.
            .env("RATE_LIMIT", "0")
            .env("ANONYMOUS_RATE_LIMIT", "0")
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .envs(settings.iter().copied());
        Server::launch(label, command, port, logs, false).await
    }

    /// Spawns `command`, a server listening on 127.0.0.1:`port` and logging into `logs`, and
    /// waits until it answers: this server's `/readyz`, or any answer at all from PostGraphile
    /// (`postgraphile`), which answers once its schema is built.
    async fn launch(
        label: &str,
        mut command: std::process::Command,
        port: u16,
        logs: tempfile::TempDir,
        postgraphile: bool,
    ) -> (Server, Duration) {
        let log = std::fs::File::create(logs.path().join("server.log")).expect("log file");
        let started = Instant::now();
        let child = command
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {label}: {e}"));
        PIDS.lock().unwrap().push(child.id());
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        loop {
            let ready = if postgraphile {
                client
                    .post(format!("{base}/graphql"))
                    .json(&json!({ "query": "{ __typename }" }))
                    .send()
                    .await
                    .is_ok()
            } else {
                client
                    .get(format!("{base}/readyz"))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            };
            if ready {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "{label} did not become ready: {}",
                std::fs::read_to_string(logs.path().join("server.log")).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let elapsed = started.elapsed();
        (
            Server {
                label: label.to_owned(),
                child,
                base,
                postgraphile,
                _logs: logs,
            },
            elapsed,
        )
    }

    /// Where the load goes.
    fn target(&self) -> Target {
        Target {
            base: self.base.clone(),
            postgraphile: self.postgraphile,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// utime + stime so far.
    fn cpu(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap();
        // Fields after the `(comm)`: state is field 3, utime 14, stime 15.
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        Duration::from_secs_f64(ticks as f64 / clock_ticks())
    }

    /// (VmRSS, VmHWM) in KiB.
    fn memory(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        let kib = |key: &str| {
            status
                .lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        (kib("VmRSS:"), kib("VmHWM:"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

// ---------------------------------------------------------------- load

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Scenario {
    RestList,
    GraphqlList,
    RestMix,
    GraphqlMix,
    /// BENCH_SHARED=half: the lists of users with a shared list (25 own + 25 shared tasks).
    RestListMember,
    GraphqlListMember,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::RestList => "REST list (50 tasks)",
            Scenario::GraphqlList => "GraphQL tasks (50 tasks)",
            Scenario::RestMix => "REST mix 80/10/10",
            Scenario::GraphqlMix => "GraphQL mix 80/10/10",
            Scenario::RestListMember => "REST list, member (25 own + 25 shared)",
            Scenario::GraphqlListMember => "GraphQL tasks, member (25 own + 25 shared)",
        }
    }
    fn is_mix(self) -> bool {
        matches!(self, Scenario::RestMix | Scenario::GraphqlMix)
    }
    fn is_graphql(self) -> bool {
        matches!(
            self,
            Scenario::GraphqlList | Scenario::GraphqlMix | Scenario::GraphqlListMember
        )
    }
    fn is_member(self) -> bool {
        matches!(self, Scenario::RestListMember | Scenario::GraphqlListMember)
    }
}

/// Where requests go: a server's base URL, and whether it is PostGraphile.
#[derive(Clone)]
struct Target {
    base: String,
    postgraphile: bool,
}

impl From<&Target> for Target {
    fn from(target: &Target) -> Target {
        target.clone()
    }
}

impl From<&String> for Target {
    fn from(base: &String) -> Target {
        Target {
            base: base.clone(),
            postgraphile: false,
        }
    }
}

/// What every worker shares.
struct Shared {
    users: usize,
    /// BENCH_SHARED=half: odd-numbered users are members of a shared list, the others not;
    /// the member scenarios take the odd ones, every other scenario the even ones.
    half: bool,
    tokens: Vec<String>,
    /// (user index, task id) of the hot tasks.
    hot: Vec<(usize, i64)>,
    toggles: Vec<AtomicU64>,
    creates: AtomicU64,
}

#[derive(Default)]
struct Sample {
    requests: u64,
    errors: u64,
    first_error: Option<String>,
    latencies: Vec<Duration>,
    elapsed: Duration,
    cpu: Duration,
    /// PostgreSQL's CPU time over the slice (`load/pgcpu.rs`), when measured.
    pg_cpu: Option<Duration>,
    /// The load generator's CPU time over the slice: this process's for the servers' slices,
    /// pgbench's (a child, reaped when it ends) for the ceilings'.
    client_cpu: Option<Duration>,
}

impl Sample {
    fn merge(&mut self, other: Sample) {
        self.requests += other.requests;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self.latencies.extend(other.latencies);
        self.elapsed += other.elapsed;
        self.cpu += other.cpu;
        self.pg_cpu = match (self.pg_cpu, other.pg_cpu) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
        self.client_cpu = match (self.client_cpu, other.client_cpu) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
    }
    fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
    fn pct(&mut self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        self.latencies.sort_unstable();
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[i].as_secs_f64() * 1e3
    }
    fn cpu_per_request_us(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / (self.requests.max(1) as f64)
    }
    fn pg_cpu_per_request_us(&self) -> Option<f64> {
        self.pg_cpu
            .map(|cpu| cpu.as_secs_f64() * 1e6 / (self.requests.max(1) as f64))
    }
    fn client_cpu_per_request_us(&self) -> Option<f64> {
        self.client_cpu
            .map(|cpu| cpu.as_secs_f64() * 1e6 / (self.requests.max(1) as f64))
    }
}

/// This process's CPU time (utime + stime) and that of its children it has reaped (cutime +
/// cstime), from `/proc/self/stat`.
fn own_cpu() -> (Duration, Duration) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rfind(')').map_or("", |i| &stat[i + 2..]);
    let fields: Vec<u64> = rest
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let ticks = |a: usize, b: usize| {
        let sum = fields.get(a).unwrap_or(&0) + fields.get(b).unwrap_or(&0);
        Duration::from_secs_f64(sum as f64 / clock_ticks())
    };
    (ticks(11, 12), ticks(13, 14))
}

fn user_id(index: usize) -> String {
    format!("u{index}")
}

/// One request of `scenario` against `target`; `Err` says what went wrong.
async fn one(
    client: &reqwest::Client,
    target: &Target,
    scenario: Scenario,
    shared: &Shared,
    seq: u64,
) -> Result<(), String> {
    let roll = (seq.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize;
    let user = match (shared.half, scenario.is_member()) {
        (false, _) => roll % shared.users,
        (true, false) => (roll % shared.users) & !1,
        (true, true) => (roll % shared.users) | 1,
    };
    let kind = if scenario.is_mix() { roll % 10 } else { 0 };
    let hot = roll / 10 % HOT_TASKS;
    if target.postgraphile {
        return postgraphile::one(client, &target.base, kind, user, hot, shared, seq).await;
    }
    let base = &target.base;
    let graphql = scenario.is_graphql();
    match kind {
        0..=7 => {
            let response = if graphql {
                client
                    .post(format!("{base}/graphql"))
                    .bearer_auth(&shared.tokens[user])
                    .json(&json!({ "query": GQL_LIST }))
                    .send()
                    .await
            } else {
                client
                    .get(format!("{base}/api/{}/tasks", user_id(user)))
                    .bearer_auth(&shared.tokens[user])
                    .send()
                    .await
            }
            .map_err(|e| e.to_string())?;
            let status = response.status();
            let body = response.bytes().await.map_err(|e| e.to_string())?;
            if status != reqwest::StatusCode::OK {
                return Err(format!("list: {status}"));
            }
            // Every 64th answer is read in full: the user's own tasks, all of them.
            if seq.is_multiple_of(64) {
                let value: Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
                let tasks = if graphql {
                    if value.get("errors").is_some() {
                        return Err(format!("list: {value}"));
                    }
                    value["data"]["tasks"].as_array().cloned()
                } else {
                    value.as_array().cloned()
                }
                .unwrap_or_default();
                if tasks.len() < TASKS_PER_USER {
                    return Err(format!("list: {} tasks", tasks.len()));
                }
                let owners = owners_seen_by(shared, user);
                if !graphql
                    && tasks
                        .iter()
                        .any(|t| !owners.iter().any(|o| t["user_id"] == o.as_str()))
                {
                    return Err("list: another user's task".into());
                }
            } else if graphql && body.starts_with(b"{\"errors\"") {
                return Err(String::from_utf8_lossy(&body).into_owned());
            }
            Ok(())
        }
        8 => {
            let title = format!("bench {seq}");
            let response = if graphql {
                client
                    .post(format!("{base}/graphql"))
                    .bearer_auth(&shared.tokens[user])
                    .json(&json!({ "query": GQL_CREATE, "variables": {"t": title} }))
                    .send()
                    .await
            } else {
                client
                    .post(format!("{base}/api/{}/tasks", user_id(user)))
                    .bearer_auth(&shared.tokens[user])
                    .json(&json!({ "title": title }))
                    .send()
                    .await
            }
            .map_err(|e| e.to_string())?;
            let status = response.status();
            let body: Value = response.json().await.map_err(|e| e.to_string())?;
            let ok = if graphql {
                status.is_success() && body.get("errors").is_none()
            } else {
                status == reqwest::StatusCode::CREATED
            };
            if !ok {
                return Err(format!("create: {status} {body}"));
            }
            shared.creates.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
        _ => {
            let (owner, id) = shared.hot[hot];
            let response = if graphql {
                client
                    .post(format!("{base}/graphql"))
                    .bearer_auth(&shared.tokens[owner])
                    .json(&json!({ "query": GQL_TOGGLE, "variables": {"id": id.to_string()} }))
                    .send()
                    .await
            } else {
                client
                    .patch(format!("{base}/api/{}/tasks/{id}/complete", user_id(owner)))
                    .bearer_auth(&shared.tokens[owner])
                    .send()
                    .await
            }
            .map_err(|e| e.to_string())?;
            let status = response.status();
            let body: Value = response.json().await.map_err(|e| e.to_string())?;
            if !status.is_success() || body.get("errors").is_some() {
                return Err(format!("toggle: {status} {body}"));
            }
            shared.toggles[hot].fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
    }
}

/// Runs `scenario` against `target` with `concurrency` workers for `length`, each worker
/// waiting `pace` between requests (zero: back to back).
async fn slice(
    target: impl Into<Target>,
    scenario: Scenario,
    shared: &Arc<Shared>,
    concurrency: usize,
    length: Duration,
    pace: Duration,
    server: Option<&Server>,
) -> Sample {
    let target = target.into();
    // A fresh client per slice: its connections close when the slice ends.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(concurrency)
        .build()
        .expect("client");
    let stop = Arc::new(AtomicBool::new(false));
    let sequence = Arc::new(AtomicU64::new(0));
    let cpu_before = server.map(Server::cpu);
    let (client_before, _) = own_cpu();
    let started = Instant::now();
    let mut workers = Vec::with_capacity(concurrency);
    for w in 0..concurrency {
        // With a pace, every worker has its own client, hence its own connection.
        let client = if pace.is_zero() {
            client.clone()
        } else {
            reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .pool_max_idle_per_host(1)
                .build()
                .expect("client")
        };
        let (target, shared, stop, sequence) = (
            target.clone(),
            shared.clone(),
            stop.clone(),
            sequence.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut sample = Sample::default();
            if !pace.is_zero() {
                tokio::time::sleep(pace.mul_f64(w as f64 / concurrency as f64)).await;
            }
            while !stop.load(Ordering::Relaxed) {
                let seq = sequence.fetch_add(1, Ordering::Relaxed);
                let t = Instant::now();
                let result = one(&client, &target, scenario, &shared, seq).await;
                let took = t.elapsed();
                sample.requests += 1;
                sample.latencies.push(took);
                if let Err(e) = result {
                    sample.errors += 1;
                    sample.first_error.get_or_insert(e);
                }
                if !pace.is_zero() && took < pace {
                    tokio::time::sleep(pace - took).await;
                }
            }
            sample
        }));
    }
    tokio::time::sleep(length).await;
    stop.store(true, Ordering::Relaxed);
    let mut total = Sample::default();
    for worker in workers {
        total.merge(worker.await.expect("worker"));
    }
    total.elapsed = started.elapsed();
    total.client_cpu = Some(own_cpu().0.saturating_sub(client_before));
    if let (Some(server), Some(before)) = (server, cpu_before) {
        total.cpu = server.cpu().saturating_sub(before);
    }
    total
}

// ---------------------------------------------------------------- checks

/// The hot tasks' `completed` now.
async fn hot_state(admin: &tokio_postgres::Client, shared: &Shared) -> Vec<bool> {
    let mut states = Vec::new();
    for (_, id) in &shared.hot {
        let row = admin
            .query_one("SELECT completed FROM tasks WHERE id = $1", &[id])
            .await
            .expect("hot task");
        states.push(row.get(0));
    }
    states
}

async fn row_count(admin: &tokio_postgres::Client) -> i64 {
    admin
        .query_one("SELECT count(*) FROM tasks", &[])
        .await
        .expect("count")
        .get(0)
}

/// Search over one user's SEARCH_TASKS tasks, 50 a page: seeds them through the API, then
/// measures a rare and a common needle with CONCURRENCY workers.
async fn search_part(server: &Server) {
    let client = reqwest::Client::new();
    // One searcher per server: servers measured side by side share the PostgreSQL database.
    let searcher = format!("searcher-{}", server.label);
    let token = common::token_for(&searcher);
    let base = format!("{}/api/{searcher}/tasks", server.base);
    let run = |requests: usize, concurrency: usize, search: Option<&'static str>| {
        let (client, token, base) = (client.clone(), token.clone(), base.clone());
        async move {
            let next = Arc::new(AtomicU64::new(0));
            let started = Instant::now();
            let mut workers = tokio::task::JoinSet::new();
            for _ in 0..concurrency {
                let (client, token, base, next) =
                    (client.clone(), token.clone(), base.clone(), next.clone());
                workers.spawn(async move {
                    let mut sample = Sample::default();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                        if i >= requests {
                            return sample;
                        }
                        let sent = Instant::now();
                        let request = match search {
                            Some(needle) => client
                                .get(format!("{base}?limit=50&search={}", needle.replace(' ', "%20"))),
                            None => client.post(&base).json(&json!({
                                "title": format!("Task number {i}"),
                                "description": format!("Details of item {} in lot {}", i * 7, i % 97),
                            })),
                        };
                        let status = request.bearer_auth(&token).send().await.map(|r| r.status());
                        sample.requests += 1;
                        sample.latencies.push(sent.elapsed());
                        match status {
                            Ok(s) if s.is_success() => {}
                            other => {
                                sample.errors += 1;
                                sample.first_error.get_or_insert(format!("{other:?}"));
                            }
                        }
                    }
                });
            }
            let mut total = Sample::default();
            while let Some(sample) = workers.join_next().await {
                total.merge(sample.expect("search worker"));
            }
            total.elapsed = started.elapsed();
            total
        }
    };
    let seeded = run(SEARCH_TASKS, CONCURRENCY, None).await;
    assert_eq!(
        seeded.errors, 0,
        "{}: seeding search tasks: {:?}",
        server.label, seeded.first_error
    );
    // One client alone (the latency a user sees), then CONCURRENCY clients searching the same
    // 10,000 tasks at once (the throughput).
    for (name, needle) in [("rare", "item 4242"), ("common", "lot 5")] {
        for (concurrency, requests) in [(1, SEARCH_REQUESTS / 10), (CONCURRENCY, SEARCH_REQUESTS)] {
            let mut sample = run(requests, concurrency, Some(needle)).await;
            println!(
                "  {:<10} REST ?search= ({SEARCH_TASKS} tasks, {name}, {concurrency:>2} concurrent): {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} errors",
                server.label,
                sample.requests as f64 / sample.elapsed.as_secs_f64(),
                sample.pct(0.5),
                sample.pct(0.99),
                sample.errors,
            );
        }
    }
}

// ---------------------------------------------------------------- seeding

/// The users and their tasks, every user's tasks spread over as many pages as they have tasks
/// (inserted task number by task number, as tasks written over time are), whoever has a shared
/// list (BENCH_SHARED): a user with one has it from the start, so both kinds of user read the
/// same number of pages per list. A sharer (every `stride`-th user counting from the last:
/// every user with `1`, the odd-numbered with `half`) keeps only their even-numbered tasks, in
/// a list of theirs shared as editor with the sharer half the users on, so each sees 50 tasks as
/// without it: their 25 and 25 of a neighbour's. With `1` the plain ceiling, one user's tasks,
/// then reads 25 rows: compare two runs' req/s and CPU per request, not their ratios; with
/// `half` the ceiling reads the other users', and one run measures both kinds.
async fn seed_postgres(admin: &tokio_postgres::Client, users: usize) {
    let stride = match sharing() {
        Sharing::None => 0,
        Sharing::All => 1,
        Sharing::Half => 2,
    };
    if stride > 0 {
        assert!(
            users.is_multiple_of(stride),
            "BENCH_SHARED=half needs an even BENCH_USERS"
        );
        admin
            .batch_execute(&format!(
                "INSERT INTO task_lists (user_id, name, name_key, position, created_at, updated_at)
                 SELECT 'u' || u, 'Shared', 'shared', '80', now(), now()
                 FROM generate_series({first}, {last}, {stride}) AS u;",
                first = stride - 1,
                last = users - 1
            ))
            .await
            .expect("the shared lists");
    }
    admin
        .batch_execute(&format!(
            "INSERT INTO tasks (user_id, title, title_key, description, completed, created_at,
                                updated_at, list_id)
             SELECT 'u' || u, 'Task ' || t || ' of u' || u, 'task ' || t || ' of u' || u,
                    CASE WHEN t % 3 = 0 THEN 'Details for task ' || t END, t % 2 = 0,
                    now() - make_interval(mins => t), now() - make_interval(mins => t), l.id
             FROM generate_series(0, {}) AS u CROSS JOIN generate_series(1, {TASKS_PER_USER}) AS t
             LEFT JOIN task_lists l ON l.user_id = 'u' || u
             WHERE l.id IS NULL OR t % 2 = 0
             ORDER BY t, u;
             ANALYZE tasks;",
            users - 1
        ))
        .await
        .expect("seed PostgreSQL");
    if stride > 0 {
        admin
            .batch_execute(&format!(
                "INSERT INTO list_members (list_id, user_id, role, added_at)
                 SELECT l.id, 'u' || ((substr(l.user_id, 2)::int + {offset}) % {users}), 'editor',
                        now()
                 FROM task_lists l;",
                offset = share_offset(users, stride)
            ))
            .await
            .expect("share the seeded lists");
        // On its own: VACUUM cannot run in the implicit transaction of a batch.
        admin
            .batch_execute("VACUUM ANALYZE")
            .await
            .expect("vacuum after sharing");
    }
}

/// BENCH_SHARED: who has a shared list.
#[derive(Clone, Copy, PartialEq)]
enum Sharing {
    None,
    /// `1`: every user.
    All,
    /// `half`: the odd-numbered users.
    Half,
}

fn sharing() -> Sharing {
    match std::env::var("BENCH_SHARED").as_deref() {
        Ok("1") => Sharing::All,
        Ok("half") => Sharing::Half,
        Ok("" | "0") | Err(_) => Sharing::None,
        Ok(other) => panic!("BENCH_SHARED={other}: expected 0, 1 or half"),
    }
}

/// How far (in user numbers) a sharer's list goes: to the sharer about half the users on, so
/// that a member's and the sharer's tasks, inserted side by side, are on different pages.
fn share_offset(users: usize, stride: usize) -> usize {
    stride * (users / (2 * stride)).max(1)
}

/// The users whose tasks `user` may list: themself and, with a shared list, the user whose
/// list is shared with them (`seed_postgres`).
fn owners_seen_by(shared: &Shared, user: usize) -> Vec<String> {
    let sharer = match sharing() {
        Sharing::None => None,
        Sharing::All => Some((user + shared.users - share_offset(shared.users, 1)) % shared.users),
        Sharing::Half => (user % 2 == 1)
            .then(|| (user + shared.users - share_offset(shared.users, 2)) % shared.users),
    };
    std::iter::once(user).chain(sharer).map(user_id).collect()
}

fn seed_sqlite(path: &Path, users: usize) {
    use diesel::{Connection, RunQueryDsl};
    let mut conn =
        diesel::sqlite::SqliteConnection::establish(&path.display().to_string()).expect("sqlite");
    diesel::sql_query("PRAGMA busy_timeout = 10000")
        .execute(&mut conn)
        .expect("pragma");
    diesel::sql_query(format!(
        "WITH RECURSIVE u(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM u WHERE n < {}),
              t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < {TASKS_PER_USER})
         INSERT INTO tasks (user_id, title, title_key, description, completed, created_at, updated_at)
         SELECT 'u' || u.n, 'Task ' || t.n || ' of u' || u.n, 'task ' || t.n || ' of u' || u.n,
                CASE WHEN t.n % 3 = 0 THEN 'Details for task ' || t.n END, t.n % 2 = 0,
                strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || t.n || ' minutes'),
                strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || t.n || ' minutes')
         FROM u, t",
        users - 1
    ))
    .execute(&mut conn)
    .expect("seed SQLite");
}

fn shared_for(users: usize, hot: Vec<(usize, i64)>) -> Arc<Shared> {
    Arc::new(Shared {
        users,
        half: sharing() == Sharing::Half,
        tokens: (0..users).map(|u| common::token_for(&user_id(u))).collect(),
        hot,
        toggles: (0..HOT_TASKS).map(|_| AtomicU64::new(0)).collect(),
        creates: AtomicU64::new(0),
    })
}

// ---------------------------------------------------------------- report

struct Row {
    scenario: Scenario,
    label: String,
    sample: Sample,
}

fn print_row(scenario: Scenario, label: &str, sample: &mut Sample, ceiling: Option<f64>) {
    let rate = sample.rate();
    let ratio = ceiling
        .map(|c| format!("{:>5.0} %", rate / c * 100.0))
        .unwrap_or_else(|| "      ".into());
    let cpu = if sample.cpu.is_zero() {
        "        –".to_owned()
    } else {
        format!("{:>6.0} µs", sample.cpu_per_request_us())
    };
    let pg = sample
        .pg_cpu_per_request_us()
        .map(|us| format!("  PostgreSQL/req {us:>4.0} µs"))
        .unwrap_or_default();
    let errors = if sample.errors > 0 {
        format!(", {} ERRORS", sample.errors)
    } else {
        String::new()
    };
    println!(
        "  {:<26} {:<18} {:>8.0} req/s {ratio}  p50 {:>6.2} ms  p99 {:>6.2} ms  CPU/req {cpu}{pg}  ({} req{errors})",
        scenario.name(),
        label,
        rate,
        sample.pct(0.50),
        sample.pct(0.99),
        sample.requests,
    );
}

/// What the PostgreSQL part runs.
struct Plan {
    scenarios: &'static [Scenario],
    /// pgbench's two ceilings.
    ceilings: bool,
    /// This binary again with DATABASE_ROW_SECURITY=false.
    no_rls: bool,
    /// This binary again through PgBouncer (`load/pooled.rs`).
    pooled: bool,
    /// PostGraphile 5 (`load/postgraphile.rs`), on the GraphQL scenarios.
    postgraphile: bool,
    /// After the table: 1,000 connections and search.
    more: bool,
}

const ALL_SCENARIOS: &[Scenario] = &[
    Scenario::RestList,
    Scenario::GraphqlList,
    Scenario::RestMix,
    Scenario::GraphqlMix,
];

/// BENCH_SHARED=half: every scenario (on the users without a shared list) and the lists of
/// the users with one.
const WITH_MEMBERS: &[Scenario] = &[
    Scenario::RestList,
    Scenario::RestListMember,
    Scenario::GraphqlList,
    Scenario::GraphqlListMember,
    Scenario::RestMix,
    Scenario::GraphqlMix,
];

/// The label of this binary through PgBouncer.
const POOLED: &str = "this, pooled";

async fn postgres_part(
    binaries: &[(String, PathBuf)],
    seconds: Duration,
    rounds: usize,
    plan: Plan,
) {
    let Some(db) = common::pg::TempDatabase::create().await else {
        println!("PostgreSQL: skipped (unreachable)");
        return;
    };
    let users: usize = env_or("BENCH_USERS", 1000);
    let mut servers = Vec::new();
    for (label, bin) in binaries {
        let (server, _) = Server::start(label, bin, &db.url).await;
        servers.push(server);
    }
    if plan.no_rls {
        // This binary without the second wall, so that the table shows what row security
        // costs, measured in the same run (the exact ceiling is the default server's SQL).
        let (no_rls, _) = Server::start_with(
            "this, no RLS",
            &binaries[0].1,
            &db.url,
            &[("DATABASE_ROW_SECURITY", "false")],
        )
        .await;
        servers.push(no_rls);
    }
    let bouncer = if plan.pooled {
        pooled::PgBouncer::start(&db.url)
    } else {
        None
    };
    if let Some(bouncer) = &bouncer {
        // A DATABASE_DIRECT_URL other than DATABASE_URL: the server takes DATABASE_URL to be a
        // transaction pooler (unnamed statements) and listens on the direct one.
        let direct = without_tls(&db.url);
        let (server, _) = Server::start_with(
            POOLED,
            &binaries[0].1,
            &bouncer.url(&db.url),
            &[("DATABASE_DIRECT_URL", &direct)],
        )
        .await;
        servers.push(server);
    }
    let (admin, connection) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
        .await
        .expect("admin connection");
    tokio::spawn(connection);
    seed_postgres(&admin, users).await;
    let hot = hot_tasks(&admin).await;
    if plan.postgraphile
        && let Some(server) = postgraphile::start(&db.url).await
    {
        servers.push(server);
    }
    let writes = ceiling::Writes::detect(&admin).await;
    let pgbench = plan.ceilings.then(|| {
        println!("  the exact ceiling's writes: {}", writes.name());
        ceiling::Pgbench::new(&db.url, users, sharing() == Sharing::Half, &hot, writes)
            .unwrap_or_else(|| {
                panic!("pgbench is the ceiling and is not installed (Debian: postgresql-contrib)")
            })
    });
    let pg_cpu = pgcpu::PgCpu::new(&admin, &db.name).await;
    if pg_cpu.is_none() {
        println!("  PostgreSQL's CPU: not measured (its processes cannot be read from here)");
    }
    connection_budget(&admin, &servers, plan.ceilings).await;
    let shared = shared_for(users, hot);
    println!(
        "--- PostgreSQL: {users} users × {TASKS_PER_USER} tasks, {CONCURRENCY} concurrent, pool {POOL_SIZE}, \
         {rounds} × {}s per figure; ceilings: pgbench plain ({CONCURRENCY} clients) and exact \
         ({CONCURRENCY} and {POOL_SIZE}) ---",
        seconds.as_secs()
    );
    // Warm-up: connections, statement caches, the OS page cache.
    for server in &servers {
        for scenario in [Scenario::RestList, Scenario::GraphqlList] {
            if server.postgraphile && scenario == Scenario::RestList {
                continue;
            }
            slice(
                server.target(),
                scenario,
                &shared,
                CONCURRENCY,
                Duration::from_secs(1),
                Duration::ZERO,
                None,
            )
            .await;
        }
    }
    if let Some(pgbench) = &pgbench {
        pgbench
            .run(
                ceiling::scripts(ceiling::Kind::Exact, false),
                CONCURRENCY,
                Duration::from_secs(1),
            )
            .await;
    }
    let bench = table::Bench {
        admin: &admin,
        pgbench: pgbench.as_ref(),
        pg_cpu: pg_cpu.as_ref(),
        shared: &shared,
        seconds,
        rounds,
    };
    table::measure(&bench, &servers, plan.scenarios).await;
    if !plan.more {
        return;
    }

    // 1,000 concurrent connections, each sending a REST list every second.
    println!("{WIDE_CONNECTIONS} concurrent connections, one REST list per connection per second:");
    // This server's builds only (not the pooled one, not PostGraphile).
    let ours: Vec<&Server> = servers
        .iter()
        .filter(|s| !s.postgraphile && s.label != POOLED)
        .collect();
    for server in &ours {
        let target = server.base.clone();
        let mut sample = slice(
            &target,
            Scenario::RestList,
            &shared,
            WIDE_CONNECTIONS,
            Duration::from_secs(10),
            Duration::from_secs(1),
            Some(server),
        )
        .await;
        let (rss, peak) = server.memory();
        let (p50, p99) = (sample.pct(0.5), sample.pct(0.99));
        println!(
            "  {:<10} {} req, {} errors{}, p50 {:.1} ms, p99 {:.1} ms, RSS {:.1} MiB (peak {:.1} MiB)",
            server.label,
            sample.requests,
            sample.errors,
            sample
                .first_error
                .as_deref()
                .map(|e| format!(" (first: {e})"))
                .unwrap_or_default(),
            p50,
            p99,
            rss as f64 / 1024.0,
            peak as f64 / 1024.0,
        );
    }

    println!("Search over one user's {SEARCH_TASKS} tasks, 1 and {CONCURRENCY} concurrent:");
    for server in ours {
        search_part(server).await;
    }

    drop(servers);
}

/// Says how many PostgreSQL connections the run holds at once (pgbench's clients while the
/// servers keep their pools; PgBouncer's and PostGraphile's close when idle) against
/// `max_connections`.
async fn connection_budget(admin: &tokio_postgres::Client, servers: &[Server], pgbench: bool) {
    let row = admin
        .query_one(
            "SELECT current_setting('max_connections')::int, \
             (SELECT count(*)::int FROM pg_stat_activity WHERE backend_type = 'client backend')",
            &[],
        )
        .await
        .expect("max_connections");
    let (max, open): (i32, i32) = (row.get(0), row.get(1));
    let pools = servers
        .iter()
        .filter(|s| !s.postgraphile && s.label != POOLED)
        .count();
    // Each server's pool and listener, pgbench's clients, this bench's own connection.
    let need = pools * POOL_SIZE + servers.len() + if pgbench { CONCURRENCY } else { 0 } + 1;
    println!(
        "  PostgreSQL connections: about {need} at once; max_connections {max}, {open} open now"
    );
    if need as i32 > max {
        println!("  WARNING: raise max_connections to at least {need} (benches/README.md)");
    }
}

async fn sqlite_part(binaries: &[(String, PathBuf)], seconds: Duration, rounds: usize) {
    let users: usize = env_or("BENCH_USERS", 1000);
    println!("\n--- SQLite: {users} users × {TASKS_PER_USER} tasks, {CONCURRENCY} concurrent ---");
    let mut rows: Vec<Row> = Vec::new();
    for (label, bin) in binaries {
        // Start to ready on a fresh file (migrations included), best of 5.
        let mut starts = Vec::new();
        for _ in 0..5 {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}", dir.path().join("todo.db").display());
            let (server, took) = Server::start(label, bin, &url).await;
            starts.push(took);
            drop(server);
        }
        starts.sort();
        println!(
            "  {label:<10} start to ready: best {:.0} ms, median {:.0} ms",
            starts[0].as_secs_f64() * 1e3,
            starts[2].as_secs_f64() * 1e3
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("todo.db");
        let url = format!("sqlite://{}", file.display());
        let (server, _) = Server::start(label, bin, &url).await;
        seed_sqlite(&file, users);
        let hot = (0..HOT_TASKS)
            .map(|h| (h, (h * TASKS_PER_USER + 1) as i64))
            .collect();
        let shared = shared_for(users, hot);
        let target = server.base.clone();
        slice(
            &target,
            Scenario::RestList,
            &shared,
            CONCURRENCY,
            Duration::from_secs(1),
            Duration::ZERO,
            None,
        )
        .await;
        for _ in 0..rounds {
            for scenario in [
                Scenario::RestList,
                Scenario::GraphqlList,
                Scenario::RestMix,
                Scenario::GraphqlMix,
            ] {
                let sample = slice(
                    &target,
                    scenario,
                    &shared,
                    CONCURRENCY,
                    seconds,
                    Duration::ZERO,
                    Some(&server),
                )
                .await;
                assert_eq!(
                    sample.errors,
                    0,
                    "SQLite {}: first error {:?}",
                    scenario.name(),
                    sample.first_error
                );
                match rows
                    .iter_mut()
                    .find(|r| r.scenario == scenario && &r.label == label)
                {
                    Some(row) => row.sample.merge(sample),
                    None => rows.push(Row {
                        scenario,
                        label: label.clone(),
                        sample,
                    }),
                }
            }
        }
        search_part(&server).await;
    }
    rows.sort_by_key(|r| r.scenario as u8);
    for row in &mut rows {
        print_row(row.scenario, &row.label, &mut row.sample, None);
    }
}

/// BENCH_ONLY=ceiling: pgbench alone with both ceilings' scripts (printed first), each script
/// and the mix, at the load's concurrency and at the server's pool size (no server runs).
async fn ceiling_alone(seconds: Duration) {
    let Some(db) = common::pg::TempDatabase::create().await else {
        println!("PostgreSQL: skipped (unreachable)");
        return;
    };
    let users: usize = env_or("BENCH_USERS", 1000);
    let (admin, connection) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
        .await
        .expect("admin connection");
    tokio::spawn(connection);
    // The schema comes from the server's migrations.
    let bin = std::env::var("BENCH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_BIN_EXE_todo-api")));
    drop(Server::start("this", &bin, &db.url).await);
    seed_postgres(&admin, users).await;
    let hot = hot_tasks(&admin).await;
    let writes = ceiling::Writes::detect(&admin).await;
    println!("  the exact ceiling's writes: {}", writes.name());
    let pgbench =
        ceiling::Pgbench::new(&db.url, users, false, &hot, writes).expect("pgbench installed");
    pgbench
        .run(
            ceiling::scripts(ceiling::Kind::Plain, false),
            CONCURRENCY,
            Duration::from_secs(1),
        )
        .await;
    println!("--- {users} users × {TASKS_PER_USER} tasks ---");
    table::ceiling_alone(&pgbench, seconds).await;
}

/// The first task of each of the first HOT_TASKS users: the tasks the mixes toggle.
async fn hot_tasks(admin: &tokio_postgres::Client) -> Vec<(usize, i64)> {
    let mut hot = Vec::new();
    for h in 0..HOT_TASKS {
        let row = admin
            .query_one(
                "SELECT min(id) FROM tasks WHERE user_id = $1",
                &[&user_id(h)],
            )
            .await
            .expect("hot task id");
        hot.push((h, row.get::<_, i64>(0)));
    }
    hot
}

/// BENCH_ONLY=profile-graphql (or profile-rest): one scenario on PostgreSQL against this
/// build, with the server's pid printed first, for `perf record -p <pid>`.
async fn profile(bin: &Path, scenario: &str, seconds: Duration) {
    let Some(db) = common::pg::TempDatabase::create().await else {
        return;
    };
    let users: usize = env_or("BENCH_USERS", 1000);
    let (server, _) = Server::start("this", bin, &db.url).await;
    let (admin, connection) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
        .await
        .expect("admin connection");
    tokio::spawn(connection);
    seed_postgres(&admin, users).await;
    let shared = shared_for(users, Vec::new());
    let scenario = if scenario == "rest" {
        Scenario::RestList
    } else {
        Scenario::GraphqlList
    };
    let target = server.base.clone();
    slice(
        &target,
        scenario,
        &shared,
        CONCURRENCY,
        Duration::from_secs(1),
        Duration::ZERO,
        None,
    )
    .await;
    println!("server pid {}", server.pid());
    let mut sample = slice(
        &target,
        scenario,
        &shared,
        CONCURRENCY,
        seconds,
        Duration::ZERO,
        Some(&server),
    )
    .await;
    print_row(scenario, "this", &mut sample, None);
}

fn main() {
    // The bench stops by itself: a watchdog ends it (and the servers it started).
    std::thread::spawn(|| {
        std::thread::sleep(WATCHDOG);
        eprintln!("benchmark watchdog: {WATCHDOG:?} passed, stopping");
        for pid in PIDS.lock().unwrap().iter() {
            let _ = std::process::Command::new("kill")
                .arg(pid.to_string())
                .status();
        }
        std::process::exit(2);
    });
    todo_api::install_crypto_provider();
    let seconds = Duration::from_secs(env_or("BENCH_SECONDS", 5));
    let rounds = env_or("BENCH_ROUNDS", 2usize).max(1);
    // BENCH_BIN: another build as "this" (A/B of two builds without rebuilding the bench).
    let this = std::env::var("BENCH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_BIN_EXE_todo-api")));
    let mut binaries = vec![("this".to_owned(), this)];
    if let Ok(baseline) = std::env::var("BENCH_BASELINE_BIN") {
        binaries.push(("baseline".to_owned(), PathBuf::from(baseline)));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let only = std::env::var("BENCH_ONLY").unwrap_or_default();
        if let Some(scenario) = only.strip_prefix("profile-") {
            profile(&binaries[0].1, scenario, seconds).await;
            return;
        }
        if only == "realtime" {
            realtime::delivery_delay(&binaries[0].1).await;
            return;
        }
        // PostGraphile in the table when asked (it needs `npm ci`, and Node takes a core).
        let postgraphile = env_or("BENCH_POSTGRAPHILE", 0u8) == 1;
        let pooled = env_or("BENCH_POOLED", 1u8) == 1;
        let full = Plan {
            scenarios: if sharing() == Sharing::Half {
                WITH_MEMBERS
            } else {
                ALL_SCENARIOS
            },
            ceilings: true,
            no_rls: true,
            pooled,
            postgraphile,
            more: true,
        };
        if only == "table" {
            // The PostgreSQL table alone (for A/B of two builds).
            let plan = Plan {
                more: false,
                ..full
            };
            postgres_part(&binaries, seconds, rounds, plan).await;
            return;
        }
        if only == "postgraphile" {
            // PostGraphile beside this server's GraphQL list and mix, no ceiling.
            let plan = Plan {
                scenarios: &[Scenario::GraphqlList, Scenario::GraphqlMix],
                ceilings: false,
                no_rls: false,
                pooled: false,
                postgraphile: true,
                more: false,
            };
            postgres_part(&binaries[..1], seconds, rounds, plan).await;
            return;
        }
        if only == "ceiling" {
            ceiling_alone(seconds).await;
            return;
        }
        if only == "noisy" || only == "noisy-sqlite" {
            noisy::noisy_neighbour(&binaries, only == "noisy-sqlite").await;
            return;
        }
        if only != "sqlite" {
            postgres_part(&binaries, seconds, rounds, full).await;
            realtime::delivery_delay(&binaries[0].1).await;
            noisy::noisy_neighbour(&binaries, false).await;
        }
        if only != "postgres" {
            sqlite_part(&binaries, seconds, rounds).await;
        }
    });
}
