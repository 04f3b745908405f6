//! Database time is shared fairly (issue 18, attack 5, wrong answers 7 and 8), on both
//! backends: the worst search is bounded, a statement over STATEMENT_TIMEOUT answers 503 and
//! gives its connection back, one user holds at most their share of the pool, a forged cursor
//! time is a 422, and storage that refuses writes answers 503 with `/readyz` following it.
//!
//! The noisy user's tasks are written straight into the database (thousands of them through
//! HTTP would take most of the test's time): long titles and descriptions of one letter, the
//! text that makes a substring search work hardest.

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::json;

use crate::common::{Backend, TestApp, UserClient, pg};

/// A server over a database of its own, with `rows` tasks of `noisy`: titles of 200 `a`s and
/// descriptions of 1000. The guards keep the database until the test ends.
struct Seeded {
    app: TestApp,
    url: String,
    _sqlite: Option<tempfile::TempDir>,
    _postgres: Option<pg::TempDatabase>,
}

async fn seeded(backend: Backend, rows: u32, settings: &[(&str, &str)]) -> Option<Seeded> {
    let (url, sqlite, postgres) = match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = crate::common::template::sqlite_url(dir.path());
            (url, Some(dir), None)
        }
        Backend::Postgres => {
            let db = pg::TempDatabase::migrated().await?;
            (db.url.clone(), None, Some(db))
        }
    };
    let mut builder = TestApp::builder(backend).database_url(&url);
    for (flag, value) in settings {
        builder = builder.arg(flag, value);
    }
    let app = builder.start().await.expect("app starts");
    match backend {
        Backend::Sqlite => {
            use diesel::Connection as _;
            use diesel::connection::SimpleConnection as _;
            let path = url.trim_start_matches("sqlite://");
            let mut conn = diesel::SqliteConnection::establish(path).expect("opens SQLite");
            conn.batch_execute(&format!(
                "PRAGMA busy_timeout = 10000;
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows})
                 INSERT INTO tasks (user_id, title, title_key, description, description_key,
                                    completed, created_at, updated_at, priority, category)
                 SELECT 'noisy', t, t, d, d, 0, '2026-01-01 00:00:00', '2026-01-01 00:00:00',
                        0, 'other'
                 FROM n, (SELECT replace(hex(zeroblob(200)), '00', 'a') AS t,
                                 replace(hex(zeroblob(1000)), '00', 'a') AS d);"
            ))
            .expect("seeds SQLite");
        }
        Backend::Postgres => {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .expect("connects to PostgreSQL");
            tokio::spawn(connection);
            client
                .batch_execute(&format!(
                    "INSERT INTO tasks (user_id, title, title_key, description, description_key)
                     SELECT 'noisy', repeat('a', 200), repeat('a', 200), repeat('a', 1000),
                            repeat('a', 1000)
                     FROM generate_series(1, {rows});
                     ANALYZE tasks;"
                ))
                .await
                .expect("seeds PostgreSQL");
        }
    }
    Some(Seeded {
        app,
        url,
        _sqlite: sqlite,
        _postgres: postgres,
    })
}

/// The searches that cost most per task: a needle that almost matches everywhere, from either
/// end (PostgreSQL's substring search compares from the needle's end), at the longest allowed.
fn worst_searches() -> [String; 2] {
    [
        format!("{}b", "a".repeat(99)),
        format!("b{}", "a".repeat(99)),
    ]
}

