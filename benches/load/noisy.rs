//! Noisy neighbour (issue 18): other users run the list scenario while one user runs the worst
//! search (`a`×500 + `b` over tasks of `a`×200 titles and `a`×1000 descriptions) and holds
//! slow readers (SSE streams from `Last-Event-ID: 0` and full lists that it never reads);
//! the others' throughput, p50 and p99 are reported against the same run without the noisy
//! user, with the server's memory. `BENCH_ONLY=noisy` (PostgreSQL) or `noisy-sqlite`.
//!
//! Settings: BENCH_NOISY_SECONDS (slice length, 20), BENCH_NOISY_TASKS (the noisy user's
//! tasks, 3000), BENCH_NOISY_SEARCHES (searches in flight, 10), BENCH_NOISY_READERS (slow SSE
//! streams and as many slow full lists, 10 each). Every request has a client timeout, the
//! noise is dropped when the slice ends, and the bench waits (bounded) for the server to
//! settle before the next slice.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{
    CONCURRENCY, Sample, Scenario, Server, common, env_or, seed_postgres, seed_sqlite, shared_for,
    slice,
};

const SETTLE_LIMIT: Duration = Duration::from_secs(120);
/// The noisy user's searches per second, all searchers together: what the default
/// `RATE_LIMIT` (300 per 60 s) lets one user sustain. The bench turns the limiter off for the
/// others' load, so the noisy user keeps to it by itself: a server that refuses or bounds the
/// search quickly is not flooded instead.
const SEARCHES_PER_SECOND: f64 = 5.0;

/// What the noisy user got during one slice.
#[derive(Default)]
struct Noise {
    /// Search answers by status ("timeout" / "error" when none came).
    searches: BTreeMap<String, u64>,
    search_latencies: Vec<Duration>,
    /// Slow readers' status lines, by status ("none" when the headers never came).
    readers: BTreeMap<String, u64>,
}

/// One build's figures: the others alone and with the noisy user, what the noisy user got, and
/// the server's memory (KiB: before, at the end of the noise, peak).
#[derive(Default)]
struct Outcome {
    label: String,
    quiet: Sample,
    noisy: Sample,
    noise: Noise,
    rss_before: u64,
    rss_end: u64,
    rss_peak: u64,
}

