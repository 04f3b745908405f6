//! PostgreSQL's errors as diesel's: the kinds `db::failure` and diesel's transaction manager
//! read (as diesel-async maps them), and the database's own message, detail and hint.

use diesel::result::{DatabaseErrorInformation, DatabaseErrorKind};

/// A tokio-postgres error as diesel's, with the kinds `db::failure` and diesel's transaction
/// manager read (as diesel-async maps them).
pub fn from_postgres(error: tokio_postgres::Error) -> diesel::result::Error {
    use tokio_postgres::error::SqlState;
    let Some(db) = error.as_db_error().cloned() else {
        return diesel::result::Error::DatabaseError(
            DatabaseErrorKind::UnableToSendCommand,
            Box::new(error.to_string()),
        );
    };
    let kind = match *db.code() {
        SqlState::UNIQUE_VIOLATION => DatabaseErrorKind::UniqueViolation,
        SqlState::FOREIGN_KEY_VIOLATION => DatabaseErrorKind::ForeignKeyViolation,
        SqlState::RESTRICT_VIOLATION => DatabaseErrorKind::RestrictViolation,
        SqlState::EXCLUSION_VIOLATION => DatabaseErrorKind::ExclusionViolation,
        SqlState::T_R_SERIALIZATION_FAILURE => DatabaseErrorKind::SerializationFailure,
        SqlState::READ_ONLY_SQL_TRANSACTION => DatabaseErrorKind::ReadOnlyTransaction,
        SqlState::NOT_NULL_VIOLATION => DatabaseErrorKind::NotNullViolation,
        SqlState::CHECK_VIOLATION => DatabaseErrorKind::CheckViolation,
        _ => DatabaseErrorKind::Unknown,
    };
    diesel::result::Error::DatabaseError(kind, Box::new(DbError(db)))
}

/// PostgreSQL's error, as diesel shows it.
struct DbError(tokio_postgres::error::DbError);

impl DatabaseErrorInformation for DbError {
    fn message(&self) -> &str {
        self.0.message()
    }

    fn details(&self) -> Option<&str> {
        self.0.detail()
    }

    fn hint(&self) -> Option<&str> {
        self.0.hint()
    }

    fn table_name(&self) -> Option<&str> {
        self.0.table()
    }

    fn column_name(&self) -> Option<&str> {
        self.0.column()
    }

    fn constraint_name(&self) -> Option<&str> {
        self.0.constraint()
    }

    fn statement_position(&self) -> Option<i32> {
        use tokio_postgres::error::ErrorPosition;
        match self.0.position()? {
            ErrorPosition::Original(position) | ErrorPosition::Internal { position, .. } => {
                i32::try_from(*position).ok()
            }
        }
    }
}
