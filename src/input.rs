//! One rule for every text in every JSON request, before any handler reads it: no control
//! characters (NUL and the rest of C0/C1; a line break or a tab is text), and at most
//! `MAX_TEXT` characters. Fields with tighter rules (names, phones, passwords, reasons) check
//! those too; this is the floor no field goes below. A body over the limit is 413.

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{http::Method, web, Error, HttpMessage};

use crate::error::{AppError, ErrorKind};

/// The longest text any field of the API takes (a reason, a plan's note); names and the
/// like are capped lower where they are checked.
pub const MAX_TEXT: usize = 2000;
/// The largest body the API reads.
pub const MAX_BODY: usize = 1 << 20;

/// A character no request text may hold: a control character other than a line break or a
/// tab (the document's text pattern says the same).
pub fn forbidden(c: char) -> bool {
    c.is_control() && !matches!(c, '\n' | '\t' | '\r')
}

/// The first text in `v` that breaks the rule: (where, why).
pub fn offending(v: &serde_json::Value, at: &str) -> Option<(String, String)> {
    use serde_json::Value;
    let text = |s: &str, at: &str| -> Option<(String, String)> {
        if s.chars().any(forbidden) {
            return Some((at.to_owned(), "must not contain control characters (such as NUL, \\u0000)".into()));
        }
        if s.chars().count() > MAX_TEXT {
            return Some((at.to_owned(), format!("is longer than {MAX_TEXT} characters")));
        }
        None
    };
    match v {
        Value::String(s) => text(s, at),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, x)| offending(x, &format!("{at}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, x)| text(k, at).or_else(|| offending(x, &if at.is_empty() { k.clone() } else { format!("{at}.{k}") }))),
        _ => None,
    }
}

/// JSON Schema counts `147.0` as the integer 147 (a number with no fraction is an integer),
/// and clients (JavaScript, Python's `json` with floats) send it so: every whole float is
/// read as the integer it is, so an integer field takes it. Money and rates are strings and
/// still refuse any number. True when something changed.
pub fn whole_numbers(v: &mut serde_json::Value) -> bool {
    use serde_json::Value;
    match v {
        Value::Number(n) if n.is_f64() => match n.as_f64() {
            // a safe integer (the document's bound for every 64-bit integer): the text and the
            // float are the same number there (serde_json's `float_roundtrip` parses exactly)
            Some(f) if f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_991.0 => {
                *v = Value::from(f as i64);
                true
            }
            _ => false,
        },
        Value::Array(items) => items.iter_mut().fold(false, |changed, x| whole_numbers(x) | changed),
        Value::Object(map) => map.values_mut().fold(false, |changed, x| whole_numbers(x) | changed),
        _ => false,
    }
}

/// Checks the JSON body of API writes; hands the same bytes on to the handler.
pub async fn guard(mut req: ServiceRequest, next: Next<impl MessageBody>) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let writes = matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH);
    let json = req.headers().get(actix_web::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/json"));
    if writes && json && req.path().starts_with("/api/") {
        let body = req
            .extract::<web::Bytes>()
            .await
            .map_err(|_| AppError::new(ErrorKind::TooLarge, "too_large", format!("the request body is over the {} MiB limit", MAX_BODY >> 20)))?;
        let mut body = body;
        if let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(&body) {
            if let Some((at, why)) = offending(&value, "") {
                let at = if at.is_empty() { "the body".to_owned() } else { format!("`{at}`") };
                return Err(AppError::validation(format!("{at} {why}")).into());
            }
            if whole_numbers(&mut value) {
                body = serde_json::to_vec(&value).map(web::Bytes::from).unwrap_or(body);
            }
            // what the document rules out is refused here, before any handler reads it
            if let Some(doc) = req.app_data::<web::Data<crate::openapi::Document>>() {
                let identified = req.extensions().contains::<crate::auth::http::Identified>();
                doc.check_body(req.method().as_str(), req.path(), identified, &value)?;
            }
        }
        req.set_payload(Payload::from(body));
    }
    next.call(req).await
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn whole_floats_are_integers() {
        let mut v = json!({"tier_id": 147.0, "qty": [2.0, 2.5], "months": -3.0, "n": 1e300, "s": "1.0"});
        assert!(super::whole_numbers(&mut v));
        assert_eq!(v, json!({"tier_id": 147, "qty": [2, 2.5], "months": -3, "n": 1e300, "s": "1.0"}));
        let mut same = json!({"tier_id": 147, "x": 0.5});
        assert!(!super::whole_numbers(&mut same));
    }

    #[test]
    fn finds_control_characters_and_overlong_text_anywhere() {
        assert_eq!(super::offending(&json!({"lines": [{"sku": "A\u{0}"}]}), "").map(|x| x.0), Some("lines[0].sku".into()));
        assert!(super::offending(&json!({"reason": "第一行\n第二行\t好"}), "").is_none());
        assert!(super::offending(&json!({"name": "x".repeat(2001)}), "").is_some());
        assert!(super::offending(&json!({"a\u{7}": 1}), "").is_some(), "keys too");
        assert!(super::offending(&json!({"name": "王芳", "qty": 3}), "").is_none());
    }
}
