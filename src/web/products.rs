//! 商品与等级 Products and tiers: the tier × product price matrix, each row edited in place
//! with the validation message shown in that row; a warning where a tier has no price;
//! 上下架 (off sale without deleting); new products and tiers.

use std::collections::{BTreeMap, HashMap};

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use askama::Template;
use rust_decimal::Decimal;

use super::format::form_key;
use super::session::{ConsoleUser, PageError};
use crate::catalog::{Product, ProductInput, ProductUpdate, Tier, TierInput};
use crate::error::AppError;
use crate::idempotency::IdempotencyKey;
use crate::AppState;

#[derive(Template)]
#[template(path = "products.html")]
struct ProductsPage {
    csrf: String,
    idem: String,
    tier_idem: String,
    tiers: Vec<Tier>,
    rows: Vec<RowView>,
}

/// One editable row of the matrix; `error` is shown in the row itself.
#[derive(Template)]
#[template(path = "product_row.html")]
struct RowView {
    csrf: String,
    tiers: Vec<Tier>,
    p: Product,
    /// What the row's inputs show: the stored values, or what was typed when it was refused.
    values: HashMap<String, String>,
    error: Option<String>,
    saved: bool,
}

impl RowView {
    fn new(csrf: String, tiers: Vec<Tier>, p: Product) -> Self {
        let mut values: HashMap<String, String> = p.prices.iter().map(|(t, v)| (format!("price_{t}"), v.to_string())).collect();
        values.insert("name".into(), p.name.clone());
        values.insert("retail_price".into(), p.retail_price.to_string());
        values.insert("retail_floor".into(), p.retail_floor.map(|f| f.to_string()).unwrap_or_default());
        values.insert("repurchase_days".into(), p.repurchase_days.map(|d| d.to_string()).unwrap_or_default());
        RowView { csrf, tiers, p, values, error: None, saved: false }
    }

    fn value(&self, field: &str) -> String {
        self.values.get(field).cloned().unwrap_or_default()
    }

    fn price(&self, tier_id: &i64) -> String {
        self.value(&format!("price_{tier_id}"))
    }
}

#[get("/console/products")]
pub async fn page(state: web::Data<AppState>, user: ConsoleUser) -> Result<HttpResponse, PageError> {
    let brand_id = user.who.brand_id;
    let (tiers, products) =
        crate::db::read(&state.pool, move |conn| Ok((crate::catalog::list_tiers(conn, brand_id)?, crate::catalog::load_products(conn, brand_id, None, 1000)?)))
            .await?;
    let rows = products.into_iter().map(|p| RowView::new(user.csrf.clone(), tiers.clone(), p)).collect();
    super::html(&ProductsPage { csrf: user.csrf, idem: form_key(), tier_idem: form_key(), tiers, rows })
}

fn money(field: &str, raw: &str) -> Result<Decimal, AppError> {
    raw.trim().parse::<Decimal>().map_err(|_| AppError::validation(format!("{field}: “{raw}” 不是金额 is not an amount")))
}

/// The price list of a form: `price_<tier_id>` fields; empty ones are left out (and then
/// refused by the catalog's own check, in the row).
fn price_list(tiers: &[Tier], form: &HashMap<String, String>) -> Result<BTreeMap<String, Decimal>, AppError> {
    let mut out = BTreeMap::new();
    for t in tiers {
        let raw = form.get(&format!("price_{}", t.id)).map_or("", |s| s.trim());
        if !raw.is_empty() {
            out.insert(t.id.to_string(), money(&t.name, raw)?);
        }
    }
    Ok(out)
}

/// 复购周期 in days; empty: none.
fn cycle_of(form: &HashMap<String, String>) -> Result<Option<i32>, AppError> {
    let raw = form.get("repurchase_days").map_or("", |s| s.trim());
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse::<i32>().map(Some).map_err(|_| AppError::validation(format!("复购周期 repurchase days: “{raw}” 不是天数 is not a number of days")))
}

fn floor_of(form: &HashMap<String, String>) -> Result<Option<Decimal>, AppError> {
    let raw = form.get("retail_floor").map_or("", |s| s.trim());
    if raw.is_empty() {
        Ok(None)
    } else {
        money("控价 floor", raw).map(Some)
    }
}