pub async fn noisy_neighbour(binaries: &[(String, PathBuf)], sqlite: bool) {
    let seconds = Duration::from_secs(env_or("BENCH_NOISY_SECONDS", 20));
    let rounds = env_or("BENCH_ROUNDS", 2usize).max(1);
    let tasks: usize = env_or("BENCH_NOISY_TASKS", 3000);
    let searches: usize = env_or("BENCH_NOISY_SEARCHES", 10);
    let readers: usize = env_or("BENCH_NOISY_READERS", 10);
    let users: usize = env_or("BENCH_USERS", 1000);
    let backend = if sqlite { "SQLite" } else { "PostgreSQL" };
    println!(
        "\n--- Noisy neighbour, {backend}: {users} users run the REST list ({CONCURRENCY} concurrent), \
         one user runs {searches} worst searches over {tasks} tasks and {readers} slow SSE + \
         {readers} slow lists; {rounds} × {}s per figure ---",
        seconds.as_secs()
    );
    let pg = if sqlite {
        None
    } else {
        match common::pg::TempDatabase::create().await {
            Some(db) => Some(db),
            None => {
                println!("PostgreSQL: skipped (unreachable)");
                return;
            }
        }
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let mut servers = Vec::new();
    for (i, (label, bin)) in binaries.iter().enumerate() {
        let url = match &pg {
            Some(db) => db.url.clone(),
            None => format!("sqlite://{}", dir.path().join(format!("{i}.db")).display()),
        };
        let (server, _) = Server::start(label, bin, &url).await;
        match &pg {
            Some(_) if i == 0 => {
                let (admin, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                    .await
                    .expect("admin connection");
                tokio::spawn(connection);
                seed_postgres(&admin, users).await;
            }
            Some(_) => {}
            None => seed_sqlite(&dir.path().join(format!("{i}.db")), users),
        }
        seed_noisy(&server, tasks).await;
        servers.push(server);
    }
    let shared = shared_for(users, Vec::new());
    for server in &servers {
        slice(
            &server.base,
            Scenario::RestList,
            &shared,
            CONCURRENCY,
            Duration::from_secs(1),
            Duration::ZERO,
            None,
        )
        .await;
    }
    let mut results: Vec<Outcome> = servers
        .iter()
        .map(|s| Outcome {
            label: s.label.clone(),
            rss_before: s.memory().0,
            ..Outcome::default()
        })
        .collect();
    for _ in 0..rounds {
        for (server, result) in servers.iter().zip(results.iter_mut()) {
            let quiet = slice(
                &server.base,
                Scenario::RestList,
                &shared,
                CONCURRENCY,
                seconds,
                Duration::ZERO,
                Some(server),
            )
            .await;
            result.quiet.merge(quiet);
            let noise = start_noise(server, searches, readers);
            // Let the noise take hold (searches running, readers' responses stuck) first.
            tokio::time::sleep(Duration::from_secs(1)).await;
            let noisy = slice(
                &server.base,
                Scenario::RestList,
                &shared,
                CONCURRENCY,
                seconds,
                Duration::ZERO,
                Some(server),
            )
            .await;
            let (rss, peak) = server.memory();
            result.rss_end = result.rss_end.max(rss);
            result.rss_peak = result.rss_peak.max(peak);
            let got = noise.stop().await;
            for (status, n) in got.searches {
                *result.noise.searches.entry(status).or_default() += n;
            }
            for (status, n) in got.readers {
                *result.noise.readers.entry(status).or_default() += n;
            }
            result.noise.search_latencies.extend(got.search_latencies);
            result.noisy.merge(noisy);
            settle(server).await;
        }
    }
    println!(
        "| {backend} | build | others alone: req/s | p50 ms | p99 ms | errors | with the noisy user: req/s | p50 ms | p99 ms | errors | noisy searches (status: count), p50 s | slow readers' status | server RSS MiB before / end of noise / peak |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for Outcome {
        label,
        mut quiet,
        mut noisy,
        mut noise,
        rss_before: before,
        rss_end: end,
        rss_peak: peak,
    } in results
    {
        let mut latencies = std::mem::take(&mut noise.search_latencies);
        latencies.sort_unstable();
        let search_p50 = latencies
            .get(latencies.len() / 2)
            .map_or(0.0, Duration::as_secs_f64);
        let counts = |m: &BTreeMap<String, u64>| {
            m.iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        println!(
            "| REST list, others | {label} | {:.0} | {:.1} | {:.1} | {} | {:.0} | {:.1} | {:.1} | {} | {}; {search_p50:.1} | {} | {:.0} / {:.0} / {:.0} |",
            quiet.rate(),
            quiet.pct(0.5),
            quiet.pct(0.99),
            quiet.errors,
            noisy.rate(),
            noisy.pct(0.5),
            noisy.pct(0.99),
            noisy.errors,
            counts(&noise.searches),
            counts(&noise.readers),
            before as f64 / 1024.0,
            end as f64 / 1024.0,
            peak as f64 / 1024.0,
        );
        if let Some(e) = &noisy.first_error {
            println!("  {label}: others' first error with the noisy user: {e}");
        }
    }
}

fn noisy_user(server: &Server) -> String {
    format!("noisy-{}", server.label)
}

/// The noisy user's tasks, through the API (so the change journal has them for the replay):
/// `a`×200 titles and `a`×1000 descriptions, the worst case for `LIKE '%a…ab%'`.
async fn seed_noisy(server: &Server, tasks: usize) {
    let user = noisy_user(server);
    let token = common::token_for(&user);
    let client = reqwest::Client::new();
    let url = format!("{}/api/{user}/tasks", server.base);
    let body = serde_json::json!({ "title": "a".repeat(200), "description": "a".repeat(1000) });
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (client, token, url, body, next) = (
            client.clone(),
            token.clone(),
            url.clone(),
            body.clone(),
            next.clone(),
        );
        workers.spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < tasks {
                let response = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await
                    .expect("seed the noisy user");
                assert_eq!(
                    response.status(),
                    reqwest::StatusCode::CREATED,
                    "noisy seed"
                );
            }
        });
    }
    while let Some(done) = workers.join_next().await {
        done.expect("noisy seed worker");
    }
}

/// The noise under way; `stop` cuts it (searches in flight dropped, readers closed).
struct Running {
    tasks: tokio::task::JoinSet<()>,
    noise: Arc<Mutex<Noise>>,
    in_flight: Arc<AtomicI64>,
}

