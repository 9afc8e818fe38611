//! Integers in paths and queries as JSON Schema counts them: `55.0` is the integer 55 (a
//! number with no fraction is an integer), and clients built on floats write it so. Every
//! parameter the document types `integer` is read that way before routing; text parameters
//! (a SKU may well be `1.0`) are left as sent. Bodies get the same rule in `input::guard`.

use std::collections::HashSet;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Uri;
use actix_web::middleware::Next;
use actix_web::{web, Error};

use super::Document;

/// The integer parameters of one operation: path segment positions and query names.
#[derive(Debug, Default, Clone)]
pub struct Integers {
    pub path: HashSet<usize>,
    pub query: HashSet<String>,
}

impl Integers {
    /// From an operation of the document, `segments` being its path template.
    pub fn of(op: &serde_json::Value, segments: &[String]) -> Integers {
        let mut out = Integers::default();
        for p in op.get("parameters").and_then(serde_json::Value::as_array).into_iter().flatten() {
            let integer = p.pointer("/schema/type").is_some_and(|t| t.to_string().contains("integer"));
            let (Some(name), Some(place)) = (p.get("name").and_then(|n| n.as_str()), p.get("in").and_then(|n| n.as_str())) else { continue };
            match place {
                "path" if integer => out.path.extend(segments.iter().position(|s| *s == format!("{{{name}}}"))),
                "query" if integer => {
                    out.query.insert(name.to_owned());
                }
                _ => {}
            }
        }
        out
    }
}

/// `55.0` → `55`; anything else is left for the extractor to judge.
fn whole(v: &str) -> Option<String> {
    let (int, frac) = v.split_once('.')?;
    let digits = int.strip_prefix('-').unwrap_or(int);
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && !frac.is_empty() && frac.bytes().all(|b| b == b'0')).then(|| int.to_owned())
}

/// The request's path and query with whole-float integers written as integers, if any was.
pub fn rewrite(doc: &Document, method: &str, path: &str, query: Option<&str>) -> Option<String> {
    let ints = doc.integers_at(method, path)?;
    let mut changed = false;
    let segments: Vec<String> = path
        .split('/')
        .enumerate()
        .map(|(i, s)| match ints.path.contains(&i).then(|| whole(s)).flatten() {
            Some(w) => {
                changed = true;
                w
            }
            None => s.to_owned(),
        })
        .collect();
    let query = query.map(|q| {
        q.split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, v)) if ints.query.contains(k) => match whole(v) {
                    Some(w) => {
                        changed = true;
                        format!("{k}={w}")
                    }
                    None => pair.to_owned(),
                },
                _ => pair.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("&")
    });
    changed.then(|| match query {
        Some(q) => format!("{}?{q}", segments.join("/")),
        None => segments.join("/"),
    })
}

pub async fn middleware(mut req: ServiceRequest, next: Next<impl MessageBody>) -> Result<ServiceResponse<impl MessageBody>, Error> {
    if req.path().starts_with("/api/") {
        let new = req.app_data::<web::Data<Document>>().and_then(|doc| rewrite(doc, req.method().as_str(), req.path(), req.uri().query()));
        if let Some(uri) = new.and_then(|n| n.parse::<Uri>().ok()) {
            req.match_info_mut().get_mut().update(&uri);
            req.head_mut().uri = uri;
        }
    }
    next.call(req).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_whole_floats_become_integers() {
        assert_eq!(super::whole("55.0").as_deref(), Some("55"));
        assert_eq!(super::whole("-3.000").as_deref(), Some("-3"));
        for left in ["55", "55.5", "1.0e3", ".0", "a.0", "55."] {
            assert_eq!(super::whole(left), None, "{left}");
        }
    }
}
