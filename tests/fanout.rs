//! Per-user event routing under load: user B's write latency with 5,000 subscriptions open
//! for user A. In its own test binary so the other realtime tests do not run beside it and
//! blur the timing.

mod common;

use std::time::{Duration, Instant};

use common::live;
use common::{Backend, TestApp};

/// User B's create latency with 5,000 subscriptions open for user A stays within 2x of B's
/// latency without them: events are routed per user, so A's subscribers cost B nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_subscriptions_do_not_slow_a_write() {
    let server = TestApp::builder(Backend::Sqlite)
        .arg("--max-subscriptions-per-user", "10000")
        .arg("--rate-limit", "0")
        .arg("--anonymous-rate-limit", "0")
        .arg("--ws-max-subscriptions-per-connection", "100")
        .start()
        .await
        .expect("SQLite app");
    let app = &server;
    let bob = app.user("bob");
    async fn median_create(bob: &common::UserClient<'_>) -> Duration {
        let mut times = Vec::new();
        for n in 0..60 {
            let started = Instant::now();
            bob.create_task(&format!("b{n}")).await;
            times.push(started.elapsed());
        }
        times.sort();
        times[times.len() / 2]
    }
    let baseline = median_create(&bob).await;

    const SOCKETS: usize = 50;
    const PER_SOCKET: usize = 100;
    let mut sockets = Vec::new();
    for _ in 0..SOCKETS {
        let mut socket = live::socket(app, "alice").await;
        for n in 0..PER_SOCKET {
            live::subscribe(&mut socket, &n.to_string()).await;
        }
        sockets.push(socket);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    // All 5,000 are live: one change of A's reaches each of them.
    app.user("alice").create_task("fan-out").await;
    for socket in &mut sockets {
        for _ in 0..PER_SOCKET {
            assert_eq!(live::next_event(socket).await["kind"], "CREATED");
        }
    }

    let loaded = median_create(&bob).await;
    println!(
        "bob's create, median: {:.2} ms alone, {:.2} ms with 5,000 subscriptions open for alice",
        baseline.as_secs_f64() * 1e3,
        loaded.as_secs_f64() * 1e3
    );
    // A floor of 2 ms keeps sub-millisecond scheduling noise from deciding the outcome.
    assert!(
        loaded.as_secs_f64() <= 2.0 * baseline.as_secs_f64().max(0.002),
        "{loaded:?} vs {baseline:?}"
    );
}
