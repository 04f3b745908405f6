//! Better Auth's real tokens, end to end over HTTP, on SQLite and PostgreSQL: JWTs signed with
//! keys from a JWKS served by a fake Better Auth on 127.0.0.1 (EdDSA, ES256, RS256, PS256), key
//! rotation, every forged or broken token the issue lists, the JWKS being down, and opaque
//! session tokens looked up in the shared database or through `get-session`.

use std::time::{Duration, Instant};

use crate::common::jwks::{
    FakeBetterAuth, TestKey, better_auth_claims, free_address, sign_hs256, unsigned,
};
use crate::common::{Backend, SECRET, TestApp, TestResponse};
use chrono::Utc;
use diesel_async::RunQueryDsl;
use jsonwebtoken::Algorithm;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use todo_api::auth::{SecretKey, mint_token, sign_session_token};
use todo_api::db::{DatabaseTarget, Db, PoolOptions};

/// Runs each `async fn(Backend)` on SQLite and on PostgreSQL. These tests build their own
/// server (it must know the fake Better Auth's address first), so they take the backend, not
/// a ready `TestApp`; on PostgreSQL they return early when it is unreachable outside CI.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::Postgres).await;
                }
            )*
        }
    };
}

on_both_backends!(
    better_auth_tokens_are_accepted_on_rest_and_graphql,
    keys_without_alg_and_the_ed25519_name_are_accepted,
    issuer_and_audience_compare_as_origins,
    a_new_key_is_accepted_without_restart,
    a_removed_key_stops_verifying_after_a_refresh,
    forged_and_broken_tokens_are_401,
    unknown_kids_refetch_at_most_once_per_cooldown,
    failed_refreshes_keep_the_last_good_keys,
    jwks_down_at_start_answers_503_then_recovers,
    a_hanging_jwks_server_cannot_hang_requests,
    https_works_and_checks_the_certificate,
    session_tokens_from_the_shared_database,
    session_tokens_through_get_session,
    session_tokens_are_off_by_default,
    session_tokens_with_junk_signatures_are_401_and_never_sent,
    a_cached_session_ends_at_its_expiry,
    redirects_are_not_followed,
    issuer_and_audience_compare_urls_by_origin_and_the_rest_exactly,
    hs_tokens_must_name_their_subject,
    a_revoked_session_ends_its_sockets,
    a_revoked_session_ends_its_sse_streams,
);

/// A server whose Better Auth is `fake`, with a short refetch cooldown so tests stay quick.
async fn app_for(
    backend: Backend,
    better_auth_url: &str,
    extra: &[(&str, &str)],
) -> Option<TestApp> {
    let mut builder = TestApp::builder(backend).arg("--better-auth-url", better_auth_url);
    if !extra
        .iter()
        .any(|(flag, _)| *flag == "--jwks-refetch-cooldown")
    {
        builder = builder.arg("--jwks-refetch-cooldown", "100ms");
    }
    for (flag, value) in extra {
        builder = builder.arg(flag, value);
    }
    builder.start().await
}

/// A server for `better_auth_url` that also accepts session tokens, asking its get-session.
async fn http_session_app(
    backend: Backend,
    better_auth_url: &str,
    extra: &[(&str, &str)],
) -> Option<TestApp> {
    let mut settings = vec![
        ("--auth-session-tokens", "on"),
        ("--auth-session-source", "http"),
    ];
    settings.extend_from_slice(extra);
    app_for(backend, better_auth_url, &settings).await
}

/// The token is accepted on REST and GraphQL as `user`.
async fn assert_accepted(app: &TestApp, token: &str, user: &str) {
    let client = app.with_token(user, token);
    client
        .get(&client.tasks_path(""))
        .await
        .good(StatusCode::OK);
    let data = client.graphql_data("{ viewer { id } }", json!({})).await;
    assert_eq!(data["viewer"]["id"], user);
}

/// The token is a 401 on REST, with the reason in `WWW-Authenticate` (never the token), and
/// UNAUTHENTICATED on GraphQL.
async fn assert_rejected(app: &TestApp, token: &str, reason: &str, case: &str) {
    let client = app.with_token("alice", token);
    let response = client.get(&client.tasks_path("")).await;
    assert_eq!(
        response.status,
        StatusCode::UNAUTHORIZED,
        "{case}: {}",
        response.text
    );
    let detail = response.json()["detail"].clone();
    assert!(
        detail == "Invalid token" || detail == "Token has expired",
        "{case}: FastAPI's detail, got {detail}"
    );
    let challenge = response.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.starts_with("Bearer error=\"invalid_token\""),
        "{case}: {challenge}"
    );
    assert!(
        challenge.contains(reason),
        "{case}: expected {reason:?} in {challenge}"
    );
    if token.len() > 20 {
        assert!(
            !challenge.contains(token),
            "{case}: the token leaked into the header"
        );
    }
    let body = client.graphql("{ viewer { id } }", json!({})).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{case}: {body}"
    );
}

