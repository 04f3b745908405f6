//! Unit tests of the settings: Better Auth's defaults and refusals, the development secret
//! step, and that `Debug` never shows a secret or a database password.

use jsonwebtoken::Algorithm;

use super::better_auth::{ASYMMETRIC_DEFAULTS, endpoints};
use super::*;
use crate::auth::SessionSource;

fn config(args: &[&str]) -> Result<Config, ConfigError> {
    settings_from_args(args.iter().copied())
        .expect("arguments parse")
        .validate()
}

const SECRET: &str = "a-secret-of-at-least-thirty-two-bytes!!";

#[test]
fn better_auth_url_brings_keys_issuer_audience_and_algorithms() {
    let config = config(&["--better-auth-url", "https://app.example.com/"]).unwrap();
    assert!(!config.needs_dev_secret(), "the JWKS is real verification");
    let auth = &config.auth;
    assert_eq!(auth.issuer.as_deref(), Some("https://app.example.com"));
    assert_eq!(auth.audiences, ["https://app.example.com"]);
    let jwks = auth.jwks.as_ref().unwrap();
    assert_eq!(jwks.url, "https://app.example.com/api/auth/jwks");
    assert_eq!(auth.algorithms, ASYMMETRIC_DEFAULTS);
    assert!(auth.no_secret_message().contains("/api/auth/token"));
}

#[test]
fn explicit_settings_win_and_the_secret_adds_hs256() {
    let config = config(&[
        "--better-auth-url",
        "http://localhost:3000",
        "--jwks-url",
        "http://keys.internal/jwks",
        "--auth-allow-insecure-http",
        "true",
        "--jwt-issuer",
        "https://issuer.example.com",
        "--auth-secret",
        SECRET,
    ])
    .unwrap();
    let auth = &config.auth;
    assert_eq!(auth.jwks.as_ref().unwrap().url, "http://keys.internal/jwks");
    assert_eq!(auth.issuer.as_deref(), Some("https://issuer.example.com"));
    assert_eq!(auth.audiences, ["http://localhost:3000"]);
    assert_eq!(auth.algorithms.last(), Some(&Algorithm::HS256));
    assert_eq!(auth.algorithms.len(), ASYMMETRIC_DEFAULTS.len() + 1);
}

#[test]
fn without_any_verification_the_dev_secret_stands_in() {
    let config = config(&[]).unwrap();
    assert!(config.needs_dev_secret());
    assert_eq!(config.auth.algorithms, [Algorithm::HS256]);
    assert!(config.auth.jwks.is_none() && config.auth.sessions.is_none());
}

#[test]
fn session_token_sources() {
    let on = ["--auth-session-tokens", "on"];
    assert!(config(&on).is_err(), "database lookups need the secret");
    let database = config(&[on[0], on[1], "--auth-secret", SECRET]).unwrap();
    let sessions = database.auth.sessions.unwrap();
    assert_eq!(sessions.source, SessionSource::Database);
    let http = ["--auth-session-source", "http"];
    let secret = ["--auth-secret", SECRET];
    assert!(
        config(&[on[0], on[1], http[0], http[1], secret[0], secret[1]]).is_err(),
        "http needs BETTER_AUTH_URL"
    );
    let url = ["--better-auth-url", "https://app.example.com"];
    let no_secret = config(&[on[0], on[1], http[0], http[1], url[0], url[1]]).unwrap_err();
    assert_eq!(
        no_secret.variable, "BETTER_AUTH_SECRET",
        "http lookups need the secret too"
    );
    let database = config(&[on[0], on[1]]).unwrap_err();
    assert_eq!(database.variable, "BETTER_AUTH_SECRET");
    let http = config(&[
        on[0], on[1], http[0], http[1], url[0], url[1], secret[0], secret[1],
    ])
    .unwrap();
    let get_session_url = "https://app.example.com/api/auth/get-session".to_owned();
    assert_eq!(
        http.auth.sessions.unwrap().source,
        SessionSource::Http { get_session_url }
    );
    let ldap = ["--auth-session-source", "ldap"];
    let ldap = config(&[on[0], on[1], secret[0], secret[1], ldap[0], ldap[1]]).unwrap_err();
    assert_eq!(ldap.variable, "AUTH_SESSION_SOURCE");
}

