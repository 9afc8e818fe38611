//! Every JSON request body is checked against the schema the document gives it, before any
//! handler reads it: what the document rules out the server refuses, by construction. (serde
//! alone would take `[1, 2]` for a struct, an integer above a documented maximum, an empty
//! name where the document says at least one character.) The split follows the contract: a
//! body of the wrong shape — wrong type, unknown or missing field, a value outside an enum —
//! is 400 `invalid_body`; a value of the right type that breaks a documented bound (pattern,
//! length, range, item count) is 422 `validation`, naming the field and the rule.
//!
//! The validator is the `jsonschema` crate (JSON Schema 2020-12, the dialect of OpenAPI 3.1):
//! one compiled validator per operation, built once with the document.

use jsonschema::error::ValidationErrorKind as Kind;
use jsonschema::{ValidationError, Validator};
use serde_json::{json, Value};

use crate::error::AppError;

/// One operation's body rule.
pub struct Body {
    pub segments: Vec<String>,
    /// Upper case.
    pub method: String,
    /// A session is needed: the body is judged only once the caller is known, so a caller
    /// without one hears 401, not what its body lacks.
    pub secured: bool,
    pub validator: Validator,
}

/// The validator of each operation's JSON body.
pub fn compile(doc: &Value) -> Vec<Body> {
    let components = doc.get("components").cloned().unwrap_or_else(|| json!({}));
    let mut out = Vec::new();
    for (path, item) in doc.get("paths").and_then(Value::as_object).into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            let Some(schema) = op.pointer("/requestBody/content/application~1json/schema") else { continue };
            let root = json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "allOf": [schema], "components": components});
            match jsonschema::options().with_draft(jsonschema::Draft::Draft202012).build(&root) {
                Ok(validator) => out.push(Body {
                    segments: path.split('/').map(str::to_owned).collect(),
                    method: method.to_uppercase(),
                    secured: op.get("security").and_then(Value::as_array).is_some_and(|s| !s.is_empty()),
                    validator,
                }),
                Err(e) => log::error!("the document's body schema of {method} {path} does not compile: {e}"),
            }
        }
    }
    out
}

/// Whether an error is about the body's shape (400) rather than a value's bound (422); for
/// `oneOf`/`anyOf`, a branch whose errors are all bounds is the one meant.
fn shape(e: &ValidationError) -> bool {
    match &e.kind {
        Kind::OneOfNotValid { context } | Kind::AnyOf { context } => meant(context).is_none(),
        Kind::Pattern { .. }
        | Kind::MinLength { .. }
        | Kind::MaxLength { .. }
        | Kind::Minimum { .. }
        | Kind::Maximum { .. }
        | Kind::ExclusiveMinimum { .. }
        | Kind::ExclusiveMaximum { .. }
        | Kind::MinItems { .. }
        | Kind::MaxItems { .. }
        | Kind::MultipleOf { .. } => false,
        _ => true,
    }
}

/// Of a `oneOf`/`anyOf`'s branches, the one the body meant: its shape fits, only bounds fail.
fn meant<'a>(context: &'a [Vec<ValidationError<'static>>]) -> Option<&'a Vec<ValidationError<'static>>> {
    context.iter().find(|branch| !branch.is_empty() && branch.iter().all(|e| !shape(e)))
}

/// The error to tell: inside a `oneOf`/`anyOf`, the meant branch's first.
fn innermost<'a>(e: &'a ValidationError<'a>) -> &'a ValidationError<'a> {
    match &e.kind {
        Kind::OneOfNotValid { context } | Kind::AnyOf { context } => meant(context).and_then(|branch| branch.first()).map_or(e, |inner| innermost(inner)),
        _ => e,
    }
}

/// Fields whose absence has its own stable code (the handlers' codes, kept).
fn required_code(field: &str) -> Option<&'static str> {
    match field {
        "reason" | "note" => Some("reason_required"),
        "reference" => Some("reference_required"),
        _ => None,
    }
}

