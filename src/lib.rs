//! todo-api: a GraphQL + REST backend for multi-user todo apps, on PostgreSQL or SQLite.
//!
//! # Code tour
//!
//! A request flows `axum router → auth::Gate (Bearer token → Verifier → rate limits →
//! AuthUser) → adapter (graphql/ or rest/) → tasks::TaskService → the feature's SQL (tasks::<feature>) → db`.
//!
//! - [`config`]: every setting, from env / flags, validated once.
//! - [`error`]: `AppError`, the one error type, and its REST mapping.
//! - [`auth`]: bearer parsing, token verification (HS256 secret, Better Auth's JWKS and
//!   session tokens), `AuthUser` (only the verifier makes one), and `Credential`: how long
//!   a WebSocket's or SSE stream's token stays good.
//! - [`db`]: the pool enum (PostgreSQL or SQLite, chosen from `DATABASE_URL`), TLS,
//!   embedded migrations, and `db_run!`, which expands one diesel query for both backends.
//! - [`tasks`]: the domain: model and validation rules, the service, all task SQL (the
//!   store), the two isolation seams (`visibility`: who may see a task, used by every query;
//!   `unit`: the one place a connection is checked out for a viewer, one transaction per
//!   write), task events: the per-user event router behind GraphQL subscriptions and SSE, fed
//!   by PostgreSQL `NOTIFY` (one LISTEN connection per instance, `db::events`) or in-process on
//!   SQLite, and incremental sync by per-user change cursors (`tasks::sync`).
//! - [`rest`]: the FastAPI-compatible `/api/{user_id}/tasks` routes, and their OpenAPI
//!   document (`/openapi.json`, Swagger UI at `/docs`).
//! - [`graphql`]: the GraphQL API at `/graphql` by layer: the schema and its resolvers
//!   (`schema/`), and the transport (`transport/`): HTTP and WebSocket, the limits (the same
//!   on every transport; introspection measured apart), selection order in responses, and
//!   GraphiQL served from the binary.
//! - [`server`]: the HTTP server around both APIs: request ids and logs, CORS, limits (body,
//!   time, per-user and anonymous rate, connections, header / body / idle timeouts) and
//!   serving with a bounded graceful shutdown.
//! - [`operator`]: what those who run it see: the front door (`/`), health (`/healthz`,
//!   `/readyz`), metrics (`/metrics`) and development mode's sign-in (`/dev/token`).
//! - `tasks::webhooks`: users' webhook endpoints, queued from the journal by the database
//!   and delivered signed (Standard Webhooks) by each instance's worker (docs/WEBHOOKS.md).

pub mod auth;
pub mod config;
pub mod db;
pub mod error;
pub mod graphql;
pub mod operator;
pub mod rest;
pub mod server;
pub mod tasks;

use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::extract::FromRef;

use crate::auth::Verifier;
use crate::config::Config;
use crate::db::Db;
use crate::tasks::TaskService;
use crate::tasks::webhooks::WebhookService;

/// What every handler can reach: one `Arc`, so that the copies axum makes of the router's
/// services for every request cost one reference count, not one per field (a profile of the
/// list under load put the copies and their drops at about 4 % of the server's CPU).
#[derive(Clone)]
pub struct AppState(Arc<AppParts>);

impl std::ops::Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

/// Handlers take the part they need (`State<TaskService>`, …), as with a derived `FromRef`.
macro_rules! parts {
    ($($field:ident: $ty:ty),* $(,)?) => {
        $(impl FromRef<AppState> for $ty {
            fn from_ref(state: &AppState) -> Self {
                state.0.$field.clone()
            }
        })*
    };
}

parts! {
    tasks: TaskService,
    db: Db,
    verifier: Arc<Verifier>,
    schema: graphql::AppSchema,
    pipeline: Arc<graphql::Pipeline>,
    config: Arc<Config>,
    gate: Arc<auth::Gate>,
    webhooks: WebhookService,
}

/// The parts of an [`AppState`].
pub struct AppParts {
    /// The tasks service.
    pub tasks: TaskService,
    /// The database pool, for health, metrics and the session verifier (the tasks service
    /// takes its own connections through its unit of work and never hands one out).
    pub db: Db,
    /// Token verification.
    pub verifier: Arc<Verifier>,
    /// The GraphQL schema.
    pub schema: graphql::AppSchema,
    /// What every GraphQL operation passes through: limits, document cache, order, metrics.
    pub pipeline: Arc<graphql::Pipeline>,
    /// The configuration.
    pub config: Arc<Config>,
    /// The admission gate: token verification plus the per-user and anonymous rate limits,
    /// which every transport passes through.
    pub gate: Arc<auth::Gate>,
    /// Webhooks: the users' endpoints and this instance's delivery worker (issue 43).
    pub webhooks: WebhookService,
}