/// Sends `token` until it gets `want` (the server changes its mind after a refresh, a cache
/// lapse or a recovery), failing after ten seconds.
async fn wait_for_status(app: &TestApp, token: &str, want: StatusCode, what: &str) {
    let client = app.with_token("alice", token);
    let deadline = Instant::now() + Duration::from_secs(10);
    while client.get(&client.tasks_path("")).await.status != want {
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The answer when keys cannot be fetched: a clear 503, quickly.
fn assert_unavailable(response: &TestResponse) {
    response.detail(StatusCode::SERVICE_UNAVAILABLE, "Service unavailable");
}

async fn better_auth_tokens_are_accepted_on_rest_and_graphql(backend: Backend) {
    let fake = FakeBetterAuth::start().await;
    let keys = [
        TestKey::ed25519("ed-1"),
        TestKey::es256("es-1"),
        TestKey::rs256("rs-1"),
        TestKey::ps256("ps-1"),
    ];
    fake.publish(&keys.iter().collect::<Vec<_>>());
    let Some(app) = app_for(backend, &fake.url, &[]).await else {
        return;
    };
    for key in &keys {
        let user = format!("user-{}", key.kid);
        let token = key.sign(&better_auth_claims(&fake.url, &user));
        assert_accepted(&app, &token, &user).await;
        // The user's tasks are theirs: a task made with this token is listed under their id.
        let client = app.with_token(&user, &token);
        let task = client.create_task("from Better Auth").await;
        assert_eq!(task["user_id"], user.as_str());
    }
}

async fn keys_without_alg_and_the_ed25519_name_are_accepted(backend: Backend) {
    let fake = FakeBetterAuth::start().await;
    let bare = TestKey::ed25519("no-alg");
    let renamed = TestKey::ed25519("new-name");
    let ec_bare = TestKey::es256("ec-no-alg");
    fake.publish_jwks(vec![
        bare.jwk_with_alg(None),
        renamed.jwk_with_alg(Some("Ed25519")),
        ec_bare.jwk_with_alg(None),
    ]);
    let Some(app) = app_for(backend, &fake.url, &[]).await else {
        return;
    };
    for key in [&bare, &renamed, &ec_bare] {
        assert_accepted(&app, &fake.token(key, "alice"), "alice").await;
    }
    // RFC 9864's fully specified name may also appear in the token header.
    let token = renamed.sign_with_header(
        &json!({"alg": "Ed25519", "kid": "new-name"}),
        &better_auth_claims(&fake.url, "alice"),
    );
    assert_accepted(&app, &token, "alice").await;
}

async fn issuer_and_audience_compare_as_origins(backend: Backend) {
    let fake = FakeBetterAuth::start().await;
    let key = TestKey::ed25519("k");
    fake.publish(&[&key]);
    // BETTER_AUTH_URL given with a trailing slash; the token's iss and aud without, and an
    // audience list naming us among others.
    let Some(app) = app_for(backend, &format!("{}/", fake.url), &[]).await else {
        return;
    };
    let mut claims = better_auth_claims(&fake.url, "alice");
    claims["iss"] = json!(format!("{}/", fake.url));
    claims["aud"] = json!(["https://other.example.com", fake.url]);
    assert_accepted(&app, &key.sign(&claims), "alice").await;
    // `sub` missing: the user object's `id` names the user.
    let mut claims = better_auth_claims(&fake.url, "bob");
    claims.as_object_mut().unwrap().remove("sub");
    assert_accepted(&app, &key.sign(&claims), "bob").await;
}

async fn a_new_key_is_accepted_without_restart(backend: Backend) {
    let fake = FakeBetterAuth::start().await;
    let old = TestKey::ed25519("2026-11-old");
    let new = TestKey::ed25519("2026-11-new");
    fake.publish(&[&old]);
    let Some(app) = app_for(backend, &fake.url, &[]).await else {
        return;
    };
    assert_accepted(&app, &fake.token(&old, "alice"), "alice").await;
    // Better Auth rotates: the new key signs, the old one stays listed for a while.
    fake.publish(&[&old, &new]);
    tokio::time::sleep(Duration::from_millis(150)).await; // past the refetch cooldown
    assert_accepted(&app, &fake.token(&new, "alice"), "alice").await;
    assert_accepted(&app, &fake.token(&old, "alice"), "alice").await;
}

async fn a_removed_key_stops_verifying_after_a_refresh(backend: Backend) {
    let fake = FakeBetterAuth::start().await;
    let old = TestKey::es256("old");
    let new = TestKey::es256("new");
    fake.publish(&[&old, &new]);
    let Some(app) = app_for(backend, &fake.url, &[("--jwks-refresh-interval", "200ms")]).await
    else {
        return;
    };
    let old_token = fake.token(&old, "alice");
    assert_accepted(&app, &old_token, "alice").await;
    fake.publish(&[&new]);
    let removed = "the removed key still verifies";
    wait_for_status(&app, &old_token, StatusCode::UNAUTHORIZED, removed).await;
    assert_rejected(&app, &old_token, "unknown signing key", "removed key").await;
    assert_accepted(&app, &fake.token(&new, "alice"), "alice").await;
}

async fn forged_and_broken_tokens_are_401(backend: Backend) {
    let fake = FakeBetterAuth::start().await;
    let key = TestKey::ed25519("good");
    let rsa = TestKey::rs256("rsa");
    fake.publish(&[&key, &rsa]);
    let Some(app) = app_for(backend, &fake.url, &[]).await else {
        return;
    };
    let claims = better_auth_claims(&fake.url, "alice");
    let good = key.sign(&claims);
    assert_accepted(&app, &good, "alice").await;
    let parts: Vec<&str> = good.split('.').collect();
    let header = json!({"alg": "EdDSA", "kid": "good"});
    let with = |change: &dyn Fn(&mut Value)| {
        let mut changed = claims.clone();
        change(&mut changed);
        changed
    };
    let mallory_payload = {
        let altered = with(&|c| {
            c["sub"] = json!("mallory");
            c["id"] = json!("mallory");
        });
        crate::common::jwks::unsigned(&header, &altered, "x")
            .split('.')
            .nth(1)
            .unwrap()
            .to_owned()
    };
    let jwk_text = key.jwk().to_string();

    let cases: Vec<(&str, String, &str)> = vec![
        (
            "alg none",
            unsigned(&json!({"alg": "none", "kid": "good"}), &claims, ""),
            "alg none",
        ),
        (
            "alg None, signed part kept",
            unsigned(&json!({"alg": "None"}), &claims, parts[2]),
            "alg none",
        ),
        (
            "HS256 signed with the public key's bytes",
            sign_hs256(
                key.public_bytes(),
                &json!({"alg": "HS256", "kid": "good"}),
                &claims,
            ),
            "bad signature",
        ),
        (
            "HS256 signed with the published JWK",
            sign_hs256(
                jwk_text.as_bytes(),
                &json!({"alg": "HS256", "kid": "good"}),
                &claims,
            ),
            "bad signature",
        ),
        (
            "HS256 signed with the RSA modulus",
            sign_hs256(
                rsa.public_bytes(),
                &json!({"alg": "HS256", "kid": "rsa"}),
                &claims,
            ),
            "bad signature",
        ),
        (
            "RS256 header on the Ed25519 kid",
            rsa.sign_with_header(&json!({"alg": "RS256", "kid": "good"}), &claims),
            "unknown signing key",
        ),
        (
            "unknown kid",
            TestKey::ed25519("nobody-knows").sign(&claims),
            "unknown signing key",
        ),
        (
            "kid with a path",
            key.sign_with_header(
                &json!({"alg": "EdDSA", "kid": "../../../../etc/passwd"}),
                &claims,
            ),
            "unknown signing key",
        ),
        (
            "kid with SQL",
            key.sign_with_header(
                &json!({"alg": "EdDSA", "kid": "' OR '1'='1'; DROP TABLE session; --"}),
                &claims,
            ),
            "unknown signing key",
        ),
        (
            "kid with control characters and a URL",
            key.sign_with_header(
                &json!({"alg": "EdDSA", "kid": "\u{0}\r\nhttp://127.0.0.1:1/jwks?x=%00"}),
                &claims,
            ),
            "unknown signing key",
        ),
        (
            "kid that is not a string",
            key.sign_with_header(&json!({"alg": "EdDSA", "kid": {"$ne": null}}), &claims),
            "malformed token",
        ),
        (
            "expired",
            key.sign(&with(&|c| c["exp"] = json!(Utc::now().timestamp() - 3600))),
            "token has expired",
        ),
        (
            "no exp",
            key.sign(&with(&|c| drop(c.as_object_mut().unwrap().remove("exp")))),
            "exp",
        ),
        (
            "wrong iss",
            key.sign(&with(&|c| c["iss"] = json!("https://evil.example.com"))),
            "wrong issuer",
        ),
        (
            "wrong aud",
            key.sign(&with(&|c| c["aud"] = json!("https://evil.example.com"))),
            "wrong audience",
        ),
        (
            "no sub",
            key.sign(&with(&|c| {
                let object = c.as_object_mut().unwrap();
                object.remove("sub");
                object.remove("id");
            })),
            "no subject",
        ),
        (
            "signature stripped",
            format!("{}.{}.", parts[0], parts[1]),
            "bad signature",
        ),
        (
            "signature and its dot stripped",
            format!("{}.{}", parts[0], parts[1]),
            "malformed token",
        ),
        (
            "payload altered",
            format!("{}.{mallory_payload}.{}", parts[0], parts[2]),
            "bad signature",
        ),
        (
            "signed by another key under the same kid",
            TestKey::ed25519("good").sign(&claims),
            "bad signature",
        ),
        (
            "ES512 (unsupported)",
            key.sign_with_header(&json!({"alg": "ES512", "kid": "good"}), &claims),
            "ES512 is not supported",
        ),
        ("not a JWT at all", "hello".to_owned(), "malformed token"),
        (
            "a header that is not base64",
            format!("!!.{}.{}", parts[1], parts[2]),
            "malformed token",
        ),
    ];
    for (case, token, reason) in &cases {
        assert_rejected(&app, token, reason, case).await;
    }
    // None of it broke anything: the good token still works.
    assert_accepted(&app, &good, "alice").await;
}

async fn unknown_kids_refetch_at_most_once_per_cooldown(backend: Backend) {
    let fake = FakeBetterAuth::start().await;
    let key = TestKey::ed25519("good");
    fake.publish(&[&key]);
    let Some(app) = app_for(backend, &fake.url, &[("--jwks-refetch-cooldown", "1h")]).await else {
        return;
    };
    let before = fake.jwks_fetches();
    assert_eq!(before, 1, "fetched once at start");
    let claims = better_auth_claims(&fake.url, "alice");
    let flood = (0..25).map(|i| {
        let token = TestKey::ed25519(&format!("made-up-{i}")).sign(&claims);
        let app = &app;
        async move {
            let client = app.with_token("alice", &token);
            client.get(&client.tasks_path("")).await.status
        }
    });
    for status in futures::future::join_all(flood).await {
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        fake.jwks_fetches(),
        before,
        "start-up's fetch is within the cooldown: no refetch"
    );
    assert_accepted(&app, &key.sign(&claims), "alice").await;
}

async fn failed_refreshes_keep_the_last_good_keys(backend: Backend) {
    let fake = FakeBetterAuth::start().await;
    let key = TestKey::ps256("k");
    fake.publish(&[&key]);
    let Some(app) = app_for(backend, &fake.url, &[("--jwks-refresh-interval", "100ms")]).await
    else {
        return;
    };
    let token = fake.token(&key, "alice");
    assert_accepted(&app, &token, "alice").await;
    // A 500, then answers that list no key we can use: none replaces the keys in use.
    let oct = json!({"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"});
    for failure in ["an error", "no keys", "only unusable keys"] {
        match failure {
            "an error" => fake.set_failing(true),
            "no keys" => {
                fake.set_failing(false);
                fake.publish_jwks(vec![]);
            }
            _ => fake.publish_jwks(vec![oct.clone()]),
        }
        let failures_from = fake.jwks_fetches();
        // Until a third fetch (every 100 ms) has come: the refresh loop fetches again only
        // once it has dealt with the answer before, so two failing answers have been taken
        // in (this waited a fixed 800 ms).
        let deadline = Instant::now() + Duration::from_secs(10);
        while fake.jwks_fetches() <= failures_from + 2 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(
            fake.jwks_fetches() > failures_from + 1,
            "{failure}: the refresh kept trying"
        );
        assert_accepted(&app, &token, "alice").await;
    }
    let ready = app.raw(Method::GET, "/readyz", &[], None).await;
    assert_eq!(ready.json()["checks"]["jwks"], "ok", "{}", ready.text);
}

async fn jwks_down_at_start_answers_503_then_recovers(backend: Backend) {
    let address = free_address().await;
    let url = format!("http://{address}");
    let Some(app) = app_for(backend, &url, &[]).await else {
        return;
    };
    let key = TestKey::ed25519("k");
    let token = key.sign(&better_auth_claims(&url, "alice"));
    let client = app.with_token("alice", &token);
    let started = Instant::now();
    assert_unavailable(&client.get(&client.tasks_path("")).await);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answered in {:?}",
        started.elapsed()
    );
    let body = client.graphql("{ viewer { id } }", json!({})).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE",
        "{body}"
    );
    let ready = app.raw(Method::GET, "/readyz", &[], None).await;
    assert_eq!(
        ready.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        ready.text
    );
    assert_eq!(ready.json()["checks"]["jwks"], "not_loaded");
    // An HS256 token with the shared secret needs no JWKS and keeps working meanwhile.
    let secret = SecretKey::new(SECRET.as_bytes());
    let hs256 = mint_token(
        &secret,
        Algorithm::HS256,
        "bob",
        Duration::from_secs(600),
        Some(&url),
        Some(&url),
    );
    assert_accepted(&app, &hs256.unwrap(), "bob").await;

    let fake = FakeBetterAuth::start_on(address).await;
    fake.publish(&[&key]);
    let down = "never recovered after the JWKS came up";
    wait_for_status(&app, &token, StatusCode::OK, down).await;
    assert_accepted(&app, &token, "alice").await;
    let ready = app.raw(Method::GET, "/readyz", &[], None).await;
    assert_eq!(ready.json()["checks"]["jwks"], "ok", "{}", ready.text);
}

