//! What the document says beyond the handlers' annotations, stated once for the whole API:
//! the error answers every operation can give, the rule each parameter and field of a name
//! follows, and bodies merged into the one object they are. Applied to the document as
//! collected from the routes (`Document::new`).

/// The rules every parameter of a name follows, stated once for the whole API: a page
/// size is 1–1000; a cursor is what a page's `next_cursor` gave (base64url); a month is `YYYY-MM` in 2000–2099 (what `period::parse_month` takes); a
/// dashboard spans 1–36 months.
pub(super) fn parameters(doc: &mut serde_json::Value) {
    use serde_json::{json, Value};
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else { return };
    for item in paths.values_mut().filter_map(Value::as_object_mut) {
        for op in item.values_mut() {
            let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else { continue };
            for p in params.iter_mut() {
                let name = p.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
                let Some(schema) = p.get_mut("schema").and_then(Value::as_object_mut) else { continue };
                match name.as_str() {
                    "limit" => {
                        schema.insert("minimum".into(), json!(1));
                        schema.insert("maximum".into(), json!(crate::pagination::MAX_LIMIT));
                    }
                    "month" => {
                        schema.insert("pattern".into(), json!(crate::period::MONTH_PATTERN));
                    }
                    // a search text: what `tree::search` takes
                    "q" => {
                        schema.insert("maxLength".into(), json!(100));
                        schema.insert("pattern".into(), json!(TEXT_PATTERN));
                    }
                    "Idempotency-Key" => {
                        schema.insert("type".into(), json!("string"));
                        schema.insert("pattern".into(), json!("^[!-~]{1,200}$"));
                    }
                    "cursor" => {
                        schema.insert("pattern".into(), json!("^[A-Za-z0-9_-]*$"));
                    }
                    "months" => {
                        schema.insert("minimum".into(), json!(1));
                        schema.insert("maximum".into(), json!(36));
                    }
                    // a depth below an agent and a payout batch number count from 1
                    "max_depth" | "batch" => {
                        schema.insert("minimum".into(), json!(1));
                    }
                    _ => {}
                }
            }
        }
    }
}

/// A struct flattened into another (`#[serde(flatten)]`) or tagged (`#[serde(tag = "kind")]`)
/// is documented as an `allOf` of its parts; where a part refuses unknown fields
/// (`additionalProperties: false`, from `deny_unknown_fields`) no body could match both parts.
/// Such an `allOf` is merged into the one object it describes: every part's properties and
/// required fields, unknown fields refused when a part refuses them.
pub(super) fn flattened(doc: &mut serde_json::Value) {
    use serde_json::Value;
    let Some(schemas) = doc.pointer("/components/schemas").and_then(Value::as_object).cloned() else { return };
    fn walk(v: &mut Value, schemas: &serde_json::Map<String, Value>) {
        match v {
            Value::Object(o) => {
                if let Some(merged) = o.get("allOf").and_then(Value::as_array).and_then(|parts| merge(parts, schemas)) {
                    o.remove("allOf");
                    for (k, val) in merged {
                        o.insert(k, val);
                    }
                }
                for child in o.values_mut() {
                    walk(child, schemas);
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|c| walk(c, schemas)),
            _ => {}
        }
    }
    fn merge(parts: &[Value], schemas: &serde_json::Map<String, Value>) -> Option<serde_json::Map<String, Value>> {
        let resolved: Vec<&Value> = parts
            .iter()
            .map(|p| match p.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/components/schemas/")) {
                Some(name) => schemas.get(name),
                None => Some(p),
            })
            .collect::<Option<_>>()?;
        // a tagged enum flattened beside fields (a batch item: its key and an order of either
        // kind): one merged object per variant
        if let Some(i) = resolved.iter().position(|p| p.get("oneOf").is_some()) {
            let variants = resolved[i].get("oneOf").and_then(Value::as_array)?;
            let others: Vec<Value> = resolved.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, p)| (*p).clone()).collect();
            let merged: Vec<Value> = variants
                .iter()
                .map(|variant| {
                    let mut all = others.clone();
                    all.push(variant.clone());
                    merge(&all, schemas).map(Value::Object)
                })
                .collect::<Option<_>>()?;
            let mut out = serde_json::Map::new();
            out.insert("oneOf".into(), Value::Array(merged));
            return Some(out);
        }
        if !resolved.iter().all(|p| p.get("properties").is_some()) || !resolved.iter().any(|p| p.get("additionalProperties") == Some(&Value::Bool(false))) {
            return None;
        }
        let mut properties = serde_json::Map::new();
        let mut required: Vec<Value> = Vec::new();
        for p in &resolved {
            if let Some(props) = p.get("properties").and_then(Value::as_object) {
                properties.extend(props.clone());
            }
            for r in p.get("required").and_then(Value::as_array).into_iter().flatten() {
                if !required.contains(r) {
                    required.push(r.clone());
                }
            }
        }
        let mut out = serde_json::Map::new();
        out.insert("type".into(), Value::from("object"));
        out.insert("properties".into(), Value::Object(properties));
        out.insert("required".into(), Value::Array(required));
        out.insert("additionalProperties".into(), Value::Bool(false));
        Some(out)
    }
    if let Some(target) = doc.pointer_mut("/components/schemas") {
        walk(target, &schemas);
    }
}

