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
    }
}