/// Saves one row (htmx): the row comes back, saved or with its validation message (422).
#[post("/console/products/{sku}")]
pub async fn save(
    state: web::Data<AppState>,
    user: ConsoleUser,
    sku: web::Path<String>,
    form: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, PageError> {
    let (sku, form) = (sku.into_inner(), form.into_inner());
    user.check_csrf(form.get("csrf").map_or("", String::as_str))?;
    let brand_id = user.who.brand_id;
    let (tiers, current) = {
        let sku = sku.clone();
        crate::db::read(&state.pool, move |conn| Ok((crate::catalog::list_tiers(conn, brand_id)?, crate::catalog::get_product(conn, brand_id, &sku)?))).await?
    };
    let parsed = (|| {
        Ok::<_, AppError>(ProductUpdate {
            name: form.get("name").cloned().unwrap_or_default(),
            retail_price: money("零售价 retail", form.get("retail_price").map_or("", String::as_str))?,
            prices: price_list(&tiers, &form)?,
            retail_floor: floor_of(&form)?,
            repurchase_days: cycle_of(&form)?,
        })
    })();
    let result = match parsed {
        Ok(update) => {
            let (sku, who) = (sku.clone(), user.who);
            crate::db::transaction(&state.pool, move |conn| crate::catalog::update_product(conn, &who, &sku, &update)).await
        }
        Err(e) => Err(e),
    };
    let (row, status) = match result {
        Ok(p) => (RowView { saved: true, ..RowView::new(user.csrf, tiers, p) }, StatusCode::OK),
        // refused: the row keeps what was typed, with the reason beside it
        Err(e) if e.kind != crate::error::ErrorKind::Internal && e.kind != crate::error::ErrorKind::Unavailable => {
            let typed = form.into_iter().filter(|(k, _)| k != "csrf").collect();
            (RowView { values: typed, error: Some(e.detail.clone()), ..RowView::new(user.csrf, tiers, current) }, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => return Err(PageError(e)),
    };
    super::html_with(status, &row)
}

/// 上下架 from the matrix.
#[post("/console/products/{sku}/sale")]
pub async fn sale(
    state: web::Data<AppState>,
    user: ConsoleUser,
    sku: web::Path<String>,
    form: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, PageError> {
    let (sku, form) = (sku.into_inner(), form.into_inner());
    user.check_csrf(form.get("csrf").map_or("", String::as_str))?;
    let on_sale = form.get("on_sale").is_some_and(|v| v == "true");
    let who = user.who;
    crate::db::transaction(&state.pool, move |conn| crate::catalog::set_on_sale(conn, &who, &sku, on_sale)).await?;
    Ok(super::see_other("/console/products"))
}

#[post("/console/products")]
pub async fn create(state: web::Data<AppState>, user: ConsoleUser, form: web::Form<HashMap<String, String>>) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    user.check_csrf(form.get("csrf").map_or("", String::as_str))?;
    let brand_id = user.who.brand_id;
    let tiers = crate::db::read(&state.pool, move |conn| crate::catalog::list_tiers(conn, brand_id)).await?;
    let input = ProductInput {
        sku: form.get("sku").map_or("", |s| s.trim()).to_owned(),
        name: form.get("name").cloned().unwrap_or_default(),
        retail_price: money("零售价 retail", form.get("retail_price").map_or("", String::as_str))?,
        prices: price_list(&tiers, &form)?,
        retail_floor: floor_of(&form)?,
        repurchase_days: cycle_of(&form)?,
    };
    let key = IdempotencyKey(form.get("idem").filter(|k| !k.is_empty() && k.len() <= 200).cloned());
    let who = user.who;
    crate::db::transaction(&state.pool, move |conn| {
        crate::idempotency::once(conn, &who, &key, "POST /products", &input, StatusCode::CREATED, |conn| crate::catalog::create_product(conn, &who, &input))
    })
    .await?;
    Ok(super::see_other("/console/products"))
}

#[post("/console/tiers")]
pub async fn create_tier(state: web::Data<AppState>, user: ConsoleUser, form: web::Form<HashMap<String, String>>) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    user.check_csrf(form.get("csrf").map_or("", String::as_str))?;
    let rank: i32 =
        form.get("rank").map_or("", |s| s.trim()).parse().map_err(|_| PageError(AppError::validation("级别必须是整数 rank must be a whole number")))?;
    let min = form.get("min_first_order").map_or("", |s| s.trim());
    let input = TierInput {
        rank,
        name: form.get("name").cloned().unwrap_or_default(),
        min_first_order: if min.is_empty() { None } else { Some(money("首单门槛 first order", min)?) },
    };
    let key = IdempotencyKey(form.get("idem").filter(|k| !k.is_empty() && k.len() <= 200).cloned());
    let who = user.who;
    crate::db::transaction(&state.pool, move |conn| {
        crate::idempotency::once(conn, &who, &key, "POST /tiers", &input, StatusCode::CREATED, |conn| crate::catalog::create_tier(conn, &who, &input))
    })
    .await?;
    Ok(super::see_other("/console/products"))
}
