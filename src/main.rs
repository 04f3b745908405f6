//! The `todo-api` command: `serve` (default), `migrate`, `token`, `print-schema`.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use todo_api::config::{LogFormat, Settings, parse_duration};

/// A GraphQL + REST backend for multi-user todo apps, on PostgreSQL or SQLite.
///
/// Every option can also be set by the environment variable shown (or in a .env file).
#[derive(Debug, Parser)]
#[command(name = "todo-api", version, about)]
struct Cli {
    #[command(flatten)]
    settings: Settings,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print a signed token for a user (development and scripts).
    Token {
        /// The user id to put in `sub`.
        user_id: String,
        /// How long the token is valid (e.g. 15m, 1h, 7d).
        #[arg(long, default_value = "1h", value_parser = parse_duration)]
        ttl: Duration,
    },
    /// Print the GraphQL schema (SDL), as checked in at schema.graphql.
    PrintSchema,
}

/// The settings each subcommand reads (by argument id, the field name of its declaration in
/// `config`); its help lists only these. `serve` reads them all. The others are still accepted (a shared `.env` sets them all), just not
/// listed.
const USED_BY: &[(&str, &[&str])] = &[
    (
        "migrate",
        &["database_url", "db_pool_size", "db_timeout", "log_format"],
    ),
    (
        "token",
        &[
            "auth_secret",
            "jwt_secret",
            "jwt_algorithms",
            "jwt_issuer",
            "jwt_audience",
            "better_auth_url",
            "jwks_url",
            "dev_secret_file",
            "log_format",
        ],
    ),
    ("print-schema", &[]),
];

/// The command line, with each subcommand's help trimmed to the settings it uses.
fn command_line() -> clap::Command {
    let command = Cli::command();
    let global: Vec<clap::Arg> = command
        .get_arguments()
        .filter(|arg| arg.is_global_set())
        .cloned()
        .collect();
    // clap copies global settings into every subcommand when it builds the parser, except
    // where the subcommand already has one of that id: give each subcommand a hidden copy of
    // those it does not use (still accepted, just not listed).
    USED_BY.iter().fold(command, |command, (name, used)| {
        command.mut_subcommand(*name, |sub| {
            global
                .iter()
                .filter(|arg| !used.contains(&arg.get_id().as_str()))
                .fold(sub, |sub, arg| sub.arg(arg.clone().hide(true)))
        })
    })
}

fn main() -> ExitCode {
    let _ = dotenvy::dotenv();
    let cli = match Cli::from_arg_matches(&command_line().get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let format = match cli.settings.log_format() {
        Ok(format) => format,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    init_logging(format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(run(cli));
    // Dropping a runtime waits for every blocking task still running, unbounded (an SQLite
    // statement of a background job, waiting on its busy timeout): the server's drain is over
    // by now (finished, or cut at SHUTDOWN_TIMEOUT), so what is left gets a bounded moment,
    // then the process exits (SQLite and PostgreSQL roll back a transaction its process left,
    // as after a crash).
    runtime.shutdown_timeout(EXIT_GRACE);
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// How long background work still running after the server's drain may hold the exit.
const EXIT_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// Logs go to stderr, filtered by RUST_LOG. JSON lines carry the current span's fields (the
/// request id) on every event, so a log collector can group a request's lines.
fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,tower_http=info".into());
    // Internal write errors are not reported: the fallback report is an `eprintln!`, which
    // panics (dropping the request being logged) once stderr is a closed pipe.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .log_internal_errors(false);
    match format {
        LogFormat::Pretty => builder.init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Some(Command::PrintSchema) = cli.command {
        print!("{}", todo_api::graphql::sdl());
        return Ok(());
    }
    let config = cli.settings.validate()?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            trim_the_c_heap();
            todo_api::serve(config).await
        }
        Command::Migrate => {
            todo_api::install_crypto_provider();
            let db = todo_api::db::Db::connect_routed(
                &config.database,
                config.routes.as_ref(),
                &config.pool,
            )
            .await
            .context("DATABASE_URL: cannot connect to the database")?;
            let ran = db.migrate().await?;
            println!(
                "applied {ran} migration(s) to the {} database",
                db.backend_name()
            );
            Ok(())
        }
        Command::Token { user_id, ttl } => {
            let config = if config.needs_dev_secret() {
                let config = config.with_dev_secret()?;
                if let Some(path) = &config.dev_secret_file {
                    eprintln!("(signed with the development secret in {})", path.display());
                }
                config
            } else {
                config
            };
            let token = config
                .auth
                .mint(&user_id, ttl)
                .map_err(|problem| anyhow::anyhow!("cannot mint a token: {problem}"))?;
            println!("{token}");
            Ok(())
        }
        Command::PrintSchema => Ok(()),
    }
}

/// jemalloc rather than glibc's malloc: under load the server spends much of its time in
/// small allocations (HTTP, rows, JSON), and the benchmark showed jemalloc 13 % cheaper per
/// REST list request with resident memory unchanged at 1,000 connections
/// (benches/README.md).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options (read once, at its first allocation): by default it gives freed pages
/// back to the system only while the program keeps allocating, so after a burst of large
/// responses an idle server kept hundreds of MB (issue 40). A background thread returns
/// pages unused for a second (`dirty_decay_ms`), off the request path, straight to the system
/// (`muzzy_decay_ms:0`: pages merely marked free still count as resident). `_RJEM_MALLOC_CONF`
/// in the environment overrides it.
#[cfg(not(target_env = "msvc"))]
#[allow(non_upper_case_globals)]
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static malloc_conf: Option<&'static std::ffi::c_char> = Some(unsafe {
    // SAFETY: a C string literal lives for the whole program.
    &*c"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0".as_ptr()
});

/// SQLite (C) allocates through the C library's malloc, not jemalloc: on glibc, what it frees
/// after large reads stays in its arenas (issue 40: ~110 MB after eight 10,000-task answers,
/// with nothing in flight). A thread returns their free pages to the system every few seconds
/// (`malloc_trim`, a walk of free chunks: cheap next to the interval).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim_the_c_heap() {
    const EVERY: std::time::Duration = std::time::Duration::from_secs(5);
    let spawned = std::thread::Builder::new()
        .name("malloc-trim".into())
        .spawn(|| {
            loop {
                std::thread::sleep(EVERY);
                // SAFETY: malloc_trim only releases free memory; it takes the arenas' locks.
                unsafe { libc::malloc_trim(0) };
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the malloc-trim thread");
    }
}

/// Other C libraries give memory back themselves, or have no `malloc_trim`.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim_the_c_heap() {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every id in `USED_BY` names a declared setting and every name a subcommand: a renamed
    /// setting cannot silently drop out of a command's help.
    #[test]
    fn used_by_names_declared_settings() {
        let command = Cli::command();
        for (name, used) in USED_BY {
            assert!(command.find_subcommand(name).is_some(), "{name}");
            for id in *used {
                assert!(
                    command.get_arguments().any(|arg| arg.get_id() == id),
                    "{name}: {id} is not a setting"
                );
            }
        }
        command_line().debug_assert();
    }
}