async fn a_hanging_jwks_server_cannot_hang_requests(backend: Backend) {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let black_hole = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    // Every fetch is waited out: the shorter the timeout, the shorter the test (a request
    // that waited for the black hole itself would still take past the 3 s below).
    let Some(app) = app_for(backend, &url, &[("--jwks-fetch-timeout", "200ms")]).await else {
        return;
    };
    let token = TestKey::ed25519("k").sign(&better_auth_claims(&url, "alice"));
    let client = app.with_token("alice", &token);
    for _ in 0..3 {
        let started = Instant::now();
        assert_unavailable(&client.get(&client.tasks_path("")).await);
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "answered in {:?}",
            started.elapsed()
        );
    }
    black_hole.abort();
}

async fn https_works_and_checks_the_certificate(backend: Backend) {
    let (fake, ca_pem) = FakeBetterAuth::start_https().await;
    let key = TestKey::ed25519("k");
    fake.publish(&[&key]);
    let ca_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(ca_file.path(), ca_pem).unwrap();
    let ca_path = ca_file.path().to_str().unwrap();
    let token = fake.token(&key, "alice");

    let Some(trusting) = app_for(backend, &fake.url, &[("--better-auth-ca-file", ca_path)]).await
    else {
        return;
    };
    assert_accepted(&trusting, &token, "alice").await;

    // Without the private CA the certificate is refused: the keys cannot be fetched.
    let Some(strict) = app_for(backend, &fake.url, &[]).await else {
        return;
    };
    let client = strict.with_token("alice", &token);
    assert_unavailable(&client.get(&client.tasks_path("")).await);
}