impl AppState {
    /// Connects to the database, applies pending migrations and assembles the state.
    pub async fn build(config: Config) -> anyhow::Result<AppState> {
        install_crypto_provider();
        // Before anything records: the first JWKS fetch at start is counted too.
        operator::metrics::install();
        let db = Db::connect_routed(&config.database, config.routes.as_ref(), &config.pool)
            .await
            .with_context(|| {
                format!(
                    "DATABASE_URL: cannot connect to the {} database",
                    config.database.backend_name()
                )
            })?;
        let ran = db.migrate().await.context("applying database migrations")?;
        if ran > 0 {
            tracing::info!(migrations = ran, "applied database migrations");
        }
        let tasks = TaskService::new(
            db.clone(),
            config.realtime.max_subscriptions_per_user,
            config.realtime.tombstone_retention,
        )
        .with_task_cap(config.operations.max_tasks_per_user)
        .with_tag_cap(config.operations.max_tags_per_user)
        .with_list_cap(config.operations.max_lists_per_user)
        .with_sharing_caps(
            config.operations.max_members_per_list,
            config.operations.max_invites_per_list,
        )
        .with_invite_retention(config.operations.invite_retention)
        .with_idempotency(
            config.realtime.idempotency_key_retention,
            config.realtime.max_idempotency_keys_per_user,
        );
        tasks.spawn_tombstone_prune(config.realtime.tombstone_prune_interval);
        // Dead invite links go on the same schedule as tombstones (issue 40).
        tasks.spawn_invite_prune(config.realtime.tombstone_prune_interval);
        tasks.spawn_key_prune(config.realtime.idempotency_key_prune_interval);
        // The reminder job's connections: the event pool's on PostgreSQL, else the requests'.
        let mut job_db = None;
        if let Some(routes) = &config.routes {
            // Its own few connections read the tasks of events too large for their payload,
            // so a request pool held by busy users never holds the event stream up. They
            // also carry the listener's heartbeat and this instance's batched signals to the
            // others: through DATABASE_URL, as events travel.
            let fetch_pool = db::PoolOptions {
                max_size: config.realtime.event_fetch_connections,
                ..config.pool.clone()
            };
            let events_target = db::events::events_target(&config.database);
            let fetch_db = Db::connect_routed(&events_target, Some(routes), &fetch_pool)
                .await
                .context("DATABASE_URL: connecting the task event pool")?;
            // One LISTEN connection for the instance, on the direct session URL (LISTEN is
            // session state a transaction pooler cannot keep), carries every instance's task
            // events, and proves it hears them (`db::heartbeat`).
            let interval = config.realtime.event_heartbeat_interval;
            let heartbeat = db::events::Heartbeat::new(
                fetch_db.clone(),
                interval,
                db.event_health(),
                routes.deaf_listener_hint(),
            );
            let notices =
                db::events::listen(&routes.direct, config.pool.acquire_timeout, heartbeat)
                    .map_err(anyhow::Error::msg)
                    .context("DATABASE_DIRECT_URL: setting up the task event listener")?;
            // The event pool also carries this instance's own events to the others, batched
            // (`tasks::events::signal`): the writes themselves notify nobody at commit.
            tasks
                .route_database_events(notices, fetch_db.clone(), config.pool.acquire_timeout)
                .await;
            // Serve once the first heartbeat came back (or was missed, and said so).
            db.event_health().settled(interval).await;
            job_db = Some(fetch_db);
        }
        tasks.spawn_reminders(config.reminders.interval, job_db);
        let verifier = Arc::new(
            Verifier::new(config.auth.clone(), db.clone())
                .context("setting up token verification")?,
        );
        // Fetches Better Auth's keys once (not fatal when it is down) and keeps them fresh.
        verifier.start().await;
        // Its worker delivers what the journal's trigger queues, with tasks in the REST shape.
        let webhooks = WebhookService::new(db.clone(), config.webhooks.clone(), &tasks);
        let worker_db = webhook_worker_db(&config, &db).await?;
        webhooks
            .start(worker_db, rest::webhook_task_data)
            .context("setting up webhook delivery")?;
        let schema = graphql::build_schema(
            tasks.clone(),
            webhooks.clone(),
            verifier.clone(),
            &config.graphql,
        );
        let gate = server::conn::admission_gate(verifier.clone(), &config.operations);
        let pipeline = Arc::new(graphql::Pipeline::new(config.graphql.clone()));
        Ok(AppState(Arc::new(AppParts {
            tasks,
            db,
            verifier,
            schema,
            pipeline,
            config: Arc::new(config),
            gate,
            webhooks,
        })))
    }
}

