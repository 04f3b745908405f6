//! PostgreSQL's functions, each in one file beside the Rust that calls it or the feature whose
//! rows it keeps (issue 59): `src/tasks/service/folded/task_create.sql` beside `folded/mod.rs`,
//! `src/tasks/sync/journal_changes.sql` beside `journal.rs`. A file holds one function's
//! current text, exactly as `pg_get_functiondef` prints it, after a comment saying what it is;
//! its name is the function's. [`FUNCTIONS`] lists them all, in the order [`apply`] runs them.
//!
//! Migrations hold tables, columns, indexes, constraints, trigger bindings, grants and data
//! moves; no migration after 000083 defines a function (`tests/it/db_functions.rs` checks).
//! The older migrations stay as history: on a fresh database they define each function as it
//! was then, and [`apply`] brings it to its file's text.
//!
//! A file's text is compared with the database's after [`definition`] (the leading comment
//! lines dropped, the end trimmed of whitespace and the one `;` that closes the statement) and
//! [`canonical`] (the head's layout folded: `pg_get_functiondef` prints each of `RETURNS`,
//! `LANGUAGE`, `SECURITY DEFINER`, `SET search_path` on a line of its own, and a file writes
//! them on the line after the signature). The body, between the `$function$` quotes, is
//! compared byte for byte, so a file keeps the body's text exactly as the database stores it
//! (or the step would rewrite it at every start): `db_functions::` tests that a migrated
//! database reads back every file as it is.

use std::collections::HashSet;

use anyhow::Context;
use diesel::QueryableByName;
use diesel::sql_types::Text;
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};

use super::pg::PgConn;

/// One function's file.
#[derive(Debug, Clone, Copy)]
pub struct Function {
    /// Its path under `src/`; the file's stem is the function's name.
    pub path: &'static str,
    /// The file's text: a comment, then the `CREATE OR REPLACE FUNCTION` statement.
    pub text: &'static str,
}

impl Function {
    /// The function's name (the file's stem).
    pub fn name(&self) -> &'static str {
        let file = self.path.rsplit('/').next().unwrap_or(self.path);
        file.strip_suffix(".sql").unwrap_or(file)
    }

    /// Its statement: the text `pg_get_functiondef` gives for it, but for the head's layout.
    pub fn definition(&self) -> &'static str {
        definition(self.text)
    }

    /// Its statement as [`canonical`] compares it.
    pub fn canonical(&self) -> String {
        canonical(self.definition())
    }
}

/// The statement of a function file: its leading comment and blank lines dropped, its end
/// trimmed of whitespace and of the `;` that closes it.
pub fn definition(text: &str) -> &str {
    let mut rest = text;
    while let Some(line) = rest.lines().next() {
        let trimmed = line.trim();
        if !(trimmed.is_empty() || trimmed.starts_with("--")) {
            break;
        }
        rest = rest.split_once('\n').map_or("", |(_, after)| after);
    }
    let rest = rest.trim_end();
    rest.strip_suffix(';').unwrap_or(rest).trim_end()
}

/// A definition as the files and the database are compared: its head (up to the `$function$`
/// that opens the body) with every run of whitespace folded to one space, its body as it is.
/// A function whose body is not dollar-quoted (`RETURN …`, which PostgreSQL prints from its
/// parse tree) is folded whole. The end is trimmed.
pub fn canonical(definition: &str) -> String {
    let definition = definition.trim_end();
    let (head, body) = definition
        .find("$function$")
        .map_or((definition, ""), |at| definition.split_at(at));
    let mut folded = head.split_whitespace().collect::<Vec<_>>().join(" ");
    if !body.is_empty() {
        folded.push(' ');
        folded.push_str(body);
    }
    folded
}

/// Lists function files by path under `src/`, each embedded in the binary.
macro_rules! functions {
    ($($path:literal),* $(,)?) => {
        &[$(Function { path: $path, text: include_str!(concat!("../", $path)) }),*]
    };
}

