//! Typed service errors, and how they become the one `AppError` people see. Internal causes are
//! logged here and replaced by a generic message.

use crate::model::AppError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("not signed in")]
    Unauthenticated,
    #[error("forbidden")]
    Forbidden,
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("store: {0}")]
    Store(#[from] sqlx::Error),
}

impl From<ServiceError> for AppError {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::Unauthenticated => AppError::Unauthenticated,
            ServiceError::Forbidden => AppError::Forbidden,
            ServiceError::NotFound(what) => AppError::NotFound(what),
            ServiceError::Invalid(msg) => AppError::Invalid(msg),
            ServiceError::Conflict(msg) => AppError::Conflict(msg),
            ServiceError::Store(e) => {
                tracing::error!(error = %e, "store error");
                AppError::Internal
            }
        }
    }
}

/// REST handlers answer errors as `{"error": "...", "status": N}` with the matching status.
impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (
            status,
            Json(serde_json::json!({ "error": self.to_string(), "status": status.as_u16() })),
        )
            .into_response()
    }
}

impl IntoResponse for ServiceError {
    fn into_response(self) -> Response {
        AppError::from(self).into_response()
    }
}