/// The webhook worker's database: on PostgreSQL two connections of its own, named
/// `todo-api-webhooks` (unless DATABASE_URL names an application); on SQLite the pool.
async fn webhook_worker_db(config: &Config, db: &Db) -> anyhow::Result<Db> {
    let (db::DatabaseTarget::Postgres(url), Some(routes)) = (&config.database, &config.routes)
    else {
        return Ok(db.clone());
    };
    let named = match url.contains("application_name=") {
        true => url.clone(),
        false => {
            let joint = if url.contains('?') { '&' } else { '?' };
            let name = tasks::webhooks::WORKER_APPLICATION_NAME;
            format!("{url}{joint}application_name={name}")
        }
    };
    let pool = db::PoolOptions {
        max_size: 2,
        ..config.pool.clone()
    };
    Db::connect_routed(&db::DatabaseTarget::Postgres(named), Some(routes), &pool)
        .await
        .context("DATABASE_URL: connecting the webhook worker's pool")
}

/// Installs rustls' ring provider once (reqwest and the PostgreSQL TLS connector need one).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The whole HTTP application, inside the operating layers (request ids, metrics, CORS,
/// limits).
pub fn app(state: AppState) -> Router {
    let operations = state.config.operations.clone();
    let gate = state.gate.clone();
    let router = Router::new()
        .merge(rest::router())
        .merge(graphql::router())
        .merge(operator::routes(&state.config))
        .fallback(rest::not_found)
        .method_not_allowed_fallback(rest::method_not_allowed)
        .with_state(state);
    server::wrap(router, &operations, gate)
}

/// Development mode (no verification configured): refuses a network address, then loads or
/// creates the development secret and returns the configuration signing with it. Returns the
/// configuration as it is otherwise.
pub fn enter_development_mode(config: Config) -> anyhow::Result<Config> {
    if !config.needs_dev_secret() {
        return Ok(config);
    }
    if !config.host.is_loopback() {
        anyhow::bail!(
            "BETTER_AUTH_SECRET: no token verification is configured, and HOST={} is not a \
             loopback address. Set BETTER_AUTH_URL (Better Auth's JWKS) or \
             BETTER_AUTH_SECRET (or JWT_SECRET) before serving on a network address.",
            config.host
        );
    }
    config
        .with_dev_secret()
        .context("DEV_SECRET_FILE: cannot use the development secret")
}

/// Runs the server until SIGINT / SIGTERM.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let config = enter_development_mode(config)?;
    let addr = config.listen_addr();
    let state = AppState::build(config).await?;
    let shutdown = shutdown_signal()?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("HOST/PORT: cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    log_start_up(&state.config, local);
    // Last: from this line on, the server answers.
    tracing::info!(address = %local, backend = state.db.backend_name(), "todo-api listening");
    server::serve_on(listener, state, shutdown).await?;
    tracing::info!("shut down");
    Ok(())
}

/// Where to go next: the URLs, and in development mode how to get a token and what CORS
/// allows.
fn log_start_up(config: &Config, local: std::net::SocketAddr) {
    let base = format!("http://{local}");
    // One line per URL, aligned: this is what a newcomer reads first.
    let links: String = operator::front::LINKS
        .iter()
        .map(|(_, path, what)| format!("\n  {what:<48} {base}{path}"))
        .collect();
    tracing::info!("start here: {base}/{links}");
    if config.is_development() {
        let secret = config
            .dev_secret_file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        tracing::warn!(
            secret_file = %secret,
            "DEVELOPMENT MODE: no BETTER_AUTH_SECRET is set, so tokens are signed with a generated \
             secret kept in {secret}. Get a token with `{}` (from the source tree) or `{}` \
             (installed binary), or sign in from GraphiQL at {base}/graphql, and send it as \
             `Authorization: Bearer <token>`.",
            operator::front::TOKEN_COMMANDS[0],
            operator::front::TOKEN_COMMANDS[1],
        );
    }
    match &config.operations.cors_origins {
        config::CorsOrigins::List(origins) if config.operations.cors_development_default => {
            tracing::info!(
                "CORS: development mode allows {} (a Next.js dev server); set CORS_ORIGINS to \
                 choose the origins",
                origins.join(" and ")
            );
        }
        config::CorsOrigins::Off => tracing::info!(
            "CORS: no browser origin may call the API from another page; set CORS_ORIGINS \
             (e.g. http://localhost:3000) to allow a frontend"
        ),
        config::CorsOrigins::Any => tracing::info!("CORS: any origin is allowed (CORS_ORIGINS=*)"),
        config::CorsOrigins::List(origins) => {
            tracing::info!("CORS: allowed origins: {}", origins.join(", "))
        }
    }
}

/// Installs the SIGINT / SIGTERM handlers now (a signal that arrives once the server answers
/// must drain it, not kill it) and returns the future that completes at the first of them.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    let received = {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
        let mut terminate = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
        async move {
            tokio::select! {
                _ = interrupt.recv() => {},
                _ = terminate.recv() => {},
            }
        }
    };
    #[cfg(not(unix))]
    let received = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    Ok(async move {
        received.await;
        tracing::info!("shutdown signal received; finishing in-flight requests");
    })
}
