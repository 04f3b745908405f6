//! A task's stored fields, declared once ([`task_fields!`], issue 42), in the order both
//! APIs show them. Two kinds:
//!
//! - **shaped** fields (`shaped { … }`): a column, its GraphQL name (or `_`: not in the
//!   GraphQL `Task`) and whether the REST JSON shows it (`rest` or `_`). Each layer has its
//!   own type for them (an id, a time, an enum, the tags, a value the server decides), so
//!   each spells them, and a test checks it against [`TASK_FIELDS`].
//! - **plain** fields (`plain { … }`): nullable, one Rust type in every layer, the value as
//!   given (NULL, `None`, `null` alike). The table holds all they need (type, GraphQL name,
//!   descriptions; `create`/`update` sections make one writable), and every layer's struct
//!   and conversion is generated from it: the domain `Task`, `TaskRow` and its decoding,
//!   `NewTask`, `TaskPatch`, `NewTaskRow`, `TaskChanges`, the GraphQL `Task` and its
//!   create/update inputs, the REST `TaskView`. A plain field follows the shaped ones. The
//!   REST bodies (`rest::body`) are spelled by hand: the compiler asks for a writable one
//!   (`NewTask`/`TaskPatch` are built whole there).
//!
//! Also derived: diesel's `tasks` columns for them (`db::schema`), the GraphQL fast path's
//! stored set and its values, the value a VERSION_CONFLICT carries (`graphql::schema::task_items`),
//! and [`TASK_FIELDS`]. Checked against
//! [`TASK_FIELDS`] by tests: the row's SELECT list and the table's columns, the domain `Task`
//! (below), the GraphQL `Task` through introspection and the REST JSON of a created task
//! (`tests/it/task_fields.rs`), the parity test's columns. docs/OPERATING.md says how a field
//! is added.

/// Calls `$then!` (a macro in scope at the call, or a path) with a task's stored fields:
/// - `task_fields!(all => m)` with each as `column graphql_name rest_flag,` (`_`: none);
/// - `task_fields!(graphql => m)` with those the GraphQL `Task` shows, as `column "name",`;
/// - `task_fields!(plain => m)` with the plain fields, each as
///   `column (Inner) "graphqlName" {docs…} {REST docs…},` (the type is `Option<Inner>`);
/// - `task_fields!(columns => m)` with the plain fields' columns, each as `column (Inner),`;
/// - `task_fields!(writable => m)` with the writable plain fields, each as
///   `column (Inner) {create docs…} {update docs…},`.
///
/// Docs are `///` lines (a GraphQL description, the REST schema's), given on as the
/// literals of their `#[doc]`s, so that a generated field reads as a hand-written one.
macro_rules! task_fields {
    (data => $then:path $(, $($lead:tt)*)?) => {
        $then! {
            $($($lead)*)?
            shaped {
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
                remind_at       "remindAt"       rest,
                // When the current reminder fired (`tasks::reminders`): the server's.
                reminded_at     "remindedAt"     rest,
                // The due date a series began with (`tasks::series`): the server's, not shown.
                recurrence_start _               _,
            }
            plain {
                // Set by the server on create (`NewTaskRow`), never by a client.
                created_by: Option<String> as "createdBy" {
                    /// Who created it: the owner, or an editor of its shared list (null: unknown, a row
                    /// another program wrote).
                    rest {
                        /// Who created it: the owner or an editor of its shared list (`null`: unknown).
                    }
                }
                // Checked by the service (`validate_assignee_id`) and the store (a member).
                assignee_id: Option<String> as "assigneeId" {
                    /// Who it is assigned to (the owner or a member of its list), or null.
                    rest {
                        /// Who it is assigned to (the owner or a member of its list), or `null`.
                    }
                    create {
                        /// Assign it to this user: the list's owner or one of its members (in the inbox, its
                        /// owner only); anyone else is BAD_USER_INPUT. Absent or null: no one.
                    }
                    update {
                        /// Assign it to this user (as on create), or null to unassign it. A task moved to a list
                        /// its assignee is no member of loses its assignee.
                    }
                }
            }
        }
    };
    (all => $then:path $(, $($lead:tt)*)?) => {
        $crate::tasks::task::fields::task_fields!(
            data => $crate::tasks::task::fields::all_fields, $then [$($($lead)*)?]
        );
    };
    (graphql => $then:ident) => {
        $crate::tasks::task::fields::task_fields!(
            all => $crate::tasks::task::fields::graphql_only, $then []
        );
    };
    (plain => $then:path) => {
        $crate::tasks::task::fields::task_fields!(
            data => $crate::tasks::task::fields::plain_fields, $then []
        );
    };
    (columns => $then:path) => {
        $crate::tasks::task::fields::task_fields!(
            data => $crate::tasks::task::fields::plain_columns, $then []
        );
    };
    (writable => $then:path) => {
        $crate::tasks::task::fields::task_fields!(
            data => $crate::tasks::task::fields::writable_fields, $then []
        );
    };
}