/// A random Better Auth session token id (32 alphanumerics).
fn session_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn signed(id: &str) -> String {
    sign_session_token(&SecretKey::new(SECRET.as_bytes()), id)
}

/// A database that Better Auth shares: its `session` table as its migrations create it.
struct SharedDatabase {
    url: String,
    db: Db,
    _sqlite: Option<tempfile::TempDir>,
    _postgres: Option<crate::common::pg::TempDatabase>,
}

impl SharedDatabase {
    async fn create(backend: Backend) -> Option<SharedDatabase> {
        let (url, sqlite, postgres) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                (
                    format!("sqlite://{}", dir.path().join("shared.db").display()),
                    Some(dir),
                    None,
                )
            }
            Backend::Postgres => {
                let db = crate::common::pg::TempDatabase::migrated().await?;
                (db.url.clone(), None, Some(db))
            }
        };
        let target = DatabaseTarget::parse(&url).unwrap();
        let options = PoolOptions {
            max_size: 2,
            acquire_timeout: Duration::from_secs(10),
            statement_timeout: Duration::from_secs(10),
            connections_per_user: 0,
            row_security: true,
            read_connections: 2,
        };
        let db = Db::connect(&target, &options).await.unwrap();
        // Better Auth's Kysely migrations: `timestamptz` on PostgreSQL; on SQLite a `date`
        // column holding ISO-8601 text.
        let date = if backend == Backend::Postgres {
            "timestamptz"
        } else {
            "date"
        };
        let shared = SharedDatabase {
            url,
            db,
            _sqlite: sqlite,
            _postgres: postgres,
        };
        shared
            .run_sql(&format!(
                r#"CREATE TABLE "session" ("id" text NOT NULL PRIMARY KEY, "expiresAt" {date} NOT NULL,
                   "token" text NOT NULL UNIQUE, "createdAt" {date} NOT NULL, "updatedAt" {date} NOT NULL,
                   "ipAddress" text, "userAgent" text, "userId" text NOT NULL)"#
            ))
            .await;
        Some(shared)
    }

    async fn run_sql(&self, sql: &str) {
        let mut conn = self.db.conn().await.unwrap();
        todo_api::db_run!(&mut conn, |c| diesel::sql_query(sql).execute(c).await).unwrap();
    }

    /// A session as Better Auth writes it; `expires` as stored (ISO text, or epoch millis).
    async fn add_session(&self, id: &str, user: &str, expires: &str) {
        let now = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        self.run_sql(&format!(
            r#"INSERT INTO "session" ("id", "expiresAt", "token", "createdAt", "updatedAt", "userId")
               VALUES ('s-{id}', {expires}, '{id}', '{now}', '{now}', '{user}')"#
        ))
        .await;
    }
}

