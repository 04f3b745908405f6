//! Load benchmark: the real server (release build) on 127.0.0.1, over real HTTP, on SQLite and
//! PostgreSQL. Bounded by request counts; prints throughput and latency percentiles.
//!
//! Run: `cargo bench --bench load` (set `BENCH_SCALE=0.1` for a quick pass).

#[path = "../tests/common/mod.rs"]
#[allow(unused_macros)]
mod common;

use std::time::{Duration, Instant};

use common::{Backend, TestApp};
use futures::StreamExt;
use serde_json::json;

const CONCURRENCY: usize = 32;

fn scaled(n: usize) -> usize {
    let scale: f64 = std::env::var("BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    ((n as f64 * scale) as usize).max(1)
}

struct Stats {
    name: String,
    count: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Stats {
    fn print(&mut self) {
        self.latencies.sort();
        let pct = |p: f64| self.latencies[((self.latencies.len() as f64 - 1.0) * p) as usize];
        println!(
            "{:<34} {:>7} req  {:>9.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms",
            self.name,
            self.count,
            self.count as f64 / self.elapsed.as_secs_f64(),
            pct(0.50).as_secs_f64() * 1e3,
            pct(0.99).as_secs_f64() * 1e3,
        );
    }
}

/// Sends `count` requests made by `make`, `CONCURRENCY` at a time; every one must succeed.
async fn run<F, Fut>(name: &str, count: usize, make: F) -> Stats
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = reqwest::StatusCode>,
{
    let start = Instant::now();
    let latencies: Vec<Duration> = futures::stream::iter(0..count)
        .map(|i| {
            let request = make(i);
            async move {
                let t = Instant::now();
                let status = request.await;
                assert!(status.is_success(), "{name}: {status}");
                t.elapsed()
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    Stats {
        name: name.to_owned(),
        count,
        elapsed: start.elapsed(),
        latencies,
    }
}

async fn bench(backend: Backend) {
    let Some(app) = TestApp::builder(backend)
        .arg("--db-pool-size", "16")
        // One user makes thousands of requests here: measure the service, not the limiter.
        .arg("--rate-limit", "0")
        .start()
        .await
    else {
        println!("{backend:?}: skipped (PostgreSQL unreachable)");
        return;
    };
    println!("--- {backend:?} (concurrency {CONCURRENCY}) ---");
    let token = app.token("bench");
    let base = format!("{}/api/bench/tasks", app.base);
    let client = &app.client;
    let (token, base) = (&token, &base);

    let mut create = run("REST POST /tasks", scaled(5_000), |i| async move {
        client
            .post(base)
            .bearer_auth(token)
            .json(&json!({"title": format!("task {i}")}))
            .send()
            .await
            .unwrap()
            .status()
    })
    .await;
    create.print();
    // Lists read 50 tasks of another user so the response size stays fixed.
    let other = app.token("reader");
    let reader_base = format!("{}/api/reader/tasks", app.base);
    for i in 0..50 {
        client
            .post(&reader_base)
            .bearer_auth(&other)
            .json(&json!({"title": format!("r{i}")}))
            .send()
            .await
            .unwrap();
    }
    let (other, reader_base) = (&other, &reader_base);
    run(
        "REST GET /tasks (50 tasks)",
        scaled(20_000),
        |_| async move {
            client
                .get(reader_base)
                .bearer_auth(other)
                .send()
                .await
                .unwrap()
                .status()
        },
    )
    .await
    .print();
    run(
        "REST GET /tasks?sort=title",
        scaled(10_000),
        |_| async move {
            client
                .get(format!("{reader_base}?sort=title"))
                .bearer_auth(other)
                .send()
                .await
                .unwrap()
                .status()
        },
    )
    .await
    .print();
    run(
        "REST PATCH /tasks/{id}/complete",
        scaled(5_000),
        |i| async move {
            let id = 1 + (i % 100);
            client
                .patch(format!("{base}/{id}/complete"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        },
    )
    .await
    .print();
    let graphql = format!("{}/graphql", app.base);
    let graphql = &graphql;
    run("GraphQL tasks (50 tasks)", scaled(10_000), |_| async move {
        client
            .post(graphql)
            .bearer_auth(other)
            .json(&json!({"query": "{ tasks { id title completed createdAt } }"}))
            .send()
            .await
            .unwrap()
            .status()
    })
    .await
    .print();

    // Search over one user's 10,000 tasks (the per-user cap), 50 a page: on PostgreSQL the
    // trigram index serves it, on SQLite a scan of that user's rows.
    let searcher = app.token("searcher");
    let searcher_base = format!("{}/api/searcher/tasks", app.base);
    let (searcher, searcher_base) = (&searcher, &searcher_base);
    run("(seed 10,000 tasks)", 10_000, |i| async move {
        client
            .post(searcher_base)
            .bearer_auth(searcher)
            .json(&json!({"title": format!("Task number {i}"),
                          "description": format!("Details of item {} in lot {}", i * 7, i % 97)}))
            .send()
            .await
            .unwrap()
            .status()
    })
    .await;
    for (name, needle) in [
        ("REST GET ?search= (10k tasks, rare)", "item 4242"),
        ("REST GET ?search= (10k tasks, common)", "lot 5"),
    ] {
        run(name, scaled(2_000), |_| async move {
            client
                .get(format!(
                    "{searcher_base}?limit=50&search={}",
                    needle.replace(' ', "%20")
                ))
                .bearer_auth(searcher)
                .send()
                .await
                .unwrap()
                .status()
        })
        .await
        .print();
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        bench(Backend::Sqlite).await;
        bench(Backend::Postgres).await;
    });
}