#[test]
fn plain_http_only_for_loopback_unless_allowed() {
    for url in [
        "http://localhost:3000",
        "http://127.0.0.1:3000",
        "http://127.8.9.10",
        "http://[::1]:3000",
    ] {
        assert!(config(&["--better-auth-url", url]).is_ok(), "{url}");
        assert!(config(&["--jwks-url", url]).is_ok(), "{url}");
    }
    for url in [
        "http://app.example.com",
        "http://10.0.0.5:3000",
        "http://localhost.example.com",
        "http://[::2]",
    ] {
        for flag in ["--better-auth-url", "--jwks-url"] {
            let error = config(&[flag, url]).unwrap_err();
            let variable = if flag == "--jwks-url" {
                "JWKS_URL"
            } else {
                "BETTER_AUTH_URL"
            };
            assert_eq!(error.variable, variable, "{url}");
            assert!(
                error.problem.contains("AUTH_ALLOW_INSECURE_HTTP"),
                "{error}"
            );
            let allowed = config(&[flag, url, "--auth-allow-insecure-http", "true"]).unwrap();
            assert_eq!(
                allowed.auth.insecure_urls().len(),
                1,
                "{url} is said at start"
            );
        }
    }
    assert!(config(&["--better-auth-url", "https://app.example.com"]).is_ok());
}

#[test]
fn the_refetch_cooldown_must_be_positive() {
    let url = ["--better-auth-url", "https://app.example.com"];
    for zero in ["0s", "0ms", "0"] {
        let error = config(&[url[0], url[1], "--jwks-refetch-cooldown", zero]).unwrap_err();
        assert_eq!(error.variable, "JWKS_REFETCH_COOLDOWN", "{zero}");
    }
    assert!(config(&[url[0], url[1], "--jwks-refetch-cooldown", "100ms"]).is_ok());
}

#[test]
fn issuers_and_audiences_that_normalise_to_nothing_are_refused() {
    for issuer in ["/", "//", " / "] {
        let error = config(&["--jwt-issuer", issuer]).unwrap_err();
        assert_eq!(error.variable, "JWT_ISSUER", "{issuer:?}");
        let error = config(&["--jwt-audience", &format!("api,{issuer}")]).unwrap_err();
        assert_eq!(error.variable, "JWT_AUDIENCE", "{issuer:?}");
    }
    assert!(config(&["--jwt-issuer", "my-issuer", "--jwt-audience", "api"]).is_ok());
}

#[test]
fn better_auth_url_gives_origin_and_api_base() {
    let cases = [
        (
            "http://localhost:3000",
            "http://localhost:3000",
            "http://localhost:3000/api/auth",
        ),
        (
            "https://App.Example.com/",
            "https://app.example.com",
            "https://app.example.com/api/auth",
        ),
        (
            "https://example.com:443",
            "https://example.com",
            "https://example.com/api/auth",
        ),
        (
            "https://example.com/auth/",
            "https://example.com",
            "https://example.com/auth",
        ),
    ];
    for (given, origin, api) in cases {
        assert_eq!(
            endpoints(given, false).unwrap(),
            (origin.to_owned(), api.to_owned()),
            "{given}"
        );
    }
    assert!(endpoints("localhost:3000", false).is_err());
    assert!(endpoints("ftp://example.com", false).is_err());
}

/// Neither a `Config` nor the `Settings` it came from shows the secret or the database
/// password when formatted with `{:?}` (a panic message, a debug log line).
#[test]
fn debug_hides_the_secret_and_the_database_password() {
    let password = "pa55-w0rd-nobody-may-read";
    let url = format!("postgres://todo:{password}@db.example.com/todo?sslmode=require");
    let args = ["--database-url", &url, "--auth-secret", SECRET];
    let settings = settings_from_args(args).unwrap();
    let config = settings.validate().unwrap();
    for shown in [format!("{settings:?}"), format!("{config:?}")] {
        assert!(!shown.contains(SECRET), "the secret shows: {shown}");
        assert!(!shown.contains(password), "the password shows: {shown}");
        assert!(
            shown.contains("db.example.com"),
            "the host still shows: {shown}"
        );
    }
    let url = format!("postgresql://todo@db.example.com/todo?password={password}");
    let config = settings_from_args(["--database-url", &url, "--auth-secret", SECRET])
        .unwrap()
        .validate()
        .unwrap();
    assert!(!format!("{config:?}").contains(password));
}