/// The longest search is 100 characters; one more is a 422 that says so. The worst allowed
/// searches over 3,000 tasks of 1,200 characters each answer 200, within the 5 s statement
/// budget (bound: 1,200 × 100 comparisons per task). Then ten of them at once by one user:
/// every one answers 200 or a 503 with a body (never a 500), and another user's list
/// meanwhile answers every time within 3 s.
async fn worst_search_is_bounded_and_others_keep_their_latency(backend: Backend) {
    let Some(seeded) = seeded(backend, 3_000, &[]).await else {
        return;
    };
    let app = &seeded.app;
    let noisy = app.user("noisy");
    let quiet = app.user("quiet");
    first_write(&quiet).await;

    let too_long = "a".repeat(101);
    let refused = noisy
        .get(&noisy.tasks_path(&format!("?search={too_long}")))
        .await;
    let detail = refused.validation();
    assert_eq!(detail[0]["type"], "string_too_long", "{}", refused.text);
    assert_eq!(detail[0]["ctx"]["max_length"], 100);

    for search in worst_searches() {
        let started = Instant::now();
        let found = noisy
            .get(&noisy.tasks_path(&format!("?search={search}&limit=50")))
            .await;
        let took = started.elapsed();
        // A 200 says its statements ran within STATEMENT_TIMEOUT (5 s; past it, a 503). The
        // wall clock adds what a loaded machine keeps the request waiting for a core.
        assert_eq!(found.good(StatusCode::OK), json!([]));
        assert_eq!(found.header("x-total-count"), Some("0"));
        assert!(
            took < Duration::from_secs(10),
            "a worst search took {took:?}"
        );
    }

    let searches = (0..10).map(|i| {
        let search = worst_searches()[i % 2].clone();
        let path = noisy.tasks_path(&format!("?search={search}"));
        let noisy = &noisy;
        async move { noisy.get(&path).await }
    });
    let watch = async {
        let mut slowest = Duration::ZERO;
        for _ in 0..10 {
            let started = Instant::now();
            let list = quiet.get(&quiet.tasks_path("")).await.good(StatusCode::OK);
            slowest = slowest.max(started.elapsed());
            assert_eq!(list.as_array().map(Vec::len), Some(1));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        slowest
    };
    let (answers, slowest) = tokio::join!(futures::future::join_all(searches), watch);
    for answer in answers {
        assert!(
            answer.status == StatusCode::OK
                || answer.status == StatusCode::SERVICE_UNAVAILABLE
                    && answer.json()["detail"].is_string(),
            "{} {}",
            answer.status,
            answer.text
        );
    }
    // Tens of milliseconds on a quiet machine; the bound leaves room for a loaded CI machine
    // running six test binaries' worth of servers on 2 cores, and still tells a kept share
    // from the failure it guards against (a pool taken: 503 after DB_TIMEOUT, 5 s).
    assert!(
        slowest < Duration::from_secs(3),
        "another user's list took {slowest:?} beside ten worst searches"
    );
}

/// With STATEMENT_TIMEOUT at 20 ms and one connection in the pool, a search over 20,000 tasks
/// (a real statement, well over 20 ms on either backend) is stopped: 503, a body saying the
/// query took too long (GraphQL: QUERY_TIMEOUT). The single connection is back in the pool at
/// once: another user's list right after is answered, never refused for want of it.
async fn statement_over_budget_answers_503_and_frees_its_slot(backend: Backend) {
    let settings = [("--statement-timeout", "20ms"), ("--db-pool-size", "1")];
    let Some(seeded) = seeded(backend, 20_000, &settings).await else {
        return;
    };
    let app = &seeded.app;
    let noisy = app.user("noisy");
    let quiet = app.user("quiet");
    first_write(&quiet).await;

    let search = worst_searches()[1].clone();
    let started = Instant::now();
    let stopped = noisy
        .get(&noisy.tasks_path(&format!("?search={search}")))
        .await;
    assert_eq!(
        stopped.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        stopped.text
    );
    let detail = stopped.json()["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(detail.contains("took too long"), "{detail}");
    assert!(started.elapsed() < Duration::from_secs(5));

    let body = noisy
        .graphql(
            "query($s: String) { tasks(search: $s) { id } }",
            json!({ "s": search }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "QUERY_TIMEOUT",
        "{body}"
    );

    // The one connection is free at once: the quiet user's list is answered, never refused
    // for want of a connection (that would wait DB_TIMEOUT, 5 s, and say the database is
    // busy), and usable: the statement after the stopped one is not stopped with it. On a
    // loaded machine the list's own statements (the page and its count) may pass 20 ms now and
    // then, twice in a row in a CI run with the machine saturated: that answer is this budget's
    // 503, and the list is asked again. A connection the stop left broken (a transaction still
    // aborted, a cancel landing on the next statement) answers otherwise or every time; a
    // budget's 503 is only ever "took too long", and ten in a row would be no machine's load.
    let mut attempts = 0;
    let list = loop {
        let started = Instant::now();
        let list = quiet.get(&quiet.tasks_path("")).await;
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "the quiet user waited {:?}: {} {}",
            started.elapsed(),
            list.status,
            list.text
        );
        if list.status == StatusCode::OK {
            break list.json();
        }
        assert_eq!(
            list.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            list.text
        );
        assert!(list.text.contains("took too long"), "{}", list.text);
        attempts += 1;
        assert!(
            attempts < 10,
            "the next {attempts} lists were stopped too: {}",
            list.text
        );
    };
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    // And writes again: under the same 20 ms budget, which a loaded machine's write may pass
    // now and then (a 503 like the first writes'), never anything else.
    first_write(&quiet).await;
}

/// With a pool of 4 (a share of 1 per user) and DB_TIMEOUT at 250 ms, eight concurrent full
/// lists of 20,000 tasks by one user take turns: those that wait past DB_TIMEOUT answer 503
/// saying the user has too many requests on the database at once; none is a 500. Another
/// user's requests meanwhile answer every time within 3 s.
async fn one_user_holds_at_most_their_share(backend: Backend) {
    let settings = [
        ("--db-pool-size", "4"),
        ("--db-timeout", "250ms"),
        ("--statement-timeout", "60s"),
    ];
    let Some(seeded) = seeded(backend, 20_000, &settings).await else {
        return;
    };
    let app = &seeded.app;
    let noisy = app.user("noisy");
    let quiet = app.user("quiet");
    first_write(&quiet).await;
    // Four users at once open the pool's four connections, so that no request below waits
    // for a connection to be made (under load that alone can take longer than DB_TIMEOUT).
    // Which is why one of these may itself answer that the database is unavailable: asked
    // again (the connection it waited for is made anyway, and joins the pool).
    let users: Vec<_> = (0..4).map(|i| app.user(&format!("warm{i}"))).collect();
    let warm = users.iter().map(|user| async move {
        let mut attempts = 0;
        loop {
            let list = user.get(&user.tasks_path("")).await;
            if list.status == StatusCode::OK {
                break;
            }
            // A pool wait past DB_TIMEOUT (each of them has one request: never their share).
            list.detail(StatusCode::SERVICE_UNAVAILABLE, "Service unavailable");
            attempts += 1;
            assert!(
                attempts < 10,
                "still refused after {attempts} lists: {}",
                list.text
            );
        }
    });
    futures::future::join_all(warm).await;

    // Eight expensive reads at once, each one unit of work: a search over all 20,000 tasks
    // (a full list is streamed a page per unit, so it would not hold a connection long).
    let expensive = noisy.tasks_path(&format!("?limit=1&search={}", worst_searches()[0]));
    let lists = (0..8).map(|_| noisy.get(&expensive));
    let watch = async {
        let mut slowest = Duration::ZERO;
        for _ in 0..10 {
            let started = Instant::now();
            quiet.get(&quiet.tasks_path("")).await.good(StatusCode::OK);
            slowest = slowest.max(started.elapsed());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        slowest
    };
    let (answers, slowest) = tokio::join!(futures::future::join_all(lists), watch);
    let mut busy = 0;
    for answer in &answers {
        match answer.status {
            StatusCode::OK => {}
            StatusCode::SERVICE_UNAVAILABLE => {
                busy += 1;
                assert_eq!(
                    answer.json(),
                    json!({"detail": "Too many of your requests are using the database at \
                                      once (at most 1); try again shortly"})
                );
            }
            other => panic!("{other}: {}", answer.text),
        }
    }
    assert!(
        busy > 0,
        "no list waited for its turn: the share is not enforced"
    );
    assert!(
        slowest < Duration::from_secs(3),
        "another user waited {slowest:?}"
    );
}

/// A keyset cursor whose time is before year 1 (or after 9999) is a 422 / BAD_USER_INPUT on
/// both backends (it was a 500 on PostgreSQL: "timestamp out of range").
async fn forged_cursor_time_is_refused(app: TestApp) {
    let user = app.user("alice");
    user.create_task("milk").await;
    for micros in [
        -300_000_000_000_000_000_i64,
        -62_200_000_000_000_000,
        253_500_000_000_000_000,
    ] {
        let forged = URL_SAFE_NO_PAD.encode(format!("1|created|desc|1|{micros}"));
        let answer = user
            .get(&user.tasks_path(&format!("?limit=5&cursor={forged}")))
            .await;
        let detail = answer.validation();
        assert_eq!(
            detail[0]["loc"],
            json!(["query", "cursor"]),
            "{}",
            answer.text
        );
        let body = user
            .graphql(
                "query($a: String) { tasksConnection(first: 5, after: $a) { nodes { id } } }",
                json!({ "a": forged }),
            )
            .await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{body}"
        );
    }
}

/// A write refused for want of storage: 503 and a body that says so.
#[track_caller]
fn storage_refused(refused: &crate::common::TestResponse) {
    let body = refused.good(StatusCode::SERVICE_UNAVAILABLE);
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(detail.starts_with("Storage is unavailable"), "{detail}");
}

/// `/readyz` is 503 and names storage.
async fn not_ready_for_storage(app: &TestApp) {
    let ready = app.anonymous().get("/readyz").await;
    let body = ready.good(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["checks"]["storage"], "unavailable", "{body}");
}

/// Makes files immutable (`chattr +i`) until dropped. Tests run as root here, and root ignores
/// file modes, so `chmod` cannot make the database refuse writes; an immutable file refuses
/// them to everyone, through descriptors opened before too (EPERM), which is what a disk gone
/// read-only does to a running server. Dropping the guard (also when the test fails) undoes
/// it, so the temporary directory can be removed.
struct Immutable(Vec<std::path::PathBuf>);

impl Immutable {
    fn set(files: Vec<std::path::PathBuf>) -> Immutable {
        for file in &files {
            let status = std::process::Command::new("chattr")
                .arg("+i")
                .arg(file)
                .status()
                .expect("chattr runs (e2fsprogs)");
            assert!(status.success(), "chattr +i {} failed", file.display());
        }
        Immutable(files)
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        for file in &self.0 {
            let _ = std::process::Command::new("chattr")
                .arg("-i")
                .arg(file)
                .status();
        }
    }
}

/// SQLite whose files refuse writes (made immutable: see [`Immutable`]): a write answers 503
/// with a body saying storage is unavailable (GraphQL: STORAGE_UNAVAILABLE), reads still
/// work, and `/readyz` answers 503 naming storage. Once the files take writes again, `/readyz`
/// (whose probe writes) answers 200 and writes succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_storage_refusing_writes_answers_503_and_readyz_follows() {
    let Some(seeded) = seeded(Backend::Sqlite, 1, &[]).await else {
        return;
    };
    let app = &seeded.app;
    let user = app.user("alice");
    let task = user.create_task("milk").await;
    let path = std::path::PathBuf::from(seeded.url.trim_start_matches("sqlite://"));
    // The database and its write-ahead log, where writes go first. Not `-shm`: SQLite maps
    // it into memory, and a write to a mapped immutable file is a SIGBUS, not an error.
    let mut wal = path.clone().into_os_string();
    wal.push("-wal");
    let files = vec![path, std::path::PathBuf::from(wal)];
    let guard = Immutable::set(files);

    let refused = user
        .post(&user.tasks_path(""), json!({"title": "bread"}))
        .await;
    storage_refused(&refused);
    let body = user
        .graphql(
            "mutation { createTask(input: {title: \"eggs\"}) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "STORAGE_UNAVAILABLE",
        "{body}"
    );
    let id = task["id"].as_i64().expect("id");
    user.get(&user.tasks_path(&format!("/{id}")))
        .await
        .good(StatusCode::OK);
    not_ready_for_storage(app).await;

    drop(guard);
    let ready = app.anonymous().get("/readyz").await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.text);
    assert_eq!(ready.json()["checks"]["storage"], "ok");
    user.create_task("bread").await;
}