/// Every function file, in the order [`apply`] runs them. A function calls another by name at
/// run time (PL/pgSQL), so the order matters only for a SQL-language function's body, which
/// PostgreSQL checks when it is defined: put what it calls first.
pub const FUNCTIONS: &[Function] = functions![
    // Who sees what: the row-security policies' helpers.
    "tasks/visibility/app_member_lists.sql",
    "tasks/visibility/app_editor_lists.sql",
    "tasks/visibility/app_owned_lists.sql",
    "tasks/visibility/app_member_task_ids.sql",
    // Tasks: search keys, versions, readable times.
    "tasks/task/search_fold.sql",
    "tasks/task/tasks_search_keys.sql",
    "tasks/task/bump_version.sql",
    "tasks/task/readable_time.sql",
    // The owner's locks; each owner's task count for the cap.
    "tasks/unit/owner_locks.sql",
    "tasks/task/counts/may_count_for.sql",
    "tasks/task/counts/refuse_unless_may_count.sql",
    "tasks/task/counts/owner_task_count.sql",
    "tasks/task/counts/owner_task_cap_reached.sql",
    "tasks/task/counts/task_counts_lock.sql",
    "tasks/task/counts/task_counts_insert.sql",
    "tasks/task/counts/task_counts_delete.sql",
    "tasks/task/counts/task_counts_move.sql",
    "tasks/task/counts/task_counts_truncate.sql",
    // Manual order.
    "tasks/order/position_after.sql",
    "tasks/order/group_end.sql",
    "tasks/order/tasks_place.sql",
    // Tags.
    "tasks/tags/owner_tag_count.sql",
    "tasks/tags/index_task_tags.sql",
    // Lists and sharing.
    "tasks/lists/tasks_list_owner.sql",
    "tasks/lists/task_lists_owner_fits.sql",
    "tasks/sharing/assignable.sql",
    "tasks/sharing/tasks_assignee_fit.sql",
    "tasks/sharing/list_members_unassign.sql",
    "tasks/sharing/list_members_not_owner.sql",
    "tasks/sharing/list_writer.sql",
    "tasks/sharing/invite_accept.sql",
    // The task writes (`folded`), and the generator of `task_store` and `task_defaults`.
    "tasks/task/write/task_store_restate.sql",
    "tasks/task/write/task_writer.sql",
    "tasks/service/folded/task_create_owned.sql",
    "tasks/service/folded/task_create.sql",
    "tasks/service/folded/task_update_owned.sql",
    "tasks/service/folded/task_update.sql",
    "tasks/service/folded/task_complete_owned.sql",
    "tasks/service/folded/task_complete.sql",
    "tasks/service/folded/task_delete_owned.sql",
    "tasks/service/folded/task_delete.sql",
    // Idempotency keys.
    "tasks/idempotency/idempotency_claim.sql",
    // The journal and its NOTIFY; reminders; webhooks.
    "tasks/sync/journal_record.sql",
    "tasks/sync/journal_send.sql",
    "tasks/sync/journal_notify.sql",
    "tasks/sync/journal_changes.sql",
    "tasks/sync/journal_memberships.sql",
    "tasks/reminders/tasks_rearm_reminder.sql",
    "tasks/reminders/reminders_fire.sql",
    "tasks/webhooks/webhook_enqueue.sql",
];

/// Functions with no file of their own: generated from `tasks`' columns by the function named
/// beside them, whose file is their one definition (generated name, generator).
pub const GENERATED: &[(&str, &str)] = &[
    ("task_store", "task_store_restate"),
    ("task_defaults", "task_store_restate"),
];

/// Regenerates [`GENERATED`]: after any migration (a migration that adds a column of `tasks`
/// calls it too, when its own data moves need the new column) and after any file applied.
const REGENERATE: &str = "SELECT task_store_restate()";

/// The definitions of the functions of schema `public` now (extensions' own left out, and
/// aggregates, which `pg_get_functiondef` does not print).
const CURRENT: &str = "
SELECT pg_get_functiondef(p.oid) AS definition
FROM pg_proc p
WHERE p.pronamespace = 'public'::regnamespace AND p.prokind <> 'a'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')";

