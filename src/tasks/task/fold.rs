//! Case folding for search and title order, the one definition both backends share.
//!
//! PostgreSQL has its own `search_fold(text)` (`src/tasks/task/search_fold.sql`: ICU's root-locale
//! lower(), which its trigger keeps in the stored keys); SQLite gets this module's [`fold`],
//! registered on every connection the server opens, because SQLite's own lower() folds ASCII only.
//! The two agree wherever ICU and Rust's `to_lowercase` agree (full Unicode mappings, final sigma).

use diesel::SqliteConnection;
use diesel::result::QueryResult;

diesel::define_sql_function! {
    /// `text` lower-cased for search and title order, NULL for NULL: PostgreSQL's
    /// `search_fold` from migration 000011; on SQLite, [`fold`] (see [`register`]).
    fn search_fold(text: diesel::sql_types::Nullable<diesel::sql_types::Text>)
        -> diesel::sql_types::Nullable<diesel::sql_types::Text>;
}

/// `text` lower-cased, every letter (Rust's `to_lowercase`; ASCII text takes a faster path
/// with the same result).
pub fn fold(text: &str) -> String {
    if text.is_ascii() {
        text.to_ascii_lowercase()
    } else {
        text.to_lowercase()
    }
}

/// Makes `search_fold` callable on `conn` (deterministic, so SQLite may factor it out).
pub(crate) fn register(conn: &mut SqliteConnection) -> QueryResult<()> {
    search_fold_utils::register_impl(conn, |text: Option<String>| text.map(|t| fold(&t)))
}