/// PostgreSQL gone read-only (as a hot standby after a failover, or with
/// `default_transaction_read_only`, here set on the database and made to apply by ending its
/// sessions): a write answers 503 saying storage is unavailable, `/readyz` answers 503 naming
/// storage, and once the database takes writes again `/readyz` is 200 and writes succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_read_only_answers_503_and_readyz_follows() {
    let Some(seeded) = seeded(Backend::Postgres, 1, &[]).await else {
        return;
    };
    let app = &seeded.app;
    let user = app.user("alice");
    user.create_task("milk").await;
    let path = seeded.url.split('?').next().expect("a URL");
    let name = path.rsplit('/').next().expect("database name").to_owned();
    let admin = pg::admin_client().await.expect("admin connection");
    let set_read_only = async |on: bool| {
        admin
            .batch_execute(&format!(
                "ALTER DATABASE {name} SET default_transaction_read_only = {on};
                 SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE datname = '{name}' AND pid <> pg_backend_pid();"
            ))
            .await
            .expect("alters the database");
    };
    set_read_only(true).await;

    // The first request after the sessions ended may meet a dead connection (a 503 too).
    let mut refused = user
        .post(&user.tasks_path(""), json!({"title": "bread"}))
        .await;
    for _ in 0..5 {
        if refused.text.contains("Storage is unavailable") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        refused = user
            .post(&user.tasks_path(""), json!({"title": "bread"}))
            .await;
    }
    storage_refused(&refused);
    not_ready_for_storage(app).await;

    set_read_only(false).await;
    let mut ready = app.anonymous().get("/readyz").await;
    for _ in 0..5 {
        if ready.status == StatusCode::OK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        ready = app.anonymous().get("/readyz").await;
    }
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.text);
    user.create_task("bread").await;
}

backend_cases!(
    worst_search_is_bounded_and_others_keep_their_latency,
    statement_over_budget_answers_503_and_frees_its_slot,
    one_user_holds_at_most_their_share,
);

backend_tests!(forged_cursor_time_is_refused);

/// Creates a task for `quiet`. The first writes on a fresh database compile and plan the write
/// functions (migrations 000050 and 000061, whose wrappers resolve a shared list's owner, and
/// the helpers the row-security policies call), which a 20 ms budget may stop on a loaded
/// machine: those first few may be refused (each leaves more of it compiled), then every one
/// succeeds.
async fn first_write(quiet: &UserClient<'_>) {
    let body = json!({"title": "milk"});
    let mut attempts = 0;
    loop {
        let write = quiet.post(&quiet.tasks_path(""), body.clone()).await;
        if write.status == StatusCode::CREATED {
            break;
        }
        assert_eq!(
            write.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            write.text
        );
        attempts += 1;
        assert!(
            attempts < 10,
            "still refused after {attempts} writes: {}",
            write.text
        );
    }
}