fn iso_in(seconds: i64) -> String {
    let at = Utc::now() + chrono::Duration::seconds(seconds);
    format!(
        "'{}'",
        at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    )
}

async fn session_tokens_from_the_shared_database(backend: Backend) {
    let Some(shared) = SharedDatabase::create(backend).await else {
        return;
    };
    let fake = FakeBetterAuth::start().await;
    let key = TestKey::ed25519("k");
    fake.publish(&[&key]);
    let Some(app) = TestApp::builder(backend)
        .database_url(&shared.url)
        .arg("--better-auth-url", &fake.url)
        .arg("--auth-session-tokens", "on")
        .start()
        .await
    else {
        return;
    };
    let (valid, expired, revoked, unknown) =
        (session_id(), session_id(), session_id(), session_id());
    shared.add_session(&valid, "alice", &iso_in(3600)).await;
    shared.add_session(&expired, "alice", &iso_in(-60)).await;
    shared.add_session(&revoked, "bob", &iso_in(3600)).await;

    assert_accepted(&app, &signed(&valid), "alice").await;
    // As copied from a cookie or the set-auth-token header: URL-encoded.
    assert_accepted(&app, &signed(&valid).replace('=', "%3D"), "alice").await;
    assert_rejected(
        &app,
        &signed(&expired),
        "token has expired",
        "expired session",
    )
    .await;
    assert_rejected(
        &app,
        &signed(&unknown),
        "unknown or revoked session",
        "unknown session",
    )
    .await;
    assert_accepted(&app, &signed(&revoked), "bob").await;
    shared
        .run_sql(&format!(
            r#"DELETE FROM "session" WHERE "token" = '{revoked}'"#
        ))
        .await;
    assert_rejected(
        &app,
        &signed(&revoked),
        "unknown or revoked session",
        "signed out",
    )
    .await;

    let good = signed(&valid);
    let (id, signature) = good.split_once('.').unwrap();
    let flipped = if signature.starts_with('A') { "B" } else { "A" };
    let tampered_signature = format!("{id}.{flipped}{}", &signature[1..]);
    let other_id = format!("{}.{signature}", session_id());
    let unsigned_id = format!("{id}.");
    for (case, token) in [
        ("signature altered", tampered_signature.as_str()),
        (
            "token id swapped under a valid signature",
            other_id.as_str(),
        ),
        ("signature missing", unsigned_id.as_str()),
    ] {
        let reason = if case == "signature missing" {
            "malformed"
        } else {
            "bad session token signature"
        };
        assert_rejected(&app, token, reason, case).await;
    }
    let junk = format!("{}.{signature}", "x' OR '1'='1");
    assert_rejected(&app, &junk, "malformed", "SQL in the token").await;
    for junk in ["abcdef.%0A", "abcdef.%00x", "abcdef.%7F"] {
        assert_rejected(&app, junk, "malformed", junk).await;
    }

    if backend == Backend::Sqlite {
        // Some adapters (Prisma, Drizzle's timestamp_ms) store SQLite dates as epoch millis.
        let millis = session_id();
        let at = (Utc::now() + chrono::Duration::hours(1)).timestamp_millis();
        shared.add_session(&millis, "carol", &at.to_string()).await;
        assert_accepted(&app, &signed(&millis), "carol").await;
    }
    // JWTs keep working beside session tokens.
    assert_accepted(&app, &fake.token(&key, "dave"), "dave").await;
}