/// What any operation may answer besides what its handler declares, and why: the gate, the
/// extractors and the error type answer these for every route alike.
const COMMON: [(&str, &str); 5] = [
    ("400", "malformed request: a query, path or body that does not parse (`invalid_query`, `invalid_path`, `invalid_body`, `invalid_month`)"),
    ("404", "something the request names does not exist, or is outside the caller's subtree (`not_found`)"),
    ("422", "the request parses but is not valid (`validation` and the codes named above)"),
    ("500", "a bug: no internal text, quote the response's X-Request-Id"),
    ("503", "the database does not answer (`unavailable`); retry after the `Retry-After` seconds"),
];

/// Every error answer is problem+json (RFC 9457) with a stable `code`: the document says so
/// for every operation and every 4xx/5xx, and lists the statuses any route can give.
pub(super) fn problems(doc: &mut serde_json::Value) {
    use serde_json::{json, Value};
    let problem = json!({"$ref": "#/components/schemas/Problem"});
    let content = json!({"application/problem+json": {"schema": problem}});
    if let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut) {
        schemas.insert(
            "Problem".into(),
            json!({"type": "object", "required": ["type", "title", "status", "detail", "code"], "description": "RFC 9457 problem details; some codes add members (e.g. `figures`, `findings`)",
                   "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"}, "detail": {"type": "string"}, "code": {"type": "string"}}}),
        );
    }
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else { return };
    for item in paths.values_mut().filter_map(Value::as_object_mut) {
        for op in item.values_mut() {
            let Some(op) = op.as_object_mut() else { continue };
            let authenticated = op.get("security").and_then(Value::as_array).is_some_and(|s| !s.is_empty());
            let has_body = op.contains_key("requestBody");
            let mut extra: Vec<(&str, &str)> = COMMON.to_vec();
            if authenticated {
                extra.push(("401", "no valid session: log in (`unauthorized`)"));
                extra.push(("403", "the caller's role or kind may not do this (`role_forbidden`, `forbidden`)"));
            } else {
                extra.push(("429", "too many requests from this address (`rate_limited`); retry after `Retry-After` seconds"));
            }
            if has_body {
                extra.push(("413", "the body is over the 1 MiB limit (`too_large`)"));
            }
            extra.push(("409", "the state does not allow it now (the codes named above)"));
            let responses = op.entry("responses").or_insert_with(|| json!({}));
            let Some(responses) = responses.as_object_mut() else { continue };
            for (status, why) in extra {
                responses.entry(status).or_insert_with(|| json!({"description": why}));
            }
            for (status, r) in responses.iter_mut() {
                if status.starts_with('4') || status.starts_with('5') {
                    if let Some(r) = r.as_object_mut() {
                        r.entry("content").or_insert_with(|| content.clone());
                        r.entry("description").or_insert_with(|| json!(""));
                    }
                }
            }
        }
    }
}

/// Fields that are money, and fields that are rates, by name across every request schema.
pub const MONEY: [&str; 14] = [
    "amount",
    "retail_price",
    "retail_floor",
    "unit_price",
    "unit_cost",
    "min_first_order",
    "own_purchases_min",
    "team_volume_min",
    "min",
    "max",
    "fee_min",
    "min_volume",
    "price",
    "prices",
];
pub const RATES: [&str; 7] = ["rate", "rates", "fee_rate", "tax_rate", "buyback_ratio", "min_retail_share", "max_payout_ratio"];