/// Development mode is one more step that makes the final `Config`: the development secret
/// becomes the HS256 key, kept in DEV_SECRET_FILE, and the same file gives the same key.
#[test]
fn the_development_secret_makes_the_final_config() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nested").join("dev-secret");
    let args = ["--dev-secret-file", file.to_str().unwrap()];
    let config = config(&args).unwrap();
    assert!(config.needs_dev_secret() && config.is_development());
    let first = config.clone().with_dev_secret().unwrap();
    assert!(!first.needs_dev_secret());
    assert_eq!(first.dev_secret_file.as_deref(), Some(file.as_path()));
    assert_eq!(first.auth.algorithms, [Algorithm::HS256]);
    let again = config.with_dev_secret().unwrap();
    let key = |c: &Config| c.auth.secret.as_ref().unwrap().bytes().to_vec();
    assert_eq!(key(&first), key(&again), "the file keeps the secret");
    assert!(!format!("{first:?}").contains(&String::from_utf8_lossy(&key(&first)).into_owned()));
}

/// A bad value does not stop the command line from parsing (a command that does not use it
/// ignores it); validation names its variable, with the text it always had.
#[test]
fn bad_values_are_reported_by_validation_naming_the_variable() {
    let cases = [
        (
            "--port",
            "eighty",
            "PORT: expected a port number from 0 to 65535, got \"eighty\"",
        ),
        ("--db-pool-size", "0", "DB_POOL_SIZE: must be at least 1"),
        (
            "--jwt-leeway",
            "-5",
            "JWT_LEEWAY: expected a duration such as 30s, 5m or 1h, got \"-5\"",
        ),
        (
            "--graphql-introspection",
            "maybe",
            "GRAPHQL_INTROSPECTION: expected true or false, got \"maybe\"",
        ),
        (
            "--ws-max-message-size",
            "0",
            "WS_MAX_MESSAGE_SIZE: must be at least 1 byte",
        ),
        (
            "--trusted-proxies",
            "10.0.0.1,proxy",
            "TRUSTED_PROXIES: \"proxy\" is not an IP address (expected e.g. 10.0.0.1)",
        ),
        (
            "--tombstone-retention",
            "0s",
            "TOMBSTONE_RETENTION: must be longer than 0s",
        ),
        (
            "--live-connection-share",
            "0%",
            "LIVE_CONNECTION_SHARE: expected a percentage from 1% to 100%, got \"0%\"",
        ),
        (
            "--connection-share-per-user",
            "all",
            "CONNECTION_SHARE_PER_USER: expected a percentage from 1% to 100%, got \"all\"",
        ),
        (
            "--jwt-algorithms",
            "HS999",
            "JWT_ALGORITHMS: unknown algorithm \"HS999\"; expected names such as HS256, EdDSA, ES256, RS256, PS256",
        ),
    ];
    for (flag, value, message) in cases {
        let settings = settings_from_args([format!("{flag}={value}")]).expect("parses");
        assert_eq!(settings.validate().unwrap_err().to_string(), message);
    }
}

#[test]
fn the_live_share_is_a_part_of_max_connections() {
    let shares = |args: &[&str]| config(args).unwrap().operations.connection_shares;
    let default = shares(&[]);
    assert_eq!(default.live_total, 512);
    assert_eq!(default.live_per_user, 16);
    assert_eq!(
        shares(&["--max-connections", "10", "--live-connection-share", "25"]).live_total,
        2
    );
    // A tiny server still streams.
    assert_eq!(shares(&["--max-connections", "1"]).live_total, 1);
    // Each user's share of all connections, a quarter by default.
    assert_eq!(default.per_user, 256);
    assert_eq!(
        shares(&[
            "--max-connections",
            "64",
            "--connection-share-per-user",
            "10%"
        ])
        .per_user,
        6
    );
    assert_eq!(shares(&["--max-connections", "1"]).per_user, 1);
}

/// The in-flight budget of all GraphQL responses must hold at least one whole response.
#[test]
fn the_in_flight_response_budget_holds_one_response() {
    let bound = ["--graphql-max-response-bytes", "1MiB"];
    let error = config(&[
        bound[0],
        bound[1],
        "--graphql-max-in-flight-response-bytes",
        "512KiB",
    ])
    .unwrap_err();
    assert_eq!(error.variable, "GRAPHQL_MAX_IN_FLIGHT_RESPONSE_BYTES");
    assert!(
        error.problem.contains("GRAPHQL_MAX_RESPONSE_BYTES"),
        "{error}"
    );
    let config = config(&[
        bound[0],
        bound[1],
        "--graphql-max-in-flight-response-bytes",
        "1MiB",
    ])
    .expect("equal is enough");
    assert_eq!(config.graphql.max_in_flight_response_bytes, 1 << 20);
    let defaults = super::settings_from_args(Vec::<String>::new())
        .expect("parses")
        .validate()
        .expect("valid");
    assert_eq!(
        defaults.graphql.max_in_flight_response_bytes,
        4 * defaults.graphql.max_response_bytes
    );
}