async fn session_tokens_through_get_session(backend: Backend) {
    let fake = FakeBetterAuth::start().await;
    let Some(app) =
        http_session_app(backend, &fake.url, &[("--auth-session-cache-ttl", "1s")]).await
    else {
        return;
    };
    let (valid, expired, unknown) = (
        signed(&session_id()),
        signed(&session_id()),
        signed(&session_id()),
    );
    fake.add_session(&valid, "alice", Utc::now() + chrono::Duration::hours(1));
    // The fake answers for it although it has expired: our own expiry check refuses it.
    fake.add_session(&expired, "alice", Utc::now() - chrono::Duration::minutes(1));

    assert_accepted(&app, &valid, "alice").await;
    assert_rejected(&app, &expired, "token has expired", "expired session").await;
    assert_rejected(
        &app,
        &unknown,
        "unknown, expired or revoked session",
        "unknown session",
    )
    .await;
    let (id, signature) = valid.split_once('.').unwrap();
    let flipped = if signature.starts_with('A') { "B" } else { "A" };
    let tampered = format!("{id}.{flipped}{}", &signature[1..]);
    let lookups = fake.session_lookups();
    assert_rejected(
        &app,
        &tampered,
        "bad session token signature",
        "tampered session",
    )
    .await;
    // A made-up signature for a known token id is refused here, never sent on.
    let forged = format!("{id}.{}", "A".repeat(43));
    assert_rejected(&app, &forged, "bad session token signature", "forged").await;
    assert_eq!(
        fake.session_lookups(),
        lookups,
        "a forged token reached get-session"
    );

    // Signing out ends the session here once the short cache lapses.
    fake.revoke_session(&valid);
    let revoked = "a revoked session is still accepted";
    wait_for_status(&app, &valid, StatusCode::UNAUTHORIZED, revoked).await;
}

async fn session_tokens_are_off_by_default(backend: Backend) {
    let fake = FakeBetterAuth::start().await;
    let Some(app) = app_for(backend, &fake.url, &[]).await else {
        return;
    };
    let valid = signed(&session_id());
    fake.add_session(&valid, "alice", Utc::now() + chrono::Duration::hours(1));
    assert_rejected(&app, &valid, "malformed token", "session token while off").await;
}