/// Money on the wire (`amount::parse_money`).
pub const MONEY_PATTERN: &str = "^-?[0-9]{1,12}(\\.[0-9]{1,2})?$";
/// A rate on the wire (`amount::parse_rate`).
pub const RATE_PATTERN: &str = "^-?[0-9]{1,3}(\\.[0-9]{1,4})?$";
/// Request text: no control characters but line breaks and tabs (`input::guard`).
pub const TEXT_PATTERN: &str = "^[^\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F\\x7F-\\x9F]*$";
/// Request text that must say something: the same, and not blank.
pub const REQUIRED_TEXT_PATTERN: &str =
    "^[^\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F\\x7F-\\x9F]*[^\\s\\x00-\\x1F\\x7F-\\x9F][^\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F\\x7F-\\x9F]*$";

/// Money fields (cents, no exponent), rate fields (4 decimals), and every text field of a
/// request (no control characters, at most 2,000 characters; `input::guard` enforces it),
/// by property name across every schema; reasons and the like are not blank; an order has
/// 1 to 100 lines; a tier's rank is 1 or more.
pub(super) fn fields(doc: &mut serde_json::Value) {
    use serde_json::{json, Value};

    const REQUIRED_TEXT: [&str; 8] = ["reason", "note", "reference", "code", "name", "login", "sku", "category"];
    let money = json!(MONEY_PATTERN);
    let rate = json!(RATE_PATTERN);
    let text = json!(TEXT_PATTERN);
    fn strings(v: &mut Value, f: &mut dyn FnMut(&mut serde_json::Map<String, Value>)) {
        // a string schema, or the string branch of a nullable one
        if let Some(o) = v.as_object_mut() {
            let is_string = match o.get("type") {
                Some(Value::String(t)) => t == "string",
                Some(Value::Array(ts)) => ts.iter().any(|t| t == "string"),
                _ => false,
            };
            if is_string {
                f(o);
            }
            for key in ["items", "additionalProperties"] {
                if let Some(inner) = o.get_mut(key) {
                    strings(inner, f);
                }
            }
        }
    }
    // only what requests carry: answers keep their own shapes (a QR code's SVG is long)
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(o) => {
                if let Some(r) = o.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/components/schemas/")) {
                    out.push(r.to_owned());
                }
                o.values().for_each(|x| refs(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }
    let mut requested = Vec::new();
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for op in paths.values().filter_map(Value::as_object).flat_map(|item| item.values()) {
            if let Some(body) = op.get("requestBody") {
                refs(body, &mut requested);
            }
        }
    }
    let mut i = 0;
    while i < requested.len() {
        let mut more = Vec::new();
        if let Some(schema) = doc.pointer(&format!("/components/schemas/{}", requested[i])) {
            refs(schema, &mut more);
        }
        for m in more {
            if !requested.contains(&m) {
                requested.push(m);
            }
        }
        i += 1;
    }
    let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut) else { return };
    // every object with properties inside a request schema, merged bodies' branches too
    fn objects(v: &mut Value, f: &mut dyn FnMut(&mut serde_json::Map<String, Value>)) {
        match v {
            Value::Object(o) => {
                if let Some(props) = o.get_mut("properties").and_then(Value::as_object_mut) {
                    f(props);
                }
                o.values_mut().for_each(|x| objects(x, f));
            }
            Value::Array(a) => a.iter_mut().for_each(|x| objects(x, f)),
            _ => {}
        }
    }
    for (schema_name, schema) in schemas.iter_mut() {
        if !requested.contains(schema_name) {
            continue;
        }
        objects(schema, &mut |props| {
            for (name, prop) in props.iter_mut() {
                let name = name.as_str();
                strings(prop, &mut |o| {
                    if o.contains_key("format") || o.contains_key("enum") || o.contains_key("pattern") {
                        return;
                    }
                    if MONEY.contains(&name) {
                        o.insert("pattern".into(), money.clone());
                    } else if RATES.contains(&name) {
                        o.insert("pattern".into(), rate.clone());
                    } else {
                        o.insert("pattern".into(), text.clone());
                        o.insert("maxLength".into(), json!(crate::input::MAX_TEXT));
                        if REQUIRED_TEXT.contains(&name) {
                            o.insert("minLength".into(), json!(1));
                            o.insert("maxLength".into(), json!(500));
                            o.insert("pattern".into(), json!(REQUIRED_TEXT_PATTERN));
                        }
                        // a password set here: 8 to 128 characters (auth::check_password_strength)
                        if name == "new" || (name == "password" && schema_name != "LoginRequest") {
                            o.insert("minLength".into(), json!(8));
                            o.insert("maxLength".into(), json!(128));
                        }
                    }
                });
                match name {
                    "lines" => {
                        if let Some(o) = prop.as_object_mut().filter(|o| o.get("type") == Some(&json!("array"))) {
                            o.insert("minItems".into(), json!(1));
                            o.insert("maxItems".into(), json!(crate::orders::MAX_LINES));
                        }
                    }
                    // a stock count adds or removes units; an order's line and its refund count from 1
                    "qty" => {
                        if let Some(o) = prop.as_object_mut() {
                            let (min, max) = if schema_name == "StockAdjustment" {
                                (-crate::inventory::MAX_ADJUST, crate::inventory::MAX_ADJUST)
                            } else {
                                (1, crate::orders::MAX_QTY)
                            };
                            o.insert("minimum".into(), json!(min));
                            o.insert("maximum".into(), json!(max));
                        }
                    }
                    // ranks and every id count from 1
                    n if n == "rank" || n.ends_with("_id") => {
                        if let Some(o) = prop.as_object_mut().filter(|o| o.get("type").is_some_and(|t| t.to_string().contains("integer"))) {
                            o.insert("minimum".into(), json!(1));
                        }
                    }
                    // months named in a body: what `period::parse_month` takes
                    "month" | "months" => {
                        if let Some(o) = prop.as_object_mut() {
                            let target = if o.get("type") == Some(&json!("array")) { o.get_mut("items").and_then(Value::as_object_mut) } else { Some(o) };
                            if let Some(t) = target.filter(|t| t.get("type").is_some_and(|x| x.to_string().contains("string"))) {
                                t.insert("pattern".into(), json!(crate::period::MONTH_PATTERN));
                                t.remove("maxLength");
                            }
                        }
                    }
                    // a batch item's key: what the Idempotency-Key header takes
                    "idempotency_key" => {
                        if let Some(o) = prop.as_object_mut() {
                            o.insert("pattern".into(), json!("^[!-~]{1,200}$"));
                            o.remove("maxLength");
                        }
                    }
                    "repurchase_days" => {
                        if let Some(o) = prop.as_object_mut() {
                            o.insert("minimum".into(), json!(1));
                            o.insert("maximum".into(), json!(365));
                        }
                    }
                    _ => {}
                }
            }
        });
    }
}

