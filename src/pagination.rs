//! `?limit=&cursor=` pagination: `{"items": [...], "next_cursor": "..." | null}`. Cursors are
//! opaque to clients (base64url of the last item's sort key).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 1000;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows: the extra row only says there is more.
    pub fn from_rows(mut rows: Vec<T>, limit: i64, key: impl Fn(&T) -> String) -> Self {
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next_cursor = if more { rows.last().map(|last| encode(&key(last))) } else { None };
        Page { items: rows, next_cursor }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), next_cursor: self.next_cursor }
    }

    pub fn all(items: Vec<T>) -> Self {
        Page { items, next_cursor: None }
    }
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct PageQuery {
    /// 1 to 1000, default 50.
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageQuery {
    pub fn limit(&self) -> Result<i64, AppError> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(l) if (1..=MAX_LIMIT).contains(&l) => Ok(l),
            Some(l) => Err(AppError::bad_request("validation", format!("limit must be between 1 and {MAX_LIMIT} (got {l})"))),
        }
    }

    /// The decoded cursor; an empty one is the first page, like none.
    pub fn cursor(&self) -> Result<Option<String>, AppError> {
        self.cursor.as_deref().filter(|c| !c.is_empty()).map(decode).transpose()
    }

    /// The cursor of a list ordered by id: the last id seen (0 before the first page).
    pub fn id_cursor(&self) -> Result<i64, AppError> {
        self.cursor()?.map(|c| c.parse::<i64>().map_err(|_| bad_cursor())).transpose().map(Option::unwrap_or_default)
    }
}

fn encode(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(key)
}

/// A cursor of the documented shape (base64url) that this server did not issue: it parses,
/// it is not valid — 422, like any value the schema cannot rule out.
pub fn bad_cursor() -> AppError {
    AppError::unprocessable("bad_cursor", "cursor is not one this server issued")
}

fn decode(cursor: &str) -> Result<String, AppError> {
    // outside the document's pattern (`^[A-Za-z0-9_-]*$`): the request does not parse
    if !cursor.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return Err(AppError::bad_request("bad_cursor", "a cursor is base64url (A-Z, a-z, 0-9, '_', '-'), as a page's next_cursor gave it"));
    }
    URL_SAFE_NO_PAD.decode(cursor).ok().and_then(|b| String::from_utf8(b).ok()).ok_or_else(bad_cursor)
}