async fn session_tokens_with_junk_signatures_are_401_and_never_sent(backend: Backend) {
    let fake = FakeBetterAuth::start().await;
    let Some(app) = http_session_app(backend, &fake.url, &[]).await else {
        return;
    };
    let valid = signed(&session_id());
    let (id, signature) = valid.split_once('.').unwrap();
    let unpadded = signature.trim_end_matches('=');
    let cases = [
        // Signature parts that decode to control characters: no valid header value, so the
        // request to get-session cannot even be built. The token's fault: 401, not 503.
        "abcdef.%0A".to_owned(),
        "abcdef.%00x".to_owned(),
        format!("{id}.{}%0A", &unpadded[1..]),
        format!("{id}.{}%0D%0AX-Injected:%201", &unpadded[..20]),
        // Not the base64 of an HMAC-SHA256.
        format!("{id}.abc"),
        format!("{id}.{unpadded}{unpadded}"),
        format!("{id}.{unpadded}==="),
        format!("{id}.{}!", &unpadded[1..]),
    ];
    for token in &cases {
        assert_rejected(&app, token, "malformed", token).await;
    }
    assert_eq!(fake.session_lookups(), 0, "junk reached get-session");
    fake.add_session(&valid, "alice", Utc::now() + chrono::Duration::hours(1));
    assert_accepted(&app, &valid, "alice").await;
}

async fn a_cached_session_ends_at_its_expiry(backend: Backend) {
    let fake = FakeBetterAuth::start().await;
    let Some(app) =
        http_session_app(backend, &fake.url, &[("--auth-session-cache-ttl", "1h")]).await
    else {
        return;
    };
    let token = signed(&session_id());
    // Long enough for the two requests below on a loaded machine; `wait_for_status` (10 s)
    // then sees it end.
    fake.add_session(&token, "alice", Utc::now() + chrono::Duration::seconds(5));
    assert_accepted(&app, &token, "alice").await;
    assert_eq!(fake.session_lookups(), 1, "the second request was cached");
    // Get-session keeps vouching for it (the fake ignores expiry), and the cache would keep
    // it an hour: the session's own expiry ends it.
    let ended = "a session was accepted past its expiry";
    wait_for_status(&app, &token, StatusCode::UNAUTHORIZED, ended).await;
    assert_rejected(&app, &token, "token has expired", "expired while cached").await;
}

async fn redirects_are_not_followed(backend: Backend) {
    let fake = FakeBetterAuth::start().await;
    let key = TestKey::ed25519("k");
    fake.publish(&[&key]);
    // Better Auth "mounted" at /redirect/api/auth: its JWKS and get-session answer 307 to the
    // real routes.
    let base = format!("{}/redirect/api/auth", fake.url);
    let Some(app) = http_session_app(backend, &base, &[]).await else {
        return;
    };
    let jwt = key.sign(&better_auth_claims(&fake.url, "alice"));
    let client = app.with_token("alice", &jwt);
    assert_unavailable(&client.get(&client.tasks_path("")).await);
    let session = signed(&session_id());
    fake.add_session(&session, "alice", Utc::now() + chrono::Duration::hours(1));
    let client = app.with_token("alice", &session);
    assert_unavailable(&client.get(&client.tasks_path("")).await);
    assert_eq!(fake.jwks_fetches(), 0, "the JWKS redirect was followed");
    assert_eq!(
        fake.session_lookups(),
        0,
        "the get-session redirect was followed"
    );
}

async fn issuer_and_audience_compare_urls_by_origin_and_the_rest_exactly(backend: Backend) {
    let fake = FakeBetterAuth::start().await;
    let key = TestKey::ed25519("k");
    fake.publish(&[&key]);
    let Some(app) = app_for(
        backend,
        &fake.url,
        &[
            ("--jwt-issuer", "https://issuer.example.com"),
            ("--jwt-audience", "my-api"),
        ],
    )
    .await
    else {
        return;
    };
    let claims = |iss: Option<Value>, aud: &str| {
        let mut claims = better_auth_claims(&fake.url, "alice");
        match iss {
            Some(iss) => claims["iss"] = iss,
            None => drop(claims.as_object_mut().unwrap().remove("iss")),
        }
        claims["aud"] = json!(aud);
        key.sign(&claims)
    };
    // A default port, upper case and a trailing slash change nothing in a URL.
    let token = claims(Some(json!("HTTPS://Issuer.Example.com:443/")), "my-api");
    assert_accepted(&app, &token, "alice").await;
    let issuer = Some(json!("https://issuer.example.com"));
    let wrong_issuers = [
        (None, "wrong issuer: the token has no iss"),
        (Some(json!("")), "wrong issuer"),
        (Some(json!(42)), "wrong issuer: iss is not a string"),
        (
            Some(json!("https://issuer.example.com:8443")),
            "wrong issuer",
        ),
        (Some(json!("http://issuer.example.com")), "wrong issuer"),
    ];
    for (iss, reason) in wrong_issuers {
        let case = format!("iss {iss:?}");
        assert_rejected(&app, &claims(iss, "my-api"), reason, &case).await;
    }
    // An audience that is not a URL compares exactly: no case folding, no slash trimming.
    for aud in ["MY-API", "my-api/", " my-api"] {
        let case = format!("aud {aud:?}");
        assert_rejected(&app, &claims(issuer.clone(), aud), "wrong audience", &case).await;
    }
}

