//! Shared-secret (HS*) token verification and the 401 / 403 rules, over real HTTP.

use crate::common::{Backend, SECRET, TestApp};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

backend_tests!(
    missing_or_malformed_header_is_not_authenticated,
    bad_tokens_are_invalid,
    expiry_is_enforced_with_leeway,
    exp_is_required_and_nbf_honoured,
    alg_none_and_unconfigured_algorithms_are_rejected,
    bad_subjects_are_rejected,
    path_user_mismatch_is_403_before_anything_else,
);

backend_cases!(
    configured_algorithms_are_accepted,
    issuer_and_audience_are_checked
);

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn sign_with(alg: Algorithm, secret: &[u8], claims: &Value) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret)).unwrap()
}

fn sign(claims: Value) -> String {
    sign_with(Algorithm::HS256, SECRET.as_bytes(), &claims)
}

async fn list_status(
    app: &TestApp,
    user: &str,
    token: &str,
) -> (StatusCode, Value, Option<String>) {
    let client = app.with_token(user, token);
    let response = client.get(&client.tasks_path("")).await;
    let www = response.header("www-authenticate").map(str::to_owned);
    (response.status, response.json(), www)
}

#[track_caller]
fn assert_401(result: (StatusCode, Value, Option<String>), detail: &str) {
    let (status, body, www) = result;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "body {body}");
    assert_eq!(body, json!({ "detail": detail }));
    let www = www.expect("401 carries WWW-Authenticate");
    assert!(www.starts_with("Bearer"), "{www}");
}

async fn missing_or_malformed_header_is_not_authenticated(app: TestApp) {
    let token = app.token("alice");
    let headers: Vec<Vec<(&str, String)>> = vec![
        vec![],
        vec![("authorization", String::new())],
        vec![("authorization", "Bearer".into())],
        vec![("authorization", "Bearer ".into())],
        vec![("authorization", "Bearer    ".into())],
        vec![("authorization", format!("Basic {token}"))],
        vec![("authorization", format!("Token {token}"))],
        vec![("authorization", token.clone())],
    ];
    for set in headers {
        let pairs: Vec<(&str, &str)> = set.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let response = app.raw(Method::GET, "/api/alice/tasks", &pairs, None).await;
        response.detail(StatusCode::UNAUTHORIZED, "Not authenticated");
        assert_eq!(
            response.header("www-authenticate"),
            Some("Bearer"),
            "for {pairs:?}"
        );
    }
    // Every endpoint requires it, including writes (and nothing is written).
    let anonymous = app.anonymous();
    anonymous
        .post("/api/alice/tasks", json!({"title": "x"}))
        .await
        .detail(StatusCode::UNAUTHORIZED, "Not authenticated");
    anonymous
        .patch("/api/alice/tasks/1/complete")
        .await
        .detail(StatusCode::UNAUTHORIZED, "Not authenticated");
    anonymous
        .delete("/api/alice/tasks/1")
        .await
        .detail(StatusCode::UNAUTHORIZED, "Not authenticated");
    // The scheme is case-insensitive.
    let response = app
        .raw(
            Method::GET,
            "/api/alice/tasks",
            &[("authorization", &format!("bearer {token}"))],
            None,
        )
        .await;
    assert_eq!(response.status, StatusCode::OK);
    let alice = app.user("alice");
    assert_eq!(
        alice.get(&alice.tasks_path("")).await.good(StatusCode::OK),
        json!([])
    );
}

async fn bad_tokens_are_invalid(app: TestApp) {
    let good = app.token("alice");
    let wrong_secret = sign_with(
        Algorithm::HS256,
        b"another-secret-that-is-also-long-enough!!",
        &json!({"sub": "alice", "exp": now() + 600}),
    );
    let (header, rest) = good.split_once('.').unwrap();
    let (payload, signature) = rest.split_once('.').unwrap();
    let altered_payload = {
        use base64::Engine;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut claims: Value = serde_json::from_slice(&engine.decode(payload).unwrap()).unwrap();
        claims["sub"] = json!("mallory");
        format!(
            "{header}.{}.{signature}",
            engine.encode(serde_json::to_vec(&claims).unwrap())
        )
    };
    for token in [
        "garbage".to_owned(),
        "a.b.c".to_owned(),
        wrong_secret,
        format!("{header}.{payload}."),
        format!("{header}.{payload}"),
        altered_payload,
        format!("{good}x"),
    ] {
        let result = list_status(&app, "alice", &token).await;
        let www = result.2.clone().unwrap_or_default();
        assert!(www.contains("error=\"invalid_token\""), "{www}");
        assert!(!www.contains(&token), "the token is never echoed");
        assert_401(result, "Invalid token");
    }
}

