//! The one error type of the core. Every variant says what was wrong and what to do.

use outpost_proto::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// Bad input: the message names the field and what would be accepted.
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    NotFound(String),
    /// The request is valid but clashes with the current state (duplicate name, bad status move).
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    /// Too many attempts: try again after `retry_after_secs` (HTTP 429 with Retry-After).
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after_secs: u64,
    },
    /// Sync: the server expects this replica's changes to continue at `expected`.
    #[error("the server expects change {expected} of this console next; sync again to resend from there")]
    SyncGap { expected: i64 },
    /// Sync: this replica's change numbers were already used by another copy of it.
    #[error("this console's changes clash with ones the server already has from the same console (restored from a backup?); it must be re-keyed, which the next sync does")]
    ReplicaReused,
    /// The server could not be reached or refused; the local store is unaffected.
    #[error("sync failed: {0}")]
    Unavailable(String),
    /// Sync: the server cannot be reached; local work goes on and is sent later.
    #[error("working offline: the server cannot be reached ({0}); changes are kept and sent when it can")]
    Offline(String),
    #[error("storage error: {0}")]
    Storage(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("internal error: {0}")]
    Internal(String),
}

pub type CoreResult<T> = Result<T, CoreError>;

impl CoreError {
    pub fn code(&self) -> &'static str {
        match self {
            CoreError::Validation(_) => "validation",
            CoreError::NotFound(_) => "not_found",
            CoreError::Conflict(_) => "conflict",
            CoreError::Unauthorized(_) => "unauthorized",
            CoreError::Forbidden(_) => "forbidden",
            CoreError::RateLimited { .. } => "rate_limited",
            CoreError::SyncGap { .. } => "sync_gap",
            CoreError::ReplicaReused => "replica_reused",
            CoreError::Unavailable(_) => "unavailable",
            CoreError::Offline(_) => "offline",
            CoreError::Storage(_) | CoreError::Migration(_) | CoreError::Internal(_) => "internal",
        }
    }

    pub fn to_api(&self) -> ApiError {
        let message = match self {
            // Storage details help the operator in the log, not the person at the keyboard.
            CoreError::Storage(e) => {
                tracing::error!(error = %e, "storage error");
                "The local database could not complete the operation; nothing was changed. \
                 Try again, and check the log if it keeps happening."
                    .to_string()
            }
            other => other.to_string(),
        };
        ApiError {
            code: self.code().to_string(),
            message,
            expected_seq: match self {
                CoreError::SyncGap { expected } => Some(*expected),
                _ => None,
            },
        }
    }
}

pub(crate) fn invalid(msg: impl Into<String>) -> CoreError {
    CoreError::Validation(msg.into())
}