async fn hs_tokens_must_name_their_subject(backend: Backend) {
    let Some(app) = TestApp::builder(backend).start().await else {
        return;
    };
    let exp = Utc::now().timestamp() + 600;
    let header = json!({"alg": "HS256"});
    let with_sub = sign_hs256(
        SECRET.as_bytes(),
        &header,
        &json!({"sub": "alice", "exp": exp}),
    );
    assert_accepted(&app, &with_sub, "alice").await;
    // The user object's `id` stands in for `sub` only in Better Auth's JWKS-signed tokens.
    let id_only = sign_hs256(
        SECRET.as_bytes(),
        &header,
        &json!({"id": "alice", "exp": exp}),
    );
    assert_rejected(&app, &id_only, "no subject", "HS256 with id, no sub").await;
}

/// A server reading Better Auth sessions from a shared database and verifying them again
/// every second, with one live session of alice's there (its id last).
async fn revocable_session(
    backend: Backend,
) -> Option<(SharedDatabase, FakeBetterAuth, TestApp, String)> {
    let shared = SharedDatabase::create(backend).await?;
    let fake = FakeBetterAuth::start().await;
    fake.publish(&[&TestKey::ed25519("k")]);
    let app = TestApp::builder(backend)
        .database_url(&shared.url)
        .arg("--better-auth-url", &fake.url)
        .arg("--auth-session-tokens", "on")
        .arg("--auth-session-cache-ttl", "1s")
        .arg("--sse-keep-alive", "1s")
        .start()
        .await?;
    let id = session_id();
    shared.add_session(&id, "alice", &iso_in(3600)).await;
    Some((shared, fake, app, id))
}

/// A subscription socket opened with a session token closes (4401) once the session is
/// revoked, within the session cache time: sockets re-verify their credentials.
async fn a_revoked_session_ends_its_sockets(backend: Backend) {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    let Some((shared, _fake, app, id)) = revocable_session(backend).await else {
        return;
    };
    let url = format!("{}/graphql", app.base.replace("http://", "ws://"));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let init = json!({"type": "connection_init",
        "payload": {"Authorization": format!("Bearer {}", signed(&id))}});
    socket
        .send(Message::Text(init.to_string().into()))
        .await
        .unwrap();
    let subscribe = json!({"id": "1", "type": "subscribe",
        "payload": {"query": "subscription { taskEvents { id } }"}});
    socket
        .send(Message::Text(subscribe.to_string().into()))
        .await
        .unwrap();
    let mut acked = false;
    let mut closed_at = None;
    let mut revoked_at = None;
    while let Ok(Some(message)) = tokio::time::timeout(Duration::from_secs(10), socket.next()).await
    {
        match message.unwrap() {
            Message::Text(text) if text.contains("connection_ack") => {
                acked = true;
                // Signed out in Better Auth.
                shared
                    .run_sql(&format!(r#"DELETE FROM "session" WHERE "token" = '{id}'"#))
                    .await;
                revoked_at = Some(Instant::now());
            }
            Message::Close(frame) => {
                closed_at = Some(Instant::now());
                assert_eq!(frame.map(|f| u16::from(f.code)), Some(4401));
                break;
            }
            _ => {}
        }
    }
    assert!(acked, "the session was accepted at first");
    let took = closed_at.expect("the socket closed") - revoked_at.unwrap();
    assert!(
        took < Duration::from_secs(5),
        "closed {took:?} after the revocation"
    );
}

/// An SSE stream opened with a session token ends once the session is revoked, within the
/// session cache time, after a last `event: unauthorized` (the socket's 4401, for SSE).
async fn a_revoked_session_ends_its_sse_streams(backend: Backend) {
    use crate::common::live::SseReader;

    let Some((shared, _fake, app, id)) = revocable_session(backend).await else {
        return;
    };
    let token = signed(&id);
    let mut stream = SseReader::open_with_token(&app, &token, "/api/alice/tasks/events", &[]).await;
    assert_eq!(
        stream.response.status(),
        StatusCode::OK,
        "the session is accepted"
    );
    // Live while the session is: a change made with the same session arrives.
    let client = app.with_token("alice", &token);
    let task = client
        .post(&client.tasks_path(""), json!({"title": "signed in"}))
        .await
        .good(StatusCode::CREATED);
    let (_, event) = stream.next_event().await;
    assert_eq!(event["id"], task["id"]);

    // Signed out in Better Auth.
    shared
        .run_sql(&format!(r#"DELETE FROM "session" WHERE "token" = '{id}'"#))
        .await;
    let revoked_at = Instant::now();
    let (name, last_id, data) = stream.next_named(Duration::from_secs(10)).await;
    let took = revoked_at.elapsed();
    assert_eq!(name, "unauthorized");
    assert_eq!(last_id, None);
    assert_eq!(
        data,
        json!({"code": "UNAUTHENTICATED", "detail": "Unauthorized: Invalid token"})
    );
    assert!(
        took < Duration::from_secs(5),
        "ended {took:?} after the revocation"
    );
    assert!(stream.ends(Duration::from_secs(5)).await, "the stream ends");
}
