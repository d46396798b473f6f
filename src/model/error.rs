//! The one error type people and browsers see. Internal causes are logged on the server and never
//! cross the wire.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// The request itself is malformed.
    #[error("{0}")]
    BadRequest(String),
    #[error("Sign in to continue.")]
    Unauthenticated,
    #[error("You do not have access to this.")]
    Forbidden,
    #[error("{0} was not found.")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// Well-formed, but breaks a rule.
    #[error("{0}")]
    Invalid(String),
    /// The request is larger than the server accepts for it.
    #[error("{0}")]
    TooLarge(String),
    #[error("Something went wrong on our side. It has been logged; please try again.")]
    Internal,
    /// The call did not reach the server or its answer could not be read.
    #[error("The server could not be reached: {0}")]
    Transport(String),
}

impl AppError {
    pub fn status(&self) -> u16 {
        match self {
            AppError::BadRequest(_) => 400,
            AppError::Unauthenticated => 401,
            AppError::Forbidden => 403,
            AppError::NotFound(_) => 404,
            AppError::Conflict(_) => 409,
            AppError::TooLarge(_) => 413,
            AppError::Invalid(_) => 422,
            AppError::Internal => 500,
            AppError::Transport(_) => 502,
        }
    }
}

impl leptos::server_fn::error::FromServerFnError for AppError {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    fn from_server_fn_error(value: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        use leptos::server_fn::error::ServerFnErrorErr as E;
        match value {
            E::Args(msg) | E::MissingArg(msg) => {
                AppError::BadRequest(format!("Bad arguments: {msg}"))
            }
            E::ServerError(_) | E::Registration(_) | E::MiddlewareError(_) => AppError::Internal,
            // On the server, this is the request's body that could not be read: cut off at the
            // server's limit (`http::server_fn_body_limit`), or broken.
            #[cfg(feature = "ssr")]
            E::Deserialization(msg) if msg.contains("length limit exceeded") => AppError::TooLarge(
                "The request is larger than the server accepts for this; nothing was changed."
                    .to_owned(),
            ),
            #[cfg(feature = "ssr")]
            E::Deserialization(msg) => {
                AppError::BadRequest(format!("The request could not be read: {msg}"))
            }
            other => AppError::Transport(other.to_string()),
        }
    }
}
