//! The tables as diesel sees them, one declaration for both backends. Kept by hand: the
//! diesel CLI's `print-schema` of the SQLite set differs in types chosen here for both
//! (`priority` a `SmallInt`, the ids `BigInt`). `tasks`' plain columns come from the task
//! field table (`task_fields!`), after the others.

/// The SQL type of a plain field's Rust type (the field table's `Option<Inner>`), in both
/// backends. A plain field of another type needs its line here (the build says so).
macro_rules! plain_sql {
    (String) => {
        diesel::sql_types::Text
    };
    (i32) => {
        diesel::sql_types::Integer
    };
    (i64) => {
        diesel::sql_types::BigInt
    };
    (bool) => {
        diesel::sql_types::Bool
    };
}

/// Declares `tasks`: its other columns here, its plain ones (`$column`, of Rust type
/// `Option<$inner>`) from the field table, each `Nullable` of [`plain_sql!`]'s type.
macro_rules! tasks_table {
    ($($column:ident ($inner:ident),)*) => {
        diesel::table! {
            tasks (id) {
                id -> BigInt,
                user_id -> Text,
                title -> Text,
                title_key -> Text,
                description -> Nullable<Text>,
                completed -> Bool,
                created_at -> Timestamp,
                updated_at -> Timestamp,
                priority -> SmallInt,
                category -> Text,
                due_date -> Nullable<Timestamp>,
                completed_at -> Nullable<Timestamp>,
                description_key -> Nullable<Text>,
                version -> BigInt,
                list_id -> Nullable<BigInt>,
                parent_id -> Nullable<BigInt>,
                position -> Text,
                tags -> Text,
                recurrence -> Nullable<Text>,
                time_zone -> Text,
                remind_at -> Nullable<Timestamp>,
                reminded_at -> Nullable<Timestamp>,
                recurrence_start -> Nullable<Timestamp>,
                $($column -> Nullable<plain_sql!($inner)>,)*
            }
        }
    };
}

crate::tasks::task::fields::task_fields!(columns => tasks_table);

diesel::table! {
    task_lists (id) {
        id -> BigInt,
        user_id -> Text,
        name -> Text,
        name_key -> Text,
        color -> Nullable<Text>,
        position -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    task_changes (user_id, task_id) {
        task_id -> BigInt,
        user_id -> Text,
        seq -> BigInt,
        deleted -> Bool,
        changed_at -> Timestamp,
        created_seq -> Nullable<BigInt>,
    }
}

diesel::table! {
    list_changes (user_id, list_id) {
        user_id -> Text,
        list_id -> BigInt,
        seq -> BigInt,
        deleted -> Bool,
        changed_at -> Timestamp,
        created_seq -> Nullable<BigInt>,
    }
}

diesel::table! {
    task_sync_cursors (user_id) {
        user_id -> Text,
        last_seq -> BigInt,
        pruned_seq -> BigInt,
    }
}

diesel::table! {
    storage_probe (id) {
        id -> Integer,
        probed_at -> Timestamp,
    }
}

diesel::table! {
    idempotency_keys (user_id, key) {
        user_id -> Text,
        key -> Text,
        method -> Text,
        path -> Text,
        body_hash -> Text,
        status -> Integer,
        body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    task_tags (task_id, tag_key) {
        user_id -> Text,
        task_id -> BigInt,
        tag_key -> Text,
        name -> Text,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    list_members (list_id, user_id) {
        list_id -> BigInt,
        user_id -> Text,
        role -> Text,
        added_at -> Timestamp,
    }
}

diesel::table! {
    list_invites (token_hash) {
        token_hash -> Text,
        list_id -> BigInt,
        role -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked -> Bool,
    }
}

diesel::allow_tables_to_appear_in_same_query!(tasks, task_tags, task_lists, list_members);

// Webhooks (issue 43, migration 000077): a user's endpoints, the deliveries queued for them
// (by the journal's trigger or the server), and each attempt made.
diesel::table! {
    webhooks (id) {
        id -> BigInt,
        user_id -> Text,
        url -> Text,
        events -> Text,
        description -> Nullable<Text>,
        secret -> Text,
        disabled -> Bool,
        disabled_reason -> Nullable<Text>,
        failing_since -> Nullable<Timestamp>,
        lease_until -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        due_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> BigInt,
        webhook_id -> BigInt,
        user_id -> Text,
        event_type -> Text,
        task_id -> Nullable<BigInt>,
        task_row -> Nullable<Text>,
        message_id -> Nullable<Text>,
        body -> Nullable<Text>,
        state -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        lease_token -> Nullable<BigInt>,
        lease_until -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhook_attempts (id) {
        id -> BigInt,
        delivery_id -> BigInt,
        webhook_id -> BigInt,
        user_id -> Text,
        message_id -> Text,
        event_type -> Text,
        attempt -> Integer,
        status_code -> Nullable<Integer>,
        error -> Nullable<Text>,
        duration_ms -> BigInt,
        attempted_at -> Timestamp,
        next_attempt_at -> Nullable<Timestamp>,
    }
}

// One row per change a user's webhooks take, queued by the journal's trigger; the worker fans
// each out to the user's webhooks (migration 000078).
diesel::table! {
    webhook_events (id) {
        id -> BigInt,
        user_id -> Text,
        event_type -> Text,
        task_id -> BigInt,
        webhook_ids -> Text,
        task_row -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::allow_tables_to_appear_in_same_query!(webhooks, webhook_deliveries);
