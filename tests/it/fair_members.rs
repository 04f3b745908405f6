//! Members repeated per task (issue 40, item 1): `{ tasks { list { members { … } } } }` answered
//! a list's members once for every task, outside both the quadratic-document rule and the
//! response bound (10,000 tasks × 50 members with 255-character ids: 163.5 MB, the server from
//! 23 to 713 MB; 8 at once: 2.68 GB). Now the document is refused before anything is read, the
//! response bound counts members (and every row) once per parent they are answered under, and
//! the responses in flight share one server-wide budget (GRAPHQL_MAX_IN_FLIGHT_RESPONSE_BYTES):
//! past it a response waits briefly, then is answered 503 / SERVICE_UNAVAILABLE.
//!
//! Bounds tested: the refusal and its message; 40 lists × 51 members twice over the byte bound
//! (4 MiB) answer RESPONSE_TOO_LARGE; a non-reading client holding an ~8.5 MB answer makes the
//! next large one wait and get 503 until it goes; on the real binary, issue 40's case at a
//! quarter of its scale (2,500 tasks × 50 members with ids of 255 characters, rows written by
//! SQL, the response bounds a quarter of their defaults) grows resident memory by less than
//! [`ONE_REQUEST_KIB`] for one request and [`EIGHT_REQUESTS_KIB`] for eight at once, and it
//! comes back to within [`SETTLED_KIB`] of idle within 15 s (figures: docs/SECURITY.md).

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::common::other_writer::{Shared, numbers, run_sql, timestamp};
use crate::common::{Backend, token_for};
use crate::fair_graphql::{error_code, post, rest_list};
use crate::fair_memory::{peak_while, rss_kib, small_segments, start_binary};
use crate::lists::{create_list, id_of};

/// Tasks in the memory test's list: issue 40's 10,000 at a quarter of the scale, with the
/// response bounds a quarter of their defaults ([`QUARTER_BOUNDS`]), so that every document
/// lands on the same side of its bound as at full scale (see the test).
const TASKS: usize = 2_500;
/// GRAPHQL_MAX_RESPONSE_BYTES and GRAPHQL_MAX_IN_FLIGHT_RESPONSE_BYTES at a quarter of their
/// defaults (16 MiB and 64 MiB).
const QUARTER_BOUNDS: [(&str, &str); 2] = [
    ("GRAPHQL_MAX_RESPONSE_BYTES", "4MiB"),
    ("GRAPHQL_MAX_IN_FLIGHT_RESPONSE_BYTES", "16MiB"),
];
/// Members of each list, besides its owner (MAX_MEMBERS_PER_LIST's default).
const MEMBERS: usize = 50;
/// The document.
const MEMBERS_PER_TASK: &str = "{ tasks { list { members { userId role addedAt } } } }";
/// Growth of the binary's resident memory allowed for one request, and for eight at once: half
/// of what was allowed at issue 40's full scale (96 and 320 MiB; measured here at most ~8 MB
/// alone and ~41 MB eight at once, a quiet 2-core machine), still several times the old
/// failure's growth at this scale apart (~170 MB alone, ~670 MB eight at once).
const ONE_REQUEST_KIB: u64 = 48 * 1024;
const EIGHT_REQUESTS_KIB: u64 = 160 * 1024;
/// How close to idle resident memory comes back once the requests are answered: 64 MiB on
/// PostgreSQL; 96 MiB on SQLite, whose rows are read through glibc's malloc (SQLite's own
/// allocations) in as many threads as requests, where fragmentation keeps more of it: +42 MiB
/// alone on a quiet machine, +70 MiB once in the whole suite under load (then 64 failed).
const SETTLED_KIB: u64 = 64 * 1024;
const SETTLED_SQLITE_KIB: u64 = 96 * 1024;

/// A member id of 255 characters, the `i`th (1 to 89), as SQL.
fn member_id_sql(i: &str) -> String {
    format!("'{}-' || ({i} + 10)", "m".repeat(252))
}

/// The `i`th member's id (as [`member_id_sql`] writes it).
fn member_id(i: usize) -> String {
    format!("{}-{}", "m".repeat(252), i + 10)
}

/// What [`fill`] writes: tasks, the length of their descriptions, members of each list.
struct Rows {
    tasks: usize,
    described: usize,
    members: usize,
}

