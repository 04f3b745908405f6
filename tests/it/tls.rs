//! TLS to PostgreSQL, against a private cluster that accepts TCP only over TLS (`hostssl`) with
//! a certificate for `localhost` signed by a CA the test made. Each case starts the real app on
//! a libpq-style `DATABASE_URL` and either serves REST requests through it or fails start-up with
//! a clear error (never a panic).

use crate::common::cluster::PgCluster;
use crate::common::{Backend, SECRET, TestApp};
use reqwest::StatusCode;

/// Starts the app on `url` and checks that it serves REST requests (so its pool really holds
/// working connections), then that the cluster sees those connections as TLS.
async fn serves_over_tls(cluster: &PgCluster, url: &str) {
    let app = TestApp::builder(Backend::Postgres)
        .database_url(url)
        .start()
        .await
        .expect("the app starts");
    let alice = app.user("alice");
    let task = alice.create_task("Over TLS").await;
    let list = alice.get(&alice.tasks_path("")).await.good(StatusCode::OK);
    assert_eq!(list[0]["id"], task["id"]);

    let admin = cluster.admin().await;
    let row = admin
        .query_one(
            "SELECT count(*) FILTER (WHERE s.ssl), count(*) FILTER (WHERE NOT s.ssl)
               FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
              WHERE a.client_addr IS NOT NULL",
            &[],
        )
        .await
        .expect("pg_stat_ssl");
    let (encrypted, plain): (i64, i64) = (row.get(0), row.get(1));
    assert!(encrypted > 0, "no TLS connection from the app");
    assert_eq!(plain, 0, "a TCP connection without TLS");
}

/// Starts the app's state on `url` the way `serve` does and returns the start-up error.
async fn startup_error(url: &str) -> String {
    todo_api::install_crypto_provider();
    let settings = todo_api::config::settings_from_args([
        "--database-url",
        url,
        "--auth-secret",
        SECRET,
        "--db-timeout",
        "3s",
    ])
    .expect("settings parse");
    let config = settings.validate().expect("settings are valid");
    match todo_api::AppState::build(config).await {
        Ok(_) => panic!("start-up succeeded on {url}"),
        Err(e) => format!("{e:#}"),
    }
}

fn ca(cluster: &PgCluster) -> String {
    cluster.ca_cert.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_encrypts_without_verifying() {
    let cluster = PgCluster::start_new().await;
    serves_over_tls(&cluster, &cluster.url("localhost", "sslmode=require")).await;
    // `require` checks nothing about the certificate (libpq), so the address works too.
    serves_over_tls(&cluster, &cluster.url("127.0.0.1", "sslmode=require")).await;
    // No `sslmode` at all: libpq's default (`prefer`) negotiates TLS where the server offers
    // it (this cluster takes nothing else over TCP). The other tests' databases say
    // `sslmode=disable` (`pg::database_url`), so this is where the default is shown.
    serves_over_tls(&cluster, &cluster.url("localhost", "")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neon_shaped_url_with_channel_binding() {
    let cluster = PgCluster::start_new().await;
    let url = cluster.url("localhost", "sslmode=require&channel_binding=require");
    serves_over_tls(&cluster, &url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_full_with_the_right_ca() {
    let cluster = PgCluster::start_new().await;
    let url = cluster.url(
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={}", ca(&cluster)),
    );
    serves_over_tls(&cluster, &url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_ca_ignores_the_host_name() {
    let cluster = PgCluster::start_new().await;
    let url = cluster.url(
        "127.0.0.1",
        &format!("sslmode=verify-ca&sslrootcert={}", ca(&cluster)),
    );
    serves_over_tls(&cluster, &url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connections_are_clear_start_up_errors() {
    let cluster = PgCluster::start_new().await;

    // The certificate names `localhost`, not the address.
    let wrong_host = cluster.url(
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={}", ca(&cluster)),
    );
    let error = startup_error(&wrong_host).await;
    assert!(error.contains("DATABASE_URL"), "{error}");
    assert!(error.contains("not valid for name"), "{error}");

    // A CA that did not sign the server's certificate.
    let other_ca = cluster.url(
        "localhost",
        &format!(
            "sslmode=verify-full&sslrootcert={}",
            cluster.other_ca_cert.display()
        ),
    );
    let error = startup_error(&other_ca).await;
    assert!(
        error.to_lowercase().contains("unknown issuer") || error.contains("UnknownIssuer"),
        "{error}"
    );

    let error =
        startup_error(&cluster.url("localhost", "sslmode=verify-ca&sslrootcert=system")).await;
    assert!(
        error.to_lowercase().contains("unknown issuer") || error.contains("UnknownIssuer"),
        "{error}"
    );

    // The server accepts TCP only as `hostssl`: a plain connection is turned away by it.
    let error = startup_error(&cluster.url("localhost", "sslmode=disable")).await;
    assert!(
        error.contains("pg_hba.conf") && error.contains("no encryption"),
        "{error}"
    );

    // A root certificate file that is not there is a configuration error, not a panic.
    let missing = cluster.url(
        "localhost",
        "sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
    );
    let error = startup_error(&missing).await;
    assert!(error.contains("sslrootcert"), "{error}");
}

/// The real binary says what is wrong and exits non-zero; it does not panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_reports_a_refused_certificate() {
    let cluster = PgCluster::start_new().await;
    let url = cluster.url(
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={}", ca(&cluster)),
    );
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_todo-api"))
        .arg("migrate")
        .env("DATABASE_URL", &url)
        .env("DB_TIMEOUT", "3s")
        .env("BETTER_AUTH_SECRET", SECRET)
        .output()
        .await
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "migrate succeeded: {stderr}");
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("not valid for name"), "{stderr}");
    assert!(
        !stderr.contains(crate::common::cluster::PASSWORD),
        "the password leaked: {stderr}"
    );
}