/// `task_fields!(all => m)`: the shaped fields, then the plain ones (shown by both APIs).
macro_rules! all_fields {
    (
        $then:path [$($lead:tt)*]
        shaped { $($shaped:tt)* }
        plain { $($column:ident: Option<$inner:ty> as $graphql:literal { $($docs:tt)* })* }
    ) => {
        $then! { $($lead)* $($shaped)* $($column $graphql rest,)* }
    };
}

/// `task_fields!(plain => m)`: the plain fields, their docs as literals.
macro_rules! plain_fields {
    (
        $then:path []
        shaped { $($shaped:tt)* }
        plain { $(
            $column:ident: Option<$inner:ty> as $graphql:literal {
                $(#[doc = $doc:literal])*
                rest { $(#[doc = $rest:literal])* }
                $($writes:tt)*
            }
        )* }
    ) => {
        $then! { $($column ($inner) $graphql {$($doc)*} {$($rest)*},)* }
    };
}

/// `task_fields!(columns => m)`: the plain fields' columns, each as `column (Inner),` with
/// `Inner` as a name (`String`, `i32`), for `db::schema` to map to its SQL type.
macro_rules! plain_columns {
    (
        $then:path []
        shaped { $($shaped:tt)* }
        plain { $($column:ident: Option<$inner:ident> as $graphql:literal { $($docs:tt)* })* }
    ) => {
        $then! { $($column ($inner),)* }
    };
}

/// `task_fields!(writable => m)`: the plain fields with `create` and `update` sections.
macro_rules! writable_fields {
    ($then:path [$($kept:tt)*] shaped { $($shaped:tt)* } plain { $($plain:tt)* }) => {
        $crate::tasks::task::fields::writable_fields!($then [$($kept)*] $($plain)*);
    };
    ($then:path [$($kept:tt)*]) => {
        $then! { $($kept)* }
    };
    (
        $then:path [$($kept:tt)*]
        $column:ident: Option<$inner:ty> as $graphql:literal {
            $(#[doc = $doc:literal])*
            rest { $($rest:tt)* }
            create { $(#[doc = $create:literal])* }
            update { $(#[doc = $update:literal])* }
        }
        $($more:tt)*
    ) => {
        $crate::tasks::task::fields::writable_fields!(
            $then [$($kept)* $column ($inner) {$($create)*} {$($update)*},] $($more)*
        );
    };
    ($then:path [$($kept:tt)*] $column:ident: $type:ty as $graphql:literal { $($docs:tt)* } $($more:tt)*) => {
        $crate::tasks::task::fields::writable_fields!($then [$($kept)*] $($more)*);
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

pub(crate) use {
    all_fields, graphql_only, plain_columns, plain_fields, task_fields, writable_fields,
};

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

macro_rules! writable_table {
    ($($column:ident ($inner:ty) {$($create:tt)*} {$($update:tt)*},)*) => {
        /// The columns of the plain fields a client writes (on create and on update). The
        /// round-trip test (`tests/it/task_fields.rs`) sets and clears each through both APIs.
        pub const WRITABLE_FIELDS: &[&str] = &[$(stringify!($column)),*];
    };
}

task_fields!(writable => writable_table);

impl TaskField {
    /// Whether the domain `Task` carries it (what either API shows).
    pub fn shown(&self) -> bool {
        self.graphql.is_some() || self.rest
    }
}

#[cfg(test)]
mod tests;