/// Adds tasks to the list `list` of `owner`, and viewers with 255-character ids to every list
/// of theirs, by SQL (as another program would, and fast: two statements).
async fn fill(backend: Backend, url: &str, owner: &str, list: i64, rows: Rows) {
    let Rows {
        tasks,
        described,
        members,
    } = rows;
    // Tasks first: each task of a shared list is journaled for every member (triggers), one
    // row at a time; a membership journals the list's tasks in one statement.
    let when = timestamp(backend);
    if tasks > 0 {
        let numbers = numbers(backend, tasks);
        run_sql(
            backend,
            url,
            &format!(
                "INSERT INTO tasks (user_id, title, description, list_id, completed, created_at, \
                 updated_at) SELECT '{owner}', 'task ' || n.i, '{description}', {list}, FALSE, \
                 {when}, {when} FROM {numbers};",
                description = "d".repeat(described)
            ),
        )
        .await;
    }
    let (members, member) = (numbers(backend, members), member_id_sql("n.i"));
    run_sql(
        backend,
        url,
        &format!(
            "INSERT INTO list_members (list_id, user_id, role, added_at) \
             SELECT l.id, {member}, 'viewer', {when} FROM task_lists l, {members} \
             WHERE l.user_id = '{owner}';"
        ),
    )
    .await;
}

/// What an answer was: OK (no error), the code of its one error (no data; SERVICE_UNAVAILABLE
/// only as a 503), or BUSY: fields that found the database busy (eight requests at once on a
/// shared two-core machine), answered SERVICE_UNAVAILABLE one by one.
fn outcome(status: u16, body: &Value) -> String {
    let Some(errors) = body["errors"].as_array() else {
        assert_eq!(status, 200, "{body}");
        return "OK".to_owned();
    };
    let code = |error: &Value| error["extensions"]["code"].as_str().map(str::to_owned);
    if !body["data"].is_null() {
        assert!(
            errors
                .iter()
                .all(|e| code(e).as_deref() == Some("SERVICE_UNAVAILABLE")),
            "{}",
            errors[0]
        );
        return "BUSY".to_owned();
    }
    let code = error_code(body);
    assert_eq!(
        status == 503,
        code == "SERVICE_UNAVAILABLE",
        "{status} {body}"
    );
    code
}

/// `lists { id members { … } }` under `count` aliases.
fn members_of_lists(count: usize) -> String {
    let one = "lists { id members { userId role addedAt } }";
    let aliases: Vec<String> = (0..count).map(|i| format!("l{i}: {one}")).collect();
    format!("{{ {} }}", aliases.join(" "))
}

/// `count` lists of alice's with `rows` (the tasks in the first).
async fn lists_with_members(shared: &Shared, count: usize, rows: Rows) -> i64 {
    let alice = shared.app.user("alice");
    let mut first = None;
    for i in 0..count {
        let list = id_of(&create_list(&alice, &format!("list {i:02}")).await);
        first.get_or_insert(list);
    }
    let first = first.expect("a list");
    fill(shared.app.backend, &shared.url, "alice", first, rows).await;
    first
}

