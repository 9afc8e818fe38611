// Kept in step with migrations/ by hand (the shape `diesel print-schema` writes); every
// query in the test suite runs against the migrated database, so a drift fails there.

diesel::table! {
    brands (id) {
        id -> Int8,
        code -> Text,
        name -> Text,
        supply_mode -> Text,
        timezone -> Text,
        hq_stock_tracking -> Bool,
        buyback_ratio -> Numeric,
        hold_days -> Int4,
        jurisdiction -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    hq_users (brand_id, id) {
        brand_id -> Int8,
        id -> Int8,
        login -> Text,
        password_hash -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    tiers (brand_id, id) {
        brand_id -> Int8,
        id -> Int8,
        rank -> Int4,
        name -> Text,
        min_first_order -> Nullable<Numeric>,
    }
}

diesel::table! {
    products (brand_id, sku) {
        brand_id -> Int8,
        sku -> Text,
        name -> Text,
        retail_price -> Numeric,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    product_prices (brand_id, sku, tier_id) {
        brand_id -> Int8,
        sku -> Text,
        tier_id -> Int8,
        price -> Numeric,
    }
}

diesel::table! {
    agents (brand_id, id) {
        brand_id -> Int8,
        id -> Int8,
        name -> Text,
        phone -> Text,
        tier_id -> Int8,
        parent_id -> Nullable<Int8>,
        sponsor_id -> Nullable<Int8>,
        path -> Array<Int8>,
        status -> Text,
        password_hash -> Text,
        joined_at -> Timestamptz,
    }
}

diesel::table! {
    agent_events (brand_id, id) {
        brand_id -> Int8,
        id -> Int8,
        agent_id -> Int8,
        kind -> Text,
        old_value -> Nullable<Text>,
        new_value -> Nullable<Text>,
        actor -> Text,
        at -> Timestamptz,
    }
}

diesel::table! {
    sessions (brand_id, token_hash) {
        brand_id -> Int8,
        token_hash -> Bytea,
        role -> Text,
        hq_user_id -> Nullable<Int8>,
        agent_id -> Nullable<Int8>,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    login_failures (brand_id, login) {
        brand_id -> Int8,
        login -> Text,
        failures -> Int4,
        window_start -> Timestamptz,
    }
}

diesel::table! {
    idempotency_keys (brand_id, principal, key) {
        brand_id -> Int8,
        principal -> Text,
        key -> Text,
        request_hash -> Bytea,
        status_code -> Int4,
        response_body -> Text,
        created_at -> Timestamptz,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    brands,
    hq_users,
    tiers,
    products,
    product_prices,
    agents,
    agent_events,
    sessions,
    login_failures,
    idempotency_keys,
);
