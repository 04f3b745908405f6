//! The settings reference, rendered from the declarations (clap's view of them: flag,
//! environment variable, default, help): `.env.example` and `docs/settings.md`. A test fails
//! when either checked-in file differs from what is rendered here, and rewrites both when
//! `UPDATE_SETTINGS=1` is set. Only reads the declarations; never the environment.

use clap::{Arg, Args, Command};

use super::{
    AuthArgs, DatabaseArgs, LimitsArgs, RealtimeArgs, RemindersArgs, ServerArgs, WebhooksArgs,
};

/// One setting as declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The environment variable.
    pub env: String,
    /// The flag, with its dashes.
    pub flag: String,
    /// The default, when there is one (it may be empty text).
    pub default: Option<String>,
    /// The help text, as `--help` shows it.
    pub help: String,
    /// A secret (`--help` does not show its value).
    pub secret: bool,
}

/// Adds one concern's settings to a command (`Args::augment_args`).
type Augment = fn(Command) -> Command;

/// The settings by concern, in the order `--help` lists them.
pub fn reference() -> Vec<(&'static str, Vec<Setting>)> {
    let groups: [(&'static str, Augment); 7] = [
        ("Database", DatabaseArgs::augment_args),
        (
            "Server: listening, logs, CORS, shutdown",
            ServerArgs::augment_args,
        ),
        (
            "Auth: shared secret, JWT checks, Better Auth",
            AuthArgs::augment_args,
        ),
        ("Limits", LimitsArgs::augment_args),
        ("Realtime and sync", RealtimeArgs::augment_args),
        ("Webhooks", WebhooksArgs::augment_args),
        ("Reminders", RemindersArgs::augment_args),
    ];
    groups
        .into_iter()
        .map(|(title, augment)| {
            let command = augment(Command::new("todo-api"));
            (title, command.get_arguments().filter_map(setting).collect())
        })
        .collect()
}

fn setting(arg: &Arg) -> Option<Setting> {
    let env = arg.get_env()?.to_string_lossy().into_owned();
    let help = arg.get_long_help().or(arg.get_help())?.to_string();
    Some(Setting {
        env,
        flag: format!("--{}", arg.get_long()?),
        default: arg
            .get_default_values()
            .first()
            .map(|value| value.to_string_lossy().into_owned()),
        help,
        secret: arg.is_hide_env_values_set(),
    })
}

/// Example values shown for settings that are unset by default (never a default: an
/// example is commented out).
const EXAMPLES: &[(&str, &str)] = &[
    ("BETTER_AUTH_URL", "https://app.example.com"),
    (
        "CORS_ORIGINS",
        "http://localhost:3000,https://app.example.com",
    ),
    ("DEV_SECRET_FILE", "/home/me/.config/todo-api/dev-secret"),
];

const ENV_HEADER: &str = "\
# todo-api settings. Copy to `.env` (read at start when present) and edit; every setting is
# also an environment variable and a flag of the same name (DATABASE_URL <-> --database-url;
# one exception: BETTER_AUTH_SECRET is --auth-secret).
# `todo-api --help` describes each. Values shown are the defaults; commented lines are unset.
# Durations take ms, s, m, h or d (90s, 15m); sizes take bytes, KiB or MiB.
# Rendered from the declarations in src/config/ (docs/settings.md says how): edit those.
#
# Neon: DATABASE_URL=postgresql://USER:PASSWORD@ep-….neon.tech/DB?sslmode=require&channel_binding=require
";

const ENV_FOOTER: &str = "
# --- Read by the logger, not a flag ------------------------------------------------------
# Log filter (tracing's EnvFilter syntax), e.g. info or todo_api=debug,info.
RUST_LOG=info
";

/// `.env.example`.
pub fn env_example() -> String {
    let mut out = String::from(ENV_HEADER);
    for (title, settings) in reference() {
        out.push_str(&format!("\n# --- {title} "));
        let used = title.chars().count() + 7;
        out.push_str(&"-".repeat(92usize.saturating_sub(used)));
        out.push('\n');
        for setting in settings {
            for line in wrap(&setting.help, 90) {
                out.push_str(&format!("# {line}\n"));
            }
            let example = EXAMPLES.iter().find(|(env, _)| *env == setting.env);
            match (&setting.default, example) {
                (Some(default), _) => out.push_str(&format!("{}={default}\n", setting.env)),
                (None, Some((_, example))) => {
                    out.push_str(&format!("# {}={example}\n", setting.env))
                }
                (None, None) => out.push_str(&format!("# {}=\n", setting.env)),
            }
        }
    }
    out.push_str(ENV_FOOTER);
    out
}

const MARKDOWN_HEADER: &str = "\
# Settings

Every setting is an environment variable (also read from a `.env` file in the working
directory) and a command-line flag of the same name: `DATABASE_URL` is `--database-url` (one
exception: `BETTER_AUTH_SECRET` is `--auth-secret`); a flag wins over the environment. `todo-api --help` lists them; `todo-api <command> --help`
lists those a command uses. Durations take `ms`, `s`, `m`, `h` or `d` (`90s`, `15m`); sizes
take bytes, `KiB` or `MiB`. A bad value stops start-up with a message naming the variable.
`.env.example` holds the same settings with their defaults, ready to copy to `.env`.

This page and `.env.example` are rendered from the declarations in `src/config/` (one typed
clap field per setting), and a test (`cargo test --lib config::reference`) fails when either
differs from them. To change a setting, edit its declaration, then regenerate both files:

```sh
UPDATE_SETTINGS=1 cargo test --lib config::reference
```
";

/// `docs/settings.md`.
pub fn markdown() -> String {
    let mut out = String::from(MARKDOWN_HEADER);
    for (title, settings) in reference() {
        out.push_str(&format!("\n## {title}\n\n"));
        out.push_str("| Variable | Flag | Default | What it does |\n");
        out.push_str("|---|---|---|---|\n");
        for setting in settings {
            let default = match setting.default.as_deref() {
                Some("") => "empty".to_owned(),
                Some(default) => format!("`{default}`"),
                None => "unset".to_owned(),
            };
            let secret = if setting.secret { " (secret)" } else { "" };
            out.push_str(&format!(
                "| `{}` | `{}` | {default} | {}{secret} |\n",
                setting.env,
                setting.flag,
                setting.help.replace('|', "\\|").replace('\n', " "),
            ));
        }
    }
    out.push_str(
        "\nAlso read: `RUST_LOG`, the log filter (tracing's `EnvFilter` syntax; default \
         `info`).\n",
    );
    out
}

/// Words of `text` in lines of at most `width` characters (a longer word gets a line alone).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_owned()),
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `.env.example` and `docs/settings.md` say what the declarations say.
    #[test]
    fn reference_files_match_the_declarations() {
        let root = env!("CARGO_MANIFEST_DIR");
        let files = [
            (format!("{root}/.env.example"), env_example()),
            (format!("{root}/docs/settings.md"), markdown()),
        ];
        let update = std::env::var_os("UPDATE_SETTINGS").is_some();
        for (path, rendered) in files {
            if update {
                std::fs::write(&path, &rendered).expect("write the reference");
                continue;
            }
            let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                on_disk == rendered,
                "{path} differs from the settings declared in src/config/; regenerate it with \
                 `UPDATE_SETTINGS=1 cargo test --lib config::reference` (and review the diff)"
            );
        }
    }

    #[test]
    fn every_setting_has_a_variable_a_flag_and_help() {
        let all: Vec<Setting> = reference().into_iter().flat_map(|(_, s)| s).collect();
        assert!(all.len() > 40, "{}", all.len());
        for setting in &all {
            assert!(!setting.help.is_empty(), "{}", setting.env);
            let flag = format!("--{}", setting.env.to_ascii_lowercase().replace('_', "-"));
            // One flag keeps its older name: --auth-secret is BETTER_AUTH_SECRET.
            if setting.env != "BETTER_AUTH_SECRET" {
                assert_eq!(setting.flag, flag);
            }
        }
    }
}
