//! A task's stored fields, declared once ([`task_fields!`], issue 42): each column of `tasks`
//! a task is made of, its GraphQL name (or `_`: not in the GraphQL `Task`) and whether the
//! REST JSON shows it (`rest` or `_`), in the order both APIs show them.
//!
//! What is cheap to derive is derived from it: the GraphQL fast path's stored set and its
//! values, the value a VERSION_CONFLICT carries (`graphql::task_items`), and [`TASK_FIELDS`].
//! The rest is spelled by each layer in its own types and checked against [`TASK_FIELDS`]
//! by a test that fails when they disagree: the row's SELECT list and the table's columns
//! (below), the domain `Task` (below), the GraphQL `Task` through introspection and the
//! REST JSON of a created task (`tests/it/task_fields.rs`). docs/OPERATING.md says how a
//! field is added.

/// Calls `$then!` (a macro in scope at the call) with a task's stored fields:
/// `task_fields!(all => m)` with each as `column graphql_name rest_flag,` (`_`: none),
/// `task_fields!(graphql => m)` with those the GraphQL `Task` shows, as `column "name",`.
macro_rules! task_fields {
    (all => $then:path $(, $($lead:tt)*)?) => {
        $then! {
            $($($lead)*)?
            // column       GraphQL name     REST JSON
            id              "id"             rest,
            user_id         _                rest,
            title           "title"          rest,
            description     "description"    rest,
            completed       "completed"      rest,
            created_at      "createdAt"      rest,
            updated_at      "updatedAt"      rest,
            priority        "priority"       rest,
            category        "category"       rest,
            due_date        "dueDate"        rest,
            completed_at    "completedAt"    rest,
            version         "version"        rest,
            list_id         "listId"         rest,
            parent_id       "parentId"       rest,
            position        "position"       rest,
            tags            "tags"           rest,
            recurrence      "recurrence"     rest,
            time_zone       "timeZone"       rest,
            // The due date a series began with (`tasks::series`): the server's, not shown.
            recurrence_start _               _,
            created_by      "createdBy"      rest,
            assignee_id     "assigneeId"     rest,
        }
    };
    (graphql => $then:ident) => {
        $crate::tasks::task::fields::task_fields!(
            all => $crate::tasks::task::fields::graphql_only, $then []
        );
    };
}

/// `task_fields!(graphql => m)`'s filter: calls `m!` with the fields that have a GraphQL name.
macro_rules! graphql_only {
    ($then:ident [$($kept:tt)*]) => {
        $then! { $($kept)* }
    };
    ($then:ident [$($kept:tt)*] $column:ident _ $rest:tt, $($more:tt)*) => {
        $crate::tasks::task::fields::graphql_only!($then [$($kept)*] $($more)*);
    };
    ($then:ident [$($kept:tt)*] $column:ident $graphql:literal $rest:tt, $($more:tt)*) => {
        $crate::tasks::task::fields::graphql_only!($then [$($kept)* $column $graphql,] $($more)*);
    };
}

pub(crate) use {graphql_only, task_fields};

/// One stored field of a task, as [`task_fields!`] declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskField {
    /// Its column in `tasks` (and its name in the domain `Task` and the REST JSON).
    pub column: &'static str,
    /// Its name in the GraphQL `Task`; `None`: not shown there.
    pub graphql: Option<&'static str>,
    /// Whether the REST JSON shows it.
    pub rest: bool,
}

macro_rules! field_table {
    (@graphql _) => { None };
    (@graphql $name:literal) => { Some($name) };
    (@rest _) => { false };
    (@rest rest) => { true };
    ($($column:ident $graphql:tt $rest:tt,)*) => {
        /// Every stored field of a task, in the order the APIs show them.
        pub const TASK_FIELDS: &[TaskField] = &[$(TaskField {
            column: stringify!($column),
            graphql: field_table!(@graphql $graphql),
            rest: field_table!(@rest $rest),
        }),*];
    };
}

task_fields!(all => field_table);

impl TaskField {
    /// Whether the domain `Task` carries it (what either API shows).
    pub fn shown(&self) -> bool {
        self.graphql.is_some() || self.rest
    }
}

#[cfg(test)]
mod tests {
    use diesel::prelude::*;
    use diesel::sqlite::Sqlite;

    use super::TASK_FIELDS;
    use crate::db::schema::tasks;
    use crate::tasks::task::model::TaskRow;

    /// The column names of a SELECT as diesel writes it for SQLite (`` `tasks`.`id` ``).
    fn selected(sql: String) -> Vec<String> {
        let list = sql.split(" FROM ").next().unwrap_or_default();
        list.split(", ")
            .map(|c| c.rsplit('.').next().unwrap_or_default().trim_matches('`'))
            .map(|c| c.trim_start_matches("SELECT `").to_owned())
            .collect()
    }

    fn columns() -> Vec<String> {
        TASK_FIELDS.iter().map(|f| f.column.to_owned()).collect()
    }

    #[test]
    fn graphql_names_are_the_columns_in_camel_case() {
        for field in TASK_FIELDS {
            let Some(name) = field.graphql else { continue };
            let mut camel = String::new();
            let mut upper = false;
            for c in field.column.chars() {
                match c {
                    '_' => upper = true,
                    c if upper => {
                        camel.push(c.to_ascii_uppercase());
                        upper = false;
                    }
                    c => camel.push(c),
                }
            }
            assert_eq!(name, camel, "{}", field.column);
        }
    }

    #[test]
    fn the_row_selects_the_table_s_fields_in_order() {
        let query = tasks::table.select(TaskRow::as_select());
        let sql = diesel::debug_query::<Sqlite, _>(&query).to_string();
        assert_eq!(selected(sql), columns());
    }

    #[test]
    fn every_column_of_tasks_is_a_field_or_a_search_key() {
        let query = tasks::table.select(tasks::all_columns);
        let sql = diesel::debug_query::<Sqlite, _>(&query).to_string();
        let mut stored = selected(sql);
        // The search keys are the database's, derived from title and description (`task::keys`).
        stored.retain(|c| !c.ends_with("_key"));
        let (mut stored, mut fields) = (stored, columns());
        stored.sort();
        fields.sort();
        assert_eq!(stored, fields);
    }

    #[test]
    fn the_domain_task_carries_the_shown_fields_in_order() {
        let json = serde_json::to_string(&crate::tasks::Task::default()).expect("JSON");
        let object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&json).expect("an object");
        // In the order written (the map sorts them).
        let mut keys: Vec<(usize, &String)> = object
            .keys()
            .map(|k| (json.find(&format!("\"{k}\":")).expect("written"), k))
            .collect();
        keys.sort();
        let keys: Vec<&str> = keys.into_iter().map(|(_, k)| k.as_str()).collect();
        let shown: Vec<&str> = TASK_FIELDS
            .iter()
            .filter(|f| f.shown())
            .map(|f| f.column)
            .collect();
        assert_eq!(keys, shown);
    }
}