#[derive(QueryableByName)]
struct Current {
    #[diesel(sql_type = Text)]
    definition: String,
}

#[derive(QueryableByName)]
struct Schema {
    #[diesel(sql_type = Text)]
    name: String,
}

/// Brings every function to its file's text: run by `Db::migrate` right after the migrations,
/// in their transaction and under their advisory lock. It reads every definition in one
/// statement and runs only the files whose text differs, so a start with nothing to change
/// writes no catalog row, and instances starting together take turns on the lock. Returns how
/// many files it ran (`migrations_ran`: how many migrations just ran, which makes it
/// regenerate [`GENERATED`] too).
///
/// `CREATE OR REPLACE` keeps a function's owner, grants and comment, but cannot change its
/// arguments' types or names or its result type: such a change would need the old function
/// dropped first (a migration's `DROP FUNCTION`, before its new file applies), and a new
/// function would need its owner and grants set after this step; neither has happened yet.
pub(super) async fn apply(conn: &mut PgConn, migrations_ran: usize) -> anyhow::Result<usize> {
    let schema: Schema = diesel::sql_query("SELECT current_schema()::text AS name")
        .get_result(conn)
        .await
        .context("reading the current schema")?;
    anyhow::ensure!(
        schema.name == "public",
        "the database's functions are defined in schema public (src/db/functions.rs), but the \
         migrations ran in schema {}",
        schema.name
    );
    let current: Vec<Current> = diesel::sql_query(CURRENT)
        .load(conn)
        .await
        .context("reading the database's functions")?;
    let current: HashSet<String> = current.iter().map(|c| canonical(&c.definition)).collect();
    let mut ran = 0;
    for function in FUNCTIONS {
        if !current.contains(&function.canonical()) {
            conn.batch_execute(function.text)
                .await
                .with_context(|| format!("defining src/{}", function.path))?;
            ran += 1;
        }
    }
    if ran > 0 || migrations_ran > 0 {
        conn.batch_execute(REGENERATE)
            .await
            .context("regenerating task_store and task_defaults")?;
    }
    if ran > 0 {
        tracing::info!(
            functions = ran,
            "defined database functions from their files"
        );
    }
    Ok(ran)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_definition_is_the_statement_without_its_comment_and_semicolon() {
        let text = "-- What it is.\n-- More.\n\nCREATE OR REPLACE FUNCTION public.f()\n \
                    RETURNS void\nAS $function$\n-- inside\n$function$;\n\n";
        assert_eq!(
            definition(text),
            "CREATE OR REPLACE FUNCTION public.f()\n RETURNS void\nAS $function$\n-- inside\n\
             $function$"
        );
    }

    #[test]
    fn the_canonical_form_folds_the_head_and_keeps_the_body() {
        let printed = "CREATE OR REPLACE FUNCTION public.f()\n RETURNS trigger\n LANGUAGE plpgsql\n\
                       AS $function$\nBEGIN\n    RETURN  NULL;\nEND\n$function$\n";
        let written = "CREATE OR REPLACE FUNCTION public.f()\n RETURNS trigger LANGUAGE plpgsql AS \
                       $function$\nBEGIN\n    RETURN  NULL;\nEND\n$function$";
        assert_eq!(canonical(printed), canonical(written));
        assert_ne!(
            canonical(printed),
            canonical(&written.replace("RETURN  NULL", "RETURN NULL"))
        );
        assert_ne!(
            canonical(printed),
            canonical(&written.replace(" LANGUAGE", " STABLE LANGUAGE"))
        );
    }

    #[test]
    fn every_file_states_the_function_it_is_named_after() {
        let mut seen = HashSet::new();
        for function in FUNCTIONS {
            assert!(
                seen.insert(function.name()),
                "{} listed twice",
                function.path
            );
            let head = format!("CREATE OR REPLACE FUNCTION public.{}(", function.name());
            assert!(
                function.definition().starts_with(&head),
                "src/{} must begin (after its comment) with `{head}`",
                function.path
            );
        }
    }
}