/// `body` against `validator`: the first error, as the contract answers it.
pub fn check(validator: &Validator, body: &Value) -> Result<(), AppError> {
    let Some(first) = validator.iter_errors(body).next() else { return Ok(()) };
    let e = innermost(&first);
    let path = e.instance_path.as_str().trim_start_matches('/').replace('/', ".");
    let field = match &e.kind {
        Kind::Required { property } => property.as_str().unwrap_or_default().to_owned(),
        // the field, not an item's index (`months.0` is of `months`)
        _ => path.rsplit('.').find(|seg| !seg.bytes().all(|b| b.is_ascii_digit())).unwrap_or_default().to_owned(),
    };
    let at = if path.is_empty() { "the body".to_owned() } else { format!("`{path}`") };
    // a reason, a note or a reference missing, null or blank: "required", with its own code
    // (the validator reports patterns rewritten to its own dialect: judge by field and value)
    let text = e.instance.as_str();
    let is_blank = text.is_some_and(|t| t.trim().is_empty());
    let blank = matches!(e.kind, Kind::Required { .. } | Kind::Type { .. } | Kind::MinLength { .. }) || (matches!(e.kind, Kind::Pattern { .. }) && is_blank);
    if let Some(code) = required_code(&field).filter(|_| blank) {
        return Err(AppError::bad_request(code, format!("{field} is required: say it in words")));
    }
    // money or a rate sent as a JSON number: the money rule's answer, 422
    let number = e.instance.is_number() && matches!(e.kind, Kind::Type { .. });
    let why = match &e.kind {
        _ if number && super::rules::MONEY.contains(&field.as_str()) => "must be money as a string, such as \"189.00\", not a JSON number".to_owned(),
        _ if number && super::rules::RATES.contains(&field.as_str()) => "must be a rate as a string, such as \"0.03\", not a JSON number".to_owned(),
        Kind::Pattern { pattern } => match field.as_str() {
            f if super::rules::MONEY.contains(&f) => "must be money: a decimal string with at most 2 decimals and no exponent, such as \"189.00\"".to_owned(),
            f if super::rules::RATES.contains(&f) => {
                "must be a rate: a decimal string with at most 4 decimals and no exponent, such as \"0.03\" for 3%".to_owned()
            }
            "month" | "months" => "must be a month YYYY-MM between 2000-01 and 2099-12".to_owned(),
            _ if text.is_some_and(|t| t.chars().any(crate::input::forbidden)) => "must not contain control characters (such as NUL, \\u0000)".to_owned(),
            _ if is_blank => "must not be blank".to_owned(),
            _ => format!("must match {pattern}"),
        },
        Kind::Type { .. } => format!("has the wrong type: {e}"),
        _ => e.to_string(),
    };
    let money_number = number && (super::rules::MONEY.contains(&field.as_str()) || super::rules::RATES.contains(&field.as_str()));
    if shape(&first) && !money_number {
        Err(AppError::bad_request("invalid_body", format!("request body: {at} {why}")))
    } else {
        Err(AppError::validation(format!("{at} {why}")))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    fn validator(schema: serde_json::Value) -> jsonschema::Validator {
        jsonschema::options().with_draft(jsonschema::Draft::Draft202012).build(&schema).unwrap()
    }

    #[test]
    fn shapes_are_400_and_bounds_are_422() {
        let v = validator(json!({"type": "object", "additionalProperties": false, "required": ["name"],
            "properties": {"name": {"type": "string", "minLength": 1}, "limits": {"type": "object"}, "n": {"oneOf": [{"type": "null"}, {"type": "integer", "maximum": 5}]}}}));
        let status = |body| super::check(&v, &body).err().map(|e| (actix_web::ResponseError::status_code(&e).as_u16(), e.detail));
        assert_eq!(status(json!({"name": "x"})), None);
        assert_eq!(status(json!({"name": "x", "limits": [null, null]})).unwrap().0, 400, "an array is not a struct");
        assert_eq!(status(json!({"name": "x", "colour": 1})).unwrap().0, 400);
        assert_eq!(status(json!({})).unwrap().0, 400);
        let (code, detail) = status(json!({"name": ""})).unwrap();
        assert_eq!(code, 422);
        assert!(detail.starts_with("`name`"), "{detail}");
        assert_eq!(status(json!({"name": "x", "n": 6})).unwrap().0, 422, "the integer branch is the one meant");
        assert_eq!(status(json!({"name": "x", "n": "six"})).unwrap().0, 400);
    }
}