/// 2^53 − 1: the largest integer every JSON reader holds exactly.
pub const SAFE_INTEGER: i64 = 9_007_199_254_740_991;

/// In bodies, 64-bit integers are safe integers: JavaScript's Number holds them, and a whole
/// float like `7.0` stands for exactly one of them (`input::whole_numbers`). Paths and
/// queries keep the full int64 range the server parses there: their `55.0` is rewritten as
/// text (`whole.rs`), exact at any size.
pub(super) fn safe_integers(doc: &mut serde_json::Value) {
    use serde_json::{json, Value};
    fn walk(v: &mut Value) {
        match v {
            Value::Object(o) => {
                if o.get("format") == Some(&json!("int64")) {
                    o.entry("maximum").or_insert(json!(SAFE_INTEGER));
                    o.entry("minimum").or_insert(json!(-SAFE_INTEGER));
                }
                o.values_mut().for_each(walk);
            }
            Value::Array(a) => a.iter_mut().for_each(walk),
            _ => {}
        }
    }
    if let Some(schemas) = doc.pointer_mut("/components/schemas") {
        walk(schemas);
    }
}

/// utoipa writes an unsigned 32-bit field (`u32`: a plan's months, depths and levels) as
/// `format: int32, minimum: 0`, which says at most 2,147,483,647 where the server takes up to
/// 4,294,967,295: the document says what the server reads.
pub(super) fn unsigned(doc: &mut serde_json::Value) {
    use serde_json::{json, Value};
    match doc {
        Value::Object(o) => {
            if o.get("format") == Some(&json!("int32")) && o.get("minimum") == Some(&json!(0)) {
                o.remove("format");
                o.insert("maximum".into(), json!(u32::MAX));
            }

            o.values_mut().for_each(unsigned);
        }
        Value::Array(a) => a.iter_mut().for_each(unsigned),
        _ => {}
    }
}