/// Members under a task's list inside a list of tasks are refused before anything runs,
/// however the document spells it, with the message saying to read `lists { members }`; and
/// members read once count toward GRAPHQL_MAX_RESPONSE_BYTES, once per list they are answered
/// under (before, they were not counted at all).
async fn members_per_task_are_refused_and_members_count_toward_the_bound(backend: Backend) {
    let args = [
        ("--rate-limit", "0"),
        ("--graphql-max-response-bytes", "4MiB"),
        ("--graphql-max-complexity", "1000"),
    ];
    let Some(shared) = Shared::start_with(backend, &args).await else {
        return;
    };
    let rows = Rows {
        tasks: 500,
        described: 0,
        members: MEMBERS,
    };
    lists_with_members(&shared, 40, rows).await;
    let alice = shared.app.user("alice");
    for refused in [
        MEMBERS_PER_TASK,
        "{ a: tasks { l: list { m: members { userId } } } }",
        "query { tasks { ...T } } fragment T on Task { list { ...L } } \
         fragment L on List { members { userId } }",
        "{ tasksConnection(first: 100) { nodes { list { members { role } } } } }",
        "{ lists { tasks { list { members { userId } } } } }",
    ] {
        let body = alice.graphql(refused, json!({})).await;
        assert_eq!(
            error_code(&body),
            "GRAPHQL_VALIDATION_FAILED",
            "{refused}: {body}"
        );
        let error = &body["errors"][0];
        assert!(error.get("path").is_none(), "refused before it ran: {body}");
        let message = error["message"].as_str().expect("a message");
        assert!(
            message.contains("`members` under `list`")
                && message.contains("read `lists { id members { … } }` once"),
            "{message}"
        );
    }
    // Read once: every list's members, each id whole.
    let data = alice.graphql_data(&members_of_lists(1), json!({})).await;
    let lists = data["l0"].as_array().expect("lists");
    assert_eq!(lists.len(), 40);
    for list in lists {
        let members = list["members"].as_array().expect("members");
        assert_eq!(members.len(), MEMBERS + 1);
        assert_eq!(members[1]["userId"].as_str().expect("an id").len(), 255);
    }
    // 40 × 51 members, each ~0.3 KB of JSON and ~1 KB while resolved, are ~2.8 MB a copy:
    // two copies pass 4 MiB.
    let body = alice.graphql(&members_of_lists(2), json!({})).await;
    assert_eq!(error_code(&body), "RESPONSE_TOO_LARGE", "{body}");
    let message = body["errors"][0]["message"].as_str().expect("message");
    assert!(message.contains("GRAPHQL_MAX_RESPONSE_BYTES"), "{message}");
}

