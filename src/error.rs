//! The one error type of the service layer, mapped once to an HTTP problem+json response.

use std::borrow::Cow;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    /// The path exists with other methods (the response carries `Allow`).
    MethodNotAllowed,
    Conflict,
    Unprocessable,
    TooManyRequests {
        retry_after_secs: u64,
    },
    /// A body over the limit.
    TooLarge,
    Unavailable,
    Internal,
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {detail}")]
pub struct AppError {
    pub kind: ErrorKind,
    /// Stable machine code, e.g. `cycle`, `validation`.
    pub code: Cow<'static, str>,
    pub detail: String,
    /// Extra members of the problem document (e.g. validation findings).
    pub extra: Option<serde_json::Value>,
}

impl AppError {
    pub fn new(kind: ErrorKind, code: impl Into<Cow<'static, str>>, detail: impl Into<String>) -> Self {
        AppError { kind, code: code.into(), detail: detail.into(), extra: None }
    }
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadRequest, code, detail)
    }
    pub fn validation(detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unprocessable, "validation", detail)
    }
    pub fn unprocessable(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unprocessable, code, detail)
    }
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, "not_found", format!("{} not found", what.into()))
    }
    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, code, detail)
    }
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthorized, "unauthorized", detail)
    }
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, "forbidden", detail)
    }
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, "unavailable", detail)
    }
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, "internal", detail)
    }
    pub fn with_extra(mut self, extra: serde_json::Value) -> Self {
        self.extra = Some(extra);
        self
    }
}

/// Database errors that reach here unhandled: constraint violations are the client's
/// fault (a 4xx naming the constraint), anything else is ours.
impl From<DieselError> for AppError {
    fn from(e: DieselError) -> Self {
        match &e {
            DieselError::NotFound => AppError::not_found("record"),
            DieselError::DatabaseError(kind, info) => {
                let constraint = info.constraint_name().unwrap_or("a constraint");
                match kind {
                    DatabaseErrorKind::UniqueViolation => AppError::conflict("duplicate", format!("already exists ({constraint})")),
                    DatabaseErrorKind::ForeignKeyViolation => AppError::validation(format!("refers to something that does not exist ({constraint})")),
                    DatabaseErrorKind::CheckViolation | DatabaseErrorKind::NotNullViolation => {
                        AppError::validation(format!("violates {constraint}: {}", info.message()))
                    }
                    DatabaseErrorKind::SerializationFailure => AppError::new(ErrorKind::Conflict, "retry", "concurrent update, please retry"),
                    // the database went away under the request (a crash, a restart): retry later
                    DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand => {
                        AppError::unavailable(format!("the database connection was lost: {}", info.message()))
                    }
                    // two transactions waited on each other; PostgreSQL undid this one: retry it
                    _ if info.message().contains("deadlock detected") => {
                        AppError::new(ErrorKind::Conflict, "retry", "a concurrent write got in the way; please retry")
                    }
                    // PostgreSQL text cannot hold U+0000: the request carried it, so it is the client's
                    _ if info.message().contains("invalid byte sequence") && info.message().contains("0x00") => {
                        AppError::validation("text must not contain the NUL character (\\u0000)")
                    }
                    _ => AppError::internal(format!("database error: {}", info.message())),
                }
            }
            _ => AppError::internal(format!("database error: {e}")),
        }
    }
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    type_: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
    code: &'a str,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self.kind {
            ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
            ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if status.is_server_error() {
            log::error!("{self}");
        }
        // a 500 never shows internal text: it is logged above; the client gets the request's id
        // (the X-Request-Id header) to quote
        let detail = match self.kind {
            ErrorKind::Internal => "internal error; it has been logged: quote the X-Request-Id header of this response",
            // the database's own words stay in the log
            ErrorKind::Unavailable => "the database does not answer; retry in a moment (see Retry-After)",
            _ => self.detail.as_str(),
        };
        let problem = Problem {
            type_: format!("https://agent-ledger.dev/problems/{}", self.code),
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail,
            code: &self.code,
        };
        let mut body = serde_json::to_value(&problem).unwrap_or_default();
        if let (Some(serde_json::Value::Object(extra)), Some(obj)) = (&self.extra, body.as_object_mut()) {
            for (k, v) in extra {
                obj.entry(k.clone()).or_insert(v.clone());
            }
        }
        let mut resp = HttpResponse::build(status);
        resp.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        if let ErrorKind::TooManyRequests { retry_after_secs } = self.kind {
            resp.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
        }
        if self.kind == ErrorKind::Unavailable {
            resp.insert_header((header::RETRY_AFTER, "2"));
        }
        resp.body(body.to_string())
    }
}
