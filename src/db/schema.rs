// @generated automatically by Diesel CLI.

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
        recurrence_start -> Nullable<Timestamp>,
        created_by -> Nullable<Text>,
        assignee_id -> Nullable<Text>,
    }
}

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