async fn expiry_is_enforced_with_leeway(app: TestApp) {
    let expired = sign(json!({"sub": "alice", "exp": now() - 120}));
    let result = list_status(&app, "alice", &expired).await;
    assert!(result.2.as_deref().unwrap().contains("expired"));
    assert_401(result, "Token has expired");
    // Within the default 60 s leeway: still accepted.
    let just_expired = sign(json!({"sub": "alice", "exp": now() - 20}));
    assert_eq!(
        list_status(&app, "alice", &just_expired).await.0,
        StatusCode::OK
    );
}

async fn exp_is_required_and_nbf_honoured(app: TestApp) {
    let no_exp = sign(json!({"sub": "alice", "iat": now()}));
    assert_401(list_status(&app, "alice", &no_exp).await, "Invalid token");
    let not_yet = sign(json!({"sub": "alice", "exp": now() + 3600, "nbf": now() + 600}));
    assert_401(list_status(&app, "alice", &not_yet).await, "Invalid token");
    let valid_now = sign(json!({"sub": "alice", "exp": now() + 3600, "nbf": now() - 10}));
    assert_eq!(
        list_status(&app, "alice", &valid_now).await.0,
        StatusCode::OK
    );
}

async fn alg_none_and_unconfigured_algorithms_are_rejected(app: TestApp) {
    use base64::Engine;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let claims = json!({"sub": "alice", "exp": now() + 600});
    let payload = engine.encode(serde_json::to_vec(&claims).unwrap());
    for header in [
        json!({"alg": "none", "typ": "JWT"}),
        json!({"alg": "None"}),
        json!({"alg": "nOnE"}),
    ] {
        let header = engine.encode(serde_json::to_vec(&header).unwrap());
        assert_401(
            list_status(&app, "alice", &format!("{header}.{payload}.")).await,
            "Invalid token",
        );
    }
    // HS384 / HS512 with the right secret, but only HS256 is configured.
    for alg in [Algorithm::HS384, Algorithm::HS512] {
        let token = sign_with(alg, SECRET.as_bytes(), &claims);
        assert_401(list_status(&app, "alice", &token).await, "Invalid token");
    }
}

async fn bad_subjects_are_rejected(app: TestApp) {
    for claims in [
        json!({"exp": now() + 600}),
        json!({"sub": "", "exp": now() + 600}),
        json!({"sub": "ali\u{0}ce", "exp": now() + 600}),
        json!({"sub": "x".repeat(300), "exp": now() + 600}),
        json!({"sub": {"id": "alice"}, "exp": now() + 600}),
    ] {
        assert_401(
            list_status(&app, "alice", &sign(claims)).await,
            "Invalid token",
        );
    }
    // Better Auth ids are random strings; any reasonable one works.
    let id = "kT9x2bQeR7mN4pW8vZ1cY6hJ3sD5fG0a";
    let token = sign(json!({"sub": id, "exp": now() + 600}));
    assert_eq!(list_status(&app, id, &token).await.0, StatusCode::OK);
}