/// Sends `query` as `user` over a socket with a small receive buffer and small segments (so
/// that the server's writes block at once: `fair_memory::silent_get`), and never reads.
async fn silent_post(addr: &str, user: &str, query: &str) -> TcpStream {
    let addr: std::net::SocketAddr = addr.parse().expect("an address");
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    small_segments(&socket);
    let mut stream = socket.connect(addr).await.expect("connects");
    let body = json!({ "query": query }).to_string();
    let request = format!(
        "POST /graphql HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        token_for(user),
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("sent");
    stream
}

/// GRAPHQL_MAX_IN_FLIGHT_RESPONSE_BYTES, made small (3 MiB, one response's bound): while a
/// client that does not read holds an ~2.1 MB answer (2,000 tasks of 1,000-character
/// descriptions, ~2.75 MB charged), the next large one waits a second and is answered 503 with
/// one SERVICE_UNAVAILABLE error and no data; a small one still answers; once that client goes,
/// the large one answers again. Eight large ones at once from clients that read: each answers
/// 200 or 503, never anything else, and at least one answers.
///
/// The held answer must outgrow what the kernel takes from the server before a write blocks:
/// over loopback's 64 KiB segments that is up to a 4 MiB send buffer (this test once held an
/// 8.5 MB answer, 8,000 tasks, 10-20 s on 2 cores); the holder announces small segments
/// (`small_segments`), so the server's writes block at once and a quarter of that answer,
/// under a quarter of the budget, is held the same way.
async fn the_server_wide_budget_refuses_while_responses_hold_it(backend: Backend) {
    // The bound under test is bytes, not time: eight 2,000-task reads at once on a 2-core
    // machine running the rest of the suite (a debug build) can pass the default 5 s statement
    // budget, which would answer a 200 with QUERY_TIMEOUT instead of the data. The statement
    // budget has its own tests (`failure::`, `fair_database::`).
    let args = [
        ("--rate-limit", "0"),
        ("--graphql-max-response-bytes", "3MiB"),
        ("--graphql-max-in-flight-response-bytes", "3MiB"),
        ("--statement-timeout", "60s"),
    ];
    let Some(shared) = Shared::start_with(backend, &args).await else {
        return;
    };
    // Nine members (the journal keeps every task for each): eight at once and one to ask.
    let rows = Rows {
        tasks: 2000,
        described: 1000,
        members: 9,
    };
    lists_with_members(&shared, 40, rows).await;
    let base = shared.app.base.clone();
    let client = crate::common::http_client();
    let large = "{ tasks { id description } }".to_owned();
    let (status, body) = post(&client, &base, "alice", &large).await;
    assert_eq!(status, 200, "alone it answers: {body}");
    assert!(body["errors"].is_null(), "{body}");

    // Another member asks meanwhile (one user's requests share a few database places).
    let prober = member_id(9);
    let mut holder = silent_post(base.trim_start_matches("http://"), "alice", &large).await;
    // Its answer is under way (so it holds its bytes) before anyone else asks: otherwise the
    // prober's first answer could hold the budget first and the holder be the one refused.
    let mut head = [0u8; 64];
    let mut read = 0;
    while read < 12 {
        let n = tokio::time::timeout(Duration::from_secs(60), holder.read(&mut head[read..]))
            .await
            .expect("the held answer starts within a minute")
            .expect("reads");
        assert!(n > 0, "the holder's connection closed");
        read += n;
    }
    assert_eq!(&head[..12], b"HTTP/1.1 200", "the held answer is a 200");
    let mut refused = None;
    let deadline = Instant::now() + Duration::from_secs(60);
    while refused.is_none() && Instant::now() < deadline {
        let started = Instant::now();
        let (status, body) = post(&client, &base, &prober, &large).await;
        if status == 503 {
            refused = Some((started.elapsed(), body));
            break;
        }
        assert_eq!(status, 200, "{body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (waited, body) = refused.expect("a large answer refused while another is held");
    assert_eq!(error_code(&body), "SERVICE_UNAVAILABLE", "{body}");
    let message = body["errors"][0]["message"].as_str().expect("message");
    assert!(
        message.contains("GRAPHQL_MAX_IN_FLIGHT_RESPONSE_BYTES"),
        "{message}"
    );
    assert!(waited >= Duration::from_millis(900), "waited {waited:?}");
    let (status, body) = post(&client, &base, &prober, "{ lists { id name } }").await;
    assert_eq!(status, 200, "a small answer fits: {body}");
    assert_eq!(body["data"]["lists"].as_array().expect("lists").len(), 40);

    drop(holder);
    let mut answered = false;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !answered && Instant::now() < deadline {
        let (status, body) = post(&client, &base, &prober, &large).await;
        if status == 200 {
            assert!(body["errors"].is_null(), "{body}");
            answered = true;
            break;
        }
        assert_eq!(status, 503, "{body}");
    }
    assert!(answered, "the held bytes came back once the client went");

    // Eight members of the lists at once (one user's requests share a few database places).
    let requests: Vec<_> = (1..=8)
        .map(|i| {
            let (client, base, large) = (client.clone(), base.clone(), large.clone());
            tokio::spawn(async move { post(&client, &base, &member_id(i), &large).await })
        })
        .collect();
    let mut ok = 0;
    for request in requests {
        let (status, body) = request.await.expect("joined");
        match status {
            200 => {
                assert!(body["errors"].is_null(), "{}", body["errors"]);
                ok += 1;
            }
            503 => assert_eq!(error_code(&body), "SERVICE_UNAVAILABLE", "{body}"),
            other => panic!("{other}: {body}"),
        }
    }
    assert!(ok >= 1, "at least one of eight answered");
}

/// The real binary, [`TASKS`] tasks in a list of 50 members with 255-character ids: the
/// issue's document, alone and eight at once, is refused; every task (fast path) and the
/// list's members answer; every task with its list (~2.9 KB each while resolved) and that
/// three times pass the bound; alone and eight at once, resident memory grows by a bounded
/// amount and comes back near idle.
///
/// Issue 40's case is 10,000 tasks under the default bounds (the server once grew by 690 MB
/// alone and to 2.68 GB eight at once). Run at that size it was a quarter of the whole suite's
/// CPU (47 of ~220 core-seconds for both backends, debug build). A quarter of the tasks under
/// a quarter of the bounds keeps every document on the same side of its bound (the fast path's
/// ~410 bytes a task fit, ~2.9 KB a task with its list do not) and keeps the old failure far
/// outside [`ONE_REQUEST_KIB`] and [`EIGHT_REQUESTS_KIB`] (growth scales with the answer: a
/// quarter of 690 MB alone is ~170 MB, of 2.68 GB eight at once ~670 MB).
async fn members_per_task_at_scale_hold_bounded_memory(backend: Backend) {
    // Memory is the bound under test, not time: under the whole suite on 2 cores (a debug
    // build) eight large answers at once can pass the default 30 s request and 5 s
    // statement budgets (408 / QUERY_TIMEOUT), which have their own tests.
    let limits = [
        ("RATE_LIMIT", "0"),
        ("REQUEST_TIMEOUT", "120s"),
        ("STATEMENT_TIMEOUT", "60s"),
        QUARTER_BOUNDS[0],
        QUARTER_BOUNDS[1],
    ];
    let Some((server, database)) = start_binary(backend, &limits).await else {
        return;
    };
    let base = server.base();
    let client = crate::common::http_client();
    let list = rest_list(&client, &base, "alice", "everyone").await;
    let url = match &database {
        Some(database) => database.url.clone(),
        None => format!("sqlite://{}", server.dir().join("todo.db").display()),
    };
    let started = Instant::now();
    let rows = Rows {
        tasks: TASKS,
        described: 0,
        members: MEMBERS,
    };
    fill(backend, &url, "alice", list, rows).await;
    eprintln!("rows written by SQL in {:?}", started.elapsed());
    let (status, body) = post(&client, &base, "alice", "{ tasks { id } }").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["tasks"].as_array().expect("tasks").len(),
        TASKS
    );
    let (_, body) = post(&client, &base, "alice", &members_of_lists(1)).await;
    assert_eq!(
        body["data"]["l0"][0]["members"]
            .as_array()
            .expect("members")
            .len(),
        51
    );

    let pid = server.pid();
    let idle = rss_kib(pid);
    let with_list = "{ tasks { id title list { id name ownerId } } }";
    let thrice = "{ a: tasks { id list { id name } } b: tasks { id list { id name } } \
                  c: tasks { id list { id name } } }";
    let (mut report, mut one, mut many) = (Vec::new(), Vec::new(), Vec::new());
    for (document, expected) in [
        (MEMBERS_PER_TASK, "GRAPHQL_VALIDATION_FAILED"),
        ("{ tasks { id title } }", "OK"),
        (&members_of_lists(1), "OK"),
        (with_list, "RESPONSE_TOO_LARGE"),
        (thrice, "RESPONSE_TOO_LARGE"),
    ] {
        let before = rss_kib(pid);
        let (peak, (status, body)) = peak_while(pid, post(&client, &base, "alice", document)).await;
        let code = outcome(status, &body);
        assert_eq!(code, expected, "{document}: {status}");
        let growth = peak.saturating_sub(before);
        report.push(format!("one {document}: +{growth} KiB ({code})"));
        one.push(growth);

        let before = rss_kib(pid);
        // Eight members at once (one user's requests share a few database places).
        let members: Vec<String> = (1..=8).map(member_id).collect();
        let eight = futures::future::join_all(
            members
                .iter()
                .map(|member| post(&client, &base, member, document)),
        );
        let (peak, answers) = peak_while(pid, eight).await;
        let mut codes = Vec::new();
        for (status, body) in answers {
            let code = outcome(status, &body);
            assert!(
                code == expected || code == "SERVICE_UNAVAILABLE" || code == "BUSY",
                "{document}: {status} {code} {}",
                body["errors"][0]
            );
            codes.push(code);
        }
        let growth = peak.saturating_sub(before);
        report.push(format!("eight {document}: +{growth} KiB ({codes:?})"));
        many.push(growth);
    }
    // Back near idle: jemalloc's background thread returns what is unused (`main`).
    let settled_within = match backend {
        Backend::Sqlite => SETTLED_SQLITE_KIB,
        Backend::Postgres => SETTLED_KIB,
    };
    let mut settled = rss_kib(pid);
    for _ in 0..75 {
        if settled < idle + settled_within {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        settled = rss_kib(pid);
    }
    report.push(format!("idle {idle} KiB before, {settled} KiB after"));
    eprintln!("{backend:?}: {}", report.join("; "));
    assert!(
        one.iter().all(|growth| *growth < ONE_REQUEST_KIB),
        "{report:?}"
    );
    assert!(
        many.iter().all(|growth| *growth < EIGHT_REQUESTS_KIB),
        "{report:?}"
    );
    assert!(
        settled < idle + settled_within,
        "resident memory stayed at {settled} KiB (idle {idle} KiB)"
    );
    drop(server);
    drop(database);
}

backend_cases!(
    members_per_task_are_refused_and_members_count_toward_the_bound,
    the_server_wide_budget_refuses_while_responses_hold_it,
    members_per_task_at_scale_hold_bounded_memory,
);