impl Running {
    async fn stop(mut self) -> Noise {
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
        let mut noise = std::mem::take(&mut *self.noise.lock().unwrap());
        let cut = self.in_flight.load(Ordering::Relaxed);
        if cut > 0 {
            *noise.searches.entry("cut at the end".into()).or_default() += cut as u64;
        }
        noise
    }
}

fn start_noise(server: &Server, searches: usize, readers: usize) -> Running {
    let user = noisy_user(server);
    let token = common::token_for(&user);
    let address = server.base.trim_start_matches("http://").to_owned();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let search = format!(
        "{}/api/{user}/tasks?search={}b",
        server.base,
        "a".repeat(500)
    );
    let noise = Arc::new(Mutex::new(Noise::default()));
    let in_flight = Arc::new(AtomicI64::new(0));
    let pace = Duration::from_secs_f64(searches as f64 / SEARCHES_PER_SECOND);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..searches {
        let (client, token, search, noise, in_flight) = (
            client.clone(),
            token.clone(),
            search.clone(),
            noise.clone(),
            in_flight.clone(),
        );
        tasks.spawn(async move {
            loop {
                in_flight.fetch_add(1, Ordering::Relaxed);
                let sent = Instant::now();
                let status = match client.get(&search).bearer_auth(&token).send().await {
                    Ok(response) => {
                        let status = response.status().as_u16().to_string();
                        let _ = response.bytes().await;
                        status
                    }
                    Err(e) if e.is_timeout() => "timeout".to_owned(),
                    Err(_) => "error".to_owned(),
                };
                in_flight.fetch_sub(1, Ordering::Relaxed);
                let took = sent.elapsed();
                {
                    let mut noise = noise.lock().unwrap();
                    noise.search_latencies.push(took);
                    *noise.searches.entry(status).or_default() += 1;
                }
                tokio::time::sleep(pace.saturating_sub(took)).await;
            }
        });
    }
    for i in 0..readers * 2 {
        let path = if i % 2 == 0 {
            format!("/api/{user}/tasks/events")
        } else {
            format!("/api/{user}/tasks")
        };
        let (address, token, noise) = (address.clone(), token.clone(), noise.clone());
        tasks.spawn(async move {
            slow_reader(&address, &path, &token, &noise).await;
        });
    }
    Running {
        tasks,
        noise,
        in_flight,
    }
}

/// Sends `GET path` (with `Last-Event-ID: 0`), reads the status line only, then holds the
/// connection without reading until the noise stops. A small receive buffer, as a slow
/// client has.
async fn slow_reader(address: &str, path: &str, token: &str, noise: &Mutex<Noise>) {
    let record = |status: &str| {
        *noise
            .lock()
            .unwrap()
            .readers
            .entry(status.to_owned())
            .or_default() += 1;
    };
    let Ok(socket) = tokio::net::TcpSocket::new_v4() else {
        return record("no socket");
    };
    let _ = socket.set_recv_buffer_size(4096);
    let Ok(mut stream) = socket.connect(address.parse().expect("address")).await else {
        return record("refused");
    };
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Accept: text/event-stream\r\nLast-Event-ID: 0\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).await.is_err() {
        return record("closed");
    }
    let mut head = [0u8; 12];
    match tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut head)).await {
        Ok(Ok(_)) => record(&String::from_utf8_lossy(&head[9..12])),
        Ok(Err(_)) => record("closed"),
        Err(_) => record("no headers in 10 s"),
    }
    // Never reads another byte; dropped (closed) when the noise stops.
    std::future::pending::<()>().await;
}

/// Waits (bounded) until the server answers a list promptly again: searches cut at the end of
/// a slice may still run in the database and hold pool connections.
async fn settle(server: &Server) {
    let client = reqwest::Client::new();
    let token = common::token_for("u0");
    let url = format!("{}/api/u0/tasks", server.base);
    let started = Instant::now();
    let mut prompt = 0;
    while prompt < 3 && started.elapsed() < SETTLE_LIMIT {
        let sent = Instant::now();
        let ok = client
            .get(&url)
            .bearer_auth(&token)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        prompt = if ok && sent.elapsed() < Duration::from_millis(100) {
            prompt + 1
        } else {
            0
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    if prompt < 3 {
        println!(
            "  {}: not settled after {SETTLE_LIMIT:?} (the next figure is affected)",
            server.label
        );
    }
}