async fn path_user_mismatch_is_403_before_anything_else(app: TestApp) {
    let alice = app.user("alice");
    let forbidden = "Not authorized to access this user's tasks";
    let task = alice.create_task("mine").await;
    let id = task["id"].as_i64().unwrap();
    for (method, path, body) in [
        (Method::GET, "/api/bob/tasks".to_owned(), None),
        (
            Method::POST,
            "/api/bob/tasks".to_owned(),
            Some(json!({"title": ""})),
        ),
        (Method::POST, "/api/bob/tasks".to_owned(), Some(json!([1]))),
        (Method::GET, format!("/api/bob/tasks/{id}"), None),
        (Method::GET, "/api/bob/tasks/not-a-number".to_owned(), None),
        (Method::GET, "/api/bob/tasks?status=bogus".to_owned(), None),
        (
            Method::PUT,
            format!("/api/bob/tasks/{id}"),
            Some(json!({"title": 5})),
        ),
        (Method::DELETE, format!("/api/bob/tasks/{id}"), None),
        (Method::PATCH, format!("/api/bob/tasks/{id}/complete"), None),
        (Method::GET, "/api/ALICE/tasks".to_owned(), None),
    ] {
        alice
            .request(method, &path, body)
            .await
            .detail(StatusCode::FORBIDDEN, forbidden);
    }
    // Without a token it is a 401, not a 403.
    app.anonymous()
        .get("/api/bob/tasks")
        .await
        .detail(StatusCode::UNAUTHORIZED, "Not authenticated");
    // Malformed JSON under another user's path is still a 403.
    let token = format!("Bearer {}", app.token("alice"));
    app.raw(
        Method::POST,
        "/api/bob/tasks",
        &[("authorization", &token)],
        Some(b"{oops".to_vec()),
    )
    .await
    .detail(StatusCode::FORBIDDEN, forbidden);
    // Nothing changed.
    assert_eq!(
        alice
            .get(&alice.tasks_path(&format!("/{id}")))
            .await
            .good(StatusCode::OK),
        task
    );
}

async fn configured_algorithms_are_accepted(backend: Backend) {
    let app = start_app!(backend, "--jwt-algorithms" => "HS256,HS384,HS512");
    let claims = json!({"sub": "alice", "exp": now() + 600});
    for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
        let token = sign_with(alg, SECRET.as_bytes(), &claims);
        assert_eq!(
            list_status(&app, "alice", &token).await.0,
            StatusCode::OK,
            "{alg:?}"
        );
    }
    // One server (and one test database) at a time: `common::pg` lets eight be in use at once.
    drop(app);
    let app = start_app!(backend, "--jwt-algorithms" => "HS512");
    let hs256 = sign_with(Algorithm::HS256, SECRET.as_bytes(), &claims);
    assert_401(list_status(&app, "alice", &hs256).await, "Invalid token");
    let hs512 = sign_with(Algorithm::HS512, SECRET.as_bytes(), &claims);
    assert_eq!(list_status(&app, "alice", &hs512).await.0, StatusCode::OK);
}

async fn issuer_and_audience_are_checked(backend: Backend) {
    let app = start_app!(
        backend,
        "--jwt-issuer" => "https://auth.example.com",
        "--jwt-audience" => "https://app.example.com, https://admin.example.com",
    );
    let ok = |claims: Value| sign(claims);
    let base = |iss: Value, aud: Value| {
        let mut c = json!({"sub": "alice", "exp": now() + 600});
        if !iss.is_null() {
            c["iss"] = iss;
        }
        if !aud.is_null() {
            c["aud"] = aud;
        }
        c
    };
    let accepted = [
        base(
            json!("https://auth.example.com"),
            json!("https://app.example.com"),
        ),
        base(
            json!("https://auth.example.com/"),
            json!("https://admin.example.com/"),
        ),
        base(
            json!("https://auth.example.com"),
            json!(["https://other.example", "https://app.example.com"]),
        ),
    ];
    for claims in accepted {
        assert_eq!(
            list_status(&app, "alice", &ok(claims.clone())).await.0,
            StatusCode::OK,
            "{claims}"
        );
    }
    let rejected = [
        (
            base(
                json!("https://evil.example.com"),
                json!("https://app.example.com"),
            ),
            "wrong issuer",
        ),
        (
            base(Value::Null, json!("https://app.example.com")),
            "wrong issuer",
        ),
        (
            base(
                json!("https://auth.example.com"),
                json!("https://evil.example.com"),
            ),
            "wrong audience",
        ),
        (
            base(json!("https://auth.example.com"), Value::Null),
            "wrong audience",
        ),
        (
            base(json!("https://auth.example.com"), json!([])),
            "wrong audience",
        ),
    ];
    for (claims, reason) in rejected {
        let result = list_status(&app, "alice", &ok(claims)).await;
        assert!(
            result.2.as_deref().unwrap_or_default().contains(reason),
            "{:?}",
            result.2
        );
        assert_401(result, "Invalid token");
    }
}
